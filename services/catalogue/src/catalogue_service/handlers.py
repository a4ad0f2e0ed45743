"""One function per command of the catalogue service; each loads, decides and saves atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from gongkai_contracts import Actor, Envelope, Event, new_event_id
from gongkai_contracts.events import PublicationChannel
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.errors import NotFoundError, TransitionError
from gongkai_platform.eventstore import ConcurrencyError, Metadata

from .adapters.repository import CatalogueRepository, bureau_stream, item_stream
from .domain.bureau import Bureau, Parents, RegisterBureau, register
from .domain.index_number import format_index_number
from .domain.item import DraftItem, Item, apply, draft

CHINA = ZoneInfo("Asia/Shanghai")

BureauDecision = Callable[[Bureau, Parents], list[Event]]
ItemDecision = Callable[[Item], list[Event]]


def business_time(day: date) -> datetime:
    """`occurred_at` of a command: the business day it records, not when it was typed in."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


@dataclass(frozen=True)
class BureauOutcome:
    state: Bureau
    envelopes: list[Envelope]


@dataclass(frozen=True)
class ItemOutcome:
    state: Item
    envelopes: list[Envelope]


# ---------------------------------------------------------------- bureaus


async def register_bureau(
    repo: CatalogueRepository, command: RegisterBureau, actor: Actor
) -> Envelope:
    async with repo.pool.acquire() as conn, conn.transaction():
        # The parent check reads the bureaus table, which only appends write: holding the
        # append lock from here makes check and write one step (no cycle can slip in).
        await repo.lock_appends(conn)
        history = await repo.history(bureau_stream(command.bureau_id), conn)
        event = register(command, existing_version=len(history), parents=await repo.parents(conn))
        meta = Metadata(bureau_id=command.bureau_id, actor=actor, correlation_id=new_event_id())
        after = Bureau.fold(command.bureau_id, [event])
        assert after is not None
        [envelope] = await repo.save_bureau(conn, 0, [event], meta, after)
    return envelope


async def handle_bureau(
    repo: CatalogueRepository, bureau_id: str, actor: Actor, decide: BureauDecision
) -> BureauOutcome:
    """Load the bureau, decide with the hierarchy at hand, save events and row together."""
    async with repo.pool.acquire() as conn, conn.transaction():
        await repo.lock_appends(conn)
        history = await repo.history(bureau_stream(bureau_id), conn)
        state = Bureau.fold(bureau_id, [e.payload() for e in history])
        if state is None:
            raise NotFoundError(f"bureau {bureau_id} is not registered")
        events = decide(state, await repo.parents(conn))
        if not events:
            return BureauOutcome(state, [])
        after = Bureau.fold(bureau_id, [*(e.payload() for e in history), *events])
        assert after is not None
        meta = Metadata(bureau_id=bureau_id, actor=actor, correlation_id=history[0].correlation_id)
        envelopes = await repo.save_bureau(conn, len(history), events, meta, after)
    return BureauOutcome(after, envelopes)


async def load_bureau(repo: CatalogueRepository, bureau_id: str) -> Bureau:
    state = Bureau.fold(
        bureau_id, [e.payload() for e in await repo.history(bureau_stream(bureau_id))]
    )
    if state is None:
        raise NotFoundError(f"bureau {bureau_id} is not registered")
    return state


# ---------------------------------------------------------------- items


async def draft_item(
    repo: CatalogueRepository, command: DraftItem, actor: Actor, today: date
) -> tuple[ItemOutcome, bool]:
    """The drafted item, and whether this call drafted it (False: a retry of the same draft)."""
    async with repo.pool.acquire() as conn, conn.transaction():
        if await repo.bureau(command.bureau_id, conn) is None:
            raise NotFoundError(f"bureau {command.bureau_id} is not registered")
        history = await repo.history(item_stream(command.bureau_id, command.item_id), conn)
        past = [e.payload() for e in history]
        events = draft(command, past, today)
        if not events:
            return ItemOutcome(_fold(None, past), []), False
        after = _fold(None, events)
        meta = Metadata(
            bureau_id=command.bureau_id,
            actor=actor,
            correlation_id=new_event_id(),
            occurred_at=business_time(today),
        )
        envelopes = await repo.save_item(conn, command.bureau_id, 0, events, meta, after)
    return ItemOutcome(after, envelopes), True


