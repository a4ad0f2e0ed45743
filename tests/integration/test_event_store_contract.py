"""One contract, two event stores: the in-memory fake behaves as PostgreSQL does."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asyncpg import Pool

from gongkai_contracts import GENESIS_HASH
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.eventstore import (
    ConcurrencyError,
    EventStore,
    InMemoryEventStore,
    PostgresEventStore,
    StoredEvent,
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
    async def pool(self, fresh_database: Callable[..., Awaitable[str]]) -> AsyncIterator[Pool]:
        dsn = await fresh_database()
        await migrate(dsn)
        pool = await create_pool(dsn, max_size=12)
        try:
            yield pool
        finally:
            await pool.close()

    @pytest.fixture
    async def store(self, pool: Pool) -> AsyncIterator[EventStore]:
        yield PostgresEventStore(pool)

    async def test_stored_bodies_are_the_envelopes_byte_for_byte(self, pool: Pool) -> None:
        """The chain is hashed in SQL from JSON cut in Python: both must agree exactly."""
        store = PostgresEventStore(pool)
        bureau = unique("b")
        sealed = await store.append(unique("request"), 0, [received(), received()], meta(bureau))
        stored = await store.read_after(0, 1_000_000)
        mine = {s.envelope.event_id: s for s in stored}
        for envelope in sealed:
            envelope.verify()
            assert mine[envelope.event_id].body == envelope.to_json()
        assert sealed[1].prev_hash == sealed[0].hash

    async def test_a_conflict_leaves_the_callers_transaction_usable(self, pool: Pool) -> None:
        store = PostgresEventStore(pool)
        stream = unique("request")
        await store.append(stream, 0, [received()], meta())
        async with pool.acquire() as conn, conn.transaction():
            with pytest.raises(ConcurrencyError):
                await store.append(stream, 0, [received()], meta(), conn=conn)
            await store.append(stream, 1, [received()], meta(), conn=conn)
        assert [e.stream_version for e in await store.load(stream)] == [1, 2]

    async def test_concurrent_appends_keep_one_chain_and_commit_in_position_order(
        self, pool: Pool
    ) -> None:
        """Ten connections append to three bureaus, half of them inside a transaction that
        writes before and after the append and commits late; a reader tails by position
        meanwhile, as the relay does. It must see every event (a position that committed
        after a higher one would be skipped), and each bureau's chain must be unbroken in
        position order."""
        store = PostgresEventStore(pool)
        bureaus = [unique("b") for _ in range(3)]
        await pool.execute("CREATE TABLE IF NOT EXISTS side_writes (n integer)")
        start = await store.read_after(0, 1_000_000)
        cursor = start[-1].position if start else 0
        seen: list[StoredEvent] = []
        done = asyncio.Event()

        async def writer(w: int) -> None:
            for i in range(30):
                bureau = bureaus[(w + i) % len(bureaus)]
                events = [received() for _ in range(1 + i % 2)]
                if w % 2:
                    await store.append(unique("request"), 0, events, meta(bureau))
                    continue
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("INSERT INTO side_writes VALUES ($1)", i)
                    await store.append(unique("request"), 0, events, meta(bureau), conn=conn)
                    await conn.execute("INSERT INTO side_writes VALUES ($1)", -i)
                    await asyncio.sleep(0.001 * (i % 3))

        async def tail() -> None:
            nonlocal cursor
            while True:
                finished = done.is_set()
                batch = await store.read_after(cursor, 50)
                seen.extend(batch)
                if batch:
                    cursor = batch[-1].position
                elif finished:
                    return
                else:
                    await asyncio.sleep(0)

        reader = asyncio.create_task(tail())
        await asyncio.gather(*(writer(w) for w in range(10)))
        done.set()
        await reader

        everything = [
            s for s in await store.read_after(0, 1_000_000) if s.envelope.bureau_id in bureaus
        ]
        assert len(everything) == 10 * (15 * 1 + 15 * 2)
        assert [s.envelope.event_id for s in seen if s.envelope.bureau_id in bureaus] == [
            s.envelope.event_id for s in everything
        ]
        for bureau in bureaus:
            chain = [s.envelope for s in everything if s.envelope.bureau_id == bureau]
            assert chain[0].prev_hash == GENESIS_HASH
            for before, after in itertools.pairwise(chain):
                assert after.prev_hash == before.hash
            for envelope in chain:
                envelope.verify()
