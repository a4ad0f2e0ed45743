"""Reads what the central office's roll-ups need: every bureau's profile, and its figures of the
year, kept ahead in `central_figures` and recomputed from the facts for any bureau whose facts
changed since (so an answer is never stale); `FiguresKeeper` keeps them ahead in the
background."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg

from ..annual_report.facts import Facts
from ..central.rollup import (
    BureauProfile,
    Figures,
    KeptLine,
    bureau_figures,
    figures_from_json,
    figures_json,
    stale_bureaus,
)
from .report_store import load_facts_of_bureaus

log = logging.getLogger(__name__)

FACT_TABLES = ("report_request_facts", "report_case_facts", "report_item_facts")
NAMES_TABLE = "report_bureau_names"
# Bureaus whose facts are loaded and figures computed together: bounds the memory of one step.
CHUNK = 100
# The modules whose code the figures come from: a change to one makes every kept line stale.
FIGURES_CODE = (
    "reporting_service.annual_report.builder",
    "reporting_service.annual_report.facts",
    "reporting_service.annual_report.layout",
    "reporting_service.monthly_report.builder",
    "reporting_service.central.rollup",
)

Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def load_profiles(conn: Connection) -> list[BureauProfile]:
    """Every bureau reporting has seen: name, region and parent as last registered or updated
    in the catalogue (None for a bureau the catalogue events have not named)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (bureau_id) bureau_id, name, region, parent_id
           FROM report_bureau_names
           ORDER BY bureau_id, recorded_at DESC, occurred_at DESC, event_id"""
    )
    profiles = {
        r["bureau_id"]: BureauProfile(r["bureau_id"], r["name"], r["region"], r["parent_id"])
        for r in rows
    }
    # Every bureau with a fact has a mark (reporting_0008): no scan of the fact tables.
    others = await conn.fetch(
        """SELECT bureau_id FROM central_facts_marks
           UNION SELECT bureau_id FROM report_sign_offs"""
    )
    for r in others:
        profiles.setdefault(r["bureau_id"], BureauProfile(r["bureau_id"]))
    return [profiles[b] for b in sorted(profiles)]


@cache
def code_digest() -> str:
    digest = hashlib.sha256()
    for name in FIGURES_CODE:
        source = import_module(name).__file__
        assert source is not None
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()[:16]


async def figures_basis(conn: Connection) -> str:
    """What kept lines are valid for besides their marks: this code, and these fact tables (a
    replay's switch puts other tables, with other marks, in their place)."""
    oids = await conn.fetchval(
        "SELECT string_agg(to_regclass(t)::oid::text, '.' ORDER BY n) "
        "FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)",
        [*FACT_TABLES, NAMES_TABLE],
    )
    return f"{code_digest()}:{oids}"


async def facts_marks(conn: Connection, bureau_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Per bureau, how many fact rows were inserted so far: moves with every new fact."""
    if bureau_ids is None:
        rows = await conn.fetch(
            "SELECT bureau_id, sum(facts)::bigint AS mark FROM central_facts_marks "
            "GROUP BY bureau_id"
        )
    else:
        rows = await conn.fetch(
            "SELECT bureau_id, sum(facts)::bigint AS mark FROM central_facts_marks "
            "WHERE bureau_id = ANY($1::text[]) GROUP BY bureau_id",
            list(bureau_ids),
        )
    return {r["bureau_id"]: r["mark"] for r in rows}


@dataclass(frozen=True)
class StoredLine(KeptLine):
    computed_at: datetime | None = None


async def kept_lines(conn: Connection, year: int, basis: str) -> dict[str, StoredLine]:
    rows = await conn.fetch(
        """SELECT bureau_id, name, figures::text AS figures, facts_mark, computed_at
           FROM central_figures WHERE year = $1 AND basis = $2""",
        year,
        basis,
    )
    return {
        r["bureau_id"]: StoredLine(
            r["name"],
            figures_from_json(json.loads(r["figures"])),
            r["facts_mark"],
            r["computed_at"],
        )
        for r in rows
    }


async def kept_marks(conn: Connection, year: int, basis: str) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT bureau_id, facts_mark FROM central_figures WHERE year = $1 AND basis = $2",
        year,
        basis,
    )
    return {r["bureau_id"]: r["facts_mark"] for r in rows}


def _compute(year: int, facts: Mapping[str, Facts]) -> dict[str, tuple[str, Figures]]:
    return {b: bureau_figures(b, year, f) for b, f in facts.items()}


async def compute_lines(
    conn: asyncpg.Connection, year: int, bureau_ids: Sequence[str], marks: Mapping[str, int]
) -> dict[str, KeptLine]:
    """The bureaus' figures from their facts, in the caller's transaction: `marks` must have
    been read in the same snapshot. The building runs in a worker thread, so the event loop
    goes on serving meanwhile."""
    out: dict[str, KeptLine] = {}
    for start in range(0, len(bureau_ids), CHUNK):
        facts = await load_facts_of_bureaus(conn, bureau_ids[start : start + CHUNK])
        computed = await asyncio.to_thread(_compute, year, facts)
        for b, (name, figures) in computed.items():
            out[b] = KeptLine(name, figures, marks.get(b, 0))
    return out


async def keep_lines(
    conn: Connection, year: int, lines: Mapping[str, KeptLine], basis: str
) -> None:
    """Store computed lines; a line computed from later facts is never replaced by an earlier."""
    if not lines:
        return
    await conn.execute(
        """INSERT INTO central_figures (bureau_id, year, name, figures, facts_mark, basis)
           SELECT b, $2, n, f::jsonb, m, $6
           FROM unnest($1::text[], $3::text[], $4::text[], $5::bigint[]) AS u(b, n, f, m)
           ON CONFLICT (year, bureau_id) DO UPDATE
           SET name = EXCLUDED.name, figures = EXCLUDED.figures,
               facts_mark = EXCLUDED.facts_mark, basis = EXCLUDED.basis,
               computed_at = EXCLUDED.computed_at
           WHERE central_figures.basis <> EXCLUDED.basis
              OR central_figures.facts_mark <= EXCLUDED.facts_mark""",
        list(lines),
        year,
        [line.name for line in lines.values()],
        [json.dumps(figures_json(line.figures), separators=(",", ":")) for line in lines.values()],
        [line.facts_mark for line in lines.values()],
        basis,
    )


@dataclass(frozen=True)
class Freshness:
    """How an answer's lines came about: every fact recorded by `as_of` is counted."""

    as_of: datetime
    kept: int  # lines computed ahead, their facts unchanged since
    computed: int  # lines computed for this answer (never computed, or facts changed since)
    oldest_kept: datetime | None  # when the oldest kept line was computed

    def json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "bureaus_kept": self.kept,
            "bureaus_computed_now": self.computed,
            "oldest_kept_line_computed_at": (
                None if self.oldest_kept is None else self.oldest_kept.isoformat()
            ),
        }


@dataclass(frozen=True)
class YearFigures:
    profiles: list[BureauProfile]
    lines: dict[str, tuple[str, Figures]]
    freshness: Freshness


async def year_figures(
    pool: asyncpg.Pool,
    year: int,
    choose: Callable[[list[BureauProfile]], Iterable[BureauProfile]],
) -> YearFigures:
    """The profiles and the chosen bureaus' figures of `year`, all as of one snapshot: kept
    lines whose facts have not changed since, the others computed now (and kept)."""
    async with pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            as_of = await conn.fetchval("SELECT clock_timestamp()")
            profiles = await load_profiles(conn)
            chosen = [p.bureau_id for p in choose(profiles)]
            basis = await figures_basis(conn)
            marks = await facts_marks(conn)
            kept = await kept_lines(conn, year, basis)
            stale = stale_bureaus(chosen, marks, {b: k.facts_mark for b, k in kept.items()})
            computed = await compute_lines(conn, year, stale, marks)
        await keep_lines(conn, year, computed, basis)
    lines: dict[str, tuple[str, Figures]] = {}
    used: list[StoredLine] = []
    for b in chosen:
        if b in computed:
            lines[b] = (computed[b].name, computed[b].figures)
        else:
            used.append(kept[b])
            lines[b] = (kept[b].name, kept[b].figures)
    stamps = [line.computed_at for line in used if line.computed_at is not None]
    freshness = Freshness(as_of, len(used), len(computed), min(stamps, default=None))
    return YearFigures(profiles, lines, freshness)


# ---------------------------------------------------------------- in the background


@dataclass
class KeeperStatus:
    """What the background keeper has done: shown in the roll-up's answer."""

    years: list[int] = field(default_factory=list)
    passes: int = 0
    computed: int = 0  # bureau-years computed since the process started
    last_pass_at: datetime | None = None
    last_pass_seconds: float | None = None
    up_to_date: dict[int, int] = field(default_factory=dict)  # year: bureaus, after last pass
    bureaus: int = 0
    last_error: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "passes": self.passes,
            "bureau_years_computed": self.computed,
            "bureaus": self.bureaus,
            "up_to_date": {str(y): n for y, n in sorted(self.up_to_date.items())},
            "last_pass_at": None if self.last_pass_at is None else self.last_pass_at.isoformat(),
            "last_pass_seconds": self.last_pass_seconds,
            "last_error": self.last_error,
        }


