"""Pytest fixtures for a real Kafka broker: KAFKA_BOOTSTRAP_SERVERS or a session KafkaNode."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator

import pytest

from gongkai_platform.devstack.kafka import KafkaNode, TopicSpec, create_topics

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of an external broker (env) or of a broker started for this session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    node = KafkaNode(tmp_path_factory.mktemp("kafka"))
    node.start()
    try:
        yield node.bootstrap_servers
    finally:
        node.stop()


@pytest.fixture
def kafka_topic_factory(kafka_bootstrap: str, request: pytest.FixtureRequest) -> TopicFactory:
    """Async ``(partitions=1) -> name`` creating a fresh, uniquely named event topic."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:80]

    async def make(partitions: int = 1) -> str:
        name = f"test.{stem}.{secrets.token_hex(4)}"
        await create_topics(kafka_bootstrap, [TopicSpec(name, partitions)])
        return name

    return make
