"""Consumers: offsets stored with effects, seek on start, duplicates dropped, poison to DLQ."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY

from gongkai_contracts import GENESIS_HASH, Envelope, chain_hash
from gongkai_contracts.topics import dlq_topic
from gongkai_platform.consumer import ConsumerRunner, Delivered
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.devstack.kafka import TopicSpec, create_topics
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.relay import Relay, make_producer
from tests.support import meta, received, unique

pytestmark = pytest.mark.integration


class Recorder:
    """Records each applied event id; a duplicate would violate the primary key."""

    def __init__(self) -> None:
        self.name = unique("test.recorder")

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await conn.executemany(
            "INSERT INTO applied (event_id) VALUES ($1)",
            [(d.envelope.event_id,) for d in batch],
        )


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def read_dlq(bootstrap: str, topic: str, expected: int) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < expected:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found += [{k: v.decode() for k, v in r.headers} for r in records]
    finally:
        await consumer.stop()
    return found


async def test_exactly_once_in_effect_through_poison_duplicates_and_restart(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    await pool.execute("CREATE TABLE applied (event_id uuid PRIMARY KEY)")
    store = PostgresEventStore(pool)
    topic = await kafka_topic_factory(partitions=2)
    await create_topics(kafka_bootstrap, [TopicSpec(dlq_topic(topic), 1)])
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    relay = Relay(pool, producer, topic)

    async def applied() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM applied"))

    # 1. Good events, and poison written straight to the topic in between.
    for _ in range(100):
        await store.append(unique("request"), 0, [received()], meta(unique("b")))
    await relay.publish_once()
    good = json.loads((await store.read_after(0, 1))[0].body)
    wrong_hash = {**good, "hash": "0" * 64}
    unknown_type = resealed({**good, "event_type": "requests.Nope"})
    future_version = resealed({**good, "schema_version": 9})
    poison = [
        b"{not json",
        json.dumps(wrong_hash).encode(),
        json.dumps(unknown_type).encode(),
        json.dumps(future_version).encode(),
        b'{"event_type": "requests.RequestReceived"}',
    ]
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    for message in poison:
        await raw.send_and_wait(topic, message, key=b"b-poison")
    await raw.stop()

    recorder = Recorder()
    runner = ConsumerRunner(pool, recorder, [topic], kafka_bootstrap)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    await wait_for(lambda: _eq(applied(), 100))
    reasons = await read_dlq(kafka_bootstrap, dlq_topic(topic), len(poison))
    assert len(reasons) == len(poison)
    expected = ["not JSON", "hash mismatch", "unknown event type", "newer", "hash and prev_hash"]
    assert sorted(next(k for k in expected if k in h["dlq_reason"]) for h in reasons) == sorted(
        expected
    )
    assert all(h["dlq_source"].startswith(topic) for h in reasons)

    # 2. Duplicates: the relay republishes everything from the start.
    await pool.execute("UPDATE relay_cursor SET position = 0")
    await relay.publish_once()
    await wait_for(lambda: _ge(runner.duplicates, 100))
    assert await applied() == 100

    # 3. Restart: a new runner seeks to the offsets stored in PostgreSQL.
    stop.set()
    await task
    await runner.stop()
    for _ in range(10):
        await store.append(unique("request"), 0, [received()], meta())
    await relay.publish_once()
    again = ConsumerRunner(pool, recorder, [topic], kafka_bootstrap)
    stop = asyncio.Event()
    await again.start()
    task = asyncio.create_task(again.run(stop))
    try:
        await wait_for(lambda: _eq(applied(), 110))
        await asyncio.sleep(1)  # anything re-read would show up as more applied or duplicates
        assert again.applied == 10
        assert again.duplicates == 0
        assert again.dead_lettered == 0, "poison already dead-lettered is not read again"
        assert await applied() == 110
    finally:
        stop.set()
        await task
        await again.stop()
        await producer.stop()
        await pool.close()


def resealed(data: dict[str, object]) -> dict[str, object]:
    """A message with a valid hash over whatever content it has."""
    body = {k: v for k, v in data.items() if k != "hash"}
    return {**body, "hash": chain_hash(str(data["prev_hash"]), body)}


async def _eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _ge(value: int, expected: int) -> bool:
    return value >= expected


async def test_chain_verification_refuses_a_forged_event_and_keeps_the_real_chain(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    await pool.execute("CREATE TABLE applied (event_id uuid PRIMARY KEY)")
    store = PostgresEventStore(pool)
    topic = await kafka_topic_factory()
    await create_topics(kafka_bootstrap, [TopicSpec(dlq_topic(topic), 1)])
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    relay = Relay(pool, producer, topic)
    bureau = unique("b")
    [first] = await store.append(unique("request"), 0, [received()], meta(bureau))
    await relay.publish_once()
    # A forger writes a well-formed, self-consistent event that does not continue the chain.
    forged = Envelope.seal(
        received(),
        bureau_id=bureau,
        stream_id=unique("request"),
        stream_version=1,
        occurred_at=first.occurred_at,
        actor=first.actor,
        correlation_id=first.correlation_id,
        causation_id=None,
        prev_hash=GENESIS_HASH,
    )
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    await raw.send_and_wait(topic, forged.to_json(), key=bureau.encode())
    await raw.stop()
    await store.append(unique("request"), 0, [received()], meta(bureau))  # the real next one
    await relay.publish_once()

    runner = ConsumerRunner(pool, Recorder(), [topic], kafka_bootstrap, verify_chain=True)
    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        await wait_for(lambda: _eq(pool.fetchval("SELECT count(*) FROM applied"), 2))
        [dead] = await read_dlq(kafka_bootstrap, dlq_topic(topic), 1)
        assert dead["dlq_reason"].startswith("hash chain broken")
        assert not await pool.fetchval("SELECT 1 FROM applied WHERE event_id = $1", forged.event_id)
    finally:
        stop.set()
        await task
        await runner.stop()
        await producer.stop()
        await pool.close()


class Gated:
    """Applies nothing until the gate opens: the consumer falls behind meanwhile."""

    def __init__(self) -> None:
        self.name = unique("test.gated")
        self.gate = asyncio.Event()

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await self.gate.wait()


def lag_by_partition(runner: ConsumerRunner) -> dict[int, int]:
    return {partition: behind for _, partition, behind in runner.lag()}


async def test_lag_per_partition_and_dead_letters_are_measured(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    store = PostgresEventStore(pool)
    topic = await kafka_topic_factory(partitions=2)
    await create_topics(kafka_bootstrap, [TopicSpec(dlq_topic(topic), 1)])
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    for _ in range(30):
        await store.append(unique("request"), 0, [received()], meta(unique("b")))
    await Relay(pool, producer, topic).publish_once()
    handler = Gated()
    runner = ConsumerRunner(pool, handler, [topic], kafka_bootstrap, max_records=5)
    labels = {"consumer": handler.name, "topic": topic}

    def dead_lettered() -> float | None:
        return REGISTRY.get_sample_value("gongkai_consumer_dead_lettered_total", labels)

    stop = asyncio.Event()
    await runner.start()
    task = asyncio.create_task(runner.run(stop))
    try:
        assert dead_lettered() == 0
        await wait_for(lambda: _ge(sum(lag_by_partition(runner).values()), 30))
        assert sorted(lag_by_partition(runner)) == [0, 1]
        handler.gate.set()
        await wait_for(lambda: _ge(runner.applied, 30))
        await wait_for(lambda: _eq(_sum(lag_by_partition(runner)), 0))
        assert REGISTRY.get_sample_value("gongkai_consumer_applied_total", labels) == 30

        raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await raw.start()
        await raw.send_and_wait(topic, b"{not json", key=b"b-poison")
        await raw.stop()
        await wait_for(lambda: _ge(runner.dead_lettered, 1))
        assert dead_lettered() == 1
        await wait_for(lambda: _eq(_sum(lag_by_partition(runner)), 0))
    finally:
        stop.set()
        await task
        await runner.stop()
        await producer.stop()
        await pool.close()


async def _sum(lags: dict[int, int]) -> int:
    return sum(lags.values())
