"""One contract, two event stores: the in-memory fake behaves as PostgreSQL does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gongkai_contracts import GENESIS_HASH
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import (
    ConcurrencyError,
    EventStore,
    InMemoryEventStore,
    PostgresEventStore,
)
from tests.support import meta, received, unique


class EventStoreContract:
    @pytest.fixture
    async def store(self, *args: Any) -> AsyncIterator[EventStore]:
        raise NotImplementedError
        yield

    async def test_appends_and_loads_a_stream_in_version_order(self, store: EventStore) -> None:
        stream = unique("request")
        await store.append(stream, 0, [received()], meta())
        await store.append(stream, 1, [received(), received()], meta())
        loaded = await store.load(stream)
        assert [e.stream_version for e in loaded] == [1, 2, 3]
        assert all(e.stream_id == stream for e in loaded)

    async def test_wrong_expected_version_is_a_named_conflict(self, store: EventStore) -> None:
        stream = unique("request")
        await store.append(stream, 0, [received()], meta())
        with pytest.raises(ConcurrencyError) as caught:
            await store.append(stream, 0, [received()], meta())
        assert (caught.value.expected, caught.value.actual) == (0, 1)
        assert len(await store.load(stream)) == 1

    async def test_hashes_chain_per_bureau(self, store: EventStore) -> None:
        bureau, other = unique("b"), unique("b")
        [a] = await store.append(unique("request"), 0, [received()], meta(bureau))
        [x] = await store.append(unique("request"), 0, [received()], meta(other))
        [b] = await store.append(unique("request"), 0, [received()], meta(bureau))
        assert a.prev_hash == GENESIS_HASH and x.prev_hash == GENESIS_HASH
        assert b.prev_hash == a.hash
        for envelope in (a, b, x):
            envelope.verify()

    async def test_read_after_returns_positions_in_order(self, store: EventStore) -> None:
        start = await store.read_after(0, 1_000_000)
        base = start[-1].position if start else 0
        stream = unique("request")
        await store.append(stream, 0, [received(), received()], meta())
        after = await store.read_after(base, 10)
        assert [s.envelope.stream_version for s in after] == [1, 2]
        assert after[0].position < after[1].position
        assert after[0].body == after[0].envelope.to_json()

    async def test_concurrent_appends_to_one_stream_lose_nothing(self, store: EventStore) -> None:
        stream = unique("request")

        async def writer() -> int:
            while True:
                version = len(await store.load(stream))
                try:
                    await store.append(stream, version, [received()], meta())
                    return version + 1
                except ConcurrencyError:
                    await asyncio.sleep(0)

        versions = await asyncio.gather(*(writer() for _ in range(10)))
        assert sorted(versions) == list(range(1, 11))
        assert [e.stream_version for e in await store.load(stream)] == list(range(1, 11))


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[EventStore]:
        yield InMemoryEventStore()


@pytest.mark.integration
class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(
        self, fresh_database: Callable[..., Awaitable[str]]
    ) -> AsyncIterator[EventStore]:
        dsn = await fresh_database()
        await migrate(dsn)
        pool = await create_pool(dsn)
        try:
            yield PostgresEventStore(pool)
        finally:
            await pool.close()
