"""The confidentiality gate on the real PostgreSQL: the reaction records review's decision on the
item in the consumer's transaction, and refuses decisions about versions never in review."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import pytest

from catalogue_service.adapters.repository import CatalogueRepository, item_stream
from catalogue_service.domain.bureau import RegisterBureau
from catalogue_service.domain.item import DraftItem, Entry
from catalogue_service.entrypoints.http import MIGRATIONS
from catalogue_service.handlers import draft_item, handle_item, register_bureau
from catalogue_service.reactions.when_review_decided_record_item_decision import (
    WhenReviewDecidedRecordItemDecision,
)
from gongkai_contracts import GENESIS_HASH, Actor, Envelope, Event, new_event_id
from gongkai_contracts.envelope import Role
from gongkai_contracts.events import ReviewApproved, ReviewRejected
from gongkai_contracts.vocabulary import DisclosureAttribute, ItemCategory, ReviewSubject
from gongkai_platform.consumer import Delivered
from gongkai_platform.db import create_pool, migrate
from tests.support import unique

pytestmark = pytest.mark.integration

CLERK = Actor(user_id="clerk-1", role=Role.CLERK)
REVIEWER = Actor(user_id="reviewer-1", role=Role.REVIEWER)
CENTRAL = Actor(user_id="central-1", role=Role.CENTRAL_OFFICE)
TODAY = date(2026, 11, 27)


@dataclass
class Gate:
    repo: CatalogueRepository
    pool: asyncpg.Pool
    reaction: WhenReviewDecidedRecordItemDecision
    bureau: str

    async def deliver(self, *envelopes: Envelope) -> None:
        """As the consumer runner does: one transaction for the batch."""
        batch = [Delivered(e, "gongkai.review.events", 0, n, {}) for n, e in enumerate(envelopes)]
        async with self.pool.acquire() as conn, conn.transaction():
            await self.reaction.apply(conn, batch)

    async def item_events(self, item_id: str) -> list[str]:
        history = await self.repo.history(item_stream(self.bureau, item_id))
        return [e.event_type.split(".")[1] for e in history]

    async def state(self, item_id: str) -> str:
        value = await self.pool.fetchval(
            "SELECT state FROM items WHERE bureau_id = $1 AND item_id = $2", self.bureau, item_id
        )
        return str(value)


@pytest.fixture
async def gate(fresh_database: Callable[..., Awaitable[str]]) -> AsyncIterator[Gate]:
    dsn = await fresh_database("catalogue")
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn, max_size=4)
    repo = CatalogueRepository(pool)
    bureau = unique("cz-hrss")
    await register_bureau(
        repo,
        RegisterBureau(bureau, "常州市人力资源和社会保障局", "014416330", "江苏省常州市"),
        CENTRAL,
    )
    try:
        yield Gate(repo, pool, WhenReviewDecidedRecordItemDecision(repo), bureau)
    finally:
        await pool.close()


async def drafted(gate: Gate, item_id: str, *, submit: bool) -> None:
    entry = Entry(
        title="关于印发《常州市就业困难人员认定办法》的通知",
        summary="认定条件和程序",
        formed_on=date(2026, 3, 2),
        issuing_body="常州市人力资源和社会保障局",
        attribute=DisclosureAttribute.PROACTIVE,
        category=ItemCategory.NORMATIVE_DOCUMENT,
        document_number="常人社规〔2026〕3号",
    )
    await draft_item(gate.repo, DraftItem(gate.bureau, item_id, entry), CLERK, TODAY)
    if submit:
        await handle_item(
            gate.repo, gate.bureau, item_id, CLERK, datetime.now(UTC), lambda i: i.submit()
        )


def decided(bureau: str, event: Event, case_id: str) -> Envelope:
    return Envelope.seal(
        event,
        bureau_id=bureau,
        stream_id=f"review-{case_id}",
        stream_version=4,
        occurred_at=datetime(2026, 3, 6, 9, 30, tzinfo=UTC),
        actor=REVIEWER,
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=GENESIS_HASH,
    )


def approval(bureau: str, item_id: str, version: int, case_id: str = "case-1") -> Envelope:
    event = ReviewApproved(
        case_id=case_id, subject=ReviewSubject.ITEM, subject_id=item_id, subject_version=version
    )
    return decided(bureau, event, case_id)


async def test_an_approval_of_the_submitted_version_is_recorded_on_the_item(gate: Gate) -> None:
    await drafted(gate, "i-1", submit=True)
    source = approval(gate.bureau, "i-1", 1)
    await gate.deliver(source)
    assert await gate.item_events("i-1") == [
        "ItemDrafted",
        "ItemSubmittedForReview",
        "ItemApproved",
    ]
    [*_, recorded] = await gate.repo.history(item_stream(gate.bureau, "i-1"))
    assert recorded.causation_id == source.event_id
    assert recorded.occurred_at == source.occurred_at
    assert recorded.data == {"item_id": "i-1", "item_version": 1, "review_case_id": "case-1"}
    assert await gate.state("i-1") == "approved"
    await gate.deliver(source)  # delivered again: nothing more
    assert len(await gate.item_events("i-1")) == 3
    assert gate.reaction.refused == 0


async def test_approvals_for_versions_never_submitted_are_refused(gate: Gate) -> None:
    await drafted(gate, "never-submitted", submit=False)
    await drafted(gate, "in-review", submit=True)
    await gate.deliver(
        approval(gate.bureau, "never-submitted", 1),
        approval(gate.bureau, "in-review", 2),  # no such version
        approval(gate.bureau, "unknown-item", 1),
        approval(unique("other-bureau"), "in-review", 1),  # not that bureau's item
    )
    assert gate.reaction.refused == 4
    assert await gate.item_events("never-submitted") == ["ItemDrafted"]
    assert await gate.item_events("in-review") == ["ItemDrafted", "ItemSubmittedForReview"]
    assert (await gate.state("never-submitted"), await gate.state("in-review")) == (
        "draft",
        "in_review",
    )


async def test_a_rejection_sends_the_item_back_to_draft_and_reply_decisions_are_not_ours(
    gate: Gate,
) -> None:
    await drafted(gate, "i-2", submit=True)
    rejected = ReviewRejected(
        case_id="case-2",
        subject=ReviewSubject.ITEM,
        subject_id="i-2",
        subject_version=1,
        reasons="含有个人身份证号码",
    )
    reply = ReviewApproved(
        case_id="case-3", subject=ReviewSubject.REPLY, subject_id="i-2", subject_version=1
    )
    await gate.deliver(
        decided(gate.bureau, rejected, "case-2"), decided(gate.bureau, reply, "case-3")
    )
    assert await gate.item_events("i-2") == [
        "ItemDrafted",
        "ItemSubmittedForReview",
        "ItemRejected",
    ]
    row = await gate.pool.fetchrow(
        "SELECT state, rejection_reasons, review_case_id FROM items WHERE item_id = 'i-2'"
    )
    assert dict(row) == {
        "state": "draft",
        "rejection_reasons": "含有个人身份证号码",
        "review_case_id": "case-2",
    }
    # A later approval of the rejected version does not reopen the gate.
    await gate.deliver(approval(gate.bureau, "i-2", 1, "case-2"))
    assert await gate.state("i-2") == "draft"
    assert gate.reaction.refused == 1
