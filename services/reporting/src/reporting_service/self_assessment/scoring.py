"""The self-assessment (自评): a scheme is a tree of items with maximum points; a leaf is either
scored from evidence in the log (its maximum less a deduction per failure found, never below
0) or entered by the bureau with a reason. Groups score the sum of their children. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..annual_report.builder import fold_items, fold_requests
from ..annual_report.facts import Facts, ItemFactKind
from ..sign_off import SignOffStatus, annual_due_on, monthly_due_on, sign_off_status


class Evidence(StrEnum):
    """What the log can prove."""

    REVIEWED_BEFORE_PUBLICATION = "reviewed_before_publication"  # ItemApproved before ItemPublished
    MONTHLY_REPORTS_ON_TIME = "monthly_reports_on_time"  # sign-offs by the 4th
    ANNUAL_REPORT_ON_TIME = "annual_report_on_time"  # the previous year's report
    REQUESTS_ANSWERED_ON_TIME = "requests_answered_on_time"  # ReplySent.on_time


class SchemeError(ValueError):
    """A scheme that does not add up or names an item twice."""


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    max_points: Decimal
    evidence: Evidence | None = None
    deduction: Decimal = Decimal(0)  # evidence items: points off per failure
    rule: str = ""  # the scoring rule as printed (扣分标准)
    children: tuple[Item, ...] = ()

    def walk(self) -> Iterator[Item]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, key: str) -> Item | None:
        return next((i for i in self.walk() if i.key == key), None)

    @property
    def entered(self) -> bool:
        """A leaf the bureau scores itself."""
        return not self.children and self.evidence is None


def validate(root: Item) -> Item:
    keys = [i.key for i in root.walk()]
    if len(keys) != len(set(keys)):
        raise SchemeError(f"item keys repeat: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    for item in root.walk():
        if item.children:
            if item.evidence is not None:
                raise SchemeError(f"{item.key}: a group cannot be scored from evidence")
            total = sum((c.max_points for c in item.children), Decimal(0))
            if total != item.max_points:
                raise SchemeError(
                    f"{item.key}: maximum {item.max_points} but its items add up to {total}"
                )
        if item.max_points < 0 or item.deduction < 0:
            raise SchemeError(f"{item.key}: points cannot be negative")
        if item.evidence is not None and item.deduction == 0:
            raise SchemeError(f"{item.key}: an evidence item needs a deduction per failure")
    return root


def scheme_from_dict(data: Mapping[str, Any]) -> Item:
    """A scheme from JSON: {key, title, max_points, evidence?, deduction?, rule?, children?}."""

    def item(d: Mapping[str, Any]) -> Item:
        return Item(
            key=str(d["key"]),
            title=str(d["title"]),
            max_points=Decimal(str(d["max_points"])),
            evidence=Evidence(d["evidence"]) if d.get("evidence") else None,
            deduction=Decimal(str(d.get("deduction", 0))),
            rule=str(d.get("rule", "")),
            children=tuple(item(c) for c in d.get("children", ())),
        )

    return validate(item(data))


def _d(n: int) -> Decimal:
    return Decimal(n)


# The seed (常州市人力资源和社会保障局, 2011): 一 组织推进 15, 二 制度建设 10, 三 日常工作 75.
# The sub-items follow what the seed reports under each part.
DEFAULT_SCHEME = validate(
    Item(
        "total",
        "政府信息公开工作自评",
        _d(100),
        children=(
            Item(
                "organisation",
                "一、政府信息公开工作的组织推进情况",
                _d(15),
                children=(
                    Item("organisation.leadership", "成立领导小组，明确分管领导", _d(8)),
                    Item("organisation.office", "设立办公室，负责日常事务，人员及时调整", _d(7)),
                ),
            ),
            Item(
                "rules",
                "二、政府信息公开工作制度建设情况",
                _d(10),
                children=(
                    Item("rules.guide_and_catalogue", "制订政府信息公开指南和公开目录", _d(5)),
                    Item("rules.confidentiality_review", "制订保密审查制度", _d(5)),
                ),
            ),
            Item(
                "daily",
                "三、政府信息公开日常工作情况",
                _d(75),
                children=(
                    Item(
                        "daily.reviewed_before_publication",
                        "主动公开的信息均经保密审查后公开",
                        _d(20),
                        Evidence.REVIEWED_BEFORE_PUBLICATION,
                        _d(2),
                        "每发现一条未经审查即公开的信息扣2分",
                    ),
                    Item(
                        "daily.requests_answered_on_time",
                        "依申请公开在法定期限内答复",
                        _d(25),
                        Evidence.REQUESTS_ANSWERED_ON_TIME,
                        _d(5),
                        "每逾期答复一件扣5分",
                    ),
                    Item(
                        "daily.monthly_reports_on_time",
                        "每月5日前及时、准确报送月度报告",
                        _d(12),
                        Evidence.MONTHLY_REPORTS_ON_TIME,
                        _d(1),
                        "每逾期或未报一个月扣1分",
                    ),
                    Item(
                        "daily.annual_report_on_time",
                        "按时上报并公布上一年度政府信息公开工作年度报告",
                        _d(8),
                        Evidence.ANNUAL_REPORT_ON_TIME,
                        _d(8),
                        "逾期或未公布扣8分",
                    ),
                    Item(
                        "daily.catalogue_and_channels",
                        "编制更新公开目录和指南，公开受理机构及方式，多种形式公开",
                        _d(10),
                    ),
                ),
            ),
        ),
    )
)

GRADES = ((Decimal(90), "优秀"), (Decimal(70), "良好"), (Decimal(60), "合格"))


def grade(total: Decimal, maximum: Decimal) -> str:
    """100分制: 90 and above 优秀, 70–89 良好, 60–69 合格, below 不合格 (scaled to the scheme)."""
    percent = total * 100 / maximum if maximum else Decimal(0)
    return next((label for floor, label in GRADES if percent >= floor), "不合格")


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Approval:
    item_id: str
    item_version: int
    recorded_at: datetime
    event_id: str = ""


@dataclass(frozen=True)
class Proof:
    """What the log shows for one kind of evidence: how many things were checked, and the
    ones that fail, each described."""

    checked: int
    failures: tuple[str, ...] = ()


def prove(
    year: int,
    facts: Facts,
    approvals: Sequence[Approval],
    sign_offs: Mapping[tuple[int, int], date],
    today: date,
) -> dict[Evidence, Proof]:
    """The evidence of `year`. `sign_offs` maps (year, month) to the submission date, month 0
    for an annual report; the annual report checked is the previous year's (due in `year`)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    published = [
        f
        for item in fold_items(facts.items)
        for f in item.facts
        if f.kind is ItemFactKind.PUBLISHED and start <= f.on <= end
    ]
    unreviewed = [
        f"{f.item_id} 第{f.item_version}版 {f.on.isoformat()} 公开，未见审查通过记录"
        for f in published
        if not any(
            a.item_id == f.item_id
            and a.item_version == f.item_version
            and a.recorded_at <= f.recorded_at
            for a in approvals
        )
    ]
    replies = [
        h
        for h in fold_requests(facts.requests)
        if h.closed is not None
        and h.closed.on_time is not None
        and h.closed_on is not None
        and start <= h.closed_on <= end
    ]
    late_replies = [
        f"{h.request_id} {h.closed.on.isoformat()} 逾期答复"
        for h in replies
        if h.closed is not None and h.closed.on_time is False
    ]
    months_due, months_failed = 0, []
    for month in range(1, 13):
        status = sign_off_status(sign_offs.get((year, month)), monthly_due_on(year, month), today)
        if status is not SignOffStatus.NOT_DUE:
            months_due += 1
        if status in (SignOffStatus.LATE, SignOffStatus.MISSING):
            what = "逾期报送" if status is SignOffStatus.LATE else "逾期未报"
            months_failed.append(f"{year}年{month}月统计月报{what}")
    annual = sign_off_status(sign_offs.get((year - 1, 0)), annual_due_on(year - 1), today)
    annual_failures = (
        [f"{year - 1}年度报告{'逾期公布' if annual is SignOffStatus.LATE else '逾期未公布'}"]
        if annual in (SignOffStatus.LATE, SignOffStatus.MISSING)
        else []
    )
    return {
        Evidence.REVIEWED_BEFORE_PUBLICATION: Proof(len(published), tuple(unreviewed)),
        Evidence.REQUESTS_ANSWERED_ON_TIME: Proof(len(replies), tuple(late_replies)),
        Evidence.MONTHLY_REPORTS_ON_TIME: Proof(months_due, tuple(months_failed)),
        Evidence.ANNUAL_REPORT_ON_TIME: Proof(
            0 if annual is SignOffStatus.NOT_DUE else 1, tuple(annual_failures)
        ),
    }


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Entry:
    score: Decimal
    reason: str
    recorded_at: datetime | None = None


