"""Requests in PostgreSQL: the event stream is the truth; the summary row follows it in the
same transaction, so queries never lag behind a command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import asyncpg

from gongkai_contracts import Envelope, Event
from gongkai_contracts.events import CalendarPublished, ReplyDrafted, RequestReceived
from gongkai_platform.errors import NotFoundError
from gongkai_platform.eventstore import Metadata, PostgresEventStore

from ..domain.calendar import WorkingCalendar, YearCalendar
from ..domain.request import Request


def stream_of(bureau_id: str, request_id: str) -> str:
    return f"request-{bureau_id}-{request_id}"


def calendar_stream(year: int) -> str:
    return f"calendar-{year}"


class RequestRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresEventStore(pool)

    async def history(
        self, bureau_id: str, request_id: str, conn: asyncpg.Connection | None = None
    ) -> list[Envelope]:
        return await self.store.load(stream_of(bureau_id, request_id), conn)

    async def existing_history(
        self, bureau_id: str, request_id: str, conn: asyncpg.Connection | None = None
    ) -> list[Envelope]:
        """The request's events; NotFoundError (404) when the bureau has no such request."""
        history = await self.history(bureau_id, request_id, conn)
        if not history:
            raise NotFoundError(f"bureau {bureau_id} has no request {request_id}")
        return history

    async def save(
        self,
        conn: asyncpg.Connection,
        bureau_id: str,
        request_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
        after: Request,
    ) -> list[Envelope]:
        """Append and update the summary; `conn` must be inside a transaction."""
        envelopes = await self.store.append(
            stream_of(bureau_id, request_id), expected_version, events, meta, conn=conn
        )
        first = next((e for e in events if isinstance(e, RequestReceived)), None)
        if first is not None:
            await conn.execute(
                """INSERT INTO request_summaries (bureau_id, request_id, status, channel,
                       applicant_category, applicant_ref, received_on, description, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)""",
                bureau_id,
                request_id,
                after.status.value,
                first.channel.value,
                first.applicant_category.value,
                first.applicant_ref,
                first.received_on,
                first.description,
            )
        for event in events:
            if isinstance(event, ReplyDrafted):
                await conn.execute(
                    "INSERT INTO reply_drafts (draft_id, bureau_id, request_id) "
                    "VALUES ($1, $2, $3)",
                    event.draft_id,
                    bureau_id,
                    request_id,
                )
        await conn.execute(
            """UPDATE request_summaries SET status = $3, due_on = $4, due_provisional = $5,
                   extension_days = $6, outcome = $7, closed_on = $8, fee_yuan = $9::numeric,
                   version = $10
               WHERE bureau_id = $1 AND request_id = $2""",
            bureau_id,
            request_id,
            after.status.value,
            after.due_on,
            after.due_provisional,
            after.extension_days,
            after.outcome.value if after.outcome else None,
            after.closed_on,
            after.fee_yuan,
            expected_version + len(events),
        )
        return envelopes

    async def draft_owner(
        self, draft_id: str, conn: asyncpg.Connection | None = None
    ) -> tuple[str, str] | None:
        row = await (conn or self.pool).fetchrow(
            "SELECT bureau_id, request_id FROM reply_drafts WHERE draft_id = $1", draft_id
        )
        return (row["bureau_id"], row["request_id"]) if row else None

    async def calendar(self, conn: asyncpg.Connection | None = None) -> WorkingCalendar:
        """The package's calendar, overridden by every year the central office published."""
        rows = await (conn or self.pool).fetch(
            "SELECT body FROM events WHERE event_type = 'requests.CalendarPublished' "
            "ORDER BY position"
        )
        published: dict[int, YearCalendar] = {}
        for row in rows:
            event = Envelope.from_json(row["body"]).payload()
            assert isinstance(event, CalendarPublished)
            published[event.year] = YearCalendar(
                event.year, frozenset(event.holidays), frozenset(event.make_up_workdays)
            )
        return WorkingCalendar(published.values())

    async def items_before_in_month(
        self,
        applicant_ref: str,
        received_on: date,
        bureau_id: str,
        request_id: str,
        conn: asyncpg.Connection | None = None,
    ) -> int:
        """Requests of the same applicant earlier in the same natural month (109号 按件)."""
        value = await (conn or self.pool).fetchval(
            """SELECT count(*) FROM request_summaries s, request_summaries me
               WHERE me.bureau_id = $3 AND me.request_id = $4
                 AND s.applicant_ref = $1
                 AND date_trunc('month', s.received_on) = date_trunc('month', $2::date)
                 AND (s.received_on, s.seq) < (me.received_on, me.seq)""",
            applicant_ref,
            received_on,
            bureau_id,
            request_id,
        )
        return int(value)

    async def has_applicant(
        self, bureau_id: str, applicant_ref: str, conn: asyncpg.Connection | None = None
    ) -> bool:
        """Whether the applicant made a request to this bureau."""
        found = await (conn or self.pool).fetchval(
            "SELECT EXISTS (SELECT 1 FROM request_summaries "
            "WHERE bureau_id = $1 AND applicant_ref = $2)",
            bureau_id,
            applicant_ref,
        )
        return bool(found)

    async def open_requests(self, conn: asyncpg.Connection) -> list[tuple[str, str]]:
        rows = await conn.fetch(
            "SELECT bureau_id, request_id FROM request_summaries WHERE closed_on IS NULL "
            "ORDER BY bureau_id, request_id"
        )
        return [(r["bureau_id"], r["request_id"]) for r in rows]

    async def summaries(
        self,
        bureau_id: str,
        *,
        status: str | None,
        open_only: bool,
        due_before: date | None,
        overdue_on: date | None,
        outcome: str | None,
        limit: int,
        offset: int,
    ) -> list[dict[str, object]]:
        clauses = ["bureau_id = $1"]
        args: list[object] = [bureau_id]

        def add(sql: str, value: object) -> None:
            args.append(value)
            clauses.append(sql.format(f"${len(args)}"))

        if status:
            add("status = {}", status)
        if open_only:
            clauses.append("closed_on IS NULL")
        if due_before:
            add("due_on <= {}", due_before)
        if overdue_on:
            add("closed_on IS NULL AND due_on < {}", overdue_on)
        if outcome:
            add("outcome = {}", outcome)
        args += [limit, offset]
        rows = await self.pool.fetch(
            f"""SELECT bureau_id, request_id, status, channel, applicant_category, received_on,
                       description, due_on, due_provisional, extension_days, outcome, closed_on,
                       fee_yuan::text AS fee_yuan, version
                FROM request_summaries WHERE {" AND ".join(clauses)}
                ORDER BY due_on NULLS LAST, received_on, request_id
                LIMIT ${len(args) - 1} OFFSET ${len(args)}""",
            *args,
        )
        return [dict(r) for r in rows]


def envelopes_json(envelopes: Sequence[Envelope]) -> list[dict[str, object]]:
    return [json.loads(e.to_json()) for e in envelopes]
