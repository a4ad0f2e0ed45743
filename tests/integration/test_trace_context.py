"""Trace context travels from the caller's span through the events table into Kafka headers,
and on through a consumer into the events it appends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gongkai_platform.consumer import ConsumerRunner, Delivered
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.relay import Relay, make_producer
from gongkai_platform.telemetry import setup_telemetry
from tests.support import meta, received, unique

pytestmark = pytest.mark.integration


async def test_traceparent_goes_from_the_command_span_to_the_kafka_headers(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    topic = await kafka_topic_factory()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("POST /bureaus/b/requests") as span:
        await PostgresEventStore(pool).append(unique("request"), 0, [received()], meta())
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert trace.get_current_span() is not span

    producer = make_producer(kafka_bootstrap)
    await producer.start()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        assert await Relay(pool, producer, topic).publish_once() == 1
        record = await consumer.getone()
    finally:
        await consumer.stop()
        await producer.stop()
        await pool.close()
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["event_type"] == "requests.RequestReceived"
    assert headers["schema_version"] == "1"
    assert headers["traceparent"].split("-")[1] == trace_id


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans finished through the process's tracer provider (the one services set up)."""
    exporter = InMemorySpanExporter()
    setup_telemetry("tests", None).add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        exporter.shutdown()  # providers cannot drop a processor; a shut exporter keeps nothing


class CarryOn:
    """A reaction: for each event it receives, appends one to its own store in the consumer's
    transaction, as review does when a reply draft arrives."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.name = unique("test.carry_on")
        self._store = store

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        for delivered in batch:
            bureau = delivered.envelope.bureau_id
            await self._store.append(unique("reaction"), 0, [received()], meta(bureau), conn=conn)


def trace_of(carrier: dict[str, str]) -> str:
    return carrier["traceparent"].split("-")[1]


async def test_a_reaction_continues_each_commands_trace_and_carries_it_on(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
    spans: InMemorySpanExporter,
) -> None:
    source_dsn, reaction_dsn = await fresh_database(), await fresh_database()
    for dsn in (source_dsn, reaction_dsn):
        await migrate(dsn)
    source_pool, reaction_pool = await create_pool(source_dsn), await create_pool(reaction_dsn)
    topic = await kafka_topic_factory(partitions=1)
    tracer = trace.get_tracer("test")
    commands: list[str] = []
    for _ in range(3):  # three commands, each its own trace, published in one batch
        with tracer.start_as_current_span("POST /bureaus/b/requests") as span:
            await PostgresEventStore(source_pool).append(
                unique("request"), 0, [received()], meta("b-trace")
            )
            commands.append(format(span.get_span_context().trace_id, "032x"))
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    reaction_store = PostgresEventStore(reaction_pool)
    runner = ConsumerRunner(reaction_pool, CarryOn(reaction_store), [topic], kafka_bootstrap)
    stop = asyncio.Event()
    try:
        assert await Relay(source_pool, producer, topic).publish_once() == 3
        await runner.start()
        task = asyncio.create_task(runner.run(stop))
        async with asyncio.timeout(30):
            while len(appended := await reaction_store.read_after(0, 10)) < 3:
                await asyncio.sleep(0.05)
        stop.set()
        await task
    finally:
        await runner.stop()
        await producer.stop()
        await source_pool.close()
        await reaction_pool.close()

    # Each event the reaction appended carries the trace of the command that caused it ...
    assert [trace_of(e.trace_context) for e in appended] == commands
    # ... under the consumer's span, itself the child of the relay's span of that event.
    finished = {s.context.span_id: s for s in spans.get_finished_spans()}
    for event in appended:
        parent_id = int(event.trace_context["traceparent"].split("-")[2], 16)
        consumer_span = finished[parent_id]
        assert consumer_span.kind is trace.SpanKind.CONSUMER
        assert consumer_span.attributes is not None
        assert consumer_span.attributes["messaging.destination.name"] == topic
        assert consumer_span.parent is not None
        relay_span = finished[consumer_span.parent.span_id]
        assert relay_span.kind is trace.SpanKind.PRODUCER
        assert relay_span.name == f"send {topic}"
        assert relay_span.parent is not None
        command_span = finished[relay_span.parent.span_id]
        assert command_span.name == "POST /bureaus/b/requests"
