"""Reads the evidence of a self-assessment and stores the scores the bureau enters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg

from ..self_assessment.scoring import Approval, Entry


async def load_approvals(pool: asyncpg.Pool, bureau_id: str) -> list[Approval]:
    rows = await pool.fetch(
        "SELECT item_id, item_version, recorded_at, event_id FROM report_item_approvals "
        "WHERE bureau_id = $1",
        bureau_id,
    )
    return [
        Approval(r["item_id"], r["item_version"], r["recorded_at"], str(r["event_id"]))
        for r in rows
    ]


async def load_submissions(pool: asyncpg.Pool, bureau_id: str) -> dict[tuple[int, int], date]:
    """(year, month) → submission date; month 0: the annual report."""
    rows = await pool.fetch(
        "SELECT year, month, submitted_on FROM report_sign_offs WHERE bureau_id = $1", bureau_id
    )
    return {(r["year"], r["month"]): r["submitted_on"] for r in rows}


async def save_entry(
    pool: asyncpg.Pool, bureau_id: str, year: int, key: str, score: Decimal, reason: str
) -> Entry:
    recorded_at = await pool.fetchval(
        """INSERT INTO self_assessment_entries (bureau_id, year, item_key, score, reason)
           VALUES ($1, $2, $3, $4, $5) RETURNING recorded_at""",
        bureau_id,
        year,
        key,
        score,
        reason,
    )
    return Entry(score, reason, recorded_at)


async def load_entries(pool: asyncpg.Pool, bureau_id: str, year: int) -> dict[str, Entry]:
    rows = await pool.fetch(
        """SELECT DISTINCT ON (item_key) item_key, score, reason, recorded_at
           FROM self_assessment_entries WHERE bureau_id = $1 AND year = $2
           ORDER BY item_key, id DESC""",
        bureau_id,
        year,
    )
    return {r["item_key"]: Entry(r["score"], r["reason"], r["recorded_at"]) for r in rows}
