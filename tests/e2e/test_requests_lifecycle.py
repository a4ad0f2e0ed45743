"""A request through every path over HTTP, against the real broker and database; reporting
sees each outcome."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import assign_reviewers, client_as, open_case
from tests.support import STAGE_REVIEWERS, bearer

pytestmark = pytest.mark.e2e

HEAD_NAME = "办公室主任 王五"


class Clerk:
    """Drives one bureau's requests over HTTP, as its clerk (`client` carries the clerk's
    token); `head` are the headers of the bureau head."""

    def __init__(self, stack: LocalStack, bureau: str, client: httpx.AsyncClient) -> None:
        self.base = stack.url("requests")
        self.reporting = stack.url("reporting")
        self.bureau = bureau
        self.client = client
        self.head = bearer("bureau_head", bureau, f"head@{bureau}", HEAD_NAME)

    async def register(self, received_on: str = "2026-03-03", **extra: Any) -> str:
        answer = await self.client.post(
            f"{self.base}/bureaus/{self.bureau}/requests",
            json={
                "channel": "online",
                "applicant_category": "natural_person",
                "received_on": received_on,
                "description": "政府信息公开申请",
                **extra,
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["request_id"])

    async def do(
        self,
        request_id: str,
        action: str,
        body: dict[str, Any],
        expect: int = 200,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        answer = await self.client.post(
            f"{self.base}/bureaus/{self.bureau}/requests/{request_id}/{action}",
            json=body,
            headers=headers,
        )
        assert answer.status_code == expect, f"{action}: {answer.status_code} {answer.text}"
        return answer.json()  # type: ignore[no-any-return]

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.client.get(f"{self.base}/bureaus/{self.bureau}/{path}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def outcomes(self, expected_total: int) -> dict[str, Any]:
        for _ in range(200):
            answer = await self.client.get(
                f"{self.reporting}/bureaus/{self.bureau}/request-outcomes", params={"year": 2026}
            )
            outcomes: dict[str, Any] = answer.json()["outcomes"]
            if sum(o["total"] for o in outcomes.values()) >= expected_total:
                return outcomes
            await asyncio.sleep(0.05)
        raise AssertionError(f"reporting shows {outcomes}")


@pytest.fixture
async def clerk(stack: LocalStack) -> Any:
    bureau = f"b-{uuid.uuid4().hex[:10]}"
    async with client_as("clerk", bureau) as client:
        yield Clerk(stack, bureau, client)


async def test_correction_consultation_extension_fee_and_withdrawal_paths(clerk: Clerk) -> None:
    # 补正 then restart, then consultation (pause), extension, and a withdrawal at the end.
    r1 = await clerk.register()
    after = await clerk.do(
        r1,
        "correction-request",
        {"notified_on": "2026-03-05", "correct_by": "2026-03-20", "items_to_correct": "写明文号"},
    )
    assert (after["status"], after["due_on"]) == ("awaiting_correction", None)
    await clerk.do(
        r1,
        "correction-request",
        {"notified_on": "2026-03-06", "correct_by": "2026-03-20", "items_to_correct": "再次"},
        expect=409,
    )
    after = await clerk.do(r1, "correction", {"on": "2026-03-10"})
    assert after["due_on"] == "2026-04-08"
    after = await clerk.do(
        r1,
        "consultation",
        {"started_on": "2026-03-12", "party": "某科技有限公司", "third_party": True},
    )
    assert after["status"] == "consulting"
    after = await clerk.do(r1, "consultation-end", {"on": "2026-03-18"})
    assert after["due_on"] == "2026-04-14"  # 4 paused working days: 03-13, 16, 17, 18
    after = await clerk.do(
        r1,
        "extension",
        {"working_days": 20, "notified_on": "2026-04-01"},
        headers=clerk.head,
    )
    assert after["extension_days"] == 20
    await clerk.do(
        r1,
        "extension",
        {"working_days": 5, "notified_on": "2026-04-02"},
        expect=409,
        headers=clerk.head,
    )
    deadline = await clerk.get(f"requests/{r1}/deadline")
    kinds = {line["kind"] for line in deadline["derivation"]}
    assert {"restart", "counted", "paused", "extension", "holiday", "weekend"} <= kinds
    assert deadline["due_on"] == after["due_on"]
    await clerk.do(r1, "withdrawal", {"on": "2026-04-20"})
    await clerk.do(r1, "reply", {"on": "2026-04-21"}, expect=409)

    # 补正 never arrives: 其他处理 1.
    r2 = await clerk.register()
    await clerk.do(
        r2,
        "correction-request",
        {"notified_on": "2026-03-05", "correct_by": "2026-03-20", "items_to_correct": "身份证明"},
    )
    await clerk.do(r2, "correction-lapse", {"on": "2026-03-19"}, expect=422)
    await clerk.do(r2, "correction-lapse", {"on": "2026-03-23"})

    # A fee that is paid, and one that lapses: 其他处理 2.
    r3 = await clerk.register()
    fee = await clerk.do(
        r3, "fee-notice", {"scheme": "per_page", "units": 150, "noticed_on": "2026-03-05"}
    )
    assert (fee["status"], fee["fee_yuan"]) == ("awaiting_fee", "1700.00")
    paid = await clerk.do(r3, "fee-payment", {"on": "2026-03-11"})
    assert paid["due_on"] == "2026-04-07"
    r4 = await clerk.register()
    await clerk.do(
        r4, "fee-notice", {"scheme": "per_page", "units": 40, "noticed_on": "2026-03-05"}
    )
    await clerk.do(r4, "fee-lapse", {"on": "2026-04-03"})

    # A reply cannot be sent before review approval.
    r5 = await clerk.register()
    draft = await clerk.do(
        r5,
        "reply-drafts",
        {"outcome": "disclosed", "legal_basis": "条例 第三十六条 第二项"},
        expect=201,
    )
    assert draft["status"] == "awaiting_review"
    await clerk.do(r5, "reply", {"on": "2026-03-20"}, expect=409)

    outcomes = await clerk.outcomes(expected_total=3)
    assert outcomes["other"]["total"] == 1
    assert outcomes["other_correction_lapsed"]["total"] == 1
    assert outcomes["other_fee_lapsed"]["total"] == 1
    assert outcomes["other_fee_lapsed"]["label"].startswith("2.申请人逾期未按收费通知")

    fees = (
        await clerk.client.get(
            f"{clerk.reporting}/bureaus/{clerk.bureau}/fees", params={"year": 2026}
        )
    ).json()
    assert fees["paid_yuan"] == "1700.00"  # r3 paid; r4's notice lapsed
    assert [(m["month"], m["noticed"], m["paid"]) for m in fees["months"]] == [(3, 2, 1)]

    open_requests = await clerk.get("requests", open="true")
    assert {r["request_id"] for r in open_requests} == {r3, r5}
    assert [r["due_on"] for r in open_requests] == sorted(r["due_on"] for r in open_requests)
    overdue = await clerk.get("requests", overdue="true")
    assert {r["request_id"] for r in overdue} == {r3, r5}  # due in spring 2026, today is later
    withdrawn = await clerk.get("requests", outcome="other")
    assert [r["request_id"] for r in withdrawn] == [r1]


async def test_errors_name_the_field_or_the_reason(clerk: Clerk) -> None:
    r1 = await clerk.register()
    answer = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/requests/{r1}/extension",
        json={"working_days": 30, "notified_on": "2026-03-10"},
        headers=clerk.head,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "working_days"]
    named = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/requests/{r1}/extension",
        json={"working_days": 5, "approved_by": "x", "notified_on": "2026-03-10"},
        headers=clerk.head,
    )
    assert named.status_code == 422, "the approver comes from the token, not the body"
    assert named.json()["detail"][0]["loc"] == ["body", "approved_by"]
    unknown = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/requests/nope/withdrawal", json={"on": "2026-03-10"}
    )
    assert unknown.status_code == 404
    elsewhere = bearer("clerk", "elsewhere")
    other_bureau = await clerk.client.get(
        f"{clerk.base}/bureaus/elsewhere/requests/{r1}", headers=elsewhere
    )
    assert other_bureau.status_code == 404


async def test_personal_data_is_kept_apart_and_erased_for_good(clerk: Clerk) -> None:
    person = {"name": "张三", "id_number": "320402199001011234", "phone": "13800000000"}
    r1 = await clerk.register(applicant=person)
    r2 = await clerk.register(applicant=person)
    one = await clerk.get(f"requests/{r1}")
    two = await clerk.get(f"requests/{r2}")
    assert one["applicant"]["name"] == "张三"
    assert one["applicant_ref"] == two["applicant_ref"], "one applicant, one pseudonym"
    events = await clerk.get(f"requests/{r1}/events")
    assert "张三" not in str(events) and "320402199001011234" not in str(events)

    erasure = f"{clerk.base}/bureaus/{clerk.bureau}/applicants/{one['applicant_ref']}/erasure"
    by_clerk = await clerk.client.post(erasure, json={})
    assert by_clerk.status_code == 403, "erasure is the bureau head's decision"
    # The head of a bureau the applicant never applied to may not erase them.
    other = f"b-{uuid.uuid4().hex[:10]}"
    foreign = await clerk.client.post(
        f"{clerk.base}/bureaus/{other}/applicants/{one['applicant_ref']}/erasure",
        json={},
        headers=bearer("bureau_head", other),
    )
    assert foreign.status_code == 403
    assert foreign.json()["detail"] == (
        f"applicant {one['applicant_ref']} has no request in bureau {other}: only the head of "
        "a bureau the applicant applied to may erase their data"
    )
    assert (await clerk.get(f"requests/{r1}"))["applicant"]["name"] == "张三"
    unknown = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/applicants/nobody-1/erasure",
        json={},
        headers=clerk.head,
    )
    assert unknown.status_code == 404
    erased = await clerk.client.post(erasure, json={}, headers=clerk.head)
    assert erased.status_code == 200, erased.text
    after = await clerk.get(f"requests/{r1}")
    assert after["applicant"] == {"erased_or_not_given": True}
    assert len(after["history"]) == len(one["history"]), "every event stays"
    again = await clerk.client.post(erasure, json={}, headers=clerk.head)
    assert again.status_code == 422


async def test_a_published_calendar_recomputes_open_provisional_deadlines(
    clerk: Clerk, stack: LocalStack
) -> None:
    r1 = await clerk.register(received_on="2026-11-20")
    extended = await clerk.do(
        r1, "extension", {"working_days": 20, "notified_on": "2026-11-25"}, headers=clerk.head
    )
    # 40 working days after 2026-11-20: 29 left in 2026, then 2027 (unknown to the calendar
    # package: Monday to Friday, provisional) 01-01, 01-04..08, 01-11..15.
    assert (extended["due_on"], extended["due_provisional"]) == ("2027-01-15", True)
    calendar = {"year": 2027, "holidays": ["2027-01-01"], "make_up_workdays": []}
    for role, bureau in (("clerk", clerk.bureau), ("bureau_head", clerk.bureau), ("auditor", None)):
        refused = await clerk.client.post(
            f"{stack.url('requests')}/calendars", json=calendar, headers=bearer(role, bureau)
        )
        assert refused.status_code == 403, role
        assert refused.json()["detail"] == "only the central office does this"
    central = bearer("central_office", user_id="central-1")
    answer = await clerk.client.post(
        f"{stack.url('requests')}/calendars", json=calendar, headers=central
    )
    assert answer.status_code == 201, answer.text
    moved = [c for c in answer.json()["recomputed"] if c["stream_id"].endswith(r1)]
    assert moved == [
        {
            "stream_id": f"request-{clerk.bureau}-{r1}",
            "previous_due_on": "2027-01-15",
            "due_on": "2027-01-18",
            "provisional": False,
        }
    ]
    after = await clerk.get(f"requests/{r1}")
    assert (after["due_on"], after["due_provisional"]) == ("2027-01-18", False)
    assert after["history"][-1]["event_type"] == "requests.DeadlineRecomputed"
    assert after["history"][-1]["actor"] == {"user_id": "central-1", "role": "central_office"}
    bad = await clerk.client.post(
        f"{stack.url('requests')}/calendars",
        json={"year": 2027, "holidays": ["2028-01-01"], "make_up_workdays": []},
        headers=central,
    )
    assert bad.status_code == 422


async def test_reconsideration_and_litigation_cases(clerk: Clerk) -> None:
    r1 = await clerk.register()
    base = f"{clerk.base}/bureaus/{clerk.bureau}/cases"
    filed = await clerk.client.post(
        base,
        json={
            "case_id": "fy-2026-1",
            "kind": "reconsideration",
            "filed_on": "2026-04-01",
            "request_id": r1,
        },
    )
    assert filed.status_code == 201, filed.text
    again = await clerk.client.post(
        base, json={"case_id": "fy-2026-1", "kind": "reconsideration", "filed_on": "2026-04-01"}
    )
    assert again.status_code == 422
    lawsuit = await clerk.client.post(
        base,
        json={
            "case_id": "ss-2026-1",
            "kind": "litigation_after_reconsideration",
            "filed_on": "2026-06-01",
            "request_id": r1,
        },
    )
    assert lawsuit.status_code == 201
    decided = await clerk.client.post(
        f"{base}/fy-2026-1/decision", json={"decided_on": "2026-05-20", "decision": "驳回"}
    )
    assert decided.json()["result"] == "upheld"
    twice = await clerk.client.post(
        f"{base}/fy-2026-1/decision", json={"decided_on": "2026-05-21", "decision": "撤销"}
    )
    assert twice.status_code == 409
    pending = await clerk.get("cases", pending_on="2026-12-31")
    assert [c["case_id"] for c in pending] == ["ss-2026-1"]


async def test_a_reply_goes_through_three_review_stages_before_it_is_sent(
    clerk: Clerk, stack: LocalStack
) -> None:
    await assign_reviewers(stack, clerk.bureau)
    r1 = await clerk.register()
    draft = await clerk.do(
        r1,
        "reply-drafts",
        {"outcome": "partially_disclosed", "legal_basis": "条例 第三十七条"},
        expect=201,
    )
    case = await open_case(stack, clerk.bureau, draft["draft_id"])
    reviews = f"{stack.url('review')}/bureaus/{clerk.bureau}/reviews"
    # The clerk who drafted it, carried by the published ReplyDrafted into the review case.
    opened = (await clerk.client.get(f"{reviews}/{case['case_id']}")).json()["history"][0]
    assert opened["actor"] == {"user_id": f"clerk@{clerk.bureau}", "role": "clerk"}
    signatures = {"初审": "业务处室 张三", "复审": "办公室 李四", "终审": "分管领导 王五"}
    for stage, user in STAGE_REVIEWERS:
        answer = await clerk.client.post(
            f"{reviews}/{case['case_id']}/stage-completions",
            json={"stage": stage, "opinion": "同意"},
            headers=bearer("reviewer", clerk.bureau, user, signatures[stage]),
        )
        assert answer.status_code == 200, answer.text
        if stage != "终审":
            await clerk.do(r1, "reply", {"on": "2026-03-20"}, expect=409)
    for _ in range(200):  # requests records the approval from review.ReviewApproved
        state = await clerk.get(f"requests/{r1}")
        if state["status"] == "approved":
            break
        await asyncio.sleep(0.05)
    assert state["status"] == "approved"
    approval = state["history"][-1]
    assert approval["event_type"] == "requests.ReplyDraftApproved"
    assert approval["actor"] == {"user_id": STAGE_REVIEWERS[-1][1], "role": "reviewer"}
    sent = await clerk.do(r1, "reply", {"on": "2026-03-20"})
    assert (sent["status"], sent["outcome"]) == ("replied", "partially_disclosed")
    outcomes = await clerk.outcomes(expected_total=1)
    assert outcomes["partially_disclosed"]["total"] == 1
    assert outcomes["partially_disclosed"]["late"] == 0
    record = await clerk.client.get(
        f"{reviews}/{case['case_id']}/record", params={"format": "html"}
    )
    assert record.status_code == 200
    assert all(name in record.text for name in signatures.values())


async def test_only_the_head_approves_an_extension_and_is_recorded_as_approver(
    clerk: Clerk,
) -> None:
    r1 = await clerk.register()
    extension = {"working_days": 10, "notified_on": "2026-03-20"}
    by_clerk = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/requests/{r1}/extension", json=extension
    )
    assert by_clerk.status_code == 403
    assert by_clerk.json()["detail"] == "this is done by the bureau's bureau_head, not a clerk"
    assert (await clerk.get(f"requests/{r1}"))["extension_days"] == 0
    extended = await clerk.do(r1, "extension", extension, headers=clerk.head)
    assert extended["extension_days"] == 10
    [*_, event] = await clerk.get(f"requests/{r1}/events")
    assert event["event_type"] == "requests.DeadlineExtended"
    assert event["data"]["approved_by"] == HEAD_NAME
    assert event["actor"] == {"user_id": f"head@{clerk.bureau}", "role": "bureau_head"}
    # Without a display name the head's user id signs.
    r2 = await clerk.register()
    plain = bearer("bureau_head", clerk.bureau, "head-2")
    await clerk.do(r2, "extension", extension, headers=plain)
    [*_, event] = await clerk.get(f"requests/{r2}/events")
    assert (event["data"]["approved_by"], event["actor"]["user_id"]) == ("head-2", "head-2")


async def test_events_carry_the_caller_and_others_are_refused(clerk: Clerk) -> None:
    # The clerk's token names the actor of every event it causes.
    r1 = await clerk.register()
    await clerk.do(r1, "withdrawal", {"on": "2026-03-10"})
    events = await clerk.get(f"requests/{r1}/events")
    assert [e["actor"] for e in events] == [
        {"user_id": f"clerk@{clerk.bureau}", "role": "clerk"}
    ] * 2
    head_registered = await clerk.client.post(
        f"{clerk.base}/bureaus/{clerk.bureau}/requests",
        json={
            "channel": "letter",
            "applicant_category": "natural_person",
            "received_on": "2026-03-03",
            "description": "局长登记",
        },
        headers=clerk.head,
    )
    assert head_registered.status_code == 201, "a bureau head may do what a clerk does"
    r2 = head_registered.json()["request_id"]
    [received] = await clerk.get(f"requests/{r2}/events")
    assert received["actor"] == {"user_id": f"head@{clerk.bureau}", "role": "bureau_head"}

    # No token: 401 on reads and commands.
    request_url = f"{clerk.base}/bureaus/{clerk.bureau}/requests/{r1}"
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(request_url)).status_code == 401
        nobody = await anonymous.post(f"{clerk.base}/bureaus/{clerk.bureau}/requests", json={})
        assert nobody.status_code == 401
        assert nobody.headers["www-authenticate"] == "Bearer"

    # A clerk of another bureau neither reads nor acts here.
    other = f"b-{uuid.uuid4().hex[:10]}"
    async with client_as("clerk", other) as stranger:
        for path in ("", "/events", "/deadline"):
            answer = await stranger.get(f"{request_url}{path}")
            assert answer.status_code == 403, path
        assert (
            await stranger.get(f"{clerk.base}/bureaus/{clerk.bureau}/requests")
        ).status_code == 403
        acted = await stranger.post(f"{request_url}/correction", json={"on": "2026-03-10"})
        assert acted.status_code == 403
        assert (
            acted.json()["detail"]
            == f"clerk@{other} (clerk of {other}) may not act for bureau {clerk.bureau}"
        )
        filed = await stranger.post(
            f"{clerk.base}/bureaus/{clerk.bureau}/cases",
            json={"case_id": "fy-x", "kind": "reconsideration", "filed_on": "2026-04-01"},
        )
        assert filed.status_code == 403

    # Auditors and the central office read every bureau but change nothing.
    async with client_as("auditor") as auditor:
        assert (await auditor.get(request_url)).status_code == 200
        for action, body in (
            ("withdrawal", {"on": "2026-03-10"}),
            ("extension", {"working_days": 5, "notified_on": "2026-03-10"}),
        ):
            answer = await auditor.post(f"{request_url}/{action}", json=body)
            assert answer.status_code == 403, action
        registered = await auditor.post(
            f"{clerk.base}/bureaus/{clerk.bureau}/requests",
            json={
                "channel": "letter",
                "applicant_category": "natural_person",
                "received_on": "2026-03-03",
                "description": "审计",
            },
        )
        assert registered.status_code == 403
        assert "does not act" in registered.json()["detail"]
    async with client_as("central_office") as central:
        assert (await central.get(f"{request_url}/deadline")).status_code == 200
        answer = await central.post(f"{request_url}/withdrawal", json={"on": "2026-03-10"})
        assert answer.status_code == 403
    assert len(await clerk.get(f"requests/{r1}/events")) == 2, "nothing refused was stored"
    assert {r["request_id"] for r in await clerk.get("requests")} == {r1, r2}


async def test_a_forged_approval_written_to_the_topic_does_not_open_the_gate(
    clerk: Clerk, stack: LocalStack
) -> None:
    from aiokafka import AIOKafkaProducer

    from gongkai_contracts import GENESIS_HASH, Actor, Envelope, new_event_id
    from gongkai_contracts.envelope import Role, utcnow
    from gongkai_contracts.events import ReviewApproved
    from gongkai_contracts.topics import events_topic
    from gongkai_contracts.vocabulary import ReviewSubject

    r1 = await clerk.register()
    draft = await clerk.do(
        r1, "reply-drafts", {"outcome": "disclosed", "legal_basis": "条例 第三十六条"}, expect=201
    )
    forged = Envelope.seal(
        ReviewApproved(
            case_id="forged",
            subject=ReviewSubject.REPLY,
            subject_id=draft["draft_id"],
            subject_version=1,
        ),
        bureau_id=clerk.bureau,
        stream_id="review-forged",
        stream_version=1,
        occurred_at=utcnow(),
        actor=Actor(user_id="mallory", role=Role.REVIEWER),
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=GENESIS_HASH,
    )
    # The review service has already opened a case for the draft, so the bureau's review chain
    # does not start at GENESIS any more; wait for that before forging.
    reviews = f"{stack.url('review')}/bureaus/{clerk.bureau}/reviews"
    for _ in range(200):
        if (await clerk.client.get(reviews)).json():
            break
        await asyncio.sleep(0.05)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            events_topic("review"), forged.to_json(), key=clerk.bureau.encode()
        )
    finally:
        await producer.stop()
    await asyncio.sleep(1.5)
    state = await clerk.get(f"requests/{r1}")
    assert state["status"] == "awaiting_review"
    await clerk.do(r1, "reply", {"on": "2026-03-20"}, expect=409)
