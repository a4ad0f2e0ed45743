"""Facts for reports as of any instant: one row per event that a report counts, with its
business date and the envelope's recorded_at. Rows are only ever inserted; the event id is the
key, so a redelivered event changes nothing even past the runner's per-stream check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from gongkai_contracts import Envelope
from gongkai_contracts.events import (
    BureauProfileUpdated,
    BureauRegistered,
    CorrectionLapsed,
    FeeLapsed,
    FeeNoticed,
    FeePaid,
    ItemApproved,
    ItemDrafted,
    ItemPublished,
    ItemRepealed,
    ItemRevised,
    ItemWithdrawn,
    LitigationDecided,
    LitigationFiled,
    ReconsiderationDecided,
    ReconsiderationFiled,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
)
from gongkai_contracts.vocabulary import ReplyOutcome
from gongkai_platform.consumer import Delivered

from ..annual_report.facts import CaseFactKind, ItemFactKind, RequestFactKind
from ..annual_report.layout import CaseBlock

_ENVELOPE = [
    ("event_id", "uuid"),
    ("bureau_id", "text"),
    ("event_type", "text"),
    ("occurred_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
]


async def insert_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[Any, ...]],
    on_conflict: str,
) -> None:
    """Insert a batch in one statement, `INSERT … SELECT FROM unnest($1::t[], …)`: one round
    trip and one plan, where executemany runs the statement once per row (several times
    slower on a replay)."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(columns, start=1))
    await conn.execute(
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}",
        *(list(values) for values in zip(*rows, strict=True)),
    )


def _envelope_columns(env: Envelope) -> tuple[UUID, str, str, datetime, datetime]:
    return env.event_id, env.bureau_id, env.event_type, env.occurred_at, env.recorded_at


_NEW_EVENTS_ONLY = "ON CONFLICT (event_id) DO NOTHING"
_REQUEST_FACTS = [
    *_ENVELOPE,
    ("request_id", "text"),
    ("kind", "text"),
    ("business_date", "date"),
    ("applicant_category", "text"),
    ("channel", "text"),
    ("outcome", "text"),
    ("on_time", "boolean"),
    ("amount_yuan", "numeric"),
]
_CASE_FACTS = [
    *_ENVELOPE,
    ("case_id", "text"),
    ("kind", "text"),
    ("business_date", "date"),
    ("block", "text"),
    ("request_id", "text"),
    ("result", "text"),
    ("decision", "text"),
]
_ITEM_FACTS = [
    *_ENVELOPE,
    ("item_id", "text"),
    ("kind", "text"),
    ("category", "text"),
    ("business_date", "date"),
    ("item_version", "integer"),
    ("first_publication", "boolean"),
    ("fee_amount_yuan", "numeric"),
]
_BUREAU_NAMES = [*_ENVELOPE, ("name", "text"), ("region", "text"), ("parent_id", "text")]
_ITEM_APPROVALS = [
    ("event_id", "uuid"),
    ("bureau_id", "text"),
    ("occurred_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
    ("item_id", "text"),
    ("item_version", "integer"),
    ("review_case_id", "text"),
]


class RequestFactsProjection:
    """gongkai.requests.events → report_request_facts and report_case_facts."""

    name = "reporting.request_facts"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        requests: list[tuple[Any, ...]] = []
        cases: list[tuple[Any, ...]] = []

        def add_request(
            env: Envelope,
            request_id: str,
            kind: RequestFactKind,
            on: date,
            *,
            applicant_category: str | None = None,
            channel: str | None = None,
            outcome: ReplyOutcome | None = None,
            on_time: bool | None = None,
            amount_yuan: Decimal | None = None,
        ) -> None:
            requests.append(
                (
                    *_envelope_columns(env),
                    request_id,
                    kind.value,
                    on,
                    applicant_category,
                    channel,
                    outcome.value if outcome else None,
                    on_time,
                    amount_yuan,
                )
            )

        def add_case(
            env: Envelope,
            case_id: str,
            kind: CaseFactKind,
            on: date,
            *,
            block: CaseBlock | None = None,
            request_id: str | None = None,
            result: str | None = None,
            decision: str | None = None,
        ) -> None:
            cases.append(
                (
                    *_envelope_columns(env),
                    case_id,
                    kind.value,
                    on,
                    block.value if block else None,
                    request_id,
                    result,
                    decision,
                )
            )

        for delivered in batch:
            env = delivered.envelope
            match env.payload():
                case RequestReceived() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.RECEIVED,
                        e.received_on,
                        applicant_category=e.applicant_category.value,
                        channel=e.channel.value,
                    )
                case ReplySent() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.CLOSED,
                        e.sent_on,
                        applicant_category=e.applicant_category.value,
                        outcome=e.outcome,
                        on_time=e.on_time,
                    )
                case CorrectionLapsed() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.CLOSED,
                        e.lapsed_on,
                        outcome=ReplyOutcome.OTHER_CORRECTION_LAPSED,
                    )
                case FeeLapsed() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.CLOSED,
                        e.lapsed_on,
                        outcome=ReplyOutcome.OTHER_FEE_LAPSED,
                    )
                case RequestWithdrawn() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.CLOSED,
                        e.withdrawn_on,
                        outcome=ReplyOutcome.OTHER,
                    )
                case FeeNoticed() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.FEE_NOTICED,
                        e.noticed_on,
                        amount_yuan=e.amount_yuan,
                    )
                case FeePaid() as e:
                    add_request(
                        env,
                        e.request_id,
                        RequestFactKind.FEE_PAID,
                        e.paid_on,
                        amount_yuan=e.amount_yuan,
                    )
                case ReconsiderationFiled() as e:
                    add_case(
                        env,
                        e.case_id,
                        CaseFactKind.FILED,
                        e.filed_on,
                        block=CaseBlock.RECONSIDERATION,
                        request_id=e.request_id,
                    )
                case LitigationFiled() as e:
                    block = (
                        CaseBlock.LITIGATION_AFTER_RECONSIDERATION
                        if e.after_reconsideration
                        else CaseBlock.LITIGATION_DIRECT
                    )
                    add_case(
                        env,
                        e.case_id,
                        CaseFactKind.FILED,
                        e.filed_on,
                        block=block,
                        request_id=e.request_id,
                    )
                case ReconsiderationDecided() | LitigationDecided() as e:
                    add_case(
                        env,
                        e.case_id,
                        CaseFactKind.DECIDED,
                        e.decided_on,
                        result=e.result.value,
                        decision=e.decision,
                    )
        if requests:
            await insert_rows(
                conn, "report_request_facts", _REQUEST_FACTS, requests, _NEW_EVENTS_ONLY
            )
        if cases:
            await insert_rows(conn, "report_case_facts", _CASE_FACTS, cases, _NEW_EVENTS_ONLY)


