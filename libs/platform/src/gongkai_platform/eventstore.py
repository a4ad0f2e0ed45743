"""Event stores: PostgreSQL (the system of record and the outbox) and in-memory (unit tests)."""

from __future__ import annotations

import hashlib
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
# a row that commits late. The locked part is one statement, gongkai_append (ADR 001), but the
# lock is held to commit, so a caller's own writes belong before its append.
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


# The stand-in for both hashes while an envelope is prepared: 64 hex digits serialise as
# themselves, and they are cut out by position, never searched for.
_CUT = "0" * 64
_HASH_KEY = b',"hash":"'
_PREV_KEY = b',"prev_hash":"'


@dataclass(frozen=True)
class _Prepared:
    """An envelope sealed with `_CUT` as its previous hash, and its canonical JSON cut around
    the two hashes: unhashed = u1 ‖ prev ‖ u2, body = b1 ‖ hash ‖ b2 ‖ prev ‖ b3."""

    draft: Envelope
    u1: str
    u2: str
    b1: str
    b2: str
    b3: str


def _prepare(stream_id: str, stream_version: int, event: Event, meta: Metadata) -> _Prepared:
    draft = Envelope.seal(
        event,
        bureau_id=meta.bureau_id,
        stream_id=stream_id,
        stream_version=stream_version,
        occurred_at=meta.occurred_at,
        actor=meta.actor,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
        prev_hash=_CUT,
    )
    body = draft.to_json()
    # RFC 8785 sorts keys: `hash` comes before `prev_hash`, and every key after them holds
    # a string or a number, never an object, so the last match of each is the envelope's own
    # (a quote inside a string is escaped, so the keys cannot match inside a value).
    h = body.rindex(_HASH_KEY) + len(_HASH_KEY)
    p = body.rindex(_PREV_KEY) + len(_PREV_KEY)
    if body[h : h + 65] != draft.hash.encode() + b'"' or body[p : p + 64] != _CUT.encode():
        raise AssertionError(f"cannot cut the hashes out of {draft.event_id}")
    # The unhashed JSON is the body without its `,"hash":"…"` member.
    u1 = body[: h - len(_HASH_KEY)] + body[h + 65 : p]
    u2 = body[p + 64 :]
    if hashlib.sha256(_CUT.encode() + u1 + _CUT.encode() + u2).hexdigest() != draft.hash:
        raise AssertionError(f"the cut of {draft.event_id} does not hash as its envelope")
    return _Prepared(
        draft,
        u1.decode(),
        u2.decode(),
        body[:h].decode(),
        body[h + 64 : p].decode(),
        u2.decode(),
    )


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
        # Without `conn` the append is one statement in its own implicit transaction: the
        # lock is held only while PostgreSQL runs it and commits.
        return await self._append(conn or self._pool, stream_id, expected_version, events, meta)

    async def _append(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
    ) -> list[Envelope]:
        # Everything that does not depend on the chain head is done before the lock: the
        # locked part is the one statement of gongkai_append (ADR 001).
        prepared = [
            _prepare(stream_id, expected_version + offset, event, meta)
            for offset, event in enumerate(events, start=1)
        ]
        row = await conn.fetchrow(
            "SELECT actual, head, hashes FROM gongkai_append("
            "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)",
            APPEND_LOCK_ID,
            NOTIFY_CHANNEL,
            stream_id,
            expected_version,
            meta.bureau_id,
            [p.draft.event_id for p in prepared],
            [p.draft.event_type for p in prepared],
            [p.u1 for p in prepared],
            [p.u2 for p in prepared],
            [p.b1 for p in prepared],
            [p.b2 for p in prepared],
            [p.b3 for p in prepared],
            json.dumps(_current_trace_context()),
        )
        assert row is not None
        if row["actual"] != expected_version:
            raise ConcurrencyError(stream_id, expected_version, row["actual"])
        sealed: list[Envelope] = []
        prev_hash: str = row["head"]
        for p, hash_ in zip(prepared, row["hashes"], strict=True):
            sealed.append(p.draft.model_copy(update={"prev_hash": prev_hash, "hash": hash_}))
            prev_hash = hash_
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
