"""Index numbers on the real PostgreSQL: 212 items published 16 at a time for one bureau and
year get exactly 00001–00212, with publications racing and failing among them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import pytest

from catalogue_service.adapters.repository import CatalogueRepository
from catalogue_service.domain.bureau import RegisterBureau
from catalogue_service.domain.item import DraftItem, Entry
from catalogue_service.entrypoints.http import MIGRATIONS
from catalogue_service.handlers import (
    draft_item,
    handle_bureau,
    handle_item,
    publish_item,
    register_bureau,
)
from catalogue_service.reactions.when_review_decided_record_item_decision import (
    WhenReviewDecidedRecordItemDecision,
)
from gongkai_contracts import GENESIS_HASH, Actor, Envelope, new_event_id
from gongkai_contracts.envelope import Role
from gongkai_contracts.events import ItemPublished, ReviewApproved
from gongkai_contracts.vocabulary import DisclosureAttribute, ItemCategory, ReviewSubject
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.consumer import Delivered
from gongkai_platform.db import create_pool, migrate
from gongkai_platform.errors import TransitionError
from tests.support import unique

pytestmark = pytest.mark.integration

CLERK = Actor(user_id="clerk-1", role=Role.CLERK)
REVIEWER = Actor(user_id="reviewer-1", role=Role.REVIEWER)
CENTRAL = Actor(user_id="central-1", role=Role.CENTRAL_OFFICE)
TODAY = date(2026, 11, 27)
CALENDAR = WorkingCalendar()


@dataclass
class Catalogue:
    repo: CatalogueRepository
    pool: asyncpg.Pool
    bureau: str


@pytest.fixture
async def catalogue(fresh_database: Callable[..., Awaitable[str]]) -> AsyncIterator[Catalogue]:
    dsn = await fresh_database("catalogue")
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn, max_size=20)
    repo = CatalogueRepository(pool)
    bureau = unique("cz-hrss")
    await register_bureau(
        repo,
        RegisterBureau(bureau, "常州市人力资源和社会保障局", "014416330", "江苏省常州市"),
        CENTRAL,
    )
    try:
        yield Catalogue(repo, pool, bureau)
    finally:
        await pool.close()


def entry(n: int, formed_on: date = date(2026, 3, 2)) -> Entry:
    return Entry(
        title=f"2026年第{n}号就业补贴公示",
        summary="补贴对象、金额",
        formed_on=formed_on,
        issuing_body="常州市人力资源和社会保障局",
        attribute=DisclosureAttribute.PROACTIVE,
        category=ItemCategory.OTHER,
    )


async def approved_items(
    c: Catalogue, count: int, formed_on: date = date(2026, 3, 2), prefix: str = "i"
) -> list[str]:
    """Draft and submit `count` items, then approve them all as review would: the reaction,
    fed review.ReviewApproved, in one consumer transaction."""
    ids = [f"{prefix}-{n:03d}" for n in range(1, count + 1)]
    for n, item_id in enumerate(ids, start=1):
        await draft_item(c.repo, DraftItem(c.bureau, item_id, entry(n, formed_on)), CLERK, TODAY)
        await handle_item(
            c.repo, c.bureau, item_id, CLERK, datetime.now(UTC), lambda item: item.submit()
        )
    deliveries = [
        Delivered(approval(c.bureau, item_id, 1), "gongkai.review.events", 0, offset, {})
        for offset, item_id in enumerate(ids)
    ]
    async with c.pool.acquire() as conn, conn.transaction():
        await WhenReviewDecidedRecordItemDecision(c.repo).apply(conn, deliveries)
    return ids


def approval(bureau: str, item_id: str, version: int) -> Envelope:
    case_id = new_event_id().hex
    return Envelope.seal(
        ReviewApproved(
            case_id=case_id,
            subject=ReviewSubject.ITEM,
            subject_id=item_id,
            subject_version=version,
        ),
        bureau_id=bureau,
        stream_id=f"review-{case_id}",
        stream_version=4,
        occurred_at=datetime(2026, 3, 6, tzinfo=UTC),
        actor=REVIEWER,
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=GENESIS_HASH,
    )


async def publish(c: Catalogue, item_id: str, on: date = date(2026, 3, 10)) -> str:
    outcome = await publish_item(
        c.repo, c.bureau, item_id, CLERK, on, ["government_website"], TODAY, CALENDAR
    )
    [event] = [e.payload() for e in outcome.envelopes]
    assert isinstance(event, ItemPublished)
    return event.index_number


async def next_seq(c: Catalogue, year: int) -> int | None:
    value = await c.pool.fetchval(
        "SELECT next_seq FROM index_counters WHERE bureau_id = $1 AND year = $2", c.bureau, year
    )
    return None if value is None else int(value)


async def test_212_items_published_16_at_a_time_get_00001_to_00212(catalogue: Catalogue) -> None:
    c = catalogue
    ids = await approved_items(c, 212)
    unapproved = [f"draft-{n}" for n in range(8)]
    for n, item_id in enumerate(unapproved):
        await draft_item(c.repo, DraftItem(c.bureau, item_id, entry(n)), CLERK, TODAY)

    gate = asyncio.Semaphore(16)
    numbers: list[str] = []
    refused: list[str] = []

    async def attempt(item_id: str) -> None:
        async with gate:
            try:
                numbers.append(await publish(c, item_id))
            except TransitionError:
                refused.append(item_id)

    # Every 10th item is published twice at once: the loser waits for the counter, finds the
    # item moved, rolls back with its number, and is refused on the retry. Unapproved items
    # are refused before they take a number.
    attempts = ids + ids[::10] + unapproved
    await asyncio.gather(*(attempt(i) for i in attempts))

    expected = [f"014416330/2026-{seq:05d}" for seq in range(1, 213)]
    assert sorted(numbers) == expected, "no gaps, no duplicates"
    assert sorted(refused) == sorted(ids[::10] + unapproved)
    assert [seq for seq, _, _ in await c.repo.index_numbers(c.bureau, 2026)] == list(range(1, 213))
    assert await next_seq(c, 2026) == 213
    given = await c.pool.fetch(
        "SELECT item_id, index_number FROM catalogue_entries WHERE bureau_id = $1", c.bureau
    )
    assert sorted(r["index_number"] for r in given) == expected
    assert {r["item_id"] for r in given} == set(ids)
    total, listed = await c.repo.catalogue(
        c.bureau,
        text=None,
        category=None,
        published_from=None,
        published_to=None,
        validity=None,
        limit=10,
        offset=0,
    )
    assert total == 212
    assert listed[0]["index_number"] == "014416330/2026-00212"  # newest first


async def test_a_publication_that_rolls_back_gives_its_number_back(catalogue: Catalogue) -> None:
    c = catalogue
    [item_id] = await approved_items(c, 1)
    async with c.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                assert await c.repo.take_sequence_number(conn, c.bureau, 2026) == 1
                raise RuntimeError("the publication failed after taking its number")
    assert await publish(c, item_id) == "014416330/2026-00001"
    assert await next_seq(c, 2026) == 2


async def test_numbers_restart_each_year_follow_the_pattern_and_survive_revisions(
    catalogue: Catalogue,
) -> None:
    c = catalogue
    ids = await approved_items(c, 4, formed_on=date(2025, 12, 1))
    assert await publish(c, ids[0], date(2025, 12, 15)) == "014416330/2025-00001"
    assert await publish(c, ids[1], date(2025, 12, 30)) == "014416330/2025-00002"
    assert await publish(c, ids[2], date(2026, 1, 5)) == "014416330/2026-00001"

    # A new pattern from now on: the year's sequence goes on, older numbers keep their form.
    await handle_bureau(
        c.repo, c.bureau, CENTRAL, lambda b, _: b.set_index_pattern("{org_code}-1/{year}-{seq:04d}")
    )
    assert await publish(c, ids[3], date(2026, 1, 6)) == "014416330-1/2026-0002"

    # A revised published item is reviewed again and keeps its number; no new one is taken.
    revised = entry(1, formed_on=date(2025, 12, 1))
    await handle_item(
        c.repo,
        c.bureau,
        ids[0],
        CLERK,
        datetime.now(UTC),
        lambda item: item.revise(revised, date(2026, 2, 2), TODAY),
    )
    await handle_item(
        c.repo, c.bureau, ids[0], CLERK, datetime.now(UTC), lambda item: item.submit()
    )
    with pytest.raises(TransitionError):
        await publish(c, ids[0], date(2026, 2, 3))
    async with c.pool.acquire() as conn, conn.transaction():
        await WhenReviewDecidedRecordItemDecision(c.repo).apply(
            conn, [Delivered(approval(c.bureau, ids[0], 2), "t", 0, 0, {})]
        )
    assert await publish(c, ids[0], date(2026, 2, 3)) == "014416330/2025-00001"
    assert (await next_seq(c, 2025), await next_seq(c, 2026)) == (3, 3)
    row = await c.pool.fetchrow(
        """SELECT version, published_on, first_published_on FROM catalogue_entries
           WHERE bureau_id = $1 AND item_id = $2""",
        c.bureau,
        ids[0],
    )
    assert dict(row) == {
        "version": 2,
        "published_on": date(2026, 2, 3),
        "first_published_on": date(2025, 12, 15),
    }
