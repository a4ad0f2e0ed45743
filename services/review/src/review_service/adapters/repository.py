"""Review cases in PostgreSQL: the event stream is the truth; the case row follows it in the
same transaction, so lists never lag behind a command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from gongkai_contracts import Envelope, Event
from gongkai_contracts.events import ReviewersAssigned, StageReviewers
from gongkai_platform.eventstore import APPEND_LOCK_ID, Metadata, PostgresEventStore

from ..domain.assignment import Assignment, StageAssignment
from ..domain.case import ReviewCase, Subject, SubjectDetails


def stream_of(case_id: str) -> str:
    return f"review-{case_id}"


def stages_stream_of(bureau_id: str) -> str:
    """The bureau's review stages and their reviewers over time (ReviewersAssigned)."""
    return f"review-stages-{bureau_id}"


class ReviewRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresEventStore(pool)

    async def history(self, case_id: str, conn: asyncpg.Connection | None = None) -> list[Envelope]:
        return await self.store.load(stream_of(case_id), conn)

    async def lock_appends(self, conn: asyncpg.Connection) -> None:
        """Take the append lock now, before any row lock: the event store takes it on append
        and holds it to commit, so a transaction that locks rows first could deadlock."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_ID)

    async def claim(
        self,
        conn: asyncpg.Connection,
        case_id: str,
        bureau_id: str,
        subject: Subject,
        details: SubjectDetails,
        opened_at: datetime,
    ) -> bool:
        """Reserve the one case of this subject version; False when it exists already."""
        claimed = await conn.fetchval(
            """INSERT INTO review_cases (case_id, bureau_id, subject, subject_id, subject_version,
                   title, document_number, summary, opened_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (bureau_id, subject, subject_id, subject_version) DO NOTHING
               RETURNING case_id""",
            case_id,
            bureau_id,
            subject.kind.value,
            subject.subject_id,
            subject.version,
            details.title,
            details.document_number,
            details.summary,
            opened_at,
        )
        return claimed is not None

    async def save(
        self,
        conn: asyncpg.Connection,
        case_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
        after: ReviewCase,
    ) -> list[Envelope]:
        """Append and update the case row; `conn` must be inside a transaction."""
        envelopes = await self.store.append(
            stream_of(case_id), expected_version, events, meta, conn=conn
        )
        pending = after.pending_referral
        await conn.execute(
            """UPDATE review_cases SET state = $2, current_stage = $3, referred_to = $4,
                   closed_at = $5, version = $6
               WHERE case_id = $1""",
            case_id,
            after.state.value,
            after.current_stage,
            pending.referred_to if pending else None,
            after.closed_at,
            expected_version + len(events),
        )
        return envelopes

    async def details(self, bureau_id: str, case_id: str) -> SubjectDetails | None:
        row = await self.pool.fetchrow(
            """SELECT title, document_number, summary FROM review_cases
               WHERE bureau_id = $1 AND case_id = $2""",
            bureau_id,
            case_id,
        )
        if row is None:
            return None
        return SubjectDetails(row["title"], row["document_number"], row["summary"])

    async def assignment(
        self, bureau_id: str, conn: asyncpg.Connection | None = None
    ) -> Assignment:
        """The bureau's stages with their reviewers; the default stages, with nobody, if unset."""
        row = await (conn or self.pool).fetchrow(
            "SELECT stages, reviewers FROM review_stage_settings WHERE bureau_id = $1", bureau_id
        )
        if row is None:
            return Assignment.unset(bureau_id)
        reviewers: list[list[str]] = json.loads(row["reviewers"])
        return Assignment(
            bureau_id,
            tuple(
                StageAssignment(name, tuple(reviewers[i]) if i < len(reviewers) else ())
                for i, name in enumerate(row["stages"])
            ),
        )

    async def set_assignment(self, assignment: Assignment, meta: Metadata) -> Envelope:
        """ReviewersAssigned in the bureau's stages stream, and the settings row, in one
        transaction: who may review is in the log for auditors, not only in a table."""
        stream = stages_stream_of(assignment.bureau_id)
        stages = (StageReviewers(name=s.name, reviewers=s.reviewers) for s in assignment.stages)
        event = ReviewersAssigned(stages=tuple(stages))
        async with self.pool.acquire() as conn, conn.transaction():
            await self.lock_appends(conn)
            version = await conn.fetchval(
                "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream
            )
            [envelope] = await self.store.append(stream, version, [event], meta, conn=conn)
            await conn.execute(
                """INSERT INTO review_stage_settings (bureau_id, stages, reviewers, set_at, set_by)
                   VALUES ($1, $2, $3::jsonb, $4, $5)
                   ON CONFLICT (bureau_id) DO UPDATE
                   SET stages = EXCLUDED.stages, reviewers = EXCLUDED.reviewers,
                       set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by""",
                assignment.bureau_id,
                list(assignment.names),
                json.dumps([list(s.reviewers) for s in assignment.stages], ensure_ascii=False),
                meta.occurred_at,
                meta.actor.user_id,
            )
        return envelope

    async def remember_item(
        self, conn: asyncpg.Connection, bureau_id: str, item_id: str, details: SubjectDetails
    ) -> None:
        await conn.execute(
            """INSERT INTO catalogue_items (bureau_id, item_id, title, document_number, summary)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (bureau_id, item_id) DO UPDATE
               SET title = EXCLUDED.title,
                   document_number = coalesce(EXCLUDED.document_number,
                                              catalogue_items.document_number),
                   summary = EXCLUDED.summary""",
            bureau_id,
            item_id,
            details.title,
            details.document_number,
            details.summary,
        )

    async def item(
        self, conn: asyncpg.Connection, bureau_id: str, item_id: str
    ) -> SubjectDetails | None:
        row = await conn.fetchrow(
            """SELECT title, document_number, summary FROM catalogue_items
               WHERE bureau_id = $1 AND item_id = $2""",
            bureau_id,
            item_id,
        )
        if row is None:
            return None
        return SubjectDetails(row["title"], row["document_number"], row["summary"])

    async def summaries(
        self,
        bureau_id: str,
        *,
        state: str | None,
        subject: str | None,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        clauses = ["bureau_id = $1"]
        args: list[object] = [bureau_id]
        if state:
            args.append(state)
            clauses.append(f"state = ${len(args)}")
        if subject:
            args.append(subject)
            clauses.append(f"subject = ${len(args)}")
        args += [limit, offset]
        rows = await self.pool.fetch(
            f"""SELECT case_id, subject, subject_id, subject_version, title, state,
                       current_stage, referred_to, opened_at, closed_at, version
                FROM review_cases WHERE {" AND ".join(clauses)}
                ORDER BY opened_at, case_id
                LIMIT ${len(args) - 1} OFFSET ${len(args)}""",
            *args,
        )
        return [dict(r) for r in rows]
