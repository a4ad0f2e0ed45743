"""Review cases on the real broker and database: a ReplyDrafted on the requests topic opens
exactly one case however often it is delivered; three stages then approve it, and the events
land in the review events table (and on the review topic through the relay)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gongkai_contracts import GENESIS_HASH, Actor, Envelope, Event, new_event_id
from gongkai_contracts.envelope import Role
from gongkai_contracts.events import ItemDrafted, ItemSubmittedForReview, ReplyDrafted
from gongkai_contracts.vocabulary import DisclosureAttribute, ItemCategory, ReplyOutcome
from gongkai_platform.consumer import ConsumerRunner, Delivered
from gongkai_platform.db import create_pool
from gongkai_platform.relay import Relay, make_producer
from review_service.adapters.repository import ReviewRepository
from review_service.config import Settings
from review_service.entrypoints.http import create_app
from review_service.reactions.when_submitted_for_review_open_case import (
    WhenSubmittedForReviewOpenCase,
)
from tests.support import unique

pytestmark = pytest.mark.integration

CLERK = Actor(user_id="clerk-1", role=Role.CLERK)


@dataclass
class Review:
    """The review API running in-process (its lifespan runs the consumer) on test topics."""

    client: httpx.AsyncClient
    pool: asyncpg.Pool
    consumer: ConsumerRunner
    requests_topic: str
    catalogue_topic: str


@pytest.fixture
async def review(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    kafka_topic_factory: Callable[..., Awaitable[str]],
) -> AsyncIterator[Review]:
    dsn = await fresh_database("review")
    requests_topic = await kafka_topic_factory()
    catalogue_topic = await kafka_topic_factory()
    settings = Settings(
        database_url=dsn,
        kafka_bootstrap_servers=kafka_bootstrap,
        source_topics=(requests_topic, catalogue_topic),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pool = await create_pool(dsn, max_size=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://review") as client:
            yield Review(client, pool, app.state.consumer, requests_topic, catalogue_topic)
        await pool.close()


def sealed(bureau_id: str, stream_id: str, version: int, event: Event) -> Envelope:
    return Envelope.seal(
        event,
        bureau_id=bureau_id,
        stream_id=stream_id,
        stream_version=version,
        occurred_at=datetime(2026, 3, 20, tzinfo=UTC),
        actor=CLERK,
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=GENESIS_HASH,
    )


@asynccontextmanager
async def raw_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def review_events(pool: asyncpg.Pool, bureau_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT body FROM events WHERE bureau_id = $1 ORDER BY position", bureau_id
    )
    return [json.loads(r["body"]) for r in rows]


async def test_a_drafted_reply_opens_one_case_that_three_stages_approve(
    review: Review, kafka_bootstrap: str, kafka_topic_factory: Callable[..., Awaitable[str]]
) -> None:
    bureau = unique("cz-hrss")
    draft = ReplyDrafted(
        request_id="2026-001",
        draft_id=unique("draft"),
        outcome=ReplyOutcome.PARTIALLY_DISCLOSED,
        legal_basis="条例 第三十七条",
        summary="附名单，隐去身份证号",
    )
    source = sealed(bureau, f"request-{bureau}-2026-001", 2, draft)

    # 1. The same message delivered twice: one case.
    async with raw_producer(kafka_bootstrap) as producer:
        for _ in range(2):
            await producer.send_and_wait(
                review.requests_topic, source.to_json(), key=bureau.encode()
            )

    async def settled() -> bool:
        return review.consumer.applied + review.consumer.duplicates >= 2

    await wait_for(settled)
    assert (review.consumer.applied, review.consumer.duplicates) == (1, 1)
    events = await review_events(review.pool, bureau)
    assert [e["event_type"] for e in events] == ["review.ReviewOpened"]
    [opened] = events
    case_id = opened["data"]["case_id"]
    assert opened["stream_id"] == f"review-{case_id}"
    assert opened["data"] == {
        "case_id": case_id,
        "subject": "reply",
        "subject_id": draft.draft_id,
        "subject_version": 1,
        "stages": ["初审", "复审", "终审"],
    }
    assert opened["causation_id"] == str(source.event_id)
    assert opened["correlation_id"] == str(source.correlation_id)
    assert opened["actor"] == {"user_id": "clerk-1", "role": "clerk"}

    # A replay past the consumer's own duplicate check (a fresh consumer, a reset) opens nothing.
    handler = WhenSubmittedForReviewOpenCase(ReviewRepository(review.pool))
    async with review.pool.acquire() as conn, conn.transaction():
        await handler.apply(conn, [Delivered(source, review.requests_topic, 0, 0, {})])
    assert len(await review_events(review.pool, bureau)) == 1

    # 2. The case over HTTP: listed as open, errors named, three stages in order.
    client = review.client
    listed = (await client.get(f"/bureaus/{bureau}/reviews", params={"state": "open"})).json()
    assert [(c["case_id"], c["current_stage"], c["subject_id"]) for c in listed] == [
        (case_id, "初审", draft.draft_id)
    ]
    url = f"/bureaus/{bureau}/reviews/{case_id}"

    def body(stage: str, reviewer: str, **extra: object) -> dict[str, object]:
        return {"stage": stage, "reviewer": reviewer, "opinion": "同意公开", **extra}

    out_of_order = await client.post(f"{url}/stage-completions", json=body("复审", "赵"))
    assert out_of_order.status_code == 409
    assert "comes before" in out_of_order.json()["detail"]
    extra = await client.post(f"{url}/stage-completions", json=body("初审", "张", signed=True))
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "signed"]
    unknown_stage = await client.post(f"{url}/stage-completions", json=body("会签", "张"))
    assert unknown_stage.status_code == 422
    assert unknown_stage.json()["detail"][0]["loc"] == ["body", "stage"]
    bad_ground = await client.post(
        f"{url}/stage-completions", json=body("初审", "张", withholding_grounds=["secret"])
    )
    assert bad_ground.status_code == 422
    assert bad_ground.json()["detail"][0]["loc"][:2] == ["body", "withholding_grounds"]
    assert (await client.get(f"/bureaus/{bureau}/reviews/nope")).status_code == 404
    assert (await client.get(f"/bureaus/other/reviews/{case_id}")).status_code == 404
    other = await client.post(
        f"/bureaus/other/reviews/{case_id}/stage-completions", json=body("初审", "张")
    )
    assert other.status_code == 404

    first = await client.post(f"{url}/stage-completions", json=body("初审", "业务科 张三"))
    assert first.status_code == 200, first.text
    assert first.json()["current_stage"] == "复审"
    second = await client.post(
        f"{url}/stage-completions",
        json=body("复审", "公开办 赵四", withholding_grounds=["third_party"]),
    )
    assert second.json()["events"] == ["review.ReviewStageCompleted"]
    again = await client.post(f"{url}/stage-completions", json=body("复审", "公开办 赵四"))
    assert again.status_code == 409
    assert "already completed" in again.json()["detail"]
    last = await client.post(f"{url}/stage-completions", json=body("终审", "分管领导 李五"))
    assert last.json()["events"] == ["review.ReviewStageCompleted", "review.ReviewApproved"]
    assert last.json()["state"] == "approved"
    after = await client.post(
        f"{url}/rejection", json={"stage": "终审", "reviewer": "李", "reasons": "x"}
    )
    assert after.status_code == 409

    # 3. What landed in the review events table.
    events = await review_events(review.pool, bureau)
    assert [(e["event_type"], e["stream_version"]) for e in events] == [
        ("review.ReviewOpened", 1),
        ("review.ReviewStageCompleted", 2),
        ("review.ReviewStageCompleted", 3),
        ("review.ReviewStageCompleted", 4),
        ("review.ReviewApproved", 5),
    ]
    assert [e["data"]["reviewer"] for e in events[1:4]] == [
        "业务科 张三",
        "公开办 赵四",
        "分管领导 李五",
    ]
    assert events[-1]["data"] == {
        "case_id": case_id,
        "subject": "reply",
        "subject_id": draft.draft_id,
        "subject_version": 1,
    }
    assert {e["correlation_id"] for e in events} == {str(source.correlation_id)}

    # 4. Queries: the list by state, the case with its history, the written record.
    approved = (await client.get(f"/bureaus/{bureau}/reviews?state=approved")).json()
    assert [c["case_id"] for c in approved] == [case_id]
    assert (await client.get(f"/bureaus/{bureau}/reviews?state=open")).json() == []
    case = (await client.get(url)).json()
    assert [e["event_type"] for e in case["history"]] == [e["event_type"] for e in events]
    assert case["title"] == f"政府信息公开申请 2026-001 的答复（草稿 {draft.draft_id}）"
    record = (await client.get(f"{url}/record")).json()
    assert [(s["stage"], s["reviewer"], s["status"]) for s in record["stages"]] == [
        ("初审", "业务科 张三", "passed"),
        ("复审", "公开办 赵四", "passed"),
        ("终审", "分管领导 李五", "passed"),
    ]
    assert [g["code"] for g in record["withholding_grounds"]] == ["third_party"]
    assert record["conclusion"]["label"] == "同意公开"
    page = await client.get(f"{url}/record", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "政府信息公开保密审查记录" in page.text
    assert "分管领导 李五" in page.text

    # 5. The relay publishes them to the review topic, ReviewApproved last.
    review_topic = await kafka_topic_factory()
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    reader = AIOKafkaConsumer(
        review_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        assert await Relay(review.pool, producer, review_topic).publish_once() == 5
        published: list[str] = []
        async with asyncio.timeout(30):
            while len(published) < 5:
                for records in (await reader.getmany(timeout_ms=300)).values():
                    published += [Envelope.from_json(r.value).event_type for r in records]
    finally:
        await reader.stop()
        await producer.stop()
    assert published[-1] == "review.ReviewApproved"


async def test_an_item_with_the_bureaus_stages_is_referred_rejected_and_resubmitted(
    review: Review, kafka_bootstrap: str
) -> None:
    bureau = unique("cz-fgw")
    client = review.client
    stages_url = f"/bureaus/{bureau}/review-stages"
    assert (await client.get(stages_url)).json()["default"] is True
    repeated = await client.put(stages_url, json={"stages": ["初审", "初审"]})
    assert repeated.status_code == 422
    assert repeated.json()["detail"][0]["loc"] == ["body", "stages"]
    assert (await client.put(stages_url, json={"stages": ["科室初审", "领导终审"]})).json() == {
        "bureau_id": bureau,
        "stages": ["科室初审", "领导终审"],
        "default": False,
    }

    stream = f"item-{bureau}-i-1"
    drafted = ItemDrafted(
        item_id="i-1",
        title="关于2026年重点建设项目的批复",
        summary="项目名称、投资额",
        formed_on=datetime(2026, 3, 1).date(),
        document_number="发改〔2026〕12号",
        issuing_body="市发展改革委",
        attribute=DisclosureAttribute.PROACTIVE,
        category=ItemCategory.OTHER,
    )
    async with raw_producer(kafka_bootstrap) as producer:
        for version, event in enumerate(
            [drafted, ItemSubmittedForReview(item_id="i-1", item_version=1)], start=1
        ):
            envelope = sealed(bureau, stream, version, event)
            await producer.send_and_wait(
                review.catalogue_topic, envelope.to_json(), key=bureau.encode()
            )

    async def cases() -> list[dict[str, Any]]:
        answer = await client.get(f"/bureaus/{bureau}/reviews", params={"subject": "item"})
        return answer.json()  # type: ignore[no-any-return]

    async def count(n: int) -> bool:
        return len(await cases()) >= n

    await wait_for(lambda: count(1))
    [case] = await cases()
    assert (case["subject_version"], case["title"], case["current_stage"]) == (
        1,
        "关于2026年重点建设项目的批复",
        "科室初审",
    )
    url = f"/bureaus/{bureau}/reviews/{case['case_id']}"

    referred = await client.post(
        f"{url}/referral",
        json={"stage": "科室初审", "referred_to": "市国家保密局", "question": "投资额是否涉密？"},
    )
    assert referred.json()["awaiting_referral"] == "市国家保密局"
    waiting = await client.post(
        f"{url}/stage-completions", json={"stage": "科室初审", "reviewer": "张", "opinion": "同意"}
    )
    assert waiting.status_code == 409
    answered = await client.post(
        f"{url}/referral-answer",
        json={
            "opinion": "投资额属于工作秘密，不予公开",
            "disclose": False,
            "withholding_grounds": ["prohibited_by_law"],
        },
    )
    assert answered.json()["events"] == ["review.ReviewStageCompleted", "review.ReviewRejected"]
    assert (await client.get(f"/bureaus/{bureau}/reviews?state=rejected")).json()[0]["case_id"] == (
        case["case_id"]
    )
    record = (await client.get(f"{url}/record")).json()
    assert record["subject"]["document_number"] == "发改〔2026〕12号"
    assert record["stages"][0]["reviewer"] == "市国家保密局"
    assert record["conclusion"]["reasons"] == "投资额属于工作秘密，不予公开"
    page = (await client.get(f"{url}/record?format=html")).text
    assert "法律、行政法规禁止公开" in page
    assert "报请确定" in page

    # The author resubmits: a new item version is a new case.
    resubmitted = sealed(bureau, stream, 3, ItemSubmittedForReview(item_id="i-1", item_version=2))
    async with raw_producer(kafka_bootstrap) as producer:
        await producer.send_and_wait(
            review.catalogue_topic, resubmitted.to_json(), key=bureau.encode()
        )
    await wait_for(lambda: count(2))
    assert [(c["subject_version"], c["state"]) for c in await cases()] == [
        (1, "rejected"),
        (2, "open"),
    ]
