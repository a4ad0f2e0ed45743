"""台账导入 over HTTP against the running platform: a 1,000-row ledger covering every path is
imported whole and once, reporting counts it, a file with bad rows stores nothing, a later
superset ledger adds only what is new, and an imported request has the events of the same
request entered live."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    CHANNEL_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    Channel,
    ReplyOutcome,
)
from gongkai_platform.devstack.stack import LocalStack
from requests_service.ledger import MAX_SHARED_STRINGS
from tests.e2e.helpers import assign_reviewers, review_all_stages
from tests.support import bearer
from tests.unit import test_ledger_hostile as hostile

pytestmark = pytest.mark.e2e

PATHS = (
    "reply",
    "correction",
    "correction_lapse",
    "consultation",
    "extension",
    "fee_per_page",
    "fee_lapse",
    "withdrawal",
    "open",
    "everything",
)
# The events each path appends: registration, then one per command; a reply is three
# (drafted, approved by review, sent).
EVENTS = {
    "reply": 4,
    "correction": 6,
    "correction_lapse": 3,
    "consultation": 6,
    "extension": 5,
    "fee_per_page": 6,
    "fee_lapse": 3,
    "withdrawal": 2,
    "open": 2,
    "everything": 11,
}
BASIS = "条例 第三十六条 第二项"
APPROVER = "办公室主任"  # 延期批准人 of the ledgers; live, the signature of the head's token


def bureau() -> str:
    return f"b-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Case:
    """One request: the stages a clerk records, in date order; rendered as a ledger row or
    entered live over HTTP."""

    i: int
    path: str
    received: date
    id_prefix: str = "32040219900101"

    @property
    def request_id(self) -> str:
        return f"L{self.i:05d}"

    @property
    def channel(self) -> Channel:
        return list(Channel)[self.i % 6]

    @property
    def category(self) -> ApplicantCategory:
        return list(ApplicantCategory)[self.i % 6]

    @property
    def applicant(self) -> dict[str, str]:
        return {
            "name": f"申请人{self.i % 50}",
            "id_number": f"{self.id_prefix}{self.i % 50:04d}",
            "phone": f"138{self.i:08d}",
        }

    def day(self, n: int) -> date:
        return self.received + timedelta(days=n)

    def stages(self) -> list[tuple[str, dict[str, Any]]]:
        d = self.day
        correction = (
            "correction-request",
            {"notified_on": d(2), "correct_by": d(16), "items_to_correct": "写明文件名称和文号"},
        )
        reply = ("reply", {"outcome": "disclosed", "legal_basis": BASIS, "on": d(10)})
        match self.path:
            case "reply":
                return [reply]
            case "correction":
                return [
                    correction,
                    ("correction", {"on": d(6)}),
                    (
                        "reply",
                        {
                            "outcome": "unavailable_unclear_after_correction",
                            "legal_basis": "条例 第三十条",
                            "on": d(20),
                        },
                    ),
                ]
            case "correction_lapse":
                return [correction, ("correction-lapse", {"on": d(20)})]
            case "consultation":
                return [
                    (
                        "consultation",
                        {"started_on": d(3), "party": "某科技有限公司", "third_party": True},
                    ),
                    ("consultation-end", {"on": d(9)}),
                    (
                        "reply",
                        {
                            "outcome": "withheld_third_party",
                            "legal_basis": "条例 第十五条",
                            "on": d(25),
                        },
                    ),
                ]
            case "extension":
                return [
                    (
                        "extension",
                        {"working_days": 15, "approved_by": APPROVER, "notified_on": d(10)},
                    ),
                    (
                        "reply",
                        {
                            "outcome": "unavailable_not_held",
                            "legal_basis": "条例 第三十六条 第四项",
                            "on": d(40),
                        },
                    ),
                ]
            case "fee_per_page":
                return [
                    ("fee-notice", {"scheme": "per_page", "units": 150, "noticed_on": d(3)}),
                    ("fee-payment", {"on": d(8)}),
                    (
                        "reply",
                        {"outcome": "partially_disclosed", "legal_basis": BASIS, "on": d(20)},
                    ),
                ]
            case "fee_lapse":
                return [
                    ("fee-notice", {"scheme": "per_page", "units": 40, "noticed_on": d(3)}),
                    ("fee-lapse", {"on": d(30)}),
                ]
            case "withdrawal":
                return [("withdrawal", {"on": d(5)})]
            case "open":
                return [
                    (
                        "consultation",
                        {"started_on": d(3), "party": "市档案馆", "third_party": False},
                    )
                ]
            case "everything":
                return [
                    (
                        "correction-request",
                        {"notified_on": d(1), "correct_by": d(15), "items_to_correct": "写明文号"},
                    ),
                    ("correction", {"on": d(4)}),
                    (
                        "consultation",
                        {"started_on": d(6), "party": "市财政局", "third_party": False},
                    ),
                    ("consultation-end", {"on": d(10)}),
                    (
                        "extension",
                        {"working_days": 10, "approved_by": APPROVER, "notified_on": d(12)},
                    ),
                    ("fee-notice", {"scheme": "per_item", "units": 15, "noticed_on": d(13)}),
                    ("fee-payment", {"on": d(16)}),
                    (
                        "reply",
                        {
                            "outcome": "not_processed_repeat",
                            "legal_basis": "条例 第三十六条 第六项",
                            "on": d(30),
                        },
                    ),
                ]
        raise AssertionError(self.path)

    # ------------------------------------------------------------------ as a ledger row

    def cells(self) -> dict[str, Any]:
        """The row under Chinese headers, labels and codes mixed as clerks write them."""
        row: dict[str, Any] = {
            "编号": self.request_id,
            "收到申请日期": self.received,
            "申请渠道": CHANNEL_LABELS[self.channel] if self.i % 2 else self.channel.value,
            "申请人类型": (
                APPLICANT_CATEGORY_LABELS[self.category] if self.i % 3 else self.category.value
            ),
            "申请人姓名": self.applicant["name"],
            "证件号码": self.applicant["id_number"],
            "联系电话": self.applicant["phone"],
            "申请内容": f"申请公开事项 {self.i}",
        }
        for action, body in self.stages():
            match action:
                case "correction-request":
                    row |= {
                        "补正告知日期": body["notified_on"],
                        "补正期限": body["correct_by"],
                        "补正事项": body["items_to_correct"],
                    }
                case "correction":
                    row["补正收到日期"] = body["on"]
                case "consultation":
                    row |= {
                        "征求意见开始日期": body["started_on"],
                        "征求意见对象": body["party"],
                        "征求意见对象类型": "第三方" if body["third_party"] else "行政机关",
                    }
                case "consultation-end":
                    row["征求意见结束日期"] = body["on"]
                case "extension":
                    row |= {
                        "延期工作日数": body["working_days"],
                        "延期批准人": body["approved_by"],
                        "延期告知日期": body["notified_on"],
                    }
                case "fee-notice":
                    row |= {
                        "收费方式": "按件" if body["scheme"] == "per_item" else "按量",
                        "收费数量": body["units"],
                        "收费通知日期": body["noticed_on"],
                    }
                case "fee-payment":
                    row["缴费日期"] = body["on"]
                case "reply":
                    row |= {
                        "答复结果": self.outcome_cell(ReplyOutcome(body["outcome"])),
                        "法律依据": body["legal_basis"],
                        "答复日期": body["on"],
                    }
                case "correction-lapse":
                    row |= {
                        "答复结果": self.outcome_cell(ReplyOutcome.OTHER_CORRECTION_LAPSED),
                        "答复日期": body["on"],
                    }
                case "fee-lapse":
                    row |= {
                        "答复结果": self.outcome_cell(ReplyOutcome.OTHER_FEE_LAPSED),
                        "答复日期": body["on"],
                    }
                case "withdrawal":
                    row["撤回日期"] = body["on"]
        return row

    def outcome_cell(self, outcome: ReplyOutcome) -> str:
        label = REPLY_OUTCOME_LABELS[outcome]
        match self.i % 3:
            case 0:
                return label  # （一）予以公开
            case 1:
                return re.sub(r"^(（[一二三四五六七八九十]+）|\d+\.)", "", label)  # 予以公开
        return outcome.value

    @property
    def closed(self) -> bool:
        return self.path != "open"


def cases(count: int, *, id_prefix: str = "32040219900101") -> list[Case]:
    start = date(2025, 1, 2)
    return [
        Case(i, PATHS[i % len(PATHS)], start + timedelta(days=(i * 7) % 320), id_prefix)
        for i in range(count)
    ]


HEADERS = [
    "编号",
    "收到申请日期",
    "申请渠道",
    "申请人类型",
    "申请人姓名",
    "证件号码",
    "联系电话",
    "申请内容",
    "补正告知日期",
    "补正事项",
    "补正期限",
    "补正收到日期",
    "征求意见开始日期",
    "征求意见对象",
    "征求意见对象类型",
    "征求意见结束日期",
    "延期工作日数",
    "延期批准人",
    "延期告知日期",
    "收费方式",
    "收费数量",
    "收费通知日期",
    "缴费日期",
    "答复结果",
    "法律依据",
    "答复日期",
    "撤回日期",
]


def xlsx(rows: list[dict[str, Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(h) for h in HEADERS])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_text(row.get(h)) for h in HEADERS])
    return out.getvalue().encode(encoding)


def _text(value: Any) -> str:
    if isinstance(value, date):
        return f"{value.year}/{value.month}/{value.day}" if value.day % 2 else value.isoformat()
    return "" if value is None else str(value)


def clerk_of(bureau_id: str) -> dict[str, str]:
    return bearer("clerk", bureau_id)


def head_of(bureau_id: str) -> dict[str, str]:
    return bearer("bureau_head", bureau_id, f"head@{bureau_id}", APPROVER)


class Clerk:
    """Each bureau's clerk (the bureau head for an extension), over one HTTP client."""

    def __init__(self, stack: LocalStack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.base = stack.url("requests")
        self.client = client

    async def upload(
        self,
        bureau_id: str,
        content: bytes,
        filename: str,
        expect: int = 201,
        headers: dict[str, str] | None = None,
    ) -> Any:
        answer = await self.client.post(
            f"{self.base}/bureaus/{bureau_id}/ledger-imports",
            files={"file": (filename, content)},
            headers=clerk_of(bureau_id) if headers is None else headers,
        )
        assert answer.status_code == expect, f"{answer.status_code} {answer.text[:2000]}"
        return answer.json()

    async def get(self, bureau_id: str, path: str, expect: int = 200, **params: Any) -> Any:
        answer = await self.client.get(
            f"{self.base}/bureaus/{bureau_id}/{path}",
            params=params or None,
            headers=clerk_of(bureau_id),
        )
        assert answer.status_code == expect, answer.text
        return answer.json()

    async def all_requests(self, bureau_id: str) -> list[dict[str, Any]]:
        return await self.get(bureau_id, "requests", limit=1000)  # type: ignore[no-any-return]

    async def enter_live(self, bureau_id: str, case: Case) -> None:
        """The same request as a clerk enters it over the HTTP API, stage by stage."""
        url = f"{self.base}/bureaus/{bureau_id}/requests"
        registered = await self.client.post(
            url,
            headers=clerk_of(bureau_id),
            json={
                "request_id": case.request_id,
                "channel": case.channel.value,
                "applicant_category": case.category.value,
                "received_on": case.received.isoformat(),
                "description": f"申请公开事项 {case.i}",
                "applicant": case.applicant,
            },
        )
        assert registered.status_code == 201, registered.text
        for action, body in case.stages():
            data = {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}
            if action == "reply":
                draft = await self.post(
                    url,
                    case,
                    "reply-drafts",
                    {"outcome": data["outcome"], "legal_basis": data["legal_basis"]},
                    clerk_of(bureau_id),
                )
                # Each assigned reviewer passes their stage (call assign_reviewers first).
                await review_all_stages(self.stack, bureau_id, draft["draft_id"])
                await self.wait_for(bureau_id, case.request_id, "approved")
                await self.post(url, case, "reply", {"on": data["on"]}, clerk_of(bureau_id))
            elif action == "extension":
                # Live, the head approves by posting it: the approver is the token's name.
                assert data.pop("approved_by") == APPROVER
                await self.post(url, case, action, data, head_of(bureau_id))
            else:
                await self.post(url, case, action, data, clerk_of(bureau_id))

    async def post(
        self, url: str, case: Case, action: str, body: dict[str, Any], headers: dict[str, str]
    ) -> Any:
        answer = await self.client.post(
            f"{url}/{case.request_id}/{action}", json=body, headers=headers
        )
        assert answer.status_code in (200, 201), f"{action}: {answer.text}"
        return answer.json()

    async def wait_for(self, bureau_id: str, request_id: str, status: str) -> None:
        for _ in range(300):
            state = await self.get(bureau_id, f"requests/{request_id}")
            if state["status"] == status:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{request_id} is {state['status']}, never {status}")

    async def reporting(self, bureau_id: str, path: str, year: int) -> Any:
        answer = await self.client.get(
            f"{self.stack.url('reporting')}/bureaus/{bureau_id}/{path}",
            params={"year": year},
            headers=clerk_of(bureau_id),
        )
        return answer.json() if answer.status_code == 200 else None


@pytest.fixture
async def clerk(stack: LocalStack) -> AsyncIterator[Clerk]:
    async with httpx.AsyncClient(timeout=120) as client:
        yield Clerk(stack, client)


def comparable(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Event types and data; not ids, timestamps, hashes or the applicant's pseudonym, nor
    where the review of a historical reply happened (checked on its own below)."""
    ids = {"applicant_ref", "draft_id", "review_case_id", "reviewed_elsewhere"}
    return [(e["event_type"], {k: v for k, v in e["data"].items() if k not in ids}) for e in events]


async def test_a_thousand_row_ledger_imports_whole_and_only_once(clerk: Clerk) -> None:
    b = bureau()
    ledger = cases(1000)
    content = xlsx([c.cells() for c in ledger])
    started = time.monotonic()
    result = await clerk.upload(b, content, "台账2025.xlsx")
    elapsed = time.monotonic() - started
    print(f"\nledger import: 1,000 rows, {result['events']} events in {elapsed:.2f}s")
    assert result["imported_requests"] == 1000
    assert (result["skipped"], result["continued_requests"]) == (0, 0)
    assert result["events"] == sum(EVENTS[c.path] for c in ledger)

    stored = await clerk.all_requests(b)
    assert len(stored) == 1000
    statuses = {r["request_id"]: r["status"] for r in stored}
    by_path = {c.request_id: c.path for c in ledger}
    assert {statuses[i] for i, p in by_path.items() if p == "open"} == {"consulting"}
    assert {statuses[i] for i, p in by_path.items() if p == "withdrawal"} == {"withdrawn"}
    assert {statuses[i] for i, p in by_path.items() if p == "fee_lapse"} == {"fee_lapsed"}
    everything = next(c for c in ledger if c.path == "everything")
    history = await clerk.get(b, f"requests/{everything.request_id}/events")
    assert [e["event_type"].split(".")[1] for e in history] == [
        "RequestReceived",
        "CorrectionRequested",
        "CorrectionReceived",
        "ConsultationStarted",
        "ConsultationEnded",
        "DeadlineExtended",
        "FeeNoticed",
        "FeePaid",
        "ReplyDrafted",
        "ReplyDraftApproved",
        "ReplySent",
    ]
    assert [e["occurred_at"][:10] for e in history] == [
        d.isoformat()
        for d in [everything.received, *(everything.day(n) for n in (1, 4, 6, 10, 12, 13, 16))]
        + [everything.day(30)] * 3
    ]
    assert history[-2]["data"]["review_case_id"].startswith(f"ledger:{result['file_sha256'][:12]}")
    # The importing clerk is the actor of every event; the file's names are data.
    assert {(e["actor"]["user_id"], e["actor"]["role"]) for e in history} == {
        (f"clerk@{b}", "clerk")
    }
    assert history[5]["data"]["approved_by"] == APPROVER
    assert history[-3]["data"]["reviewed_elsewhere"] == history[-2]["data"]["review_case_id"]
    # Historical replies were reviewed before Gongkai: review opens no case for them. A live
    # draft of the same bureau, posted after the import, does get one (so review has caught up).
    live = await clerk.client.post(
        f"{clerk.base}/bureaus/{b}/requests",
        headers=clerk_of(b),
        json={
            "channel": "online",
            "applicant_category": "natural_person",
            "received_on": "2026-03-03",
            "description": "导入后新登记",
        },
    )
    draft = await clerk.client.post(
        f"{clerk.base}/bureaus/{b}/requests/{live.json()['request_id']}/reply-drafts",
        json={"outcome": "disclosed", "legal_basis": "条例 第三十六条"},
        headers=clerk_of(b),
    )
    reviews = f"{clerk.stack.url('review')}/bureaus/{b}/reviews"
    opened: list[Any] = []
    for _ in range(600):
        opened = (
            await clerk.client.get(reviews, params={"limit": 1000}, headers=clerk_of(b))
        ).json()
        if any(c["subject_id"] == draft.json()["draft_id"] for c in opened):
            break
        await asyncio.sleep(0.05)
    assert [c["subject_id"] for c in opened] == [draft.json()["draft_id"]]
    assert "申请人" not in str(history), "personal data stays out of the events"

    # Reporting counts the imported requests as it counts live ones.
    closed = sum(1 for c in ledger if c.closed)
    for _ in range(600):
        received = await clerk.reporting(b, "requests-received", 2025)
        outcomes = await clerk.reporting(b, "request-outcomes", 2025)
        total = sum(o["total"] for o in outcomes["outcomes"].values()) if outcomes else 0
        if received and received["total"] == 1000 and total == closed:
            break
        await asyncio.sleep(0.1)
    assert received["total"] == 1000 and total == closed, (received, total)
    assert outcomes["outcomes"]["other_fee_lapsed"]["total"] == 100

    again = await clerk.upload(b, content, "台账2025（副本）.xlsx", expect=200)
    assert again["already_imported"] is True
    assert (again["imported_requests"], again["events"]) == (0, 0)
    assert again["file_sha256"] == result["file_sha256"]
    assert await clerk.get(b, f"requests/{everything.request_id}/events") == history
    await asyncio.sleep(1)
    received = await clerk.reporting(b, "requests-received", 2025)
    assert received["total"] == 1000, "the second import added nothing"


async def test_a_file_with_three_bad_rows_names_exactly_them_and_stores_nothing(
    clerk: Clerk,
) -> None:
    b = bureau()
    rows = [c.cells() for c in cases(6, id_prefix="11010119850101")]
    rows[1]["收到申请日期"] = "2025-02-30"  # file row 3: no such day
    rows[3]["申请渠道"] = "飞鸽传书"  # file row 5: not a channel
    rows[5] |= {"延期工作日数": 30, "延期批准人": "主任", "延期告知日期": rows[5]["收到申请日期"]}
    # file row 7: parses, but the aggregate refuses an extension of 30 working days
    answer = await clerk.upload(b, csv_bytes(rows, "gb18030"), "台账.csv", expect=422)
    assert sorted({d["row"] for d in answer["detail"]}) == [3, 5, 7], answer
    columns = {d["row"]: d["column"] for d in answer["detail"]}
    assert columns == {3: "收到申请日期", 5: "申请渠道", 7: "延期工作日数"}
    assert await clerk.all_requests(b) == []
    await clerk.get(b, f"requests/{rows[0]['编号']}/events", expect=404)


async def test_a_superset_ledger_adds_only_what_is_new(clerk: Clerk) -> None:
    b = bureau()
    first = [c.cells() for c in cases(3, id_prefix="11010119860101")]
    first[1] = {
        k: v
        for k, v in first[1].items()
        if k not in ("补正收到日期", "答复结果", "法律依据", "答复日期")
    }
    one = await clerk.upload(b, csv_bytes(first), "一月.csv")
    assert (one["imported_requests"], one["events"]) == (3, 4 + 2 + 3)

    later = [c.cells() for c in cases(5, id_prefix="11010119860101")]
    two = await clerk.upload(b, xlsx(later), "一至二月.xlsx")
    assert (two["imported_requests"], two["continued_requests"], two["skipped"]) == (2, 1, 2)
    continued = await clerk.get(b, f"requests/{later[1]['编号']}/events")
    assert [e["event_type"].split(".")[1] for e in continued] == [
        "RequestReceived",
        "CorrectionRequested",
        "CorrectionReceived",
        "ReplyDrafted",
        "ReplyDraftApproved",
        "ReplySent",
    ]
    assert (await clerk.get(b, f"requests/{later[1]['编号']}"))["status"] == "replied"

    changed = [dict(r) for r in later]
    changed[0]["申请内容"] = "另一事项"
    refused = await clerk.upload(b, csv_bytes(changed), "改过的.csv", expect=422)
    assert [(d["row"], d["column"]) for d in refused["detail"]] == [(2, "编号")]


async def test_an_imported_request_has_the_events_of_live_entry(clerk: Clerk) -> None:
    live, imported = bureau(), bureau()
    # Each path once; live and imported applicants differ (a 按件 fee counts the applicant's
    # month across the register), so that both start the month at nothing.
    chosen = cases(10, id_prefix="11010119870101")
    twins = cases(10, id_prefix="11010119880101")
    await assign_reviewers(clerk.stack, live)
    for case in chosen:
        await clerk.enter_live(live, case)
    result = await clerk.upload(imported, csv_bytes([c.cells() for c in twins]), "对照.csv")
    assert result["imported_requests"] == 10
    for case in chosen:
        entered = await clerk.get(live, f"requests/{case.request_id}/events")
        loaded = await clerk.get(imported, f"requests/{case.request_id}/events")
        assert comparable(loaded) == comparable(entered), case.path
        assert len(loaded) == EVENTS[case.path]


async def test_only_the_bureaus_clerk_or_head_imports(clerk: Clerk) -> None:
    b = bureau()
    content = csv_bytes([c.cells() for c in cases(2, id_prefix="11010119890101")])
    refused = {
        "no token": ({}, 401),
        "auditor": (bearer("auditor"), 403),
        "central office": (bearer("central_office"), 403),
        "reviewer": (bearer("reviewer", b), 403),
        "clerk of another bureau": (clerk_of(bureau()), 403),
    }
    for who, (headers, status) in refused.items():
        answer = await clerk.upload(b, content, "台账.csv", expect=status, headers=headers)
        assert answer["detail"], who
    assert await clerk.all_requests(b) == [], "nothing refused was stored"
    result = await clerk.upload(b, content, "台账.csv", headers=head_of(b))
    assert result["imported_requests"] == 2
    events = await clerk.get(b, "requests/L00000/events")
    assert [e["event_type"].split(".")[1] for e in events] == [
        "RequestReceived",
        "ReplyDrafted",
        "ReplyDraftApproved",
        "ReplySent",
    ]
    assert {(e["actor"]["user_id"], e["actor"]["role"]) for e in events} == {
        (f"head@{b}", "bureau_head")
    }


async def test_the_templates_download_and_import(clerk: Clerk) -> None:
    # The templates are public: this client sends no token.
    answer = await clerk.client.get(f"{clerk.base}/ledger-template.csv")
    assert answer.status_code == 200
    assert answer.content.startswith("\ufeff编号,收到申请日期".encode())
    workbook_answer = await clerk.client.get(f"{clerk.base}/ledger-template.xlsx")
    assert workbook_answer.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(workbook_answer.content))
    assert workbook.sheetnames == ["台账", "填写说明"]
    assert [c.value for c in workbook["台账"][1]][:3] == ["编号", "收到申请日期", "申请渠道"]
    guide = [row[0] for row in workbook["填写说明"].iter_rows(values_only=True)]
    assert "答复结果" in guide
    b = bureau()
    result = await clerk.upload(b, workbook_answer.content, "台账模板.xlsx")
    assert result["imported_requests"] == 1
    formula = answer.content.replace(b"2026-001", b"=1+1")
    refused = await clerk.upload(bureau(), formula, "t.csv", expect=422)
    assert refused["detail"][0]["row"] == 2 and refused["detail"][0]["column"] == "编号"


# ------------------------------------------------------------------- hostile files (issue 6)


def hostile_files() -> dict[str, tuple[str, bytes]]:
    """Files that must each get a clear 4xx naming the row (0: the file) and store nothing."""
    whole = hostile.ledger_xlsx([hostile.row(i) for i in range(50)])
    formula = hostile.ledger_xlsx([hostile.row(1), [("f", "SUM(1,2)", 3), *hostile.row(2)[1:]]])
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "<si><t>a</t></si>" * (MAX_SHARED_STRINGS // 16 + 1)
        + "</sst>"
    )
    last_row = [*hostile.numbered([hostile.HEADER, hostile.row(1)]), (1_048_576, [(1, "x")])]
    header = ",".join(hostile.HEADER)
    return {
        "formula": ("台账.xlsx", formula),
        "binary renamed .csv": ("台账.csv", random.Random(6).randbytes(8192).replace(b"\0", b"")),
        "truncated workbook": ("台账.xlsx", whole[: len(whole) // 2]),
        "huge dimension, last row used": (
            "台账.xlsx",
            hostile.workbook(hostile.sheet_xml(last_row, "A1:XFD1048576")),
        ),
        "shared strings bomb": (
            "台账.xlsx",
            hostile.workbook(hostile.sheet_xml(hostile.numbered([hostile.HEADER])), shared),
        ),
        "empty": ("台账.csv", b""),
        "header only": ("台账.csv", header.encode()),
        "duplicate header": ("台账.csv", f"{header},申请内容\r\n".encode()),
        "control character": (
            "台账.csv",
            f"{header}\r\n{','.join(hostile.row(1))}\x07\r\n".encode(),
        ),
        "over 10 MB": ("台账.csv", header.encode() + b"\r\n" + b" " * (11 * 1024 * 1024)),
    }


async def test_hostile_files_get_a_clear_error_and_store_nothing(clerk: Clerk) -> None:
    b = bureau()
    for what, (name, content) in hostile_files().items():
        started = time.monotonic()
        answer = await clerk.upload(b, content, name, expect=422)
        elapsed = time.monotonic() - started
        assert elapsed < 20, f"{what}: {elapsed:.1f}s"
        [first, *_] = answer["detail"]
        assert isinstance(first["row"], int) and first["msg"], (what, answer)
        print(f"\n{what}: 422 in {elapsed:.2f}s, row {first['row']}, {first['msg'][:90]}")
    assert await clerk.all_requests(b) == [], "nothing of a refused file was stored"


async def test_gbk_csv_and_excels_unicode_text_import(clerk: Clerk) -> None:
    rows = [c.cells() for c in cases(3, id_prefix="11010119900101")]
    gbk = await clerk.upload(bureau(), csv_bytes(rows, "gbk"), "台账.csv")
    assert gbk["imported_requests"] == 3
    tabbed = csv_bytes(rows, "utf-8").decode().replace(",", "\t")
    utf16 = await clerk.upload(bureau(), tabbed.encode("utf-16"), "台账.txt")
    assert (utf16["imported_requests"], utf16["events"]) == (3, gbk["events"])


async def test_100000_rows_are_refused_quickly_while_other_clerks_work(clerk: Clerk) -> None:
    """The 100,000-row ledger is answered in seconds; meanwhile another bureau's clerk keeps
    registering requests, and each is answered promptly (reading runs off the event loop)."""
    b, other = bureau(), bureau()
    content = hostile.ledger_xlsx([hostile.row(i) for i in range(100_000)])
    latencies: list[float] = []
    done = asyncio.Event()

    async def live_clerk() -> None:
        i = 0
        while not done.is_set() or i < 5:
            started = time.monotonic()
            answer = await clerk.client.post(
                f"{clerk.base}/bureaus/{other}/requests",
                headers=clerk_of(other),
                json={
                    "channel": "online",
                    "applicant_category": "natural_person",
                    "received_on": "2026-03-03",
                    "description": f"导入期间登记 {i}",
                },
            )
            assert answer.status_code == 201, answer.text
            latencies.append(time.monotonic() - started)
            i += 1

    worker = asyncio.create_task(live_clerk())
    started = time.monotonic()
    try:
        answer = await clerk.upload(b, content, "台账十万行.xlsx", expect=422)
    finally:
        done.set()
    elapsed = time.monotonic() - started
    await worker
    print(
        f"\n100,000 rows ({len(content):,} bytes): 422 in {elapsed:.2f}s; "
        f"{len(latencies)} live registrations meanwhile, slowest {max(latencies):.2f}s"
    )
    [error] = answer["detail"]
    assert error["row"] == 0 and "more than 2,000 rows" in error["msg"] and "split" in error["msg"]
    assert elapsed < 30
    assert max(latencies) < 5, latencies
    assert await clerk.all_requests(b) == []
