"""Pytest fixtures for a real PostgreSQL server: one per session, or DATABASE_URL if set."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from gongkai_platform.devstack.postgres import PostgresNode, create_database
from tests.plugins.kafka import INFRA

DatabaseFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def postgres_node(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[PostgresNode | None]:
    """The session's own server; None when DATABASE_URL points at an external one."""
    infra = pytestconfig.stash.setdefault(INFRA, [])
    if os.environ.get("DATABASE_URL"):
        infra.append("PostgreSQL: external server from DATABASE_URL")
        yield None
        return
    node = PostgresNode(tmp_path_factory.mktemp("postgres"))
    started = time.monotonic()
    node.start()
    infra.append(
        f"PostgreSQL: real server {node.bindir} started by this session at {node.admin_dsn} "
        f"in {time.monotonic() - started:.1f}s, running as OS user "
        f"{node.user.pw_name if node.user else 'current'}; log {node.log_path}"
    )
    try:
        yield node
    finally:
        node.remove()


@pytest.fixture(scope="session")
def postgres_admin_dsn(postgres_node: PostgresNode | None) -> str:
    """Superuser DSN of the `postgres` database on the test server."""
    if postgres_node is None:
        return os.environ["DATABASE_URL"]
    return postgres_node.admin_dsn


def _with_dbname(dsn: str, dbname: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{dbname}").geturl()


@pytest.fixture
async def fresh_database(postgres_admin_dsn: str) -> AsyncIterator[DatabaseFactory]:
    """`await fresh_database()` creates an empty uniquely named database and returns its DSN."""
    created: list[str] = []

    async def make(prefix: str = "t") -> str:
        name = f"{prefix}_{secrets.token_hex(6)}"
        await create_database(postgres_admin_dsn, name)
        created.append(name)
        return _with_dbname(postgres_admin_dsn, name)

    yield make
    if not created:
        return
    conn = await asyncpg.connect(postgres_admin_dsn)
    try:
        for name in created:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
