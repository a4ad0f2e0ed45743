"""Event stores: PostgreSQL (the system of record and the outbox) and in-memory (unit tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from opentelemetry import propagate

from gongkai_contracts import GENESIS_HASH, Actor, Envelope, Event
from gongkai_contracts.envelope import utcnow

NOTIFY_CHANNEL = "gongkai_events_appended"

# One lock id for every append in a service database. Appends are serialised so that
# `position` order is commit order: the relay then tails by position and can never skip
# a row that commits late. Appends are short (one small INSERT), so this costs little.
APPEND_LOCK_ID = 0x6F6E6B6169  # "gonkai"


class ConcurrencyError(Exception):
    """The stream moved on since it was loaded: reload and decide again, or answer 409."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, the command expected {expected}"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class Metadata:
    """What every event of one command shares."""

    bureau_id: str
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None = None
    occurred_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class StoredEvent:
    position: int
    envelope: Envelope
    body: bytes
    trace_context: dict[str, str]


class EventStore(Protocol):
    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event], meta: Metadata
    ) -> list[Envelope]: ...

    async def load(self, stream_id: str) -> list[Envelope]: ...

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]: ...


def _seal_all(
    stream_id: str,
    expected_version: int,
    events: Sequence[Event],
    meta: Metadata,
    prev_hash: str,
) -> list[Envelope]:
    sealed: list[Envelope] = []
    for offset, event in enumerate(events, start=1):
        envelope = Envelope.seal(
            event,
            bureau_id=meta.bureau_id,
            stream_id=stream_id,
            stream_version=expected_version + offset,
            occurred_at=meta.occurred_at,
            actor=meta.actor,
            correlation_id=meta.correlation_id,
            causation_id=meta.causation_id,
            prev_hash=prev_hash,
        )
        sealed.append(envelope)
        prev_hash = envelope.hash
    return sealed


def _current_trace_context() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


class PostgresEventStore:
    """Append-only events table with optimistic concurrency per stream."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
        conn: asyncpg.Connection | None = None,
    ) -> list[Envelope]:
        """Append in one transaction; pass `conn` (inside a transaction) to add own writes."""
        if conn is None:
            async with self._pool.acquire() as own, own.transaction():
                return await self._append(own, stream_id, expected_version, events, meta)
        return await self._append(conn, stream_id, expected_version, events, meta)

    async def _append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
    ) -> list[Envelope]:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_ID)
        actual = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        head = await conn.fetchval(
            "SELECT hash FROM events WHERE bureau_id = $1 ORDER BY position DESC LIMIT 1",
            meta.bureau_id,
        )
        sealed = _seal_all(stream_id, expected_version, events, meta, head or GENESIS_HASH)
        trace = json.dumps(_current_trace_context())
        await conn.executemany(
            """INSERT INTO events (event_id, stream_id, stream_version, bureau_id, event_type,
                                   hash, body, trace_context)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)""",
            [
                (
                    e.event_id,
                    e.stream_id,
                    e.stream_version,
                    e.bureau_id,
                    e.event_type,
                    e.hash,
                    e.to_json().decode(),
                    trace,
                )
                for e in sealed
            ],
        )
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return sealed

    async def load(self, stream_id: str, conn: asyncpg.Connection | None = None) -> list[Envelope]:
        rows = await (conn or self._pool).fetch(
            "SELECT body FROM events WHERE stream_id = $1 ORDER BY stream_version", stream_id
        )
        return [Envelope.from_json(r["body"]) for r in rows]

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]:
        rows = await self._pool.fetch(
            """SELECT position, body, trace_context FROM events
               WHERE position > $1 ORDER BY position LIMIT $2""",
            position,
            limit,
        )
        return [_stored(r) for r in rows]


def _stored(row: Any) -> StoredEvent:
    body = row["body"].encode()
    return StoredEvent(
        position=row["position"],
        envelope=Envelope.from_json(body),
        body=body,
        trace_context=json.loads(row["trace_context"]),
    )


class InMemoryEventStore:
    """The same contract as PostgresEventStore, for unit tests of domain and handlers."""

    def __init__(self) -> None:
        self._events: list[StoredEvent] = []

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event], meta: Metadata
    ) -> list[Envelope]:
        actual = max(
            (s.envelope.stream_version for s in self._events if s.envelope.stream_id == stream_id),
            default=0,
        )
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        head = next(
            (
                s.envelope.hash
                for s in reversed(self._events)
                if s.envelope.bureau_id == meta.bureau_id
            ),
            GENESIS_HASH,
        )
        sealed = _seal_all(stream_id, expected_version, events, meta, head)
        for envelope in sealed:
            self._events.append(
                StoredEvent(len(self._events) + 1, envelope, envelope.to_json(), {})
            )
        return sealed

    async def load(self, stream_id: str) -> list[Envelope]:
        return [s.envelope for s in self._events if s.envelope.stream_id == stream_id]

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]:
        return [s for s in self._events if s.position > position][:limit]
