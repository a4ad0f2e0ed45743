"""Reads what the central office's roll-ups need: every bureau's profile, and its facts."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from ..annual_report.facts import Facts
from ..central.rollup import BureauProfile
from .report_store import load_facts
from .sign_off_store import known_bureaus


async def load_profiles(pool: asyncpg.Pool) -> list[BureauProfile]:
    """Every bureau reporting has seen: name, region and parent as last registered or updated
    in the catalogue (None for a bureau the catalogue events have not named)."""
    rows = await pool.fetch(
        """SELECT DISTINCT ON (bureau_id) bureau_id, name, region, parent_id
           FROM report_bureau_names
           ORDER BY bureau_id, recorded_at DESC, occurred_at DESC, event_id"""
    )
    profiles = {
        r["bureau_id"]: BureauProfile(r["bureau_id"], r["name"], r["region"], r["parent_id"])
        for r in rows
    }
    for bureau_id in await known_bureaus(pool):
        profiles.setdefault(bureau_id, BureauProfile(bureau_id))
    return [profiles[b] for b in sorted(profiles)]


async def load_all_facts(pool: asyncpg.Pool, bureau_ids: Iterable[str]) -> dict[str, Facts]:
    return {b: await load_facts(pool, b, None) for b in bureau_ids}
