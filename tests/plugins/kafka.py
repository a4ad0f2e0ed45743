"""Pytest fixtures for a real Kafka broker: KAFKA_BOOTSTRAP_SERVERS or a session KafkaNode."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest

from gongkai_platform.devstack.kafka import KafkaNode, TopicSpec, create_topics, kafka_version

INFRA = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which real servers the session ran against (shared with the PostgreSQL plugin)."""
    lines = terminalreporter.config.stash.get(INFRA, [])
    if lines:
        terminalreporter.section("infrastructure used")
        for line in lines:
            terminalreporter.write_line(line)


TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def kafka_bootstrap(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[str]:
    """Bootstrap servers of an external broker (env) or of a broker started for this session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        pytestconfig.stash.setdefault(INFRA, []).append(f"Kafka: external broker {external}")
        yield external
        return
    node = KafkaNode(tmp_path_factory.mktemp("kafka"))
    started = time.monotonic()
    node.start()
    pytestconfig.stash.setdefault(INFRA, []).append(
        f"Kafka: real broker {kafka_version()} (KRaft) started by this session at "
        f"{node.bootstrap_servers} in {time.monotonic() - started:.1f}s; log {node.log_path}"
    )
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
