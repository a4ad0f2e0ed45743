"""The one place that wires the requests service's real dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore

from .config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Dependencies:
    pool: asyncpg.Pool
    store: PostgresEventStore


def lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(settings.database_url, max_size=10)
        app.state.deps = Dependencies(pool=pool, store=PostgresEventStore(pool))
        try:
            yield
        finally:
            await pool.close()

    return run
