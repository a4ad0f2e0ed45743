"""Builds a bureau's monthly statistics from facts: pure, no I/O. Requests, cases and items are
folded exactly as the annual report folds them, so twelve months add up to the year."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    CHANNEL_LABELS,
    ITEM_CATEGORY_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    Channel,
    ItemCategory,
    ReplyOutcome,
)

from ..annual_report import layout as L
from ..annual_report.builder import (
    CaseHistory,
    ItemHistory,
    RequestHistory,
    fold_cases,
    fold_items,
    fold_requests,
)
from ..annual_report.facts import Facts, RequestFact, RequestFactKind

Figure = int | Decimal
T = TypeVar("T")

# Group headings of the return (定西市-style 本期实际 / 本年累计, disclosure-rules §9).
PROACTIVE = "一、主动公开政府信息"
RECEIVED_BY_CHANNEL = "二、收到政府信息公开申请（按申请渠道）"
RECEIVED_BY_APPLICANT = "三、收到政府信息公开申请（按申请人）"
CLOSED = "四、办结政府信息公开申请（按办理结果）"
TIMELINESS = "五、答复时限"
FEES = "六、信息处理费"
CASES = "七、行政复议、行政诉讼"

THIS_PERIOD = "本期"
YEAR_TO_DATE = "本年累计"


@dataclass(frozen=True)
class Line:
    """One indicator: its key (stable, used in the frozen figures), group, label and values.
    A stock (open at month end) has the same value in both columns."""

    key: str
    group: str
    label: str
    this_period: Figure
    year_to_date: Figure
    stock: bool = False


@dataclass(frozen=True)
class MonthlyReport:
    bureau_id: str
    bureau_name: str
    year: int
    month: int
    as_of: datetime | None
    lines: tuple[Line, ...]

    @property
    def title(self) -> str:
        return f"{self.bureau_name}{self.year}年{self.month}月政府信息公开工作统计月报"

    def line(self, key: str) -> Line:
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(key)

    def figures(self) -> dict[str, int | str]:
        """The figures as frozen in MonthlyReportSubmitted: `<key>:this_period` and
        `<key>:year_to_date`; amounts in 元 as strings with two decimals."""
        out: dict[str, int | str] = {}
        for line in self.lines:
            out[f"{line.key}:this_period"] = _frozen(line.this_period)
            out[f"{line.key}:year_to_date"] = _frozen(line.year_to_date)
        return out


def _frozen(value: Figure) -> int | str:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class _Folded:
    requests: Sequence[RequestHistory]
    cases: Sequence[CaseHistory]
    items: Sequence[ItemHistory]
    request_facts: Sequence[RequestFact]


Indicator = tuple[str, str, str, Callable[[_Folded, date, date], Figure], bool]


def _received(f: _Folded, start: date, end: date) -> list[RequestHistory]:
    return [h for h in f.requests if h.received is not None and start <= h.received.on <= end]


def _closed(f: _Folded, start: date, end: date) -> list[RequestHistory]:
    # Only requests whose receipt is known, each on its clamped closing day: as table 三 counts.
    return [
        h
        for h in f.requests
        if h.received is not None
        and h.closed is not None
        and h.closed_on is not None
        and start <= h.closed_on <= end
    ]


def _applicant(h: RequestHistory) -> ApplicantCategory:
    assert h.received is not None
    return h.received.applicant_category or ApplicantCategory.NATURAL_PERSON


def _outcome(h: RequestHistory) -> ReplyOutcome:
    assert h.closed is not None
    return h.closed.outcome or ReplyOutcome.OTHER


def _first_published(f: _Folded, start: date, end: date) -> list[ItemHistory]:
    out = []
    for item in f.items:
        first = item.first_publication
        if first is not None and start <= first.on <= end:
            out.append(item)
    return out


def _published_category(item: ItemHistory) -> ItemCategory:
    first = item.first_publication
    assert first is not None
    return first.category


def _fees(kind: RequestFactKind, amount: bool) -> Callable[[_Folded, date, date], Figure]:
    def compute(f: _Folded, start: date, end: date) -> Figure:
        chosen = [x for x in f.request_facts if x.kind is kind and start <= x.on <= end]
        if amount:
            return sum((x.amount_yuan or Decimal(0) for x in chosen), Decimal("0.00"))
        return len(chosen)

    return compute


_LITIGATION = (L.CaseBlock.LITIGATION_DIRECT, L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION)


def _cases(blocks: Iterable[L.CaseBlock], decided: bool) -> Callable[[_Folded, date, date], int]:
    wanted = set(blocks)

    def compute(f: _Folded, start: date, end: date) -> int:
        n = 0
        for h in f.cases:
            filed = h.filed
            if filed is None or filed.block not in wanted:
                continue
            if not decided:
                n += start <= filed.on <= end
            elif h.decided is not None:
                # A decision dated before its filing counts on the filing day, as in table 四.
                n += start <= max(h.decided.on, filed.on) <= end
        return n

    return compute


def _outcome_label(outcome: ReplyOutcome) -> str:
    group = L.outcome_group(outcome)
    label = REPLY_OUTCOME_LABELS[outcome]
    return f"{group}{label}" if group and group != label else label


def _counting(
    select: Callable[[_Folded, date, date], Sequence[T]], keep: Callable[[T], bool]
) -> Callable[[_Folded, date, date], Figure]:
    def compute(f: _Folded, start: date, end: date) -> Figure:
        return sum(1 for x in select(f, start, end) if keep(x))

    return compute


def _items_of(category: ItemCategory) -> Callable[[_Folded, date, date], Figure]:
    return _counting(_first_published, lambda i: _published_category(i) is category)


def _received_by(channel: Channel) -> Callable[[_Folded, date, date], Figure]:
    return _counting(_received, lambda h: h.received is not None and h.received.channel is channel)


def _received_from(applicant: ApplicantCategory) -> Callable[[_Folded, date, date], Figure]:
    return _counting(_received, lambda h: _applicant(h) is applicant)


def _closed_as(outcome: ReplyOutcome) -> Callable[[_Folded, date, date], Figure]:
    return _counting(_closed, lambda h: _outcome(h) is outcome)


def _indicators() -> list[Indicator]:
    out: list[Indicator] = [
        (
            "items.published.total",
            PROACTIVE,
            "主动公开政府信息（条）",
            lambda f, s, e: len(_first_published(f, s, e)),
            False,
        )
    ]
    for category in ItemCategory:
        out.append(
            (
                f"items.published.{category.value}",
                PROACTIVE,
                f"其中：{ITEM_CATEGORY_LABELS[category]}",
                _items_of(category),
                False,
            )
        )
    out.append(
        (
            "requests.received.total",
            RECEIVED_BY_CHANNEL,
            "收到申请总数（件）",
            lambda f, s, e: len(_received(f, s, e)),
            False,
        )
    )
    for channel in Channel:
        out.append(
            (
                f"requests.received.channel.{channel.value}",
                RECEIVED_BY_CHANNEL,
                CHANNEL_LABELS[channel],
                _received_by(channel),
                False,
            )
        )
    for applicant in ApplicantCategory:
        label = APPLICANT_CATEGORY_LABELS[applicant]
        if applicant is not ApplicantCategory.NATURAL_PERSON:
            label = f"法人或其他组织：{label}"
        out.append(
            (
                f"requests.received.applicant.{applicant.value}",
                RECEIVED_BY_APPLICANT,
                label,
                _received_from(applicant),
                False,
            )
        )
    out.append(
        (
            "requests.closed.total",
            CLOSED,
            "办结总数（件）",
            lambda f, s, e: len(_closed(f, s, e)),
            False,
        )
    )
    for outcome in ReplyOutcome:
        out.append(
            (
                f"requests.closed.outcome.{outcome.value}",
                CLOSED,
                _outcome_label(outcome),
                _closed_as(outcome),
                False,
            )
        )
    out += [
        (
            "requests.replied.on_time",
            TIMELINESS,
            "按期答复",
            lambda f, s, e: sum(
                1 for h in _closed(f, s, e) if h.closed and h.closed.on_time is True
            ),
            False,
        ),
        (
            "requests.replied.late",
            TIMELINESS,
            "逾期答复",
            lambda f, s, e: sum(
                1 for h in _closed(f, s, e) if h.closed and h.closed.on_time is False
            ),
            False,
        ),
        (
            "requests.open_at_end",
            TIMELINESS,
            "月末尚未办结",
            lambda f, s, e: sum(
                1 for h in f.requests if h.received is not None and h.open_at_end_of(e)
            ),
            True,
        ),
        (
            "fees.noticed.count",
            FEES,
            "发出收费通知（件）",
            _fees(RequestFactKind.FEE_NOTICED, False),
            False,
        ),
        (
            "fees.noticed.yuan",
            FEES,
            "通知金额（元）",
            _fees(RequestFactKind.FEE_NOTICED, True),
            False,
        ),
        ("fees.paid.count", FEES, "实际收费（件）", _fees(RequestFactKind.FEE_PAID, False), False),
        ("fees.paid.yuan", FEES, "实际收取（元）", _fees(RequestFactKind.FEE_PAID, True), False),
        (
            "cases.reconsideration.filed",
            CASES,
            "行政复议：新收",
            _cases([L.CaseBlock.RECONSIDERATION], False),
            False,
        ),
        (
            "cases.reconsideration.decided",
            CASES,
            "行政复议：审结",
            _cases([L.CaseBlock.RECONSIDERATION], True),
            False,
        ),
        ("cases.litigation.filed", CASES, "行政诉讼：新收", _cases(_LITIGATION, False), False),
        ("cases.litigation.decided", CASES, "行政诉讼：审结", _cases(_LITIGATION, True), False),
    ]
    return out


INDICATORS: tuple[Indicator, ...] = tuple(_indicators())


def build_monthly_report(
    bureau_id: str, year: int, month: int, facts: Facts, *, as_of: datetime | None = None
) -> MonthlyReport:
    """本期 = the month; 本年累计 = 1 January to the month's last day; from the facts recorded
    up to `as_of` (all of them when None)."""
    facts = facts.as_of(as_of)
    folded = _Folded(
        requests=fold_requests(facts.requests),
        cases=fold_cases(facts.cases),
        items=fold_items(facts.items),
        request_facts=facts.requests,
    )
    end = month_end(year, month)
    lines = tuple(
        Line(
            key,
            group,
            label,
            compute(folded, date(year, month, 1), end),
            compute(folded, date(year, 1, 1), end),
            stock,
        )
        for key, group, label, compute, stock in INDICATORS
    )
    return MonthlyReport(
        bureau_id=bureau_id,
        bureau_name=facts.bureau_name() or bureau_id,
        year=year,
        month=month,
        as_of=as_of,
        lines=lines,
    )
