"""台账导入: a ledger of historical requests becomes the commands of live entry, in one
transaction: every row or none.

Each row is registered (`register_request`) and then its steps are decided by the aggregate
and saved (`handle`), exactly as a clerk entering them live would, with `occurred_at` the
historical date. All rows are registered first, in order of receipt, so that a 按件 fee counts
the applicant's earlier requests of the month as it would have live; then each row's steps run.
Every refused row is collected; if there is one, the transaction is rolled back and all of them
are reported.

The same file twice adds nothing: `ledger_imports` keeps the SHA-256 of each file imported into
a bureau. A row whose request is already registered with the same details is compared with what
is stored: when the stored history already holds the row's steps (or more) the row is skipped;
when it holds the first of them (a later ledger that is a superset of an earlier one), the
remaining steps are added; anything else is a row error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import asyncpg

from gongkai_contracts import Actor, Envelope, Event
from gongkai_contracts.events import DeadlineRecomputed
from gongkai_platform.errors import DomainError, TransitionError

from .adapters.applicants import ApplicantDetails, ApplicantVault
from .adapters.repository import RequestRepository, stream_of
from .domain.calendar import DayKind, WorkingCalendar, YearCalendar
from .domain.request import Request, apply, register
from .handlers import Decision, handle, register_request
from .ledger import (
    REGISTRATION_FIELDS,
    Command,
    LedgerRejected,
    LedgerRow,
    RowError,
    Step,
    plan,
    read_ledger,
)

# What the clerk typed is compared; what the system derives (deadlines, amounts, ids) is not.
DERIVED = frozenset(
    {
        "applicant_ref",
        "draft_id",
        "review_case_id",
        "reviewed_elsewhere",
        "summary",
        "regime",
        "due_on",
        "due_provisional",
        "answer_due_on",
        "pay_by",
        "notice_late",
        "on_time",
        "amount_yuan",
    }
)


@dataclass(frozen=True)
class ImportResult:
    file_sha256: str
    rows: int
    imported_requests: int  # registered by this import
    continued_requests: int  # registered before; this import added later steps
    skipped: int  # rows already in the system in full
    events: int
    already_imported: bool = False
    imported_at: datetime | None = None

    def body(self) -> dict[str, Any]:
        return {
            "file_sha256": self.file_sha256,
            "rows": self.rows,
            "imported_requests": self.imported_requests,
            "continued_requests": self.continued_requests,
            "skipped": self.skipped,
            "events": self.events,
            "already_imported": self.already_imported,
            "imported_at": self.imported_at,
        }


async def import_ledger(
    repo: RequestRepository,
    vault: ApplicantVault,
    bureau_id: str,
    content: bytes,
    filename: str,
    actor: Actor,
    today: date,
) -> ImportResult:
    """Import the file whole, or raise LedgerRejected with every bad row (nothing stored)."""
    # Reading is CPU work (a 2,000-row workbook takes a second or two): in a thread, so the
    # event loop keeps answering other clerks meanwhile.
    ledger = await asyncio.to_thread(read_ledger, content, filename, today=today)
    if not ledger.rows and ledger.errors:
        raise LedgerRejected(ledger.errors)  # the file itself is refused
    async with repo.pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchval(
            """INSERT INTO ledger_imports (bureau_id, file_sha256, filename, imported_by)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING file_sha256""",
            bureau_id,
            ledger.sha256,
            filename[:200],
            actor.user_id,
        )
        if claimed is None:  # the same file, imported before (or just now, by another call)
            previous = await conn.fetchrow(
                "SELECT imported_at, row_count FROM ledger_imports "
                "WHERE bureau_id = $1 AND file_sha256 = $2",
                bureau_id,
                ledger.sha256,
            )
            return ImportResult(
                ledger.sha256,
                rows=previous["row_count"],
                imported_requests=0,
                continued_requests=0,
                skipped=previous["row_count"],
                events=0,
                already_imported=True,
                imported_at=previous["imported_at"],
            )
        run = _Import(repo, vault, conn, bureau_id, actor, today, ledger.sha256)
        await run.rows(ledger.rows)
        errors = [*ledger.errors, *run.errors]
        if errors:
            raise LedgerRejected(errors)  # leaving the block rolls everything back
        result = ImportResult(
            ledger.sha256,
            rows=ledger.data_rows,
            imported_requests=run.imported,
            continued_requests=run.continued,
            skipped=run.skipped,
            events=run.events,
        )
        result = await _record(conn, bureau_id, result)
    return result


async def _record(conn: asyncpg.Connection, bureau_id: str, result: ImportResult) -> ImportResult:
    imported_at = await conn.fetchval(
        """UPDATE ledger_imports SET row_count = $3, imported_requests = $4,
               continued_requests = $5, skipped = $6, events = $7
           WHERE bureau_id = $1 AND file_sha256 = $2 RETURNING imported_at""",
        bureau_id,
        result.file_sha256,
        result.rows,
        result.imported_requests,
        result.continued_requests,
        result.skipped,
        result.events,
    )
    return replace(result, imported_at=imported_at)


class _Refused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


class _Import:
    """One import's work inside its transaction."""

    def __init__(
        self,
        repo: RequestRepository,
        vault: ApplicantVault,
        conn: asyncpg.Connection,
        bureau_id: str,
        actor: Actor,
        today: date,
        file_sha256: str,
    ) -> None:
        self.repo = repo
        self.vault = vault
        self.conn = conn
        self.bureau_id = bureau_id
        self.actor = actor
        self.today = today
        self.file_sha256 = file_sha256
        self.errors: list[RowError] = []
        self.imported = self.continued = self.skipped = self.events = 0
        self.calendar: WorkingCalendar | None = None  # loaded once, at the start

    async def rows(self, rows: Sequence[LedgerRow]) -> None:
        ordered = sorted(rows, key=lambda r: (r.received_on, r.row))
        stored = await self._histories([r.request_id for r in ordered])
        calendar = self.calendar = _Remembering(await self.repo.calendar(self.conn))
        registered: list[tuple[LedgerRow, str]] = []  # (row, applicant_ref)
        existing: list[tuple[LedgerRow, list[Event]]] = []
        for row in ordered:
            history = stored.get(row.request_id)
            try:
                if history:
                    self._same_registration(row, history, calendar)
                    existing.append((row, history))
                else:
                    registered.append((row, await self._register(row)))
            except _Refused as exc:
                self.errors.append(exc.error)
        for row, applicant_ref in registered:
            try:
                await self._steps(row, applicant_ref, self._plan(row))
            except _Refused as exc:
                self.errors.append(exc.error)
        for row, history in existing:
            try:
                await self._continue(row, history, calendar)
            except _Refused as exc:
                self.errors.append(exc.error)

    def _plan(self, row: LedgerRow) -> list[Step]:
        return plan(row, bureau_id=self.bureau_id, file_sha256=self.file_sha256)

    async def _histories(self, request_ids: list[str]) -> dict[str, list[Event]]:
        """The stored events of the requests the file names, in one query."""
        streams = {stream_of(self.bureau_id, r): r for r in request_ids}
        rows = await self.conn.fetch(
            "SELECT stream_id, body FROM events WHERE stream_id = ANY($1::text[]) "
            "ORDER BY stream_id, stream_version",
            list(streams),
        )
        found: dict[str, list[Event]] = {}
        for record in rows:
            event = Envelope.from_json(record["body"]).payload()
            found.setdefault(streams[record["stream_id"]], []).append(event)
        return found

    # ------------------------------------------------------------------ registration

    async def _register(self, row: LedgerRow) -> str:
        applicant = None
        if row.applicant_name or row.id_number or row.phone:
            applicant = ApplicantDetails(
                name=row.applicant_name or "", id_number=row.id_number, phone=row.phone
            )
        try:
            envelope, _ = await register_request(
                self.repo,
                self.vault,
                row.registration(self.bureau_id),
                applicant,
                self.actor,
                self.today,
                conn=self.conn,
                calendar=self.calendar,
            )
        except DomainError as exc:
            raise _Refused(_domain_error(row, exc)) from exc
        self.imported += 1
        self.events += 1
        return str(envelope.data["applicant_ref"])

    def _same_registration(
        self, row: LedgerRow, history: list[Event], calendar: WorkingCalendar
    ) -> None:
        try:
            register(
                row.registration(self.bureau_id),
                today=self.today,
                history=history,
                calendar=calendar,
            )
        except DomainError as exc:
            raise _Refused(_domain_error(row, exc)) from exc

    # ------------------------------------------------------------------ steps

    async def _steps(self, row: LedgerRow, applicant_ref: str, steps: Sequence[Step]) -> None:
        for step in steps:
            before = await self._month_count(row, applicant_ref, step)
            for command in step.commands:
                try:
                    outcome = await handle(
                        self.repo,
                        self.bureau_id,
                        row.request_id,
                        self.actor,
                        step.on,
                        _decision(command, before),
                        conn=self.conn,
                        calendar=self.calendar,
                    )
                except (DomainError, TransitionError) as exc:
                    raise _Refused(_step_error(row, step, exc)) from exc
                self.events += len(outcome.envelopes)

    async def _month_count(self, row: LedgerRow, applicant_ref: str, step: Step) -> int:
        if not step.month_count:
            return 0
        return await self.repo.items_before_in_month(
            applicant_ref, row.received_on, self.bureau_id, row.request_id, conn=self.conn
        )

    async def _continue(
        self, row: LedgerRow, history: list[Event], calendar: WorkingCalendar
    ) -> None:
        """A request registered before: skip it, or add the steps the system does not have."""
        steps = self._plan(row)
        state = Request.fold(history[:1])
        assert state is not None
        expected: list[list[tuple[str, dict[str, Any]]]] = []  # per step
        for step in steps:
            before = await self._month_count(row, state.applicant_ref, step)
            prints: list[tuple[str, dict[str, Any]]] = []
            for command in step.commands:
                try:
                    events = command(state, calendar, before)
                except (DomainError, TransitionError) as exc:
                    raise _Refused(_step_error(row, step, exc)) from exc
                for event in events:
                    state = apply(state, event)
                prints += [_fingerprint(e) for e in events]
            expected.append(prints)
        have = [_fingerprint(e) for e in history[1:] if not isinstance(e, DeadlineRecomputed)]
        everything = [p for prints in expected for p in prints]
        if have[: len(everything)] == everything:
            self.skipped += 1  # the system has all of the row, or more
            return
        done = next(
            (
                k
                for k in range(len(steps))
                if have == [p for prints in expected[:k] for p in prints]
            ),
            None,
        )
        if done is None:
            raise _Refused(
                RowError(
                    row.row,
                    "编号",
                    f"request {row.request_id} is already in the system with another history "
                    f"(stored: {_names(have)}; this row: {_names(everything)}): correct the row "
                    "or leave it out",
                )
            )
        await self._steps(row, state.applicant_ref, steps[done:])
        self.continued += 1


