"""Bureaus and items in PostgreSQL: the event streams are the truth; the rows follow them in the
same transaction, so queries never lag behind a command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from gongkai_contracts import Envelope, Event
from gongkai_platform.eventstore import APPEND_LOCK_ID, Metadata, PostgresEventStore

from ..domain.bureau import Bureau
from ..domain.item import Entry, Item


def bureau_stream(bureau_id: str) -> str:
    return f"bureau-{bureau_id}"


def item_stream(bureau_id: str, item_id: str) -> str:
    return f"item-{bureau_id}-{item_id}"


ITEM_COLUMNS = """bureau_id, item_id, state, version, title, summary, formed_on, document_number,
    issuing_body, topic, form_category, attribute, scope, validity, category,
    fee_amount_yuan::text AS fee_amount_yuan, changed_on, submitted_version, approved_version,
    review_case_id, rejection_reasons, index_number, published_version, published_on,
    first_published_on, due_on, late, repealed_on, withdrawn_on, withdrawal_reason,
    stream_version"""

ENTRY_COLUMNS = """item_id, index_number, version, title, summary, formed_on, document_number,
    issuing_body, topic, form_category, attribute, scope, validity, category,
    fee_amount_yuan::text AS fee_amount_yuan, published_on, first_published_on, channels,
    repealed_on"""


class CatalogueRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresEventStore(pool)

    async def history(
        self, stream_id: str, conn: asyncpg.Connection | None = None
    ) -> list[Envelope]:
        return await self.store.load(stream_id, conn)

    async def stream_version(self, conn: asyncpg.Connection, stream_id: str) -> int:
        value = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(value)

    async def lock_appends(self, conn: asyncpg.Connection) -> None:
        """Take the append lock now, before reading what the command decides on: the event store
        takes it on append and holds it to commit, so nothing can move in between."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_ID)

    # ---------------------------------------------------------------- bureaus

    async def parents(self, conn: asyncpg.Connection) -> dict[str, str | None]:
        rows = await conn.fetch("SELECT bureau_id, parent_id FROM bureaus")
        return {r["bureau_id"]: r["parent_id"] for r in rows}

    async def save_bureau(
        self,
        conn: asyncpg.Connection,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
        after: Bureau,
    ) -> list[Envelope]:
        """Append and upsert the bureau row; `conn` must be inside a transaction."""
        envelopes = await self.store.append(
            bureau_stream(after.bureau_id), expected_version, events, meta, conn=conn
        )
        guide = json.dumps(after.guide.model_dump(mode="json")) if after.guide else None
        await conn.execute(
            """INSERT INTO bureaus (bureau_id, name, organisation_code, region, parent_id,
                   index_pattern, guide, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
               ON CONFLICT (bureau_id) DO UPDATE SET name = EXCLUDED.name,
                   organisation_code = EXCLUDED.organisation_code, region = EXCLUDED.region,
                   parent_id = EXCLUDED.parent_id, index_pattern = EXCLUDED.index_pattern,
                   guide = EXCLUDED.guide, version = EXCLUDED.version""",
            after.bureau_id,
            after.name,
            after.organisation_code,
            after.region,
            after.parent_id,
            after.index_pattern,
            guide,
            expected_version + len(events),
        )
        return envelopes

    async def bureau(
        self, bureau_id: str, conn: asyncpg.Connection | None = None
    ) -> dict[str, Any] | None:
        row = await (conn or self.pool).fetchrow(
            """SELECT bureau_id, name, organisation_code, region, parent_id, index_pattern,
                      guide::text AS guide
               FROM bureaus WHERE bureau_id = $1""",
            bureau_id,
        )
        if row is None:
            return None
        found = dict(row)
        found["guide"] = json.loads(row["guide"]) if row["guide"] else None
        return found

    async def bureaus(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT bureau_id, name, organisation_code, region, parent_id FROM bureaus
               ORDER BY bureau_id"""
        )
        return [dict(r) for r in rows]

    async def children(self, bureau_id: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT bureau_id FROM bureaus WHERE parent_id = $1 ORDER BY bureau_id", bureau_id
        )
        return [r["bureau_id"] for r in rows]

    # ---------------------------------------------------------------- index numbers

    async def take_sequence_number(
        self, conn: asyncpg.Connection, bureau_id: str, year: int
    ) -> int:
        """The next number of the bureau's year; inside the publishing transaction only.

        The row lock serialises publications of one bureau and year, and the counter moves with
        the transaction: a publication that rolls back gives its number back."""
        await conn.execute(
            """INSERT INTO index_counters (bureau_id, year, next_seq) VALUES ($1, $2, 1)
               ON CONFLICT (bureau_id, year) DO NOTHING""",
            bureau_id,
            year,
        )
        seq: int = await conn.fetchval(
            """SELECT next_seq FROM index_counters WHERE bureau_id = $1 AND year = $2
               FOR UPDATE""",
            bureau_id,
            year,
        )
        await conn.execute(
            """UPDATE index_counters SET next_seq = next_seq + 1
               WHERE bureau_id = $1 AND year = $2""",
            bureau_id,
            year,
        )
        return seq

    async def record_index_number(
        self,
        conn: asyncpg.Connection,
        bureau_id: str,
        year: int,
        seq: int,
        index_number: str,
        item_id: str,
    ) -> None:
        await conn.execute(
            """INSERT INTO index_numbers (bureau_id, year, seq, index_number, item_id)
               VALUES ($1, $2, $3, $4, $5)""",
            bureau_id,
            year,
            seq,
            index_number,
            item_id,
        )

    # ---------------------------------------------------------------- items

    async def item_exists(self, conn: asyncpg.Connection, bureau_id: str, item_id: str) -> bool:
        found = await conn.fetchval(
            "SELECT 1 FROM items WHERE bureau_id = $1 AND item_id = $2", bureau_id, item_id
        )
        return found is not None

    async def save_item(
        self,
        conn: asyncpg.Connection,
        bureau_id: str,
        expected_version: int,
        events: Sequence[Event],
        meta: Metadata,
        after: Item,
    ) -> list[Envelope]:
        """Append, then write the item row and, once published, its catalogue entry, both from
        the folded state; `conn` must be inside a transaction."""
        envelopes = await self.store.append(
            item_stream(bureau_id, after.item_id), expected_version, events, meta, conn=conn
        )
        entry = after.entry
        published = after.published
        row: dict[str, Any] = {
            "bureau_id": bureau_id,
            "item_id": after.item_id,
            "state": after.state.value,
            "version": after.version,
            **_entry_row(entry),
            "changed_on": after.changed_on,
            "submitted_version": after.submitted_version,
            "approved_version": after.approved_version,
            "review_case_id": after.review_case_id,
            "rejection_reasons": after.rejection_reasons,
            "index_number": published.index_number if published else None,
            "published_version": published.version if published else None,
            "published_on": published.published_on if published else None,
            "first_published_on": published.first_published_on if published else None,
            "due_on": published.due_on if published else None,
            "late": published.late if published else None,
            "repealed_on": after.repealed_on,
            "withdrawn_on": after.withdrawn_on,
            "withdrawal_reason": after.withdrawal_reason,
            "stream_version": expected_version + len(events),
        }
        await _upsert(conn, "items", row)
        if published is not None:
            public = {
                "bureau_id": bureau_id,
                "item_id": after.item_id,
                "index_number": published.index_number,
                "version": published.version,
                **_entry_row(published.entry),
                "published_on": published.published_on,
                "first_published_on": published.first_published_on,
                "channels": list(published.channels),
                "due_on": published.due_on,
                "late": published.late,
                "repealed_on": after.repealed_on,
                "withdrawn_on": after.withdrawn_on,
            }
            if after.repealed_on is not None:
                public["validity"] = "repealed"
            await _upsert(conn, "catalogue_entries", public)
        return envelopes

    async def items(
        self,
        bureau_id: str,
        *,
        state: str | None,
        category: str | None,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        clauses = ["bureau_id = $1"]
        args: list[object] = [bureau_id]
        if state:
            args.append(state)
            clauses.append(f"state = ${len(args)}")
        if category:
            args.append(category)
            clauses.append(f"category = ${len(args)}")
        args += [limit, offset]
        rows = await self.pool.fetch(
            f"""SELECT {ITEM_COLUMNS} FROM items WHERE {" AND ".join(clauses)}
                ORDER BY seq LIMIT ${len(args) - 1} OFFSET ${len(args)}""",
            *args,
        )
        return [dict(r) for r in rows]

    async def catalogue(
        self,
        bureau_id: str,
        *,
        text: str | None,
        category: str | None,
        published_from: date | None,
        published_to: date | None,
        validity: str | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """The public catalogue: published, not withdrawn; newest first. `text` is looked for
        in the title, the summary and the document number."""
        clauses = ["bureau_id = $1", "withdrawn_on IS NULL"]
        args: list[object] = [bureau_id]

        def add(sql: str, value: object) -> None:
            args.append(value)
            clauses.append(sql.replace("{}", f"${len(args)}"))

        if text:
            add(
                "(title ILIKE {} OR summary ILIKE {} OR coalesce(document_number, '') ILIKE {})",
                f"%{_escape_like(text)}%",
            )
        if category:
            add("category = {}", category)
        if published_from:
            add("published_on >= {}", published_from)
        if published_to:
            add("published_on <= {}", published_to)
        if validity:
            add("validity = {}", validity)
        where = " AND ".join(clauses)
        total = await self.pool.fetchval(
            f"SELECT count(*) FROM catalogue_entries WHERE {where}", *args
        )
        rows = await self.pool.fetch(
            f"""SELECT {ENTRY_COLUMNS} FROM catalogue_entries WHERE {where}
                ORDER BY first_published_on DESC, index_number DESC
                LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
            *args,
            limit,
            offset,
        )
        return int(total), [dict(r) for r in rows]

    async def index_numbers(self, bureau_id: str, year: int) -> list[tuple[int, str, str]]:
        """(seq, index number, item id) of a bureau's year, in order."""
        rows = await self.pool.fetch(
            """SELECT seq, index_number, item_id FROM index_numbers
               WHERE bureau_id = $1 AND year = $2 ORDER BY seq""",
            bureau_id,
            year,
        )
        return [(r["seq"], r["index_number"], r["item_id"]) for r in rows]


def _entry_row(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "summary": entry.summary,
        "formed_on": entry.formed_on,
        "document_number": entry.document_number,
        "issuing_body": entry.issuing_body,
        "topic": entry.topic,
        "form_category": entry.form_category,
        "attribute": entry.attribute.value,
        "scope": entry.scope,
        "validity": entry.validity,
        "category": entry.category.value,
        "fee_amount_yuan": entry.fee_amount_yuan,
    }


async def _upsert(conn: asyncpg.Connection, table: str, row: dict[str, Any]) -> None:
    # Column names come from this module only, never from a caller.
    columns = list(row)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    await conn.execute(
        f"""INSERT INTO {table} ({", ".join(columns)}) VALUES ({placeholders})
            ON CONFLICT (bureau_id, item_id) DO UPDATE SET {updates}""",
        *row.values(),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def envelopes_json(envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
    return [json.loads(e.to_json()) for e in envelopes]
