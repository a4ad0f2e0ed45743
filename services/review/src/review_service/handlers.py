"""One function per command of the review service; each loads, decides and saves atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gongkai_contracts import Actor, Envelope, Event, new_event_id
from gongkai_platform.errors import NotFoundError
from gongkai_platform.eventstore import ConcurrencyError, Metadata

from .adapters.repository import ReviewRepository
from .domain.assignment import Assignment, assign
from .domain.case import ReviewCase, Subject, SubjectDetails, apply, open_review

Decision = Callable[[ReviewCase], list[Event]]


@dataclass(frozen=True)
class Outcome:
    state: ReviewCase
    envelopes: list[Envelope]


async def open_case(
    repo: ReviewRepository,
    conn: asyncpg.Connection,
    source: Envelope,
    subject: Subject,
    details: SubjectDetails,
) -> Envelope | None:
    """Inside the consumer's transaction: open the case of a submitted subject with its bureau's
    stages, unless that subject version has one already (then None)."""
    case_id = new_event_id().hex
    if not await repo.claim(conn, case_id, source.bureau_id, subject, details, source.occurred_at):
        return None
    assignment = await repo.assignment(source.bureau_id, conn)
    events = open_review(case_id, subject, assignment.names)
    meta = Metadata(
        bureau_id=source.bureau_id,
        actor=source.actor,
        correlation_id=source.correlation_id,
        causation_id=source.event_id,
        occurred_at=source.occurred_at,
    )
    after = _fold(None, events, source.occurred_at, source.actor.user_id)
    [envelope] = await repo.save(conn, case_id, 0, events, meta, after)
    return envelope


async def handle(
    repo: ReviewRepository,
    bureau_id: str,
    case_id: str,
    actor: Actor,
    now: datetime,
    decide: Decision,
) -> Outcome:
    """Load the case, decide, and save the new events with the case row in one transaction."""
    for _attempt in range(3):
        history = await load(repo, bureau_id, case_id)
        state = fold_history(history)
        events = decide(state)
        if not events:
            return Outcome(state, [])
        after = _fold(state, events, now, actor.user_id)
        meta = Metadata(
            bureau_id=bureau_id,
            actor=actor,
            correlation_id=history[0].correlation_id,
            occurred_at=now,
        )
        try:
            async with repo.pool.acquire() as conn, conn.transaction():
                envelopes = await repo.save(conn, case_id, len(history), events, meta, after)
            return Outcome(after, envelopes)
        except ConcurrencyError:
            continue  # another reviewer acted at the same moment: decide again on the new history
    raise ConcurrencyError(case_id, len(history), len(history) + 1)


async def act_at_stage(
    repo: ReviewRepository,
    bureau_id: str,
    case_id: str,
    actor: Actor,
    now: datetime,
    decide: Decision,
    *,
    signs: bool,
) -> Outcome:
    """A reviewer's command at the case's current stage: the case decides first (a closed case
    or another stage is its own 409/422), then the bureau's current assignment admits the
    reviewer or refuses with the reason (ForbiddenError, 403)."""
    assignment = await repo.assignment(bureau_id)

    def admitted(state: ReviewCase) -> list[Event]:
        events = decide(state)
        assignment.admit(state, actor.user_id, signs=signs)
        return events

    return await handle(repo, bureau_id, case_id, actor, now, admitted)


async def assign_stages(
    repo: ReviewRepository,
    bureau_id: str,
    stages: Sequence[tuple[str, Sequence[str]]],
    actor: Actor,
    now: datetime,
) -> Assignment:
    """The bureau head's stages and reviewers. New cases open with these stages; every case,
    open ones included, is reviewed by the reviewers assigned now."""
    assignment = assign(bureau_id, stages)
    meta = Metadata(
        bureau_id=bureau_id, actor=actor, correlation_id=new_event_id(), occurred_at=now
    )
    await repo.set_assignment(assignment, meta)
    return assignment


async def load(repo: ReviewRepository, bureau_id: str, case_id: str) -> list[Envelope]:
    """The case's events; NotFoundError for an unknown case or one of another bureau."""
    history = await repo.history(case_id)
    if not history or history[0].bureau_id != bureau_id:
        raise NotFoundError(f"bureau {bureau_id} has no review case {case_id}")
    return history


def fold_history(history: Sequence[Envelope]) -> ReviewCase:
    state = ReviewCase.fold_recorded((e.payload(), e.occurred_at, e.actor.user_id) for e in history)
    assert state is not None
    return state


def _fold(
    state: ReviewCase | None, events: Sequence[Event], at: datetime, by: str | None = None
) -> ReviewCase:
    for event in events:
        state = apply(state, event, at, by)
    assert state is not None
    return state
