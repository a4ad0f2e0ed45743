"""PostgreSQL plumbing: connection pools and schema migrations (yoyo, plain SQL files)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {dsn!r}")
    return f"postgresql+psycopg://{rest}"


def apply_migrations(dsn: str, *service_dirs: Path) -> int:
    """Apply the platform's and the service's migrations; safe to run from several processes."""
    backend = get_backend(_yoyo_url(dsn))
    migrations = read_migrations(str(PLATFORM_MIGRATIONS), *(str(d) for d in service_dirs))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    if pending:
        log.info("applied %d migrations", len(pending))
    return len(pending)


async def migrate(dsn: str, *service_dirs: Path) -> int:
    return await asyncio.to_thread(apply_migrations, dsn, *service_dirs)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


async def close_pool(pool: asyncpg.Pool, timeout: float = 10) -> None:
    """Close gracefully, or terminate: a connection a crashed server left half-used is never
    released, and a process must still be able to stop (and be restarted)."""
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except TimeoutError:
        log.warning("pool did not close within %.0fs; terminating its connections", timeout)
        pool.terminate()