class _Remembering(WorkingCalendar):
    """The import's calendar: the one in force when it starts, each day worked out once (a
    thousand rows ask about the same days over and over)."""

    def __init__(self, current: WorkingCalendar) -> None:
        super().__init__()
        self._current = current
        self._kinds: dict[date, tuple[DayKind, bool]] = {}
        self._names: dict[date, str | None] = {}

    def knows(self, year: int) -> bool:
        return self._current.knows(year)

    def with_published(self, year_calendar: YearCalendar) -> WorkingCalendar:
        return self._current.with_published(year_calendar)

    def day_kind(self, day: date) -> tuple[DayKind, bool]:
        if day not in self._kinds:
            self._kinds[day] = self._current.day_kind(day)
        return self._kinds[day]

    def holiday_name(self, day: date) -> str | None:
        if day not in self._names:
            self._names[day] = self._current.holiday_name(day)
        return self._names[day]


def _decision(command: Command, before: int) -> Decision:
    return lambda state, calendar: command(state, calendar, before)


def _fingerprint(event: Event) -> tuple[str, dict[str, Any]]:
    data = event.model_dump(mode="json")
    return event.event_type, {k: v for k, v in data.items() if k not in DERIVED}


def _names(prints: Sequence[tuple[str, dict[str, Any]]]) -> str:
    return ", ".join(name.split(".")[-1] for name, _ in prints) or "nothing after registration"


def _domain_error(row: LedgerRow, exc: DomainError) -> RowError:
    return RowError(row.row, REGISTRATION_FIELDS.get(exc.field, "编号"), exc.message)


def _step_error(row: LedgerRow, step: Step, exc: DomainError | TransitionError) -> RowError:
    if isinstance(exc, DomainError):
        return RowError(row.row, step.column_of(exc.field), exc.message)
    return RowError(row.row, step.column, str(exc))
