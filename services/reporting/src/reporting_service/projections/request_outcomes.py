"""Closed requests per bureau, month, outcome (table 三 row) and applicant category."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

import asyncpg

from gongkai_contracts.events import (
    CorrectionLapsed,
    FeeLapsed,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
)
from gongkai_contracts.vocabulary import ReplyOutcome
from gongkai_platform.consumer import Delivered

Key = tuple[str, int, int, str, str]


class RequestOutcomesProjection:
    name = "reporting.request_outcomes"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        received: list[tuple[str, str, str, date]] = []
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
                case RequestWithdrawn() as e:
                    closed.append((bureau, e.request_id, e.withdrawn_on, ReplyOutcome.OTHER, False))
        if received:
            await conn.executemany(
                """INSERT INTO request_facts (bureau_id, request_id, applicant_category,
                       received_on) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                received,
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
