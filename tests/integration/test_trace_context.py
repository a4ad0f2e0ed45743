"""Trace context travels from the caller's span through the events table into Kafka headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.relay import Relay, make_producer
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