class EntryError(ValueError):
    pass


def check_entry(scheme: Item, key: str, score: Decimal) -> Item:
    """The item an entry is for; refused for an unknown key, a group, an evidence item or a
    score outside 0 … maximum."""
    item = scheme.find(key)
    if item is None:
        raise EntryError(f"no item {key!r}; items entered by the bureau: {entered_keys(scheme)}")
    if not item.entered:
        what = "a group (its items are scored)" if item.children else "scored from evidence"
        raise EntryError(f"{key} ({item.title}) is {what}; cannot be entered")
    if not Decimal(0) <= score <= item.max_points:
        raise EntryError(f"{key}: the score must be between 0 and {item.max_points}")
    return item


def entered_keys(scheme: Item) -> list[str]:
    return [i.key for i in scheme.walk() if i.entered]


@dataclass(frozen=True)
class Scored:
    item: Item
    score: Decimal | None  # None: not entered yet
    complete: bool
    deducted: Decimal = Decimal(0)
    proof: Proof | None = None
    entry: Entry | None = None
    children: tuple[Scored, ...] = field(default=())


def score(scheme: Item, proofs: Mapping[Evidence, Proof], entries: Mapping[str, Entry]) -> Scored:
    """The tree with scores: evidence items from their proof, entered items from the entries;
    a group's score is the sum of its items' scores so far, `complete` once every item has one."""
    if scheme.children:
        children = tuple(score(c, proofs, entries) for c in scheme.children)
        total = sum((c.score or Decimal(0) for c in children), Decimal(0))
        return Scored(scheme, total, all(c.complete for c in children), children=children)
    if scheme.evidence is not None:
        proof = proofs.get(scheme.evidence, Proof(0))
        deducted = min(scheme.max_points, scheme.deduction * len(proof.failures))
        return Scored(scheme, scheme.max_points - deducted, True, deducted, proof)
    entry = entries.get(scheme.key)
    if entry is None:
        return Scored(scheme, None, False)
    return Scored(scheme, entry.score, True, scheme.max_points - entry.score, entry=entry)
