"""Records a sign-off and its event in one transaction; reads sign-offs back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from gongkai_contracts import Actor, Envelope
from gongkai_contracts.envelope import Event, Role
from gongkai_platform.eventstore import ConcurrencyError, Metadata, PostgresEventStore

ANNUAL = 0  # the month column of an annual report's sign-off


class AlreadySignedOff(Exception):
    """The period has been signed off before: a report is signed off once."""


@dataclass(frozen=True)
class SignOff:
    bureau_id: str
    year: int
    month: int  # 0: the annual report
    signed_by: str  # 签发人 as printed: the signer's display name, else the user id
    submitted_at: datetime
    submitted_on: date
    due_on: date
    on_time: bool
    figures: dict[str, int | str]
    figures_digest: str
    event_id: str
    signer: Actor | None = None  # the token that signed: the actor of the event in the outbox


def stream_id(bureau_id: str, year: int, month: int) -> str:
    if month == ANNUAL:
        return f"annual-report-{bureau_id}-{year}"
    return f"monthly-report-{bureau_id}-{year}-{month:02d}"


async def record_sign_off(
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    bureau_id: str,
    year: int,
    month: int,
    event: Event,
    meta: Metadata,
    *,
    signed_by: str,
    submitted_on: date,
    due_on: date,
    on_time: bool,
    figures: dict[str, int | str],
    digest: str,
) -> Envelope:
    async with pool.acquire() as conn, conn.transaction():
        try:
            [envelope] = await store.append(
                stream_id(bureau_id, year, month), 0, [event], meta, conn=conn
            )
        except ConcurrencyError:
            raise AlreadySignedOff() from None
        inserted = await conn.fetchval(
            """INSERT INTO report_sign_offs
                   (bureau_id, year, month, signed_by, submitted_at, submitted_on, due_on,
                    on_time, figures, figures_digest, event_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)
               ON CONFLICT (bureau_id, year, month) DO NOTHING
               RETURNING true""",
            bureau_id,
            year,
            month,
            signed_by,
            envelope.recorded_at,
            submitted_on,
            due_on,
            on_time,
            json.dumps(figures, ensure_ascii=False),
            digest,
            envelope.event_id,
        )
        if not inserted:
            raise AlreadySignedOff()
    return envelope


def _sign_off(row: asyncpg.Record) -> SignOff:
    return SignOff(
        bureau_id=row["bureau_id"],
        year=row["year"],
        month=row["month"],
        signed_by=row["signed_by"],
        submitted_at=row["submitted_at"],
        submitted_on=row["submitted_on"],
        due_on=row["due_on"],
        on_time=row["on_time"],
        figures=json.loads(row["figures"]),
        figures_digest=row["figures_digest"],
        event_id=str(row["event_id"]),
        signer=(
            Actor(user_id=row["signer_user_id"], role=Role(row["signer_role"]))
            if row["signer_user_id"]
            else None
        ),
    )


# The signer's user id and role are not columns of report_sign_offs: they are the actor of the
# event written in the same transaction, read back from the outbox.
_SELECT = """SELECT s.*,
                    (e.body::jsonb) -> 'actor' ->> 'user_id' AS signer_user_id,
                    (e.body::jsonb) -> 'actor' ->> 'role' AS signer_role
             FROM report_sign_offs s LEFT JOIN events e ON e.event_id = s.event_id"""


async def load_sign_off(
    pool: asyncpg.Pool, bureau_id: str, year: int, month: int
) -> SignOff | None:
    row = await pool.fetchrow(
        f"{_SELECT} WHERE s.bureau_id = $1 AND s.year = $2 AND s.month = $3",
        bureau_id,
        year,
        month,
    )
    return None if row is None else _sign_off(row)


async def load_year_sign_offs(pool: asyncpg.Pool, year: int) -> list[SignOff]:
    rows = await pool.fetch(f"{_SELECT} WHERE s.year = $1 ORDER BY s.bureau_id, s.month", year)
    return [_sign_off(r) for r in rows]


async def known_bureaus(pool: asyncpg.Pool) -> list[str]:
    """Every bureau reporting has seen anything of."""
    rows = await pool.fetch(
        """SELECT bureau_id FROM report_request_facts
           UNION SELECT bureau_id FROM report_case_facts
           UNION SELECT bureau_id FROM report_item_facts
           UNION SELECT bureau_id FROM report_bureau_names
           UNION SELECT bureau_id FROM report_sign_offs
           ORDER BY 1"""
    )
    return [r["bureau_id"] for r in rows]
