"""Catalogue items over HTTP, with the review service deciding and Kafka between them: three
review stages before publication with the next index number, rejection, revision, repeal,
withdrawal, the public catalogue and guide, and forged approvals that publish nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from gongkai_contracts import Actor, Envelope, new_event_id
from gongkai_contracts.envelope import Role
from gongkai_contracts.events import ReviewApproved
from gongkai_contracts.topics import dlq_topic, events_topic
from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import assign_reviewers, client_as, review_all_stages
from tests.support import STAGE_REVIEWERS, bearer

pytestmark = pytest.mark.e2e

REVIEW_TOPIC = events_topic("review")
CATALOGUE_TOPIC = events_topic("catalogue")
CATALOGUE_CONSUMER = "catalogue.review_decisions"


def client_for(
    role: str, bureau_id: str | None = None, user_id: str | None = None, timeout: float = 10
) -> httpx.AsyncClient:
    """helpers.client_as for a client kept through a long test: idle connections are dropped
    after 2 s. uvicorn closes them after 5 s, httpx's default too, and on a loaded machine a
    request sent on a connection the server is closing at that moment is lost ("Server
    disconnected without sending a response")."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers=bearer(role, bureau_id, user_id),
        limits=httpx.Limits(keepalive_expiry=2),
    )