async def handle_item(
    repo: CatalogueRepository,
    bureau_id: str,
    item_id: str,
    actor: Actor,
    occurred_at: datetime,
    decide: ItemDecision,
    *,
    conn: asyncpg.Connection | None = None,
    causation_id: UUID | None = None,
) -> ItemOutcome:
    """Load the item, decide, and save the new events with its rows in one transaction.
    Inside a consumer, `conn` is the consumer's transaction (with its offsets)."""
    for _attempt in range(3):
        history = await repo.history(item_stream(bureau_id, item_id), conn)
        if not history:
            raise NotFoundError(f"bureau {bureau_id} has no item {item_id}")
        state = _fold(None, [e.payload() for e in history])
        events = decide(state)
        if not events:
            return ItemOutcome(state, [])
        after = _fold(state, events)
        meta = _meta(bureau_id, actor, history, occurred_at, causation_id)
        try:
            if conn is not None:
                envelopes = await repo.save_item(conn, bureau_id, len(history), events, meta, after)
            else:
                async with repo.pool.acquire() as own, own.transaction():
                    envelopes = await repo.save_item(
                        own, bureau_id, len(history), events, meta, after
                    )
            return ItemOutcome(after, envelopes)
        except ConcurrencyError:
            if conn is not None:
                raise
            continue  # another command moved the item: decide again on the new history
    raise ConcurrencyError(item_stream(bureau_id, item_id), len(history), len(history) + 1)


async def publish_item(
    repo: CatalogueRepository,
    bureau_id: str,
    item_id: str,
    actor: Actor,
    published_on: date,
    channels: Sequence[PublicationChannel],
    today: date,
    calendar: WorkingCalendar,
) -> ItemOutcome:
    """Publish the approved version; a first publication takes the next index number of the
    bureau's year of publication, in the same transaction as the ItemPublished append."""
    stream = item_stream(bureau_id, item_id)
    for _attempt in range(5):
        try:
            async with repo.pool.acquire() as conn, conn.transaction():
                history = await repo.history(stream, conn)
                if not history:
                    raise NotFoundError(f"bureau {bureau_id} has no item {item_id}")
                state = _fold(None, [e.payload() for e in history])
                # Refuse before a number is taken: nothing to give back.
                state.check_publishable(published_on, today)
                number = None
                if state.needs_index_number:
                    year = published_on.year
                    seq = await repo.take_sequence_number(conn, bureau_id, year)
                    if await repo.stream_version(conn, stream) != len(history):
                        # Another command moved the item while this one waited for the counter.
                        raise ConcurrencyError(stream, len(history), len(history) + 1)
                    number = await _index_number(repo, conn, bureau_id, item_id, year, seq)
                events = state.publish(published_on, channels, number, calendar, today)
                after = _fold(state, events)
                meta = _meta(bureau_id, actor, history, business_time(published_on), None)
                envelopes = await repo.save_item(conn, bureau_id, len(history), events, meta, after)
            return ItemOutcome(after, envelopes)
        except ConcurrencyError:
            continue  # rolled back, number included: decide again on the new history
    raise ConcurrencyError(stream, len(history), len(history) + 1)


async def _index_number(
    repo: CatalogueRepository,
    conn: asyncpg.Connection,
    bureau_id: str,
    item_id: str,
    year: int,
    seq: int,
) -> str:
    bureau = await repo.bureau(bureau_id, conn)
    if bureau is None:
        raise NotFoundError(f"bureau {bureau_id} is not registered")
    number = format_index_number(
        bureau["index_pattern"], org_code=bureau["organisation_code"], year=year, seq=seq
    )
    try:
        async with conn.transaction():  # a savepoint, so the error can be answered
            await repo.record_index_number(conn, bureau_id, year, seq, number, item_id)
    except asyncpg.UniqueViolationError:
        # Only a pattern without the organisation code can repeat an older number of the
        # bureau (e.g. after the code changed); the whole publication rolls back.
        raise TransitionError(
            f"index number {number} is taken already: check the bureau's index pattern"
        ) from None
    return number


def _meta(
    bureau_id: str,
    actor: Actor,
    history: Sequence[Envelope],
    occurred_at: datetime,
    causation_id: UUID | None,
) -> Metadata:
    return Metadata(
        bureau_id=bureau_id,
        actor=actor,
        correlation_id=history[0].correlation_id,
        causation_id=causation_id,
        occurred_at=occurred_at,
    )


def _fold(state: Item | None, events: Sequence[Event]) -> Item:
    for event in events:
        state = apply(state, event)
    assert state is not None
    return state
