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
from tests.support import STAGE_REVIEWERS, bearer, unique

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


async def review_events(
    pool: asyncpg.Pool, bureau_id: str, *, assignments: bool = False
) -> list[dict[str, Any]]:
    """The bureau's case events in log order (with `assignments`: only ReviewersAssigned)."""
    rows = await pool.fetch(
        "SELECT body FROM events WHERE bureau_id = $1 ORDER BY position", bureau_id
    )
    events = [json.loads(r["body"]) for r in rows]
    return [e for e in events if (e["event_type"] == "review.ReviewersAssigned") == assignments]


def reviewer(bureau_id: str, user_id: str, name: str | None = None) -> dict[str, str]:
    return bearer("reviewer", bureau_id, user_id, name)


async def assign(
    client: httpx.AsyncClient, bureau_id: str, stages: list[tuple[str, list[str]]]
) -> httpx.Response:
    """The bureau head sets the stages and who reviews at each."""
    return await client.put(
        f"/bureaus/{bureau_id}/review-stages",
        json={"stages": [{"name": name, "reviewers": users} for name, users in stages]},
        headers=bearer("bureau_head", bureau_id),
    )


async def draft_opens_case(review: Review, kafka_bootstrap: str, bureau: str) -> str:
    """A ReplyDrafted on the requests topic; the id of the case review opens for it."""
    draft = ReplyDrafted(
        request_id="2026-002",
        draft_id=unique("draft"),
        outcome=ReplyOutcome.DISCLOSED,
        legal_basis="条例 第三十六条",
    )
    source = sealed(bureau, f"request-{bureau}-2026-002", 2, draft)
    async with raw_producer(kafka_bootstrap) as producer:
        await producer.send_and_wait(review.requests_topic, source.to_json(), key=bureau.encode())
    reading = bearer("clerk", bureau)
    cases: list[dict[str, Any]] = []

    async def opened() -> bool:
        nonlocal cases
        cases = (await review.client.get(f"/bureaus/{bureau}/reviews", headers=reading)).json()
        return bool(cases)

    await wait_for(opened)
    return str(cases[0]["case_id"])


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
    # Applied once; the second copy (and any redelivery after a rebalance) dropped as seen.
    assert review.consumer.applied == 1
    assert review.consumer.duplicates >= 1
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
    reading = bearer("clerk", bureau)
    listed = (
        await client.get(f"/bureaus/{bureau}/reviews", params={"state": "open"}, headers=reading)
    ).json()
    assert [(c["case_id"], c["current_stage"], c["subject_id"]) for c in listed] == [
        (case_id, "初审", draft.draft_id)
    ]
    url = f"/bureaus/{bureau}/reviews/{case_id}"
    first_reviewer = reviewer(bureau, "reviewer-1", "业务科 张三")

    def body(stage: str, **extra: object) -> dict[str, object]:
        return {"stage": stage, "opinion": "同意公开", **extra}

    # Nobody reviews until the bureau head assigns reviewers; only the head does.
    unassigned = await client.post(
        f"{url}/stage-completions", json=body("初审"), headers=first_reviewer
    )
    assert unassigned.status_code == 403
    assert unassigned.json()["detail"] == (
        f"no reviewer is assigned to stage 初审 of bureau {bureau}; the bureau head assigns "
        f"them with PUT /bureaus/{bureau}/review-stages"
    )
    stages = [(stage, [user]) for stage, user in STAGE_REVIEWERS]
    by_clerk = await client.put(
        f"/bureaus/{bureau}/review-stages",
        json={"stages": [{"name": "初审", "reviewers": ["clerk-1"]}]},
        headers=reading,
    )
    assert by_clerk.status_code == 403
    assigned = await assign(client, bureau, stages)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["stages"][0] == {"name": "初审", "reviewers": ["reviewer-1"]}

    out_of_order = await client.post(
        f"{url}/stage-completions", json=body("复审"), headers=reviewer(bureau, "reviewer-2")
    )
    assert out_of_order.status_code == 409
    assert "comes before" in out_of_order.json()["detail"]
    named = await client.post(
        f"{url}/stage-completions", json=body("初审", reviewer="张三"), headers=first_reviewer
    )
    assert named.status_code == 422, "the signature comes from the token, not the body"
    assert named.json()["detail"][0]["loc"] == ["body", "reviewer"]
    unknown_stage = await client.post(
        f"{url}/stage-completions", json=body("会签"), headers=first_reviewer
    )
    assert unknown_stage.status_code == 422
    assert unknown_stage.json()["detail"][0]["loc"] == ["body", "stage"]
    bad_ground = await client.post(
        f"{url}/stage-completions",
        json=body("初审", withholding_grounds=["secret"]),
        headers=first_reviewer,
    )
    assert bad_ground.status_code == 422
    assert bad_ground.json()["detail"][0]["loc"][:2] == ["body", "withholding_grounds"]
    assert (await client.get(f"/bureaus/{bureau}/reviews/nope", headers=reading)).status_code == 404
    other_reader = bearer("clerk", "other")
    assert (
        await client.get(f"/bureaus/other/reviews/{case_id}", headers=other_reader)
    ).status_code == 404
    other = await client.post(
        f"/bureaus/other/reviews/{case_id}/stage-completions",
        json=body("初审"),
        headers=reviewer("other", "reviewer-1"),
    )
    assert other.status_code == 404

    # Who may not act: no token, another bureau's reviewer, a clerk, an auditor, a reviewer
    # of another stage (with the reason a clerk can act on).
    assert (await client.get(url)).status_code == 401
    assert (await client.post(f"{url}/stage-completions", json=body("初审"))).status_code == 401
    elsewhere = await client.post(
        f"{url}/stage-completions", json=body("初审"), headers=reviewer("other", "reviewer-1")
    )
    assert elsewhere.status_code == 403
    assert (await client.get(url, headers=other_reader)).status_code == 403
    for role in ("clerk", "bureau_head"):
        refused = await client.post(
            f"{url}/stage-completions", json=body("初审"), headers=bearer(role, bureau)
        )
        assert refused.status_code == 403, role
    audited = await client.post(
        f"{url}/stage-completions", json=body("初审"), headers=bearer("auditor")
    )
    assert audited.status_code == 403
    assert (await client.get(url, headers=bearer("auditor"))).status_code == 200
    not_theirs = await client.post(
        f"{url}/stage-completions", json=body("初审"), headers=reviewer(bureau, "reviewer-2")
    )
    assert not_theirs.status_code == 403
    assert not_theirs.json()["detail"] == (
        f"reviewer-2 is not assigned to stage 初审 of bureau {bureau}; assigned: reviewer-1"
    )

    first = await client.post(f"{url}/stage-completions", json=body("初审"), headers=first_reviewer)
    assert first.status_code == 200, first.text
    assert first.json()["current_stage"] == "复审"
    second_reviewer = reviewer(bureau, "reviewer-2", "公开办 赵四")
    second = await client.post(
        f"{url}/stage-completions",
        json=body("复审", withholding_grounds=["third_party"]),
        headers=second_reviewer,
    )
    assert second.json()["events"] == ["review.ReviewStageCompleted"]
    again = await client.post(
        f"{url}/stage-completions", json=body("复审"), headers=second_reviewer
    )
    assert again.status_code == 409
    assert "already completed" in again.json()["detail"]
    last = await client.post(
        f"{url}/stage-completions", json=body("终审"), headers=reviewer(bureau, "reviewer-3")
    )
    assert last.json()["events"] == ["review.ReviewStageCompleted", "review.ReviewApproved"]
    assert last.json()["state"] == "approved"
    after = await client.post(
        f"{url}/rejection",
        json={"stage": "终审", "reasons": "x"},
        headers=reviewer(bureau, "reviewer-3"),
    )
    assert after.status_code == 409

    # 3. What landed in the review events table: each stage signed with the token's name (or
    # user id), its actor the token's user and role.
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
        "reviewer-3",
    ]
    assert [e["actor"] for e in events[1:]] == [
        {"user_id": "reviewer-1", "role": "reviewer"},
        {"user_id": "reviewer-2", "role": "reviewer"},
        {"user_id": "reviewer-3", "role": "reviewer"},
        {"user_id": "reviewer-3", "role": "reviewer"},
    ]
    assert events[-1]["data"] == {
        "case_id": case_id,
        "subject": "reply",
        "subject_id": draft.draft_id,
        "subject_version": 1,
    }
    assert {e["correlation_id"] for e in events} == {str(source.correlation_id)}

    # 4. Queries: the list by state, the case with its history, the written record.
    approved = (
        await client.get(f"/bureaus/{bureau}/reviews?state=approved", headers=reading)
    ).json()
    assert [c["case_id"] for c in approved] == [case_id]
    assert (await client.get(f"/bureaus/{bureau}/reviews?state=open", headers=reading)).json() == []
    case = (await client.get(url, headers=reading)).json()
    assert [e["event_type"] for e in case["history"]] == [e["event_type"] for e in events]
    assert case["title"] == f"政府信息公开申请 2026-001 的答复（草稿 {draft.draft_id}）"
    record = (await client.get(f"{url}/record", headers=reading)).json()
    assert [
        (s["stage"], s["reviewer"], s["recorded_by"], s["status"]) for s in record["stages"]
    ] == [
        ("初审", "业务科 张三", "reviewer-1", "passed"),
        ("复审", "公开办 赵四", "reviewer-2", "passed"),
        ("终审", "reviewer-3", "reviewer-3", "passed"),
    ]
    assert [g["code"] for g in record["withholding_grounds"]] == ["third_party"]
    assert record["conclusion"]["label"] == "同意公开"
    page = await client.get(f"{url}/record", params={"format": "html"}, headers=reading)
    assert page.headers["content-type"].startswith("text/html")
    assert "政府信息公开保密审查记录" in page.text
    assert "公开办 赵四" in page.text

    # 5. The relay publishes them to the review topic, the head's assignment with them,
    # ReviewApproved last.
    review_topic = await kafka_topic_factory()
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    reader = AIOKafkaConsumer(
        review_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        assert await Relay(review.pool, producer, review_topic).publish_once() == 6
        published: list[str] = []
        async with asyncio.timeout(30):
            while len(published) < 6:
                for records in (await reader.getmany(timeout_ms=300)).values():
                    published += [Envelope.from_json(r.value).event_type for r in records]
    finally:
        await reader.stop()
        await producer.stop()
    assert published.count("review.ReviewersAssigned") == 1
    assert published[-1] == "review.ReviewApproved"


async def test_an_item_with_the_bureaus_stages_is_referred_rejected_and_resubmitted(
    review: Review, kafka_bootstrap: str
) -> None:
    bureau = unique("cz-fgw")
    client = review.client
    reading = bearer("clerk", bureau)
    stages_url = f"/bureaus/{bureau}/review-stages"
    assert (await client.get(stages_url, headers=bearer("reviewer", bureau))).json() == {
        "bureau_id": bureau,
        "stages": [
            {"name": "初审", "reviewers": []},
            {"name": "复审", "reviewers": []},
            {"name": "终审", "reviewers": []},
        ],
        "default": True,
    }
    repeated = await assign(client, bureau, [("初审", ["a"]), ("初审", ["b"])])
    assert repeated.status_code == 422
    assert repeated.json()["detail"][0]["loc"] == ["body", "stages"]
    nobody = await assign(client, bureau, [("初审", [])])
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["loc"][:4] == ["body", "stages", 0, "reviewers"]
    assert (await client.put(stages_url, json={"stages": []})).status_code == 401
    audited = await client.put(
        stages_url,
        json={"stages": [{"name": "初审", "reviewers": ["a"]}]},
        headers=bearer("auditor"),
    )
    assert audited.status_code == 403
    assignment = {
        "bureau_id": bureau,
        "stages": [
            {"name": "科室初审", "reviewers": ["kz-1", "kz-2"]},
            {"name": "领导终审", "reviewers": ["leader"]},
        ],
        "default": False,
    }
    set_stages = await assign(
        client, bureau, [("科室初审", ["kz-1", "kz-2"]), ("领导终审", ["leader"])]
    )
    assert set_stages.json() == assignment
    assert (await client.get(stages_url, headers=reading)).json() == assignment
    # Who may review is in the log, signed by the head, for auditors replaying it.
    [assigned] = await review_events(review.pool, bureau, assignments=True)
    assert assigned["stream_id"] == f"review-stages-{bureau}"
    assert assigned["actor"] == {"user_id": f"bureau_head@{bureau}", "role": "bureau_head"}
    assert assigned["data"] == {"stages": assignment["stages"]}

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
        answer = await client.get(
            f"/bureaus/{bureau}/reviews", params={"subject": "item"}, headers=reading
        )
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

    referral = {"stage": "科室初审", "referred_to": "市国家保密局", "question": "投资额是否涉密？"}
    leader = reviewer(bureau, "leader")
    early = await client.post(f"{url}/referral", json=referral, headers=leader)
    assert early.status_code == 403
    assert early.json()["detail"] == (
        f"leader is not assigned to stage 科室初审 of bureau {bureau}; assigned: kz-1, kz-2"
    )
    referred = await client.post(f"{url}/referral", json=referral, headers=reviewer(bureau, "kz-1"))
    assert referred.json()["awaiting_referral"] == "市国家保密局"
    waiting = await client.post(
        f"{url}/stage-completions",
        json={"stage": "科室初审", "opinion": "同意"},
        headers=reviewer(bureau, "kz-2"),
    )
    assert waiting.status_code == 409
    answer = {
        "opinion": "投资额属于工作秘密，不予公开",
        "disclose": False,
        "withholding_grounds": ["prohibited_by_law"],
    }
    not_theirs = await client.post(f"{url}/referral-answer", json=answer, headers=leader)
    assert not_theirs.status_code == 403
    answered = await client.post(
        f"{url}/referral-answer", json=answer, headers=reviewer(bureau, "kz-2")
    )
    assert answered.json()["events"] == ["review.ReviewStageCompleted", "review.ReviewRejected"]
    rejected = await client.get(f"/bureaus/{bureau}/reviews?state=rejected", headers=reading)
    assert rejected.json()[0]["case_id"] == case["case_id"]
    record = (await client.get(f"{url}/record", headers=reading)).json()
    assert record["subject"]["document_number"] == "发改〔2026〕12号"
    assert (record["stages"][0]["reviewer"], record["stages"][0]["recorded_by"]) == (
        "市国家保密局",
        "kz-2",
    )
    assert record["conclusion"]["reasons"] == "投资额属于工作秘密，不予公开"
    page = (await client.get(f"{url}/record?format=html", headers=reading)).text
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


async def test_one_reviewer_signs_one_stage_of_a_case(review: Review, kafka_bootstrap: str) -> None:
    """Two reviewers share both stages; each case needs both of them (a second pair of eyes).
    Reviewers assigned later act at cases already open."""
    bureau = unique("cz-sj")
    client = review.client
    case_id = await draft_opens_case(review, kafka_bootstrap, bureau)
    url = f"/bureaus/{bureau}/reviews/{case_id}"
    assert (
        await assign(client, bureau, [("初审", ["ann", "bo"]), ("复审", ["ann", "bo"])])
    ).status_code == 200
    # The case opened with the default stages: 复审 passes, then 终审 has nobody assigned.
    ann, bo = reviewer(bureau, "ann", "审查员 安"), reviewer(bureau, "bo")
    first = await client.post(
        f"{url}/stage-completions", json={"stage": "初审", "opinion": "同意"}, headers=ann
    )
    assert first.status_code == 200, first.text
    twice = await client.post(
        f"{url}/stage-completions", json={"stage": "复审", "opinion": "同意"}, headers=ann
    )
    assert twice.status_code == 403
    assert twice.json()["detail"] == (
        f"ann signed stage 初审 of case {case_id}; a second stage needs a second pair of eyes: "
        "another reviewer assigned to 复审 signs it (bo)"
    )
    rejecting = await client.post(
        f"{url}/rejection", json={"stage": "复审", "reasons": "不同意"}, headers=ann
    )
    assert rejecting.status_code == 403
    second = await client.post(
        f"{url}/stage-completions", json={"stage": "复审", "opinion": "同意"}, headers=bo
    )
    assert second.status_code == 200, second.text
    last = await client.post(
        f"{url}/stage-completions", json={"stage": "终审", "opinion": "同意"}, headers=bo
    )
    assert last.status_code == 403
    assert last.json()["detail"].startswith(
        f"no reviewer is assigned to stage 终审 of bureau {bureau}"
    )
    events = await review_events(review.pool, bureau)
    assert [(e["actor"]["user_id"], e["data"]["reviewer"]) for e in events[1:]] == [
        ("ann", "审查员 安"),
        ("bo", "bo"),
    ]
