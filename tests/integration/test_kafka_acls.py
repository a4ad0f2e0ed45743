"""Kafka access as docker-compose sets it up, on a real broker: SASL/SCRAM users, the
StandardAuthorizer, and the grants of deploy/kafka/acls.sh (run as it is, through the jars)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from gongkai_contracts.topics import SERVICES, Service, all_topics, dlq_topic, events_topic
from gongkai_platform.devstack.kafka import (
    KafkaNode,
    ScramSecurity,
    TopicSpec,
    create_topics,
    find_repo_file,
    write_kafka_tool_scripts,
)
from gongkai_platform.kafka_security import scram_client_kwargs

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "admin-test-secret"
PASSWORDS = {service: f"{service}-test-secret" for service in SERVICES}
# Has SCRAM credentials but no ACL: authenticated, authorised for nothing.
STRANGER, STRANGER_PASSWORD = "stranger", "stranger-test-secret"
ACLS_SH = "deploy/kafka/acls.sh"
PARTITIONS = 2


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    """A broker of its own with SCRAM + StandardAuthorizer, the platform's topics, and the
    users and ACLs that deploy/kafka/acls.sh creates."""
    workdir = tmp_path_factory.mktemp("kafka-acls")
    security = ScramSecurity(ADMIN_PASSWORD, users={STRANGER: STRANGER_PASSWORD})
    node = KafkaNode(workdir / "node", heap="384m", security=security)
    node.start()
    try:
        asyncio.run(
            create_topics(
                node.bootstrap_servers,
                [TopicSpec(t, PARTITIONS) for t in all_topics()],
                **node.client_kwargs(),
            )
        )
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": node.bootstrap_servers,
            "KAFKA_BIN": str(write_kafka_tool_scripts(workdir / "bin")),
            "KAFKA_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **{f"KAFKA_{s.upper()}_PASSWORD": p for s, p in PASSWORDS.items()},
        }
        started = time.monotonic()
        done = subprocess.run(
            ["sh", str(find_repo_file(ACLS_SH))],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"acls.sh failed:\n{done.stdout}\n{done.stderr}"
        assert "kafka-acls: done" in done.stdout, done.stdout
        print(f"acls.sh took {time.monotonic() - started:.1f}s")
        yield node
    finally:
        node.stop()


def as_service(service: Service) -> dict[str, Any]:
    return scram_client_kwargs(service, PASSWORDS[service])


@asynccontextmanager
async def producer(node: KafkaNode, **security: Any) -> AsyncIterator[AIOKafkaProducer]:
    """An idempotent producer like the relay's (relay.make_producer) and the DLQ producer."""
    p = AIOKafkaProducer(
        bootstrap_servers=node.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=10_000,
        **security,
    )
    try:
        await p.start()
        yield p
    finally:
        await p.stop()


async def produce(node: KafkaNode, topic: str, **security: Any) -> None:
    async with producer(node, **security) as p:
        await asyncio.wait_for(p.send_and_wait(topic, b"{}", key=b"k"), 30)


async def read_all(
    node: KafkaNode,
    topic: str,
    group: str | None,
    want: int,
    within: float = 15,
    **security: Any,
) -> list[bytes]:
    """Read `topic` from the start until `want` records or `within` s: in `group` (subscribed,
    and committing) when given, else from every partition assigned by hand. A topic the user
    may not read simply has no partitions for aiokafka: nothing arrives."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=node.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
        **security,
    )
    await consumer.start()
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        else:
            consumer.subscribe([topic])
        values: list[bytes] = []
        deadline = time.monotonic() + within
        while len(values) < want and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                values += [r.value for r in batch if r.value is not None]
        if group is not None:
            await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def visible_topics(node: KafkaNode, **security: Any) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=node.bootstrap_servers, **security)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_requests_writes_its_own_topic_and_reads_what_it_is_granted(
    broker: KafkaNode,
) -> None:
    requests = as_service("requests")
    await produce(broker, events_topic("requests"), **requests)
    # Its consumers dead-letter review's events they cannot apply.
    await produce(broker, dlq_topic(events_topic("review")), **requests)
    # Review's decisions, written by review, read by requests in its own consumer group.
    marker = uuid.uuid4().hex.encode()
    async with producer(broker, **as_service("review")) as p:
        await p.send_and_wait(events_topic("review"), marker, key=b"k")
    group = f"requests.review_decisions.{uuid.uuid4().hex[:6]}"
    seen = await read_all(broker, events_topic("review"), group, want=1, **requests)
    assert marker in seen
    # Its own topic (the relay's), as the admin sees it: the message requests wrote is there.
    assert await read_all(broker, events_topic("requests"), None, 1, **broker.client_kwargs())
    assert await visible_topics(broker, **requests) == {
        events_topic("requests"),
        events_topic("review"),
        dlq_topic(events_topic("review")),
    }


@pytest.mark.parametrize("writer", SERVICES)
async def test_a_service_writes_only_its_own_events_topic(
    broker: KafkaNode, writer: Service
) -> None:
    for target in SERVICES:
        topic = events_topic(target)
        if target == writer:
            await produce(broker, topic, **as_service(writer))
        else:
            with pytest.raises(TopicAuthorizationFailedError):
                await produce(broker, topic, **as_service(writer))


async def test_requests_cannot_read_ungranted_topics_or_join_other_groups(
    broker: KafkaNode,
) -> None:
    topic = events_topic("catalogue")
    await produce(broker, topic, **as_service("catalogue"))
    assert await read_all(broker, topic, None, 1, **broker.client_kwargs())  # it is there
    requests = as_service("requests")
    assert await read_all(broker, topic, None, 1, within=5, **requests) == []
    probe = f"requests.probe.{uuid.uuid4().hex[:6]}"  # a group requests may use
    assert await read_all(broker, topic, probe, 1, within=5, **requests) == []
    with pytest.raises(GroupAuthorizationFailedError):
        await read_all(broker, events_topic("review"), "review.open_cases", 1, **requests)


async def test_a_wrong_password_fails_authentication(broker: KafkaNode) -> None:
    def refusals() -> int:
        return broker.log_path.read_text(errors="replace").count(
            "invalid credentials with SASL mechanism SCRAM-SHA-512"
        )

    before = refusals()
    wrong = scram_client_kwargs("requests", "not-the-password")
    with pytest.raises(KafkaConnectionError):
        await produce(broker, events_topic("requests"), **wrong)
    assert refusals() > before  # refused by the broker, and logged there


async def test_unknown_users_read_nothing(broker: KafkaNode) -> None:
    with pytest.raises(KafkaConnectionError):  # no SCRAM credentials: no connection at all
        await visible_topics(broker, **scram_client_kwargs("nobody", "guess"))
    # Authenticated, but granted nothing: sees no topic, reads nothing, joins no group.
    stranger = scram_client_kwargs(STRANGER, STRANGER_PASSWORD)
    assert await visible_topics(broker, **stranger) == set()
    topic = events_topic("review")
    await produce(broker, topic, **as_service("review"))
    assert await read_all(broker, topic, None, 1, **broker.client_kwargs())  # it is there
    assert await read_all(broker, topic, None, 1, within=5, **stranger) == []
    with pytest.raises(GroupAuthorizationFailedError):
        await read_all(broker, topic, "catalogue.review_decisions", 1, **stranger)
    # While the admin, the super user, sees every topic.
    assert await visible_topics(broker, **broker.client_kwargs()) >= set(all_topics())
