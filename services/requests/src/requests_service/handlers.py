"""One function per command of the requests service; each loads, decides and saves atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from gongkai_contracts import Actor, Envelope, Event, new_event_id
from gongkai_contracts.events import ApplicantErased, CalendarPublished
from gongkai_platform.errors import DomainError, ForbiddenError, NotFoundError
from gongkai_platform.eventstore import ConcurrencyError, Metadata

from .adapters.applicants import ApplicantDetails, ApplicantVault
from .adapters.repository import RequestRepository, calendar_stream
from .domain.calendar import WorkingCalendar, YearCalendar
from .domain.request import RegisterRequest, Request, apply, register

CHINA = ZoneInfo("Asia/Shanghai")
CENTRAL_OFFICE = "central"  # the bureau id under which the central office's calendar is kept

Decision = Callable[[Request, WorkingCalendar], list[Event]]


def business_time(day: date) -> datetime:
    """`occurred_at` of a command: the business day it records, not when it was typed in."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


@dataclass(frozen=True)
class Outcome:
    state: Request
    envelopes: list[Envelope]


async def register_request(
    repo: RequestRepository,
    vault: ApplicantVault,
    command: RegisterRequest,
    applicant: ApplicantDetails | None,
    actor: Actor,
    today: date,
    *,
    conn: asyncpg.Connection | None = None,
    calendar: WorkingCalendar | None = None,
) -> tuple[Envelope, bool]:
    """The RequestReceived envelope, and whether this call created it (False: a retry).
    With `conn` (inside a transaction, e.g. a ledger import) it runs there once: a conflict
    is raised, not retried; `calendar` as for `handle`."""
    if conn is not None:
        return await _register(repo, vault, command, applicant, actor, today, conn, calendar)
    for _attempt in range(3):
        try:
            async with repo.pool.acquire() as own, own.transaction():
                return await _register(repo, vault, command, applicant, actor, today, own)
        except ConcurrencyError:
            continue  # the same request arrived twice at once: decide again on the new history
    raise ConcurrencyError(command.request_id, 0, 1)


async def _register(
    repo: RequestRepository,
    vault: ApplicantVault,
    command: RegisterRequest,
    applicant: ApplicantDetails | None,
    actor: Actor,
    today: date,
    conn: asyncpg.Connection,
    calendar: WorkingCalendar | None = None,
) -> tuple[Envelope, bool]:
    history = await repo.history(command.bureau_id, command.request_id, conn)
    events = register(
        command,
        today=today,
        history=[e.payload() for e in history],
        calendar=await repo.calendar(conn) if calendar is None else calendar,
    )
    if not events:
        return history[0], False
    ref = await vault.enrol(conn, applicant)
    events = [e.model_copy(update={"applicant_ref": ref}) for e in events]
    after = _fold(None, events)
    meta = Metadata(
        bureau_id=command.bureau_id,
        actor=actor,
        correlation_id=new_event_id(),
        occurred_at=business_time(command.received_on),
    )
    [envelope] = await repo.save(
        conn, command.bureau_id, command.request_id, 0, events, meta, after
    )
    return envelope, True


async def handle(
    repo: RequestRepository,
    bureau_id: str,
    request_id: str,
    actor: Actor,
    on: date,
    decide: Decision,
    *,
    conn: asyncpg.Connection | None = None,
    causation_id: UUID | None = None,
    calendar: WorkingCalendar | None = None,
) -> Outcome:
    """Load the request, decide, and save the new events with its summary in one transaction.
    Inside a consumer, `conn` is the consumer's transaction (with its offsets). `calendar`:
    decide with this one (a ledger import loads it once) instead of loading it."""
    for _attempt in range(3):
        history = await repo.existing_history(bureau_id, request_id, conn)
        state = _fold(None, [e.payload() for e in history])
        events = decide(state, await repo.calendar(conn) if calendar is None else calendar)
        if not events:
            return Outcome(state, [])
        after = _fold(state, events)
        meta = Metadata(
            bureau_id=bureau_id,
            actor=actor,
            correlation_id=history[-1].correlation_id,
            causation_id=causation_id,
            occurred_at=business_time(on),
        )
        try:
            if conn is not None:
                envelopes = await repo.save(
                    conn, bureau_id, request_id, len(history), events, meta, after
                )
            else:
                async with repo.pool.acquire() as own, own.transaction():
                    envelopes = await repo.save(
                        own, bureau_id, request_id, len(history), events, meta, after
                    )
            return Outcome(after, envelopes)
        except ConcurrencyError:
            if conn is not None:
                raise
            continue
    raise ConcurrencyError(request_id, len(history), len(history) + 1)


async def publish_calendar(
    repo: RequestRepository, year_calendar: YearCalendar, actor: Actor, today: date
) -> tuple[Envelope, list[Envelope]]:
    """Record the central office's calendar for a year; recompute every open request's
    deadline, each change an event of its own, in the same transaction."""
    async with repo.pool.acquire() as conn, conn.transaction():
        stream = calendar_stream(year_calendar.year)
        version = len(await repo.store.load(stream, conn))
        published = CalendarPublished(
            year=year_calendar.year,
            holidays=tuple(sorted(year_calendar.holidays)),
            make_up_workdays=tuple(sorted(year_calendar.make_up_workdays)),
        )
        meta = Metadata(
            bureau_id=CENTRAL_OFFICE,
            actor=actor,
            correlation_id=new_event_id(),
            occurred_at=business_time(today),
        )
        [envelope] = await repo.store.append(stream, version, [published], meta, conn=conn)
        changes: list[Envelope] = []
        for bureau_id, request_id in await repo.open_requests(conn):
            outcome = await handle(
                repo,
                bureau_id,
                request_id,
                actor,
                today,
                lambda state, calendar: state.recompute(calendar, year_calendar.year),
                conn=conn,
                causation_id=envelope.event_id,
            )
            changes += outcome.envelopes
    return envelope, changes


async def erase_applicant(
    repo: RequestRepository,
    vault: ApplicantVault,
    bureau_id: str,
    applicant_ref: str,
    actor: Actor,
    today: date,
) -> Envelope:
    """Destroy the applicant's key, on the decision of a bureau the applicant applied to; the
    event is in that bureau's log. The register is shared (one ref per person), so the data is
    gone for every bureau."""
    async with repo.pool.acquire() as conn, conn.transaction():
        if not await vault.knows(conn, applicant_ref):
            raise NotFoundError(f"no applicant {applicant_ref}")
        if not await repo.has_applicant(bureau_id, applicant_ref, conn):
            raise ForbiddenError(
                f"applicant {applicant_ref} has no request in bureau {bureau_id}: only the head "
                "of a bureau the applicant applied to may erase their data"
            )
        await vault.erase(conn, applicant_ref, today)
        stream = f"applicant-{applicant_ref}"
        version = len(await repo.store.load(stream, conn))
        if version:
            raise DomainError("applicant_ref", f"applicant {applicant_ref} is already erased")
        meta = Metadata(
            bureau_id=bureau_id,
            actor=actor,
            correlation_id=new_event_id(),
            occurred_at=business_time(today),
        )
        event = ApplicantErased(applicant_ref=applicant_ref, erased_on=today)
        [envelope] = await repo.store.append(stream, 0, [event], meta, conn=conn)
    return envelope


def _fold(state: Request | None, events: Sequence[Event]) -> Request:
    for event in events:
        state = apply(state, event)
    assert state is not None
    return state
