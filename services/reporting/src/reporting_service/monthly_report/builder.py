"""Builds a bureau's monthly statistics from facts: pure, no I/O. Requests, cases and items are
folded exactly as the annual report folds them, so twelve months add up to the year."""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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
    RequestHistory,
    fold_cases,
    fold_items,
    fold_requests,
)
from ..annual_report.facts import Facts, ItemFact, RequestFact, RequestFactKind

Figure = int | Decimal

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
    """The facts folded once, with each history's dates worked out once: every indicator of
    every month reads these lists instead of rescanning the histories."""

    received: Sequence[RequestHistory]  # receipt known
    closed: Sequence[tuple[date, RequestHistory]]  # receipt known, closed: (clamped day, …)
    cases: Sequence[CaseHistory]
    first_published: Sequence[ItemFact]  # each item's first publication
    request_facts: Sequence[RequestFact]


def _fold(facts: Facts) -> _Folded:
    received = [h for h in fold_requests(facts.requests) if h.received is not None]
    closed = []
    for h in received:
        closed_on = h.closed_on
        if h.closed is not None and closed_on is not None:
            closed.append((closed_on, h))
    firsts = [item.first_publication for item in fold_items(facts.items)]
    return _Folded(
        received=received,
        closed=closed,
        cases=fold_cases(facts.cases),
        first_published=[f for f in firsts if f is not None],
        request_facts=facts.requests,
    )


# An indicator's contributions: (day, value) pairs. A flow sums those dated in the period; a
# stock (open at month end) sums those dated up to the period's end.
Contributions = Sequence[tuple[date, Figure]]
Indicator = tuple[str, str, str, Callable[[_Folded], Contributions], bool]


def _received(keep: Callable[[RequestHistory], bool]) -> Callable[[_Folded], Contributions]:
    def compute(f: _Folded) -> Contributions:
        return [(h.received.on, 1) for h in f.received if h.received is not None and keep(h)]

    return compute


def _closed(keep: Callable[[RequestHistory], bool]) -> Callable[[_Folded], Contributions]:
    # Only requests whose receipt is known, each on its clamped closing day: as table 三 counts.
    def compute(f: _Folded) -> Contributions:
        return [(day, 1) for day, h in f.closed if keep(h)]

    return compute


def _open_at_end(f: _Folded) -> Contributions:
    # Open at the end of day e: received by e and not closed by e. The closing day is clamped
    # to the receipt, so a request closed by e was also received by e.
    return [*((h.received.on, 1) for h in f.received if h.received is not None)] + [
        (day, -1) for day, _ in f.closed
    ]


def _applicant(h: RequestHistory) -> ApplicantCategory:
    assert h.received is not None
    return h.received.applicant_category or ApplicantCategory.NATURAL_PERSON


def _outcome(h: RequestHistory) -> ReplyOutcome:
    assert h.closed is not None
    return h.closed.outcome or ReplyOutcome.OTHER


def _first_published(keep: Callable[[ItemFact], bool]) -> Callable[[_Folded], Contributions]:
    def compute(f: _Folded) -> Contributions:
        return [(first.on, 1) for first in f.first_published if keep(first)]

    return compute


def _fees(kind: RequestFactKind, amount: bool) -> Callable[[_Folded], Contributions]:
    def compute(f: _Folded) -> Contributions:
        return [
            (x.on, (x.amount_yuan or Decimal(0)) if amount else 1)
            for x in f.request_facts
            if x.kind is kind
        ]

    return compute


_LITIGATION = (L.CaseBlock.LITIGATION_DIRECT, L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION)


def _cases(blocks: Iterable[L.CaseBlock], decided: bool) -> Callable[[_Folded], Contributions]:
    wanted = set(blocks)

    def compute(f: _Folded) -> Contributions:
        out: list[tuple[date, Figure]] = []
        for h in f.cases:
            filed = h.filed
            if filed is None or filed.block not in wanted:
                continue
            if not decided:
                out.append((filed.on, 1))
            elif h.decided is not None:
                # A decision dated before its filing counts on the filing day, as in table 四.
                out.append((max(h.decided.on, filed.on), 1))
        return out

    return compute


def _outcome_label(outcome: ReplyOutcome) -> str:
    group = L.outcome_group(outcome)
    label = REPLY_OUTCOME_LABELS[outcome]
    return f"{group}{label}" if group and group != label else label


def _every(_: object) -> bool:
    return True


def _in_category(category: ItemCategory) -> Callable[[ItemFact], bool]:
    return lambda first: first.category is category


