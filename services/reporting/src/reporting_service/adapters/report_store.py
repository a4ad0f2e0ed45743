"""Reads a bureau's facts (as of an instant) and stores the narrative the bureau writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import asyncpg

from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)

from ..annual_report.facts import (
    CaseFact,
    CaseFactKind,
    Facts,
    ItemFact,
    ItemFactKind,
    Narrative,
    RequestFact,
    RequestFactKind,
)
from ..annual_report.layout import CaseBlock

E = TypeVar("E", bound=StrEnum)

# `recorded_at <= $2` with NULL meaning "everything recorded so far".
_UP_TO = "bureau_id = $1 AND ($2::timestamptz IS NULL OR recorded_at <= $2)"


async def load_facts(pool: asyncpg.Pool, bureau_id: str, as_of: datetime | None) -> Facts:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        requests = await conn.fetch(
            f"SELECT * FROM report_request_facts WHERE {_UP_TO}", bureau_id, as_of
        )
        cases = await conn.fetch(
            f"SELECT * FROM report_case_facts WHERE {_UP_TO}", bureau_id, as_of
        )
        items = await conn.fetch(
            f"SELECT * FROM report_item_facts WHERE {_UP_TO}", bureau_id, as_of
        )
        names = await conn.fetch(
            f"SELECT recorded_at, name FROM report_bureau_names WHERE {_UP_TO}", bureau_id, as_of
        )
    return _facts(requests, cases, items, names)


async def load_facts_of_bureaus(
    conn: asyncpg.Connection, bureau_ids: Sequence[str]
) -> dict[str, Facts]:
    """Every fact recorded so far of each of the bureaus, in four queries, in the caller's
    transaction (a repeatable-read one sees them all at one instant). Every bureau asked for is
    in the answer, a bureau without facts with empty ones."""
    wanted = list(bureau_ids)
    where = "bureau_id = ANY($1::text[])"
    found: dict[str, list[list[asyncpg.Record]]] = {b: [[], [], [], []] for b in wanted}
    for i, query in enumerate(
        (
            f"SELECT * FROM report_request_facts WHERE {where}",
            f"SELECT * FROM report_case_facts WHERE {where}",
            f"SELECT * FROM report_item_facts WHERE {where}",
            f"SELECT bureau_id, recorded_at, name FROM report_bureau_names WHERE {where}",
        )
    ):
        for r in await conn.fetch(query, wanted):
            found[r["bureau_id"]][i].append(r)
    return {b: _facts(*rows) for b, rows in found.items()}


def _facts(
    requests: Iterable[asyncpg.Record],
    cases: Iterable[asyncpg.Record],
    items: Iterable[asyncpg.Record],
    names: Iterable[asyncpg.Record],
) -> Facts:
    return Facts(
        requests=[
            RequestFact(
                event_id=str(r["event_id"]),
                request_id=r["request_id"],
                kind=RequestFactKind(r["kind"]),
                on=r["business_date"],
                recorded_at=r["recorded_at"],
                applicant_category=_maybe(ApplicantCategory, r["applicant_category"]),
                channel=_maybe(Channel, r["channel"]),
                outcome=_maybe(ReplyOutcome, r["outcome"]),
                on_time=r["on_time"],
                amount_yuan=r["amount_yuan"],
            )
            for r in requests
        ],
        cases=[
            CaseFact(
                event_id=str(r["event_id"]),
                case_id=r["case_id"],
                kind=CaseFactKind(r["kind"]),
                on=r["business_date"],
                recorded_at=r["recorded_at"],
                block=_maybe(CaseBlock, r["block"]),
                request_id=r["request_id"],
                result=_maybe(CaseResult, r["result"]),
                decision=r["decision"],
            )
            for r in cases
        ],
        items=[
            ItemFact(
                event_id=str(r["event_id"]),
                item_id=r["item_id"],
                kind=ItemFactKind(r["kind"]),
                category=ItemCategory(r["category"]),
                on=r["business_date"],
                recorded_at=r["recorded_at"],
                item_version=r["item_version"],
                first_publication=r["first_publication"],
                fee_amount_yuan=r["fee_amount_yuan"],
            )
            for r in items
        ],
        bureau_names=[(r["recorded_at"], r["name"]) for r in names],
    )


def _maybe(kind: type[E], value: str | None) -> E | None:
    return None if value is None else kind(value)


async def bureau_known(pool: asyncpg.Pool, bureau_id: str) -> bool:
    """Whether any event of the bureau, or a narrative, has reached reporting."""
    found = await pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM report_request_facts WHERE bureau_id = $1)
               OR EXISTS (SELECT 1 FROM report_case_facts WHERE bureau_id = $1)
               OR EXISTS (SELECT 1 FROM report_item_facts WHERE bureau_id = $1)
               OR EXISTS (SELECT 1 FROM report_bureau_names WHERE bureau_id = $1)
               OR EXISTS (SELECT 1 FROM annual_report_narratives WHERE bureau_id = $1)""",
        bureau_id,
    )
    return bool(found)


async def save_narrative(
    pool: asyncpg.Pool, bureau_id: str, year: int, narrative: Narrative
) -> Narrative:
    recorded_at = await pool.fetchval(
        """INSERT INTO annual_report_narratives
               (bureau_id, year, overview, problems_and_improvements, other_matters)
           VALUES ($1, $2, $3, $4, $5) RETURNING recorded_at""",
        bureau_id,
        year,
        narrative.overview,
        narrative.problems_and_improvements,
        narrative.other_matters,
    )
    return Narrative(
        narrative.overview,
        narrative.problems_and_improvements,
        narrative.other_matters,
        recorded_at,
    )


async def load_narrative(
    pool: asyncpg.Pool, bureau_id: str, year: int, as_of: datetime | None
) -> Narrative | None:
    row = await pool.fetchrow(
        """SELECT overview, problems_and_improvements, other_matters, recorded_at
           FROM annual_report_narratives
           WHERE bureau_id = $1 AND year = $3
             AND ($2::timestamptz IS NULL OR recorded_at <= $2)
           ORDER BY recorded_at DESC, id DESC LIMIT 1""",
        bureau_id,
        as_of,
        year,
    )
    if row is None:
        return None
    return Narrative(
        row["overview"],
        row["problems_and_improvements"],
        row["other_matters"],
        row["recorded_at"],
    )