class CatalogueFactsProjection:
    """gongkai.catalogue.events → report_item_facts (table 二) and report_bureau_names (name,
    region and parent: the report's title and the central office's roll-ups) and
    report_item_approvals (the self-assessment's proof of review before publication)."""

    name = "reporting.catalogue_facts"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        items: list[tuple[Any, ...]] = []
        names: list[tuple[Any, ...]] = []
        approvals: list[tuple[Any, ...]] = []

        def add_item(
            env: Envelope,
            item_id: str,
            kind: ItemFactKind,
            category: str,
            on: date,
            *,
            item_version: int | None = None,
            first_publication: bool | None = None,
            fee_amount_yuan: Decimal | None = None,
        ) -> None:
            items.append(
                (
                    *_envelope_columns(env),
                    item_id,
                    kind.value,
                    category,
                    on,
                    item_version,
                    first_publication,
                    fee_amount_yuan,
                )
            )

        for delivered in batch:
            env = delivered.envelope
            match env.payload():
                case BureauRegistered() | BureauProfileUpdated() as e:
                    names.append((*_envelope_columns(env), e.name, e.region, e.parent_id))
                case ItemApproved() as e:
                    approvals.append(
                        (
                            env.event_id,
                            env.bureau_id,
                            env.occurred_at,
                            env.recorded_at,
                            e.item_id,
                            e.item_version,
                            e.review_case_id,
                        )
                    )
                case ItemDrafted() as e:
                    add_item(env, e.item_id, ItemFactKind.DRAFTED, e.category.value, e.formed_on)
                case ItemRevised() as e:
                    add_item(
                        env,
                        e.item_id,
                        ItemFactKind.REVISED,
                        e.category.value,
                        e.formed_on,
                        item_version=e.item_version,
                    )
                case ItemPublished() as e:
                    add_item(
                        env,
                        e.item_id,
                        ItemFactKind.PUBLISHED,
                        e.category.value,
                        e.published_on,
                        item_version=e.item_version,
                        first_publication=e.first_publication,
                        fee_amount_yuan=e.fee_amount_yuan,
                    )
                case ItemRepealed() as e:
                    add_item(env, e.item_id, ItemFactKind.REPEALED, e.category.value, e.repealed_on)
                case ItemWithdrawn() as e:
                    add_item(
                        env, e.item_id, ItemFactKind.WITHDRAWN, e.category.value, e.withdrawn_on
                    )
        if items:
            await insert_rows(conn, "report_item_facts", _ITEM_FACTS, items, _NEW_EVENTS_ONLY)
        if names:
            # One row per event: DO UPDATE may not touch a row twice in one statement.
            once = list({row[0]: row for row in names}.values())
            await insert_rows(
                conn,
                "report_bureau_names",
                _BUREAU_NAMES,
                once,
                """ON CONFLICT (event_id) DO UPDATE
                   SET region = EXCLUDED.region, parent_id = EXCLUDED.parent_id""",
            )
        if approvals:
            await insert_rows(
                conn, "report_item_approvals", _ITEM_APPROVALS, approvals, _NEW_EVENTS_ONLY
            )