class FiguresKeeper:
    """Keeps every bureau's figures of the years the central office reads computed ahead.

    Every `interval` seconds it compares each bureau's facts mark with its kept lines and
    recomputes the stale ones whose mark has not moved since the previous pass: a bureau still
    receiving facts (a catch-up from offset 0) is left until it settles, and a roll-up
    meanwhile computes it itself. The years: this one and the last (by `today`), and every
    year a roll-up was asked for (those with kept lines)."""

    def __init__(
        self, pool: asyncpg.Pool, this_year: Callable[[], int], interval: float = 2.0
    ) -> None:
        self.pool = pool
        self.this_year = this_year
        self.interval = interval
        self.status = KeeperStatus()
        self._seen: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FiguresKeeper:
        self._task = asyncio.create_task(self._run(), name="central-figures")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_pass()
                self.status.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("central figures: pass failed")
                self.status.last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(self.interval)

    async def years(self) -> list[int]:
        year = self.this_year()
        rows = await self.pool.fetch("SELECT DISTINCT year FROM central_figures")
        return sorted({year, year - 1, *(r["year"] for r in rows)})

    async def run_pass(self) -> int:
        """One pass over every year; how many bureau-years it computed."""
        started = time.monotonic()
        years = await self.years()
        marks = await facts_marks(self.pool)
        settled = {b for b, m in marks.items() if self._seen.get(b) == m}
        self._seen = marks
        profiles = await load_profiles(self.pool)
        bureaus = [p.bureau_id for p in profiles]
        done = 0
        up_to_date: dict[int, int] = {}
        self.status.years, self.status.bureaus = years, len(bureaus)
        for year in years:
            basis = await figures_basis(self.pool)
            stale = stale_bureaus(bureaus, marks, await kept_marks(self.pool, year, basis))
            self.status.up_to_date[year] = up_to_date[year] = len(bureaus) - len(stale)
            # A bureau without facts (mark 0) cannot move: settled from the start.
            todo = [b for b in stale if b in settled or b not in marks]
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start : start + CHUNK]
                async with self.pool.acquire() as conn:
                    async with conn.transaction(isolation="repeatable_read", readonly=True):
                        chunk_marks = await facts_marks(conn, chunk)
                        lines = await compute_lines(conn, year, chunk, chunk_marks)
                    await keep_lines(conn, year, lines, basis)
                done += len(lines)
                self.status.computed += len(lines)
                # Lines whose facts moved meanwhile count only in the next pass.
                up_to_date[year] += sum(
                    1 for b, line in lines.items() if line.facts_mark == marks.get(b, 0)
                )
                self.status.up_to_date[year] = up_to_date[year]
        self.status.passes += 1
        self.status.up_to_date = up_to_date
        self.status.last_pass_at = await self.pool.fetchval("SELECT clock_timestamp()")
        self.status.last_pass_seconds = round(time.monotonic() - started, 3)
        return done
