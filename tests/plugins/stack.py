"""The platform as separate processes on the session's PostgreSQL and Kafka (e2e and fault)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator

import pytest

from gongkai_contracts.topics import SERVICES
from gongkai_platform.devstack.stack import LocalStack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_dsn: str, kafka_bootstrap: str
) -> Iterator[LocalStack]:
    """All service processes, started once per test module and stopped after it."""
    platform = LocalStack(
        tmp_path_factory.mktemp("stack"),
        admin_dsn=postgres_admin_dsn,
        bootstrap=kafka_bootstrap,
        ports={s: _free_port() for s in SERVICES},
        database_prefix=f"e2e{secrets.token_hex(3)}_",
    )
    platform.start_infrastructure()
    platform.start_all()
    try:
        yield platform
    finally:
        platform.close()
