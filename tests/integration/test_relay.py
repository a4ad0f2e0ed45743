"""The relay publishes every appended event, in per-stream order, none skipped."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer

from gongkai_contracts import Envelope
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.relay import Relay, make_producer
from tests.support import meta, received, unique

pytestmark = pytest.mark.integration


async def consume_all(
    bootstrap: str, topic: str, expected: int, timeout: float = 60
) -> list[Envelope]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[Envelope] = []
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    seen += [Envelope.from_json(r.value) for r in records]
        # Anything beyond `expected` would be a duplicate or a stray: read briefly for more.
        extra = await consumer.getmany(timeout_ms=500)
        for records in extra.values():
            seen += [Envelope.from_json(r.value) for r in records]
    finally:
        await consumer.stop()
    return seen


async def test_eight_concurrent_writers_ten_thousand_events_none_missing(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn, max_size=12)
    store = PostgresEventStore(pool)
    topic = await kafka_topic_factory(partitions=4)
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    relay = Relay(pool, producer, topic, batch_size=500)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))

    writers, per_writer = 8, 1250
    bureaus = [unique("b") for _ in range(5)]

    async def writer(w: int) -> None:
        rng = random.Random(w)
        streams = [unique(f"request-w{w}") for _ in range(25)]
        versions: dict[str, int] = defaultdict(int)
        for _ in range(per_writer):
            stream = rng.choice(streams)
            bureau = bureaus[hash(stream) % len(bureaus)]
            await store.append(stream, versions[stream], [received()], meta(bureau))
            versions[stream] += 1

    try:
        await asyncio.gather(*(writer(w) for w in range(writers)))
        seen = await consume_all(kafka_bootstrap, topic, writers * per_writer)
    finally:
        stop.set()
        await relay_task
        await producer.stop()
        await pool.close()

    ids = [e.event_id for e in seen]
    assert len(ids) == writers * per_writer, "every event arrives exactly once"
    assert len(set(ids)) == len(ids)
    by_stream: dict[str, list[int]] = defaultdict(list)
    for envelope in seen:
        by_stream[envelope.stream_id].append(envelope.stream_version)
    for stream, versions in by_stream.items():
        assert versions == list(range(1, len(versions) + 1)), f"{stream} out of order"
    print(f"relay: {len(ids)} events from {writers} writers, {len(by_stream)} streams, in order")


async def test_relay_resumes_from_its_cursor_after_restart(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    store = PostgresEventStore(pool)
    topic = await kafka_topic_factory()
    for _ in range(30):
        await store.append(unique("request"), 0, [received()], meta())
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    try:
        first = Relay(pool, producer, topic, batch_size=10)
        assert await first.publish_once() == 10
        assert await first.backlog() == 20
        second = Relay(pool, producer, topic, batch_size=100)  # a restarted relay
        assert await second.cursor() == 10
        assert await second.publish_once() == 20
        assert await second.backlog() == 0
        seen = await consume_all(kafka_bootstrap, topic, 30)
    finally:
        await producer.stop()
        await pool.close()
    assert len({e.event_id for e in seen}) == 30 == len(seen)
