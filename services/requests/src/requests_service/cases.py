"""Command handlers for reconsideration and litigation cases (行政复议、行政诉讼)."""

from __future__ import annotations

from datetime import date
from typing import Any

from gongkai_contracts import Actor, Envelope, new_event_id
from gongkai_platform.errors import NotFoundError
from gongkai_platform.eventstore import Metadata

from .adapters.repository import RequestRepository
from .domain.case import Case, CaseKind, file_case
from .handlers import business_time


def case_stream(bureau_id: str, case_id: str) -> str:
    return f"case-{bureau_id}-{case_id}"


async def file(
    repo: RequestRepository,
    bureau_id: str,
    case_id: str,
    kind: CaseKind,
    filed_on: date,
    request_id: str | None,
    actor: Actor,
    today: date,
) -> Envelope:
    stream = case_stream(bureau_id, case_id)
    async with repo.pool.acquire() as conn, conn.transaction():
        existing = await repo.store.load(stream, conn)
        events = file_case(
            case_id,
            kind,
            filed_on,
            request_id,
            today=today,
            existing=[e.payload() for e in existing],
        )
        meta = Metadata(
            bureau_id=bureau_id,
            actor=actor,
            correlation_id=new_event_id(),
            occurred_at=business_time(filed_on),
        )
        [envelope] = await repo.store.append(stream, 0, events, meta, conn=conn)
        await conn.execute(
            """INSERT INTO case_summaries (bureau_id, case_id, kind, request_id, filed_on)
               VALUES ($1, $2, $3, $4, $5)""",
            bureau_id,
            case_id,
            kind.value,
            request_id,
            filed_on,
        )
    return envelope


async def decide(
    repo: RequestRepository,
    bureau_id: str,
    case_id: str,
    decided_on: date,
    decision: str,
    actor: Actor,
) -> Case:
    stream = case_stream(bureau_id, case_id)
    async with repo.pool.acquire() as conn, conn.transaction():
        history = await repo.store.load(stream, conn)
        case = Case.fold([e.payload() for e in history])
        if case is None:
            raise NotFoundError(f"bureau {bureau_id} has no case {case_id}")
        events = case.decide(decided_on, decision)
        meta = Metadata(
            bureau_id=bureau_id,
            actor=actor,
            correlation_id=history[0].correlation_id,
            occurred_at=business_time(decided_on),
        )
        await repo.store.append(stream, len(history), events, meta, conn=conn)
        decided = Case.fold([e.payload() for e in history] + events)
        assert decided is not None and decided.result is not None
        await conn.execute(
            """UPDATE case_summaries SET decided_on = $3, result = $4, decision = $5
               WHERE bureau_id = $1 AND case_id = $2""",
            bureau_id,
            case_id,
            decided_on,
            decided.result.value,
            decided.decision,
        )
    return decided


async def list_cases(
    repo: RequestRepository, bureau_id: str, pending_on: date | None
) -> list[dict[str, Any]]:
    if pending_on is None:
        rows = await repo.pool.fetch(
            "SELECT * FROM case_summaries WHERE bureau_id = $1 ORDER BY filed_on, case_id",
            bureau_id,
        )
    else:
        rows = await repo.pool.fetch(
            """SELECT * FROM case_summaries WHERE bureau_id = $1 AND filed_on <= $2
                 AND (decided_on IS NULL OR decided_on > $2) ORDER BY filed_on, case_id""",
            bureau_id,
            pending_on,
        )
    return [dict(r) for r in rows]
