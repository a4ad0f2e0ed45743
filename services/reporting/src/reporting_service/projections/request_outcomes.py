"""Closed requests per bureau, month, outcome (table 三 row) and applicant category; fees."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import asyncpg

from gongkai_contracts.events import (
    CorrectionLapsed,
    FeeLapsed,
    FeeNoticed,
    FeePaid,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
)
from gongkai_contracts.vocabulary import ReplyOutcome
from gongkai_platform.consumer import Delivered

from .report_facts import insert_rows

Key = tuple[str, int, int, str, str]


class RequestOutcomesProjection:
    name = "reporting.request_outcomes"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        received: list[tuple[str, str, str, date]] = []
        fees: list[tuple[str, date, int, Decimal, int, Decimal]] = []
        closed: list[tuple[str, str, date, ReplyOutcome, bool]] = []
        for delivered in batch:
            bureau = delivered.envelope.bureau_id
            match delivered.envelope.payload():
                case RequestReceived() as e:
                    received.append(
                        (bureau, e.request_id, e.applicant_category.value, e.received_on)
                    )
                case ReplySent() as e:
                    closed.append((bureau, e.request_id, e.sent_on, e.outcome, not e.on_time))
                case CorrectionLapsed() as e:
                    closed.append(
                        (
                            bureau,
                            e.request_id,
                            e.lapsed_on,
                            ReplyOutcome.OTHER_CORRECTION_LAPSED,
                            False,
                        )
                    )
                case FeeLapsed() as e:
                    closed.append(
                        (bureau, e.request_id, e.lapsed_on, ReplyOutcome.OTHER_FEE_LAPSED, False)
                    )
                case FeeNoticed() as e:
                    fees.append((bureau, e.noticed_on, 1, e.amount_yuan, 0, Decimal(0)))
                case FeePaid() as e:
                    fees.append((bureau, e.paid_on, 0, Decimal(0), 1, e.amount_yuan))
                case RequestWithdrawn() as e:
                    closed.append((bureau, e.request_id, e.withdrawn_on, ReplyOutcome.OTHER, False))
        if received:
            await insert_rows(
                conn,
                "request_facts",
                [
                    ("bureau_id", "text"),
                    ("request_id", "text"),
                    ("applicant_category", "text"),
                    ("received_on", "date"),
                ],
                received,
                "ON CONFLICT DO NOTHING",
            )
        if fees:
            await conn.executemany(
                """INSERT INTO fees_monthly (bureau_id, year, month, noticed, noticed_yuan, paid,
                       paid_yuan) VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (bureau_id, year, month) DO UPDATE SET
                       noticed = fees_monthly.noticed + EXCLUDED.noticed,
                       noticed_yuan = fees_monthly.noticed_yuan + EXCLUDED.noticed_yuan,
                       paid = fees_monthly.paid + EXCLUDED.paid,
                       paid_yuan = fees_monthly.paid_yuan + EXCLUDED.paid_yuan""",
                [(b, d.year, d.month, n, ny, p, py) for b, d, n, ny, p, py in fees],
            )
        if not closed:
            return
        rows = await conn.fetch(
            """SELECT bureau_id, request_id, applicant_category FROM request_facts
               WHERE (bureau_id, request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
            [c[0] for c in closed],
            [c[1] for c in closed],
        )
        category = {(r["bureau_id"], r["request_id"]): r["applicant_category"] for r in rows}
        counts: Counter[Key] = Counter()
        late: Counter[Key] = Counter()
        for bureau, request_id, day, outcome, was_late in closed:
            key = (
                bureau,
                day.year,
                day.month,
                outcome.value,
                category.get((bureau, request_id), "natural_person"),
            )
            counts[key] += 1
            late[key] += int(was_late)
        keys = list(counts)
        await conn.execute(
            """INSERT INTO request_outcomes_monthly
                   (bureau_id, year, month, outcome, applicant_category, closed, late)
               SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[],
                                    $6::int[], $7::int[])
               ON CONFLICT (bureau_id, year, month, outcome, applicant_category) DO UPDATE
               SET closed = request_outcomes_monthly.closed + EXCLUDED.closed,
                   late = request_outcomes_monthly.late + EXCLUDED.late""",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [k[3] for k in keys],
            [k[4] for k in keys],
            [counts[k] for k in keys],
            [late[k] for k in keys],
        )
