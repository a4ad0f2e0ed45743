"""The session's PostgreSQL server is real, unprivileged, isolates databases and keeps data."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from gongkai_platform.devstack.postgres import PostgresNode
from tests.plugins.postgres import DatabaseFactory

pytestmark = pytest.mark.integration


def _uids(pid: int) -> list[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(uid) for uid in line.split()[1:]]
    raise AssertionError(f"no Uid line for pid {pid}")


def _is_local(data_dir: Path) -> bool:
    return (data_dir / "postmaster.pid").is_file()


def _assert_unprivileged(data_dir: Path, backend_pid: int) -> None:
    assert data_dir.stat().st_uid != 0
    postmaster_pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    assert 0 not in _uids(postmaster_pid)
    assert 0 not in _uids(backend_pid)


async def test_server_version(postgres_admin_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_admin_dsn)
    try:
        assert conn.get_server_version().major >= 14
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


async def test_server_does_not_run_as_root(postgres_admin_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_admin_dsn)
    try:
        data_dir = Path(await conn.fetchval("SELECT current_setting('data_directory')"))
        if not _is_local(data_dir):
            pytest.skip(f"external server (DATABASE_URL): {data_dir} is not on this machine")
        _assert_unprivileged(data_dir, await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


async def test_fresh_databases_are_distinct_and_empty(fresh_database: DatabaseFactory) -> None:
    first, second = await fresh_database(), await fresh_database("other")
    assert first != second
    names = set()
    for dsn in (first, second):
        conn = await asyncpg.connect(dsn)
        try:
            names.add(await conn.fetchval("SELECT current_database()"))
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
            assert tables == 0
            await conn.execute("CREATE TABLE marker (v int)")
        finally:
            await conn.close()
    assert len(names) == 2


async def test_data_survives_restart(
    postgres_node: PostgresNode | None, fresh_database: DatabaseFactory
) -> None:
    if postgres_node is None:
        pytest.skip("DATABASE_URL points at an external server, which this session cannot restart")
    dsn = await fresh_database("restart")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('公开')")
    finally:
        await conn.close()
    old_pid = postgres_node.pid
    postgres_node.restart()
    assert postgres_node.pid != old_pid
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == "公开"
    finally:
        await conn.close()
    assert os.geteuid() != 0 or postgres_node.user is not None
