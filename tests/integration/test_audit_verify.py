"""`gongkai verify` against the real broker: genuine events from the event store and the relay
verify clean; a forged, a missing and a reordered event are each found at their offset."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from gongkai_platform.audit.verify import ProblemKind, Severity, VerifyReport, verify
from gongkai_platform.cli import app
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.relay import Relay, make_producer
from tests.support import meta, received, unique

pytestmark = pytest.mark.integration

TopicFactory = Callable[..., Awaitable[str]]


async def genuine_bodies(
    fresh_database: Callable[..., Awaitable[str]],
    bootstrap: str,
    topic: str | None,
    bureau: str,
) -> list[bytes]:
    """Five events of one stream and two of another (one bureau), sealed by the event store;
    published to `topic` by the relay when given. Returns the bodies in position order."""
    dsn = await fresh_database()
    await migrate(dsn)
    pool = await create_pool(dsn)
    try:
        store = PostgresEventStore(pool)
        stream, other = unique("request"), unique("request")
        for version in range(5):
            await store.append(stream, version, [received(stream)], meta(bureau))
            if version < 2:
                await store.append(other, version, [received(other)], meta(bureau))
        if topic is not None:
            producer = make_producer(bootstrap)
            await producer.start()
            try:
                assert await Relay(pool, producer, topic).publish_once() == 7
            finally:
                await producer.stop()
        rows = await pool.fetch("SELECT body FROM events ORDER BY position")
        return [str(r["body"]).encode() for r in rows]
    finally:
        await pool.close()


async def publish_raw(bootstrap: str, topic: str, bureau: str, bodies: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(topic, value=body, key=bureau.encode(), partition=0)
    finally:
        await producer.stop()


def kinds_at(report: VerifyReport) -> set[tuple[ProblemKind, int]]:
    return {(p.kind, p.offset) for p in report.problems}


async def test_genuine_events_verify_clean(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    topic = await kafka_topic_factory(partitions=3)
    await genuine_bodies(fresh_database, kafka_bootstrap, topic, unique("b"))
    seen: list[tuple[int, int]] = []
    report = await verify(kafka_bootstrap, [topic], progress=lambda d, t: seen.append((d, t)))
    assert report.ok and report.problems == []
    assert (report.events, report.bureaus, report.streams) == (7, 1, 2)
    assert seen[-1] == (7, 7)
    answer = await asyncio.to_thread(
        CliRunner().invoke, app, ["verify", "--bootstrap", kafka_bootstrap, "--topic", topic]
    )
    assert answer.exit_code == 0, answer.output
    assert "7 events in 1 topics, 1 bureaus, 2 streams" in answer.output


async def test_a_republished_batch_is_a_warning_not_an_error(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    topic, bureau = await kafka_topic_factory(), unique("b")
    bodies = await genuine_bodies(fresh_database, kafka_bootstrap, topic, bureau)
    await publish_raw(kafka_bootstrap, topic, bureau, bodies[-2:])  # the relay's at-least-once
    report = await verify(kafka_bootstrap, [topic])
    assert report.ok
    assert kinds_at(report) == {(ProblemKind.DUPLICATE, 7), (ProblemKind.DUPLICATE, 8)}
    assert all(p.severity is Severity.WARNING for p in report.problems)


async def test_a_forged_event_is_found_at_its_offset(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    topic, bureau = await kafka_topic_factory(), unique("b")
    bodies = await genuine_bodies(fresh_database, kafka_bootstrap, None, bureau)
    forged = json.loads(bodies[3])
    forged["data"]["description"] = "篡改过的申请内容"  # the stored hash is left as it was
    bodies[3] = json.dumps(forged, ensure_ascii=False).encode()
    await publish_raw(kafka_bootstrap, topic, bureau, bodies)

    report = await verify(kafka_bootstrap, [topic])

    assert not report.ok
    assert kinds_at(report) == {(ProblemKind.HASH_MISMATCH, 3)}
    [problem] = report.errors
    assert (problem.topic, problem.partition, problem.bureau_id) == (topic, 0, bureau)
    assert problem.found == forged["hash"] and problem.expected != forged["hash"]
    assert problem.event_id == forged["event_id"]

    # The command says the same and exits 1.
    answer = await asyncio.to_thread(
        CliRunner().invoke, app, ["verify", "--bootstrap", kafka_bootstrap, "--topic", topic]
    )
    assert answer.exit_code == 1, answer.output
    assert f"first broken event: {topic}[0]@3 hash_mismatch" in " ".join(answer.output.split())


async def test_a_missing_event_is_a_version_gap_at_the_next_offset(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    topic, bureau = await kafka_topic_factory(), unique("b")
    bodies = await genuine_bodies(fresh_database, kafka_bootstrap, None, bureau)
    # Positions: s1v1 o1v1 s1v2 o1v2 s1v3 s1v4 s1v5; drop s1v3.
    lost = json.loads(bodies.pop(4))
    await publish_raw(kafka_bootstrap, topic, bureau, bodies)

    report = await verify(kafka_bootstrap, [topic])

    assert not report.ok
    assert kinds_at(report) == {(ProblemKind.VERSION_GAP, 4), (ProblemKind.CHAIN_BROKEN, 4)}
    gap = next(p for p in report.errors if p.kind is ProblemKind.VERSION_GAP)
    assert (gap.stream_id, gap.expected, gap.found) == (lost["stream_id"], "3", "4")
    chain = next(p for p in report.errors if p.kind is ProblemKind.CHAIN_BROKEN)
    assert chain.found == lost["hash"]  # the next event points to the lost one
    assert chain.expected == json.loads(bodies[3])["hash"]


async def test_a_reordered_event_is_found_and_not_reported_as_missing(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    topic, bureau = await kafka_topic_factory(), unique("b")
    bodies = await genuine_bodies(fresh_database, kafka_bootstrap, None, bureau)
    bodies[4], bodies[5] = bodies[5], bodies[4]  # s1v4 published before s1v3
    await publish_raw(kafka_bootstrap, topic, bureau, bodies)

    report = await verify(kafka_bootstrap, [topic])

    assert not report.ok
    kinds = kinds_at(report)
    assert (ProblemKind.REORDERED, 5) in kinds
    assert not any(k is ProblemKind.VERSION_GAP for k, _ in kinds), "the gap was filled later"
    assert not any(k is ProblemKind.DUPLICATE for k, _ in kinds)
    reordered = next(p for p in report.errors if p.kind is ProblemKind.REORDERED)
    assert (reordered.expected, reordered.found) == ("5", "3")
    assert "after v4 at" in reordered.message and "@4" in reordered.message
    assert {o for k, o in kinds if k is ProblemKind.CHAIN_BROKEN} == {4, 5, 6}


async def test_a_deleted_outbox_row_shows_as_a_gap_after_the_relay(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: TopicFactory,
) -> None:
    """Tampering with the outbox before the relay runs: the relay publishes what is left."""
    topic, bureau = await kafka_topic_factory(), unique("b")
    dsn = await fresh_database()
    await migrate(dsn)
    pool: asyncpg.Pool = await create_pool(dsn)
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    try:
        store = PostgresEventStore(pool)
        stream = unique("request")
        for version in range(3):
            await store.append(stream, version, [received(stream)], meta(bureau))
        await pool.execute("DELETE FROM events WHERE stream_id = $1 AND stream_version = 2", stream)
        assert await Relay(pool, producer, topic).publish_once() == 2
    finally:
        await producer.stop()
        await pool.close()
    report = await verify(kafka_bootstrap, [topic])
    assert kinds_at(report) == {(ProblemKind.VERSION_GAP, 1), (ProblemKind.CHAIN_BROKEN, 1)}
