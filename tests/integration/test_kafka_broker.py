"""The dev Kafka broker is real: groups, seeks, faststream and topic configs all work on it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import (
    ConfigResource,
    ConfigResourceType,
)
from faststream.kafka import KafkaBroker, KafkaMessage

from gongkai_platform.devstack.kafka import KafkaNode, TopicSpec, create_topics
from tests.plugins.kafka import TopicFactory

pytestmark = pytest.mark.integration

N = 30


async def _produce(bootstrap: str, topic: str, n: int) -> list[tuple[int, int]]:
    """Send n keyed messages (key k<i%5>, value m<i>); return (partition, offset) per message."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        metas = [
            await producer.send_and_wait(topic, f"m{i}".encode(), key=f"k{i % 5}".encode())
            for i in range(n)
        ]
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in metas]


async def _drain(consumer: AIOKafkaConsumer, n: int, within: float = 30) -> list[ConsumerRecord]:
    """Poll until n records arrived or `within` seconds passed; return what arrived."""
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + within
    while len(records) < n and time.monotonic() < deadline:
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(batch)
    return records


async def _topic_configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    (resource,) = [r for resp in responses for r in resp.to_object()["resources"]]
    assert resource["error_code"] == 0, resource
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def test_group_consumer_reads_everything_in_key_order(
    kafka_bootstrap: str, kafka_topic_factory: TopicFactory
) -> None:
    topic = await kafka_topic_factory(partitions=3)
    sent = await _produce(kafka_bootstrap, topic, N)
    assert len({p for p, _ in sent}) > 1, "5 keys over 3 partitions should use several"

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        records = await _drain(consumer, N)
        assignment = consumer.assignment()
        await consumer.commit()
        committed = {tp: await consumer.committed(tp) for tp in assignment}
    finally:
        await consumer.stop()

    assert assignment == {TopicPartition(topic, p) for p in range(3)}
    assert sorted(r.value for r in records) == sorted(f"m{i}".encode() for i in range(N))
    assert {(r.partition, r.offset) for r in records} == set(sent)
    by_key: defaultdict[bytes, list[ConsumerRecord]] = defaultdict(list)
    for r in records:
        by_key[r.key].append(r)
    for key, recs in by_key.items():
        assert len({r.partition for r in recs}) == 1, f"key {key!r} spread over partitions"
        values = [int(r.value[1:]) for r in sorted(recs, key=lambda r: r.offset)]
        assert values == sorted(values), f"key {key!r} out of order"
    ends: defaultdict[int, int] = defaultdict(int)
    for p, o in sent:
        ends[p] = max(ends[p], o + 1)
    assert committed == {TopicPartition(topic, p): ends[p] for p in range(3)}


async def test_manual_assign_and_seek(
    kafka_bootstrap: str, kafka_topic_factory: TopicFactory
) -> None:
    topic = await kafka_topic_factory()
    sent = await _produce(kafka_bootstrap, topic, N)
    assert sent == [(0, i) for i in range(N)]

    k = 17
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, k)
        records = await _drain(consumer, N - k)
        extra = await consumer.getmany(timeout_ms=300)
        end = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()

    assert [r.offset for r in records] == list(range(k, N))
    assert [r.value for r in records] == [f"m{i}".encode() for i in range(k, N)]
    assert not any(extra.values())
    assert end == N


async def test_faststream_broker_roundtrip(
    kafka_bootstrap: str, kafka_topic_factory: TopicFactory
) -> None:
    topic = await kafka_topic_factory(partitions=2)
    broker = KafkaBroker(kafka_bootstrap, enable_idempotence=True, acks="all")
    got = asyncio.Event()
    received: list[tuple[dict[str, Any], bytes | None, int]] = []

    @broker.subscriber(topic, group_id=f"fs-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest")
    async def handle(body: dict[str, Any], msg: KafkaMessage) -> None:
        raw = msg.raw_message
        assert not isinstance(raw, tuple)  # tuple only for batch subscribers
        received.append((body, raw.key, raw.offset))
        got.set()

    await broker.start()
    try:
        meta = await broker.publish({"event": "registered", "n": 7}, topic=topic, key=b"agg-1")
        await asyncio.wait_for(got.wait(), timeout=30)
    finally:
        await broker.stop()

    assert received == [({"event": "registered", "n": 7}, b"agg-1", meta.offset)]


async def test_topics_keep_events_forever(
    kafka_bootstrap: str, kafka_topic_factory: TopicFactory
) -> None:
    topic = await kafka_topic_factory(partitions=2)
    await create_topics(kafka_bootstrap, [TopicSpec(topic, 2)])  # idempotent: no error

    configs = await _topic_configs(kafka_bootstrap, topic)
    assert configs["retention.ms"] == "-1"
    assert configs["retention.bytes"] == "-1"
    assert configs["cleanup.policy"] == "delete"


async def test_restart_keeps_data(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path / "kafka", heap="256m")
    await asyncio.to_thread(node.start)
    try:
        await create_topics(node.bootstrap_servers, [TopicSpec("restart.events", 1)])
        sent = await _produce(node.bootstrap_servers, "restart.events", 5)
        await asyncio.to_thread(node.restart)
        consumer = AIOKafkaConsumer(
            "restart.events",
            bootstrap_servers=node.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            records = await _drain(consumer, 5)
        finally:
            await consumer.stop()
    finally:
        await asyncio.to_thread(node.stop)

    assert [(r.partition, r.offset) for r in records] == sent
    assert [r.value for r in records] == [f"m{i}".encode() for i in range(5)]