class Clerk:
    """Drives one bureau's catalogue over HTTP as its clerk (a bearer token of that bureau);
    the central office registers the bureau, the assigned reviewers decide in review."""

    def __init__(self, stack: LocalStack, bureau: str | None = None) -> None:
        self.base = stack.url("catalogue")
        self.reviews_base = stack.url("review")
        self.stack = stack
        self.bureau = bureau or f"b-{uuid.uuid4().hex[:10]}"
        self.user = f"clerk-{uuid.uuid4().hex[:6]}"
        self.client = client_for("clerk", self.bureau, self.user)
        self.central = client_for("central_office")
        self.anonymous = httpx.AsyncClient(timeout=10, limits=httpx.Limits(keepalive_expiry=2))

    async def aclose(self) -> None:
        for client in (self.client, self.central, self.anonymous):
            await client.aclose()

    @property
    def items(self) -> str:
        return f"{self.base}/bureaus/{self.bureau}/items"

    @property
    def reviews(self) -> str:
        return f"{self.reviews_base}/bureaus/{self.bureau}/reviews"

    async def register(
        self, organisation_code: str = "014416330", parent_id: str | None = None
    ) -> None:
        """The central office registers the bureau; its head assigns 初审/复审/终审."""
        answer = await self.central.post(
            f"{self.base}/bureaus",
            json={
                "bureau_id": self.bureau,
                "name": "常州市人力资源和社会保障局",
                "organisation_code": organisation_code,
                "region": "江苏省常州市",
                "parent_id": parent_id,
            },
        )
        assert answer.status_code == 201, answer.text
        await assign_reviewers(self.stack, self.bureau)

    async def draft(self, title: str, **fields: Any) -> str:
        body = {
            "title": title,
            "summary": f"{title}的主要内容",
            "formed_on": "2026-03-02",
            "document_number": "常人社发〔2026〕8号",
            "issuing_body": "常州市人力资源和社会保障局",
            "category": "normative_document",
            "scope": "面向社会",
            **fields,
        }
        answer = await self.client.post(self.items, json=body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["events"] == ["catalogue.ItemDrafted"]
        return str(answer.json()["item_id"])

    async def do(
        self,
        item_id: str,
        action: str,
        body: dict[str, Any] | None = None,
        expect: int = 200,
        client: httpx.AsyncClient | None = None,
    ) -> dict[str, Any]:
        answer = await (client or self.client).post(
            f"{self.items}/{item_id}/{action}", json=body or {}
        )
        assert answer.status_code == expect, f"{action}: {answer.status_code} {answer.text}"
        return answer.json()  # type: ignore[no-any-return]

    async def item(self, item_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"{self.items}/{item_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def wait_item(self, item_id: str, state: str) -> dict[str, Any]:
        """The catalogue records review's decision from gongkai.review.events."""
        for _ in range(300):
            item = await self.item(item_id)
            if item["state"] == state:
                return item
            await asyncio.sleep(0.05)
        raise AssertionError(f"item {item_id} is {item['state']}, not {state}")

    async def case_of(self, item_id: str, version: int = 1) -> dict[str, Any]:
        """The review case the review service opened from ItemSubmittedForReview."""
        for _ in range(300):
            found = (await self.client.get(self.reviews, params={"state": "open"})).json()
            matching = [
                c
                for c in found
                if (c["subject"], c["subject_id"], c["subject_version"])
                == ("item", item_id, version)
            ]
            if matching:
                return matching[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no review case opened for item {item_id} version {version}")

    async def complete(self, case_id: str, stage: str) -> dict[str, Any]:
        """The reviewer assigned to `stage` agrees."""
        async with client_as("reviewer", self.bureau, REVIEWER_OF[stage]) as reviewer:
            answer = await reviewer.post(
                f"{self.reviews}/{case_id}/stage-completions",
                json={"stage": stage, "opinion": "同意公开"},
            )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def approve(self, item_id: str, version: int = 1) -> None:
        """Submit, then 初审, 复审 and 终审 agree; wait until the catalogue knows."""
        await self.do(item_id, "submission")
        await self.case_of(item_id, version)
        await review_all_stages(self.stack, self.bureau, item_id)
        await self.wait_item(item_id, "approved")

    async def public(self, **params: Any) -> dict[str, Any]:
        """The public catalogue, as anyone sees it: no token."""
        answer = await self.anonymous.get(
            f"{self.base}/public/bureaus/{self.bureau}/catalogue", params=params
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


REVIEWER_OF = dict(STAGE_REVIEWERS)
STAGES = [stage for stage, _ in STAGE_REVIEWERS]


@pytest.fixture
async def clerk(stack: LocalStack) -> AsyncIterator[Clerk]:
    clerk = Clerk(stack)
    try:
        await clerk.register()
        yield clerk
    finally:
        await clerk.aclose()


async def test_an_item_passes_three_review_stages_and_is_published_with_the_next_index_number(
    clerk: Clerk,
) -> None:
    pension = await clerk.draft(
        "关于调整城乡居民基本养老保险基础养老金标准的通知", topic="社会保障"
    )
    await clerk.do(pension, "publication", {"published_on": "2026-03-20"}, expect=409)
    submitted = await clerk.do(pension, "submission")
    assert (submitted["state"], submitted["events"]) == (
        "in_review",
        ["catalogue.ItemSubmittedForReview"],
    )
    case = await clerk.case_of(pension)
    assert case["title"] == "关于调整城乡居民基本养老保险基础养老金标准的通知"
    for stage in STAGES:
        done = await clerk.complete(case["case_id"], stage)
        if stage != "终审":
            assert done["state"] == "open"
            await clerk.do(pension, "publication", {"published_on": "2026-03-20"}, expect=409)
    approved = await clerk.wait_item(pension, "approved")
    assert approved["review_case_id"] == case["case_id"]

    published = await clerk.do(
        pension,
        "publication",
        {"published_on": "2026-03-20", "channels": ["government_website", "government_gazette"]},
    )
    assert published["events"] == ["catalogue.ItemPublished"]
    assert published["index_number"] == "014416330/2026-00001"
    # Formed 2026-03-02: the 20th working day after is 2026-03-30.
    assert published["publication"]["due_on"] == "2026-03-30"
    assert published["publication"]["late"] is False
    assert published["publication"]["channel_labels"] == ["政府网站", "政府公报"]

    # The next one takes the next number; published after 2026-03-30, it is late. The bureau
    # head publishes this one.
    fees = await clerk.draft(
        "常州市职业技能鉴定收费项目及标准",
        category="administrative_fee",
        fee_amount_yuan="1250.50",
        document_number=None,
    )
    await clerk.approve(fees)
    head = f"head-{uuid.uuid4().hex[:6]}"
    async with client_as("bureau_head", clerk.bureau, head) as bureau_head:
        late = await clerk.do(
            fees, "publication", {"published_on": "2026-04-20"}, client=bureau_head
        )
    assert late["index_number"] == "014416330/2026-00002"
    assert late["publication"]["late"] is True
    assert late["fee_amount_yuan"] == "1250.50"

    # Each event's actor is the caller's token, user and role; the approval is recorded with
    # the actor of the review decision it follows (the 终审 reviewer).
    history = (await clerk.item(pension))["history"]
    assert [(e["event_type"], e["actor"]) for e in history] == [
        ("catalogue.ItemDrafted", {"user_id": clerk.user, "role": "clerk"}),
        ("catalogue.ItemSubmittedForReview", {"user_id": clerk.user, "role": "clerk"}),
        ("catalogue.ItemApproved", {"user_id": REVIEWER_OF["终审"], "role": "reviewer"}),
        ("catalogue.ItemPublished", {"user_id": clerk.user, "role": "clerk"}),
    ]
    assert history[2]["data"]["review_case_id"] == case["case_id"]
    assert history[3]["data"]["late"] is False
    # … and so it is on gongkai.catalogue.events, as the relay published it.
    [stored] = [e for e in (await clerk.item(fees))["history"] if e["data"].get("index_number")]
    record = await wait_for_record(
        clerk.stack.bootstrap, CATALOGUE_TOPIC, lambda r: event_id_of(r) == stored["event_id"]
    )
    published_event = Envelope.from_json(record.value)
    assert published_event.event_type == "catalogue.ItemPublished"
    assert published_event.actor == Actor(user_id=head, role=Role.BUREAU_HEAD)

    catalogue = await clerk.public()
    assert catalogue["total"] == 2
    assert [i["index_number"] for i in catalogue["items"]] == [
        "014416330/2026-00002",
        "014416330/2026-00001",
    ]
    assert catalogue["items"][1]["category_label"] == "行政规范性文件"
    assert [i["item_id"] for i in (await clerk.public(q="养老保险"))["items"]] == [pension]
    assert [i["item_id"] for i in (await clerk.public(q="常人社发〔2026〕8号"))["items"]] == [
        pension
    ]
    assert (await clerk.public(category="administrative_fee"))["items"][0]["item_id"] == fees
    assert (await clerk.public(published_from="2026-04-01"))["total"] == 1
    page = await clerk.public(limit=1, offset=1)
    assert (page["total"], [i["item_id"] for i in page["items"]]) == (2, [pension])

    html = await clerk.anonymous.get(
        f"{clerk.base}/public/bureaus/{clerk.bureau}/catalogue", params={"format": "html"}
    )
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    for label in ("索引号", "名称", "文号", "发布机构", "生成日期", "发布日期"):
        assert f"<th>{label}</th>" in html.text
    assert "014416330/2026-00001" in html.text and "2026-03-20" in html.text
    assert "<script" not in html.text and "<link" not in html.text and "src=" not in html.text

    listed = (await clerk.client.get(clerk.items, params={"state": "published"})).json()
    assert {i["item_id"] for i in listed} == {pension, fees}

    # Reporting's monthly count of items published (主动公开), by category.
    counted: dict[str, Any] = {}
    for _ in range(200):
        counted = (
            await clerk.client.get(
                f"{clerk.stack.url('reporting')}/bureaus/{clerk.bureau}/items-published",
                params={"year": 2026},
            )
        ).json()
        if counted["total"] == 2:
            break
        await asyncio.sleep(0.05)
    assert counted["months"]["3"] == {"normative_document": 1}
    assert counted["months"]["4"] == {"administrative_fee": 1}
    fee_items = (
        await clerk.client.get(clerk.items, params={"category": "administrative_fee"})
    ).json()
    assert [(i["item_id"], i["fee_amount_yuan"]) for i in fee_items] == [(fees, "1250.50")]


async def test_only_the_bureaus_clerk_or_head_acts_on_its_items(clerk: Clerk) -> None:
    """Another bureau's clerk, an auditor, a reviewer and the anonymous are refused, with the
    reason; the item is untouched; the public catalogue needs no token."""
    notice = await clerk.draft("关于2026年度社会保险缴费基数的公告", category="other")
    await clerk.approve(notice)
    url = f"{clerk.items}/{notice}"
    other_bureau = f"b-{uuid.uuid4().hex[:10]}"
    async with (
        client_as("clerk", other_bureau, "clerk-elsewhere") as outsider,
        client_as("auditor", user_id="auditor-1") as auditor,
        client_as("reviewer", clerk.bureau, REVIEWER_OF["终审"]) as reviewer,
    ):
        refused = await outsider.post(f"{url}/publication", json={"published_on": "2026-03-20"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == (
            f"clerk-elsewhere (clerk of {other_bureau}) may not act for bureau {clerk.bureau}"
        )
        peek = await outsider.get(url)
        assert peek.status_code == 403, peek.text
        assert peek.json()["detail"] == (
            f"clerk-elsewhere (clerk of {other_bureau}) "
            f"may not read bureau {clerk.bureau}'s records"
        )
        assert (await outsider.get(clerk.items)).status_code == 403
        drafted = await outsider.post(
            clerk.items,
            json={
                "title": "冒名草拟",
                "formed_on": "2026-03-02",
                "issuing_body": "其他机关",
                "category": "other",
            },
        )
        assert drafted.status_code == 403, drafted.text

        # An auditor reads the bureau's items, and changes nothing.
        assert (await auditor.get(url)).json()["state"] == "approved"
        published_by_auditor = await auditor.post(f"{url}/publication", json={})
        assert published_by_auditor.status_code == 403, published_by_auditor.text
        assert "does not act for them" in published_by_auditor.json()["detail"]
        withdrawn_by_auditor = await auditor.post(f"{url}/withdrawal", json={"reason": "x"})
        assert withdrawn_by_auditor.status_code == 403

        # A reviewer of the bureau decides in review, not here.
        by_reviewer = await reviewer.post(f"{url}/publication", json={})
        assert by_reviewer.status_code == 403, by_reviewer.text
        assert by_reviewer.json()["detail"] == (
            "this is done by the bureau's clerk, bureau_head, not a reviewer"
        )

    anonymous = await clerk.anonymous.post(f"{url}/publication", json={})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert (await clerk.anonymous.get(url)).status_code == 401
    item = await clerk.item(notice)
    assert (item["state"], item["index_number"]) == ("approved", None)
    assert (await clerk.public())["total"] == 0

    await clerk.do(notice, "publication", {"published_on": "2026-03-20"})
    [listed] = (await clerk.public())["items"]
    assert listed["item_id"] == notice


async def test_a_rejected_item_is_not_published_until_a_revision_passes_review(
    clerk: Clerk,
) -> None:
    roster = await clerk.draft("2026年度公益性岗位人员名单", category="other")
    await clerk.do(roster, "submission")
    case = await clerk.case_of(roster)
    await clerk.complete(case["case_id"], "初审")
    async with client_as("reviewer", clerk.bureau, REVIEWER_OF["复审"]) as reviewer:
        rejection = await reviewer.post(
            f"{clerk.reviews}/{case['case_id']}/rejection",
            json={"stage": "复审", "reasons": "名单含身份证号码"},
        )
    assert rejection.status_code == 200, rejection.text
    rejected = await clerk.wait_item(roster, "draft")
    assert (rejected["rejection_reasons"], rejected["version"]) == ("名单含身份证号码", 1)
    await clerk.do(roster, "publication", {"published_on": "2026-03-20"}, expect=409)
    await clerk.do(roster, "submission", expect=409)  # the rejected version, unchanged
    assert (await clerk.public())["total"] == 0

    revised = await clerk.do(
        roster,
        "revision",
        {
            "title": "2026年度公益性岗位人员名单",
            "summary": "姓名、岗位（已隐去身份证号码）",
            "formed_on": "2026-03-02",
            "issuing_body": "常州市人力资源和社会保障局",
            "category": "other",
            "changed_on": "2026-03-09",
        },
    )
    assert (revised["version"], revised["state"]) == (2, "draft")
    await clerk.approve(roster, version=2)
    published = await clerk.do(roster, "publication", {"published_on": "2026-03-20"})
    assert (published["index_number"], published["publication"]["version"]) == (
        "014416330/2026-00001",
        2,
    )
    [entry] = (await clerk.public())["items"]
    assert entry["summary"] == "姓名、岗位（已隐去身份证号码）"


async def test_repeal_revision_and_withdrawal_as_the_public_sees_them(clerk: Clerk) -> None:
    rules = await clerk.draft("常州市工伤保险实施办法", category="regulation")
    notice = await clerk.draft("关于开展2026年度社会保险稽核的通知", category="other")
    wrong = await clerk.draft("内部工作流程（误发）", category="other")
    for item_id in (rules, notice, wrong):
        await clerk.approve(item_id)
        await clerk.do(item_id, "publication", {"published_on": "2026-03-20"})

    repealed = await clerk.do(rules, "repeal", {"repealed_on": "2026-06-30"})
    assert (repealed["state"], repealed["repealed_on"]) == ("repealed", "2026-06-30")
    await clerk.do(rules, "repeal", {"repealed_on": "2026-07-01"}, expect=409)
    [shown] = (await clerk.public(validity="repealed"))["items"]
    assert (shown["item_id"], shown["validity_label"], shown["repealed_on"]) == (
        rules,
        "废止",
        "2026-06-30",
    )
    valid = await clerk.public(validity="valid")
    assert rules not in {i["item_id"] for i in valid["items"]}, "no longer 现行有效"

    # In the annual report's table 二 the regulation moves from 现行有效 to 本年废止.
    url = f"{clerk.stack.url('reporting')}/bureaus/{clerk.bureau}/annual-reports/2026"
    regulations: dict[str, Any] = {}
    for _ in range(200):
        answer = await clerk.client.get(url)
        if answer.status_code == 200:
            regulations = answer.json()["tables"]["二"]["第二十条第（一）项"]["规章"]
            if regulations["本年废止件数"] == 1:
                break
        await asyncio.sleep(0.05)
    assert regulations == {"本年制发件数": 1, "本年废止件数": 1, "现行有效件数": 0}

    # A revision of a published item: reviewed again, re-published under the same number;
    # until then the public sees the published version.
    number = (await clerk.item(notice))["index_number"]
    revision = {
        "title": "关于开展2026年度社会保险稽核工作的通知（修订）",
        "summary": "稽核范围扩大至灵活就业人员",
        "formed_on": "2026-03-02",
        "issuing_body": "常州市人力资源和社会保障局",
        "category": "other",
        "changed_on": "2026-04-01",
    }
    await clerk.do(notice, "revision", revision)
    titles = {i["item_id"]: i["title"] for i in (await clerk.public())["items"]}
    assert titles[notice] == "关于开展2026年度社会保险稽核的通知"
    await clerk.approve(notice, version=2)
    again = await clerk.do(notice, "publication", {"published_on": "2026-04-10"})
    assert (again["index_number"], again["publication"]["version"]) == (number, 2)
    titles = {i["item_id"]: i["title"] for i in (await clerk.public())["items"]}
    assert titles[notice] == "关于开展2026年度社会保险稽核工作的通知（修订）"

    withdrawn = await clerk.do(wrong, "withdrawal", {"reason": "属于内部事务信息，误发"})
    assert (withdrawn["state"], withdrawn["public"]) == ("withdrawn", False)
    listed = await clerk.public()
    assert {i["item_id"] for i in listed["items"]} == {rules, notice}
    assert sorted(i["index_number"] for i in listed["items"]) == [
        "014416330/2026-00001",
        "014416330/2026-00002",
    ], "the withdrawn item's number 00003 is not given again"
    assert (await clerk.item(wrong))["index_number"] == "014416330/2026-00003"


async def test_bureaus_index_patterns_and_the_public_guide(clerk: Clerk, stack: LocalStack) -> None:
    base, central = clerk.base, clerk.central
    child = f"{clerk.bureau}-si"
    registration = {
        "bureau_id": child,
        "name": "常州市社会保险基金管理中心",
        "organisation_code": "014416348",
        "region": "江苏省常州市",
        "parent_id": "nowhere",
    }
    answer = await central.post(f"{base}/bureaus", json=registration)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "parent_id"]
    # The register of bureaus is the central office's: a bureau's own staff cannot add to it.
    registration["parent_id"] = clerk.bureau
    for role in ("clerk", "bureau_head"):
        async with client_as(role, clerk.bureau) as staff:
            refused = await staff.post(f"{base}/bureaus", json=registration)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "only the central office does this"
    assert (await clerk.anonymous.post(f"{base}/bureaus", json=registration)).status_code == 401
    answer = await central.post(f"{base}/bureaus", json=registration)
    assert answer.status_code == 201, answer.text
    await assign_reviewers(stack, child)
    cycle = await central.put(
        f"{base}/bureaus/{clerk.bureau}/profile",
        json={
            "name": "常州市人力资源和社会保障局",
            "organisation_code": "014416330",
            "region": "江苏省常州市",
            "parent_id": child,
        },
    )
    assert cycle.status_code == 422
    # The register is read by any signed-in user (here the clerk and an auditor), not by the
    # anonymous.
    tree = (await clerk.client.get(f"{base}/bureaus")).json()
    [mine] = [b for b in tree if b["bureau_id"] == clerk.bureau]
    assert [c["bureau_id"] for c in mine["children"]] == [child]
    async with client_as("auditor") as auditor:
        shown = await auditor.get(f"{base}/bureaus/{clerk.bureau}")
    assert shown.status_code == 200 and shown.json()["children"] == [child]
    assert (await clerk.anonymous.get(f"{base}/bureaus")).status_code == 401
    assert (await clerk.anonymous.get(f"{base}/bureaus/{clerk.bureau}")).status_code == 401

    new_profile = {
        "name": "常州市社会保险基金管理中心",
        "organisation_code": "12320400014416348X",
        "region": "江苏省常州市",
        "parent_id": clerk.bureau,
    }
    refused = await clerk.client.put(f"{base}/bureaus/{child}/profile", json=new_profile)
    assert refused.status_code == 403, refused.text
    profile = await central.put(f"{base}/bureaus/{child}/profile", json=new_profile)
    assert profile.json()["events"] == ["catalogue.BureauProfileUpdated"]
    bad = await central.put(
        f"{base}/bureaus/{child}/index-pattern", json={"pattern": "{org_code}/{seq:05d}"}
    )
    assert bad.status_code == 422 and "{year}" in bad.json()["detail"][0]["msg"]
    new_pattern = {"pattern": "{org_code}-1/{year}-{seq:04d}"}
    async with client_as("bureau_head", child) as child_head:
        refused = await child_head.put(f"{base}/bureaus/{child}/index-pattern", json=new_pattern)
    assert refused.status_code == 403, refused.text
    pattern = await central.put(f"{base}/bureaus/{child}/index-pattern", json=new_pattern)
    assert pattern.status_code == 200, pattern.text
    assert pattern.json()["example"].startswith("12320400014416348X-1/")
    child_clerk = Clerk(stack, bureau=child)
    try:
        item_body = {
            "title": "2026年社会保险基金预算",
            "formed_on": "2026-03-02",
            "issuing_body": "常州市社会保险基金管理中心",
            "category": "other",
        }
        # The parent bureau's clerk does not act for the bureau under it.
        refused = await clerk.client.post(f"{base}/bureaus/{child}/items", json=item_body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == (
            f"{clerk.user} (clerk of {clerk.bureau}) may not act for bureau {child}"
        )
        item = await child_clerk.client.post(f"{base}/bureaus/{child}/items", json=item_body)
        assert item.status_code == 201, item.text
        item_id = item.json()["item_id"]
        await child_clerk.approve(item_id)
        published = await child_clerk.do(item_id, "publication", {"published_on": "2026-03-20"})
        assert published["index_number"] == "12320400014416348X-1/2026-0001"
    finally:
        await child_clerk.aclose()

    guide_url = f"{base}/public/bureaus/{clerk.bureau}/guide"
    assert (await clerk.anonymous.get(guide_url)).status_code == 404
    guide = {
        "categories": ["机构职能", "政策文件", "规划计划", "财政信息"],
        "arrangement": "按主题分类和组配分类编排，每条信息有唯一的索引号",
        "how_to_apply": "主动公开信息在政府网站查阅；依申请公开请向办公室提交书面申请",
        "office_name": "常州市人力资源和社会保障局办公室",
        "address": "常州市龙城大道1280号",
        "hours": "工作日 上午9:00-12:00 下午13:30-17:00",
        "phone": "0519-85682000",
        "fax": "0519-85682001",
        "email": "gk@czhrss.gov.cn",
    }
    async with client_as("auditor") as auditor:
        refused = await auditor.put(f"{base}/bureaus/{clerk.bureau}/guide", json=guide)
    assert refused.status_code == 403, refused.text
    put = await clerk.client.put(f"{base}/bureaus/{clerk.bureau}/guide", json=guide)
    assert put.json()["events"] == ["catalogue.GuideUpdated"]
    again = await clerk.client.put(f"{base}/bureaus/{clerk.bureau}/guide", json=guide)
    assert again.json()["events"] == []
    public = (await clerk.anonymous.get(guide_url)).json()
    assert public["office_name"] == "常州市人力资源和社会保障局办公室"
    assert public["categories"] == guide["categories"]
    assert public["catalogue"] == f"/public/bureaus/{clerk.bureau}/catalogue"


# ---------------------------------------------------------------- forged approvals


async def wait_for_record(
    bootstrap: str, topic: str, matches: Callable[[ConsumerRecord], bool], timeout: float = 60
) -> ConsumerRecord:
    """Read the topic from the beginning until a record matches."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if matches(record):
                        return record
        raise AssertionError(f"nothing on {topic} matched in {timeout:.0f}s")
    finally:
        await consumer.stop()


def event_id_of(record: ConsumerRecord) -> str | None:
    try:
        return str(json.loads(record.value)["event_id"])
    except (TypeError, ValueError, KeyError):
        return None


def refused_by_catalogue(event_id: str) -> Callable[[ConsumerRecord], bool]:
    def matches(record: ConsumerRecord) -> bool:
        headers = {k: v.decode() for k, v in record.headers or []}
        return (
            headers.get("dlq_consumer") == CATALOGUE_CONSUMER
            and "hash chain broken" in headers.get("dlq_reason", "")
            and event_id_of(record) == event_id
        )

    return matches


def forged_approval(
    bureau: str, item_id: str, version: int, case_id: str, stream_version: int, prev_hash: str
) -> Envelope:
    return Envelope.seal(
        ReviewApproved(
            case_id=case_id,
            subject=ReviewSubject.ITEM,
            subject_id=item_id,
            subject_version=version,
        ),
        bureau_id=bureau,
        stream_id=f"review-{case_id}",
        stream_version=stream_version,
        occurred_at=datetime.now(UTC),
        actor=Actor(user_id="终审 王五", role=Role.REVIEWER),
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=prev_hash,
    )


async def test_a_forged_approval_on_the_review_topic_publishes_nothing(
    clerk: Clerk, stack: LocalStack
) -> None:
    item = await clerk.draft("关于2026年失业保险稳岗返还的公示", category="other")
    await clerk.do(item, "submission")
    case = await clerk.case_of(item)
    opened = (await clerk.client.get(f"{clerk.reviews}/{case['case_id']}")).json()["history"][0]
    assert opened["event_type"] == "review.ReviewOpened"
    # The forgeries must follow the genuine ReviewOpened on the bureau's partition.
    await wait_for_record(
        stack.bootstrap, REVIEW_TOPIC, lambda r: event_id_of(r) == opened["event_id"]
    )

    async def write(envelope: Envelope) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                REVIEW_TOPIC, envelope.to_json(), key=clerk.bureau.encode()
            )
        finally:
            await producer.stop()

    # 1. The real case, the submitted version, a well-formed event with a valid hash of its
    # own, but not continuing the review service's chain for the bureau: refused to the DLQ.
    forged = forged_approval(clerk.bureau, item, 1, case["case_id"], 2, "f" * 64)
    await write(forged)
    await wait_for_record(
        stack.bootstrap, dlq_topic(REVIEW_TOPIC), refused_by_catalogue(str(forged.event_id))
    )
    assert (await clerk.item(item))["state"] == "in_review"
    await clerk.do(item, "publication", {"published_on": "2026-03-20"}, expect=409)
    assert (await clerk.public())["total"] == 0

    # 2. An approval that does continue the chain (its writer read the head off the topic)
    # for an item never submitted: it passes the chain check, and the reaction refuses it.
    # It also forks the chain, so the catalogue now refuses the bureau's genuine review
    # events (it fails closed): the next stage completion lands in the DLQ, which tells this
    # test the forgery ahead of it on the partition has been dealt with.
    never_submitted = await clerk.draft("尚未送审的文件", category="other")
    await write(
        forged_approval(clerk.bureau, never_submitted, 1, uuid.uuid4().hex, 1, opened["hash"])
    )
    completed = await clerk.complete(case["case_id"], "初审")
    assert completed["events"] == ["review.ReviewStageCompleted"]
    history = (await clerk.client.get(f"{clerk.reviews}/{case['case_id']}")).json()["history"]
    await wait_for_record(
        stack.bootstrap,
        dlq_topic(REVIEW_TOPIC),
        refused_by_catalogue(history[-1]["event_id"]),
    )
    assert (await clerk.item(never_submitted))["state"] == "draft"
    await clerk.do(never_submitted, "publication", {"published_on": "2026-03-20"}, expect=409)
    assert (await clerk.item(item))["state"] == "in_review"
    assert (await clerk.public())["total"] == 0