def _by_channel(channel: Channel) -> Callable[[RequestHistory], bool]:
    return lambda h: h.received is not None and h.received.channel is channel


def _from_applicant(applicant: ApplicantCategory) -> Callable[[RequestHistory], bool]:
    return lambda h: _applicant(h) is applicant


def _with_outcome(outcome: ReplyOutcome) -> Callable[[RequestHistory], bool]:
    return lambda h: _outcome(h) is outcome


def _indicators() -> list[Indicator]:
    out: list[Indicator] = [
        (
            "items.published.total",
            PROACTIVE,
            "主动公开政府信息（条）",
            _first_published(_every),
            False,
        )
    ]
    for category in ItemCategory:
        out.append(
            (
                f"items.published.{category.value}",
                PROACTIVE,
                f"其中：{ITEM_CATEGORY_LABELS[category]}",
                _first_published(_in_category(category)),
                False,
            )
        )
    out.append(
        (
            "requests.received.total",
            RECEIVED_BY_CHANNEL,
            "收到申请总数（件）",
            _received(_every),
            False,
        )
    )
    for channel in Channel:
        out.append(
            (
                f"requests.received.channel.{channel.value}",
                RECEIVED_BY_CHANNEL,
                CHANNEL_LABELS[channel],
                _received(_by_channel(channel)),
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
                _received(_from_applicant(applicant)),
                False,
            )
        )
    out.append(("requests.closed.total", CLOSED, "办结总数（件）", _closed(_every), False))
    for outcome in ReplyOutcome:
        out.append(
            (
                f"requests.closed.outcome.{outcome.value}",
                CLOSED,
                _outcome_label(outcome),
                _closed(_with_outcome(outcome)),
                False,
            )
        )
    out += [
        (
            "requests.replied.on_time",
            TIMELINESS,
            "按期答复",
            _closed(lambda h: h.closed is not None and h.closed.on_time is True),
            False,
        ),
        (
            "requests.replied.late",
            TIMELINESS,
            "逾期答复",
            _closed(lambda h: h.closed is not None and h.closed.on_time is False),
            False,
        ),
        ("requests.open_at_end", TIMELINESS, "月末尚未办结", _open_at_end, True),
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


class _Series:
    """One indicator's contributions sorted by day, summed over any span with two bisections."""

    def __init__(self, contributions: Contributions, amounts: bool) -> None:
        ordered = sorted(contributions, key=lambda c: c[0])
        self.days = [day for day, _ in ordered]
        self.values = [value for _, value in ordered]
        self.zero: Figure = Decimal("0.00") if amounts else 0

    def between(self, start: date | None, end: date) -> Figure:
        lo = 0 if start is None else bisect_left(self.days, start)
        hi = bisect_right(self.days, end)
        return sum(self.values[lo:hi], self.zero)


_AMOUNTS = frozenset({"fees.noticed.yuan", "fees.paid.yuan"})


def build_monthly_report(
    bureau_id: str, year: int, month: int, facts: Facts, *, as_of: datetime | None = None
) -> MonthlyReport:
    """本期 = the month; 本年累计 = 1 January to the month's last day; from the facts recorded
    up to `as_of` (all of them when None)."""
    return build_monthly_reports(bureau_id, year, facts, (month,), as_of=as_of)[month]


def build_monthly_reports(
    bureau_id: str,
    year: int,
    facts: Facts,
    months: Iterable[int] = range(1, 13),
    *,
    as_of: datetime | None = None,
) -> dict[int, MonthlyReport]:
    """The reports of several months of a year, folding the facts once for all of them: each
    equal to `build_monthly_report` of that month."""
    facts = facts.as_of(as_of)
    folded = _fold(facts)
    series = [
        (key, group, label, _Series(compute(folded), key in _AMOUNTS), stock)
        for key, group, label, compute, stock in INDICATORS
    ]
    name = facts.bureau_name() or bureau_id
    out = {}
    for month in months:
        start, end = date(year, month, 1), month_end(year, month)
        lines = []
        for key, group, label, values, stock in series:
            if stock:
                value = values.between(None, end)
                lines.append(Line(key, group, label, value, value, stock))
            else:
                lines.append(
                    Line(
                        key,
                        group,
                        label,
                        values.between(start, end),
                        values.between(date(year, 1, 1), end),
                        stock,
                    )
                )
        out[month] = MonthlyReport(
            bureau_id=bureau_id,
            bureau_name=name,
            year=year,
            month=month,
            as_of=as_of,
            lines=tuple(lines),
        )
    return out
