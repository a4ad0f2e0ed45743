"""The central office's figures kept ahead, on a real PostgreSQL: a kept line is the line
computed from the bureau's facts; a new fact of one bureau makes only its line stale, and the
next roll-up shows it; a redelivered batch moves nothing; the background keeper recomputes
a bureau once its facts have settled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest

from gongkai_contracts.vocabulary import ApplicantCategory, ReplyOutcome
from gongkai_platform.db import create_pool, migrate
from reporting_service.adapters.central_store import (
    FiguresKeeper,
    YearFigures,
    facts_marks,
    year_figures,
)
from reporting_service.adapters.report_store import load_facts
from reporting_service.annual_report.facts import Facts
from reporting_service.bootstrap import MIGRATIONS
from reporting_service.central.rollup import BureauProfile, bureau_figures
from reporting_service.projections.report_facts import RequestFactsProjection
from tests.integration.test_report_facts import BASE, received, reply, sealed
from tests.support import unique

pytestmark = pytest.mark.integration

YEAR = 2026


def everyone(profiles: list[BureauProfile]) -> list[BureauProfile]:
    return profiles


async def test_kept_lines_equal_fresh_ones_and_a_new_fact_shows_in_the_next_rollup(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn)
    projection = RequestFactsProjection()
    a, b, c = unique("a"), unique("b"), unique("c")
    try:
        first = [
            *sealed(
                a,
                "r-a1",
                [
                    received("a1", date(YEAR, 3, 3), ApplicantCategory.NATURAL_PERSON),
                    reply("a1", date(YEAR, 3, 20), ReplyOutcome.DISCLOSED),
                ],
                BASE,
            ),
            *sealed(
                b,
                "r-b1",
                [received("b1", date(YEAR, 4, 1), ApplicantCategory.OTHER_ORGANISATION)],
                BASE,
            ),
            *sealed(
                c,
                "r-c1",
                [received("c1", date(YEAR - 1, 12, 30), ApplicantCategory.NATURAL_PERSON)],
                BASE,
            ),
        ]
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, first)
        assert (await facts_marks(pool)) == {a: 2, b: 1, c: 1}

        async def fresh(bureau: str) -> tuple[str, object]:
            return bureau_figures(bureau, YEAR, await load_facts(pool, bureau, None))

        computed = await year_figures(pool, YEAR, everyone)
        assert sorted(computed.lines) == sorted([a, b, c])
        assert computed.freshness.computed == 3 and computed.freshness.kept == 0
        for bureau in (a, b, c):
            assert computed.lines[bureau] == await fresh(bureau)

        kept = await year_figures(pool, YEAR, everyone)
        assert kept.freshness.computed == 0 and kept.freshness.kept == 3
        assert kept.freshness.oldest_kept is not None
        assert kept.lines == computed.lines  # the kept line is the computed one

        # The same batch again (a redelivery) inserts nothing: every line stays kept.
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, first)
        again = await year_figures(pool, YEAR, everyone)
        assert again.freshness.computed == 0 and again.lines == computed.lines

        # A new request of b: only b is computed again, and the roll-up shows it at once.
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(
                conn,
                sealed(
                    b,
                    "r-b2",
                    [received("b2", date(YEAR, 4, 9), ApplicantCategory.NATURAL_PERSON)],
                    BASE + timedelta(hours=1),
                ),
            )
        moved = await year_figures(pool, YEAR, everyone)
        assert moved.freshness.computed == 1 and moved.freshness.kept == 2
        assert _new(moved, b) == _new(computed, b) + 1 == 2
        assert moved.lines[b] == await fresh(b)
        assert moved.lines[a] == computed.lines[a] and moved.lines[c] == computed.lines[c]

        # Another year is kept apart; a bureau nobody has a fact of in it counts zero.
        last_year = await year_figures(pool, YEAR - 1, everyone)
        assert last_year.freshness.computed == 3
        assert _new(last_year, c) == 1 and _new(last_year, a) == 0
        assert last_year.lines[a] == bureau_figures(a, YEAR - 1, await load_facts(pool, a, None))
        assert bureau_figures("nobody", YEAR, Facts())[1].requests["new"] == 0
    finally:
        await pool.close()


async def test_the_keeper_recomputes_a_bureau_once_its_facts_settle(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn)
    projection = RequestFactsProjection()
    a, b = unique("a"), unique("b")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(
                conn,
                [
                    *sealed(
                        a,
                        "r-a1",
                        [received("a1", date(YEAR, 1, 5), ApplicantCategory.NATURAL_PERSON)],
                        BASE,
                    ),
                    *sealed(
                        b,
                        "r-b1",
                        [received("b1", date(YEAR, 2, 5), ApplicantCategory.NATURAL_PERSON)],
                        BASE,
                    ),
                ],
            )
        keeper = FiguresKeeper(pool, lambda: YEAR, interval=0.01)
        # The first pass only notes the marks: nothing has been seen to settle yet.
        assert await keeper.run_pass() == 0
        assert keeper.status.up_to_date == {YEAR - 1: 0, YEAR: 0}
        # Unchanged since: both bureaus, both years.
        assert await keeper.run_pass() == 4
        assert keeper.status.up_to_date == {YEAR - 1: 2, YEAR: 2}
        assert keeper.status.computed == 4 and keeper.status.bureaus == 2
        ahead = await year_figures(pool, YEAR, everyone)
        assert ahead.freshness.kept == 2 and ahead.freshness.computed == 0

        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(
                conn,
                sealed(
                    a,
                    "r-a2",
                    [received("a2", date(YEAR, 6, 1), ApplicantCategory.NATURAL_PERSON)],
                    BASE,
                ),
            )
        # a moved since the last pass: left for the next one, which finds it settled.
        assert await keeper.run_pass() == 0
        assert keeper.status.up_to_date[YEAR] == 1
        assert await keeper.run_pass() == 2
        assert keeper.status.up_to_date == {YEAR - 1: 2, YEAR: 2}
        after = await year_figures(pool, YEAR, everyone)
        assert after.freshness.computed == 0 and _new(after, a) == 2
        assert after.lines[a] == bureau_figures(a, YEAR, await load_facts(pool, a, None))
    finally:
        await pool.close()


def _new(found: YearFigures, bureau: str) -> int:
    return found.lines[bureau][1].requests["new"]
