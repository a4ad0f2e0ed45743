"""Demo data loaded through the HTTP APIs, as a clerk would enter it."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import httpx

from gongkai_contracts.vocabulary import ApplicantCategory, Channel

from ..auth import issue_token

T = TypeVar("T")


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    role: str
    bureau_id: str | None
    name: str

    def token(self) -> str:
        return issue_token(self.user_id, self.role, self.bureau_id, name=self.name)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


CENTRAL = DemoUser("central-office", "central_office", None, "市政务公开办 赵六")
AUDITOR = DemoUser("auditor", "auditor", None, "市审计局 孙七")
STAGE_NAMES = ("初审", "复审", "终审")


def clerk(bureau: str) -> DemoUser:
    return DemoUser(f"{bureau}-clerk", "clerk", bureau, "经办人 陈一")


def head(bureau: str) -> DemoUser:
    return DemoUser(f"{bureau}-head", "bureau_head", bureau, "局长 周八")


def reviewers(bureau: str) -> list[DemoUser]:
    """One reviewer per stage: 初审 业务处室, 复审 办公室, 终审 分管领导."""
    names = ("业务处室 张三", "办公室 李四", "分管领导 王五")
    return [
        DemoUser(f"{bureau}-reviewer-{i}", "reviewer", bureau, name)
        for i, name in enumerate(names, start=1)
    ]


def demo_users(bureau: str = "cz-hrss") -> list[DemoUser]:
    """Everyone `gongkai up` prints a token for."""
    return [clerk(bureau), *reviewers(bureau), head(bureau), CENTRAL, AUDITOR]


BUREAUS: list[dict[str, str | None]] = [
    {
        "bureau_id": "cz-gov",
        "name": "常州市人民政府办公室",
        "organisation_code": "014400001",
        "region": "江苏省常州市",
        "parent_id": None,
    },
    {
        "bureau_id": "cz-hrss",
        "name": "常州市人力资源和社会保障局",
        "organisation_code": "014416330",
        "region": "江苏省常州市",
        "parent_id": "cz-gov",
    },
    {
        "bureau_id": "cz-finance",
        "name": "常州市财政局",
        "organisation_code": "014416322",
        "region": "江苏省常州市",
        "parent_id": "cz-gov",
    },
]
ASKED_FOR = [
    "2025年度部门预算及“三公”经费决算",
    "某小区征收补偿安置方案",
    "社会保险基金年度收支情况",
    "本机关行政处罚决定书（2026）第12号",
    "人才引进补贴发放名单及标准",
]


def demo_requests(count: int, year: int, until: date, seed: int = 2011) -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = date(year, 1, 1)
    span = (until - start).days
    requests: list[dict[str, object]] = []
    for _ in range(count):
        requests.append(
            {
                "bureau_id": rng.choice(BUREAUS[1:])["bureau_id"],
                "channel": rng.choice(list(Channel)).value,
                "applicant_category": rng.choices(
                    list(ApplicantCategory), weights=[8, 3, 1, 1, 1, 1]
                )[0].value,
                "received_on": (start + timedelta(days=rng.randint(0, span))).isoformat(),
                "description": rng.choice(ASKED_FOR),
            }
        )
    return requests


def load_demo(
    catalogue_url: str,
    requests_url: str,
    reporting_url: str,
    *,
    count: int = 120,
    today: date | None = None,
    timeout: float = 30,
) -> Counter[tuple[str, int]]:
    """Register the demo bureaus and requests; wait until reporting shows every one."""
    today = today or date.today()
    with httpx.Client(timeout=10) as http:
        for bureau in BUREAUS:
            answer = http.post(f"{catalogue_url}/bureaus", json=bureau, headers=CENTRAL.headers())
            if answer.status_code not in (201, 422):  # 422: registered by an earlier demo run
                answer.raise_for_status()
        expected: Counter[tuple[str, int]] = Counter()
        before = _totals(http, reporting_url, today.year)
        for body in demo_requests(count, today.year, today):
            bureau_id = str(body.pop("bureau_id"))
            http.post(
                f"{requests_url}/bureaus/{bureau_id}/requests",
                json=body,
                headers=clerk(bureau_id).headers(),
            ).raise_for_status()
            expected[(str(bureau_id), date.fromisoformat(str(body["received_on"])).month)] += 1
        deadline = time.monotonic() + timeout
        want = {
            b: before.get(b, 0) + sum(n for (k, _), n in expected.items() if k == b)
            for b in {k for k, _ in expected}
        }
        while time.monotonic() < deadline:
            totals = _totals(http, reporting_url, today.year)
            if all(totals.get(b, 0) >= n for b, n in want.items()):
                return expected
            time.sleep(0.2)
    raise TimeoutError(f"reporting did not show the demo requests within {timeout:.0f}s")


@dataclass(frozen=True)
class WorkflowDemo:
    index_numbers: list[str]
    replied_request: str


DEMO_ITEMS = [
    (
        "关于调整城乡居民基本养老保险基础养老金标准的通知",
        "normative_document",
        "常人社发〔2026〕8号",
    ),
    ("常州市职业技能鉴定收费项目及标准", "administrative_fee", None),
    ("常州市人力资源和社会保障局2026年度部门预算", "other", None),
]


def _wait(fetch: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found is not None:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"demo: {what} did not happen within {timeout:.0f}s")


def assign_reviewers(http: httpx.Client, review_url: str, bureau: str) -> None:
    """The bureau head assigns one reviewer to each of 初审, 复审 and 终审."""
    stages = [
        {"name": stage, "reviewers": [user.user_id]}
        for stage, user in zip(STAGE_NAMES, reviewers(bureau), strict=True)
    ]
    http.put(
        f"{review_url}/bureaus/{bureau}/review-stages",
        json={"stages": stages},
        headers=head(bureau).headers(),
    ).raise_for_status()


def _review(http: httpx.Client, review_url: str, bureau: str, subject_id: str) -> None:
    """初审, 复审 and 终审 agree on the case the review service opened for `subject_id`."""
    reviews = f"{review_url}/bureaus/{bureau}/reviews"
    first = reviewers(bureau)[0].headers()

    def case_id() -> str | None:
        for case in http.get(reviews, params={"state": "open"}, headers=first).json():
            if case["subject_id"] == subject_id:
                return str(case["case_id"])
        return None

    case = _wait(case_id, f"a review case for {subject_id}")
    for stage, reviewer in zip(STAGE_NAMES, reviewers(bureau), strict=True):
        http.post(
            f"{reviews}/{case}/stage-completions",
            json={"stage": stage, "opinion": "同意公开"},
            headers=reviewer.headers(),
        ).raise_for_status()


def load_workflow_demo(
    catalogue_url: str, requests_url: str, review_url: str, *, today: date | None = None
) -> WorkflowDemo:
    """Items through three review stages to publication with index numbers, and one request
    answered through the review gate: what a clerk and reviewers do in a day."""
    today = today or date.today()
    bureau = "cz-hrss"
    published: list[str] = []
    with httpx.Client(timeout=10, headers=clerk(bureau).headers()) as http:
        assign_reviewers(http, review_url, bureau)
        items = f"{catalogue_url}/bureaus/{bureau}/items"
        for title, category, number in DEMO_ITEMS:
            body: dict[str, object] = {
                "title": title,
                "summary": f"{title}的主要内容",
                "formed_on": today.isoformat(),
                "document_number": number,
                "issuing_body": "常州市人力资源和社会保障局",
                "category": category,
                "scope": "面向社会",
            }
            if category == "administrative_fee":
                body["fee_amount_yuan"] = "1250.50"
            item_id = http.post(items, json=body).raise_for_status().json()["item_id"]
            http.post(f"{items}/{item_id}/submission", json={}).raise_for_status()
            _review(http, review_url, bureau, item_id)

            def approved(item: str = item_id) -> bool | None:
                state = http.get(f"{items}/{item}").json()["state"]
                return True if state == "approved" else None

            _wait(approved, f"approval of {title}")
            answer = http.post(
                f"{items}/{item_id}/publication",
                json={"published_on": today.isoformat(), "channels": ["government_website"]},
            ).raise_for_status()
            published.append(answer.json()["index_number"])

        requests = f"{requests_url}/bureaus/{bureau}/requests"
        request_id = (
            http.post(
                requests,
                json={
                    "channel": "online",
                    "applicant_category": "natural_person",
                    "received_on": today.isoformat(),
                    "description": "2025年度社会保险基金收支情况",
                    "applicant": {"name": "张三", "id_number": "320402199001011234"},
                },
            )
            .raise_for_status()
            .json()["request_id"]
        )
        draft = (
            http.post(
                f"{requests}/{request_id}/reply-drafts",
                json={
                    "outcome": "disclosed",
                    "legal_basis": "《中华人民共和国政府信息公开条例》第三十六条第二项",
                },
            )
            .raise_for_status()
            .json()["draft_id"]
        )
        _review(http, review_url, bureau, draft)

        def sendable() -> bool | None:
            return (
                True
                if http.get(f"{requests}/{request_id}").json()["status"] == "approved"
                else None
            )

        _wait(sendable, "approval of the reply draft")
        http.post(
            f"{requests}/{request_id}/reply", json={"on": today.isoformat()}
        ).raise_for_status()
    return WorkflowDemo(index_numbers=published, replied_request=str(request_id))


def _totals(http: httpx.Client, reporting_url: str, year: int) -> dict[str, int]:
    rows = http.get(f"{reporting_url}/requests-received", headers=AUDITOR.headers()).json()
    totals: Counter[str] = Counter()
    for row in rows:
        if row["year"] == year:
            totals[row["bureau_id"]] += row["received"]
    return dict(totals)
