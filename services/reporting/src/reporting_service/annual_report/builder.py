"""Builds a bureau's annual report for a year from facts: pure, no I/O. Every figure keeps the
requests, cases or items (and their events) behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    CHANNEL_LABELS,
    ITEM_CATEGORY_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)

from . import layout as L
from .checks import CheckFailure, check_case_table, check_request_table
from .facts import (
    CaseFact,
    CaseFactKind,
    Facts,
    ItemFact,
    ItemFactKind,
    Narrative,
    RequestFact,
    RequestFactKind,
)

TEN_THOUSAND = Decimal(10000)


@dataclass(frozen=True)
class Source:
    """A request, case or catalogue item counted in a cell, with the events that place it."""

    kind: str  # "request" | "case" | "item"
    id: str
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    value: int | Decimal
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Table:
    """One table's cells by (row key, column key); a missing cell is 0 with no sources."""

    name: str  # 二, 三, 四
    cells: Mapping[tuple[str, str], Cell]

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.get((row, column), Cell(0))

    def value(self, row: str, column: str) -> int | Decimal:
        return self.cell(row, column).value

    def count(self, row: str, column: str) -> int:
        value = self.value(row, column)
        assert isinstance(value, int)
        return value

    def figures(self) -> dict[tuple[str, str], int]:
        return {k: c.value for k, c in self.cells.items() if isinstance(c.value, int)}


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: str | None = None  # 二, 三 or 四: the section is that table
    figures: tuple[tuple[str, int | Decimal], ...] = ()  # 2007-era sections: label, value


@dataclass(frozen=True)
class AnnualReport:
    bureau_id: str
    bureau_name: str
    year: int
    format: L.ReportFormat
    as_of: datetime | None
    sections: tuple[Section, ...]
    items: Table  # 二
    requests: Table  # 三 (in the 2021 layout for 2007-era years, which print no table)
    cases: Table  # 四
    failures: tuple[CheckFailure, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return L.report_title(self.bureau_name, self.year)

    @property
    def request_layout(self) -> L.ReportFormat:
        return L.ReportFormat.F2019 if self.format is L.ReportFormat.F2019 else L.ReportFormat.F2021

    def table(self, name: str) -> Table:
        tables = {"二": self.items, "三": self.requests, "四": self.cases}
        if name not in tables:
            raise KeyError(f"no table {name!r}: expected 二, 三 or 四")
        return tables[name]


def cell_key(table: str, row: str, column: str) -> str:
    return f"{table}:{row}:{column}"


# ---------------------------------------------------------------- the report


def build_annual_report(
    bureau_id: str,
    year: int,
    facts: Facts,
    narrative: Narrative | None = None,
    *,
    as_of: datetime | None = None,
) -> AnnualReport:
    """The report of `year` from the facts recorded up to `as_of` (all of them when None)."""
    facts = facts.as_of(as_of)
    narrative = narrative or Narrative()
    fmt = L.format_for_year(year)
    request_fmt = L.ReportFormat.F2019 if fmt is L.ReportFormat.F2019 else L.ReportFormat.F2021
    requests = fold_requests(facts.requests)
    request_table = build_request_table(requests, year, request_fmt)
    case_table = build_case_table(fold_cases(facts.cases), year)
    items = fold_items(facts.items)
    item_table = build_item_table(items, year, fmt)
    failures = check_request_table(request_table.figures(), request_fmt) + check_case_table(
        case_table.figures()
    )
    fees = _fees(facts.requests, year)
    notes: list[str] = []
    if fmt is L.ReportFormat.F2007:
        sections = _sections_2007(
            year, narrative, requests, request_table, case_table, items, facts.cases, fees
        )
    else:
        sections = (
            Section(L.OVERVIEW, _paragraphs(narrative.overview)),
            Section(L.PROACTIVE, table="二"),
            Section(L.REQUESTS, table="三"),
            Section(L.CASES, table="四"),
            Section(L.PROBLEMS, _paragraphs(narrative.problems_and_improvements)),
            Section(L.OTHER_MATTERS, (*_paragraphs(narrative.other_matters), _fee_sentence(fees))),
        )
        notes += _table2_notes(fmt)
    notes += [
        f"“{s.heading}”尚待本机关填写。"
        for s in sections
        if s.table is None and not s.figures and not s.paragraphs
    ]
    if failures:
        notes.append(f"勾稽关系校验未通过（{len(failures)}处），不能发布。")
    return AnnualReport(
        bureau_id=bureau_id,
        bureau_name=facts.bureau_name() or bureau_id,
        year=year,
        format=fmt,
        as_of=as_of,
        sections=sections,
        items=item_table,
        requests=request_table,
        cases=case_table,
        failures=tuple(failures),
        notes=tuple(notes),
    )


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


# ---------------------------------------------------------------- table 三


@dataclass
class RequestHistory:
    request_id: str
    received: RequestFact | None = None
    closed: RequestFact | None = None

    @property
    def closed_on(self) -> date | None:
        """A closing can never precede the receipt: clamped, so 一 + 二 = 三 + 四 holds."""
        if self.closed is None:
            return None
        if self.received is None:
            return self.closed.on
        return max(self.closed.on, self.received.on)

    def open_at_end_of(self, day: date) -> bool:
        assert self.received is not None
        closed_on = self.closed_on
        return self.received.on <= day and (closed_on is None or closed_on > day)

    def source(self) -> Source:
        events = [f.event_id for f in (self.received, self.closed) if f is not None]
        return Source("request", self.request_id, tuple(events))


def fold_requests(facts: Iterable[RequestFact]) -> list[RequestHistory]:
    """One history per request: its receipt and its first closing (a request closes once)."""
    histories: dict[str, RequestHistory] = {}
    for fact in sorted(facts, key=lambda f: (f.recorded_at, f.on, f.event_id)):
        history = histories.setdefault(fact.request_id, RequestHistory(fact.request_id))
        if fact.kind is RequestFactKind.RECEIVED and history.received is None:
            history.received = fact
        elif fact.kind is RequestFactKind.CLOSED and history.closed is None:
            history.closed = fact
    return [histories[k] for k in sorted(histories)]


class _Cells:
    """Collects sources per cell; the value of a count cell is the number of its sources."""

    def __init__(self) -> None:
        self.sources: dict[tuple[str, str], list[Source]] = defaultdict(list)

    def add(self, row: str, column: str, source: Source) -> None:
        self.sources[(row, column)].append(source)

    def counts(self) -> dict[tuple[str, str], Cell]:
        return {k: Cell(len(v), tuple(v)) for k, v in self.sources.items() if v}


def build_request_table(
    histories: Sequence[RequestHistory], year: int, fmt: L.ReportFormat
) -> Table:
    """一 received in the year; 二 received before it and open on 1 January; 三 closed in the
    year by outcome; 四 open on 31 December. Columns by the applicant's category; the 总计
    row and column are sums, so the cross-checks hold by construction."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    cells = _Cells()
    for history in histories:
        received = history.received
        if received is None or received.on > end:
            continue
        column = (received.applicant_category or ApplicantCategory.NATURAL_PERSON).value
        source = history.source()
        closed_on = history.closed_on
        if received.on >= start:
            cells.add(L.ROW_NEW, column, source)
        elif history.open_at_end_of(date(year - 1, 12, 31)):
            cells.add(L.ROW_CARRIED_IN, column, source)
        if history.closed is not None and closed_on is not None and start <= closed_on <= end:
            outcome = history.closed.outcome or ReplyOutcome.OTHER
            cells.add(L.outcome_row_key(outcome, fmt), column, source)
        if history.open_at_end_of(end):
            cells.add(L.ROW_CARRIED_OUT, column, source)
    rows = L.table3_rows(fmt)
    applicants = [c.value for c in ApplicantCategory]
    for column in applicants:
        for row in rows:
            if row.outcome_row:
                for source in cells.sources.get((row.key, column), []):
                    cells.add(L.ROW_TOTAL, column, source)
    for row in rows:
        for column in applicants:
            for source in cells.sources.get((row.key, column), []):
                cells.add(row.key, L.TOTAL_KEY, source)
    return Table("三", cells.counts())


# ---------------------------------------------------------------- table 四


@dataclass
class CaseHistory:
    case_id: str
    filed: CaseFact | None = None
    decided: CaseFact | None = None

    def source(self) -> Source:
        events = [f.event_id for f in (self.filed, self.decided) if f is not None]
        return Source("case", self.case_id, tuple(events))


def fold_cases(facts: Iterable[CaseFact]) -> list[CaseHistory]:
    histories: dict[str, CaseHistory] = {}
    for fact in sorted(facts, key=lambda f: (f.recorded_at, f.on, f.event_id)):
        history = histories.setdefault(fact.case_id, CaseHistory(fact.case_id))
        if fact.kind is CaseFactKind.FILED and history.filed is None:
            history.filed = fact
        elif fact.kind is CaseFactKind.DECIDED and history.decided is None:
            history.decided = fact
    return [histories[k] for k in sorted(histories)]


def build_case_table(histories: Sequence[CaseHistory], year: int) -> Table:
    """Decided in the year: by result; filed by 31 December and not decided by then: 尚未审结."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    cells = _Cells()
    for history in histories:
        filed = history.filed
        if filed is None or filed.block is None or filed.on > end:
            continue
        decided = history.decided
        decided_on = max(decided.on, filed.on) if decided is not None else None
        if decided is not None and decided_on is not None and start <= decided_on <= end:
            result = decided.result or CaseResult.OTHER
            cells.add(filed.block.value, result.value, history.source())
        elif decided_on is None or decided_on > end:
            cells.add(filed.block.value, L.PENDING_KEY, history.source())
    for block in L.CaseBlock:
        for key, _ in L.CASE_COLUMNS[:-1]:
            for source in cells.sources.get((block.value, key), []):
                cells.add(block.value, L.TOTAL_KEY, source)
    return Table("四", cells.counts())


# ---------------------------------------------------------------- table 二


@dataclass
class ItemHistory:
    item_id: str
    facts: list[ItemFact] = field(default_factory=list)

    def _first(self, kind: ItemFactKind) -> ItemFact | None:
        return next((f for f in self.facts if f.kind is kind), None)

    @property
    def first_publication(self) -> ItemFact | None:
        published = [f for f in self.facts if f.kind is ItemFactKind.PUBLISHED]
        firsts = [f for f in published if f.first_publication]
        return (firsts or published)[0] if published else None

    @property
    def drafted(self) -> ItemFact | None:
        return self._first(ItemFactKind.DRAFTED)

    def published_by(self, day: date) -> bool:
        first = self.first_publication
        return first is not None and first.on <= day

    def first_published_in(self, year: int) -> bool:
        first = self.first_publication
        return first is not None and first.on.year == year

    def repealed_in(self, year: int) -> ItemFact | None:
        repealed = self._first(ItemFactKind.REPEALED)
        return repealed if repealed is not None and repealed.on.year == year else None

    def ended_by(self, kind: ItemFactKind, day: date) -> bool:
        ended = self._first(kind)
        return ended is not None and ended.on <= day

    def withdrawn_by(self, day: date) -> bool:
        return self.ended_by(ItemFactKind.WITHDRAWN, day)

    def in_force(self, day: date) -> bool:
        """现行有效: published, neither repealed (废止) nor withdrawn by `day`."""
        return (
            self.published_by(day)
            and not self.ended_by(ItemFactKind.REPEALED, day)
            and not self.withdrawn_by(day)
        )

    def latest_publication(self, day: date) -> ItemFact | None:
        published = [f for f in self.facts if f.kind is ItemFactKind.PUBLISHED and f.on <= day]
        return published[-1] if published else None

    def category(self, day: date) -> ItemCategory:
        """The category of the version in the catalogue on `day`."""
        latest = self.latest_publication(day)
        return (latest or self.facts[0]).category

    def source(self, day: date) -> Source:
        events = tuple(f.event_id for f in self.facts if f.on <= day)
        return Source("item", self.item_id, events)


def fold_items(facts: Iterable[ItemFact]) -> list[ItemHistory]:
    histories: dict[str, ItemHistory] = {}
    for fact in sorted(facts, key=lambda f: (f.on, f.recorded_at, f.event_id)):
        histories.setdefault(fact.item_id, ItemHistory(fact.item_id)).facts.append(fact)
    return [histories[k] for k in sorted(histories)]


def build_item_table(items: Sequence[ItemHistory], year: int, fmt: L.ReportFormat) -> Table:
    """Table 二 from the catalogue, in the year's layout (2021 layout for 2007-era years)."""
    end, previous_end = date(year, 12, 31), date(year - 1, 12, 31)
    cells = _Cells()
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)

    def issued(item: ItemHistory, category: ItemCategory) -> bool:
        return (
            item.first_published_in(year)
            and not item.withdrawn_by(end)
            and item.category(end) is category
        )

    for block in L.table2_layout(fmt):
        for row in block.rows:
            if row.category is None:
                continue
            category = row.category
            for item in items:
                source = item.source(end)
                for column in block.columns:
                    counted = False
                    match column:
                        case L.ISSUED | L.DECISIONS | L.PUBLISHED_2019 | L.DECISIONS_2019:
                            counted = issued(item, category)
                        case L.REPEALED:
                            repealed = item.repealed_in(year)
                            counted = repealed is not None and repealed.category is category
                        case L.IN_FORCE:
                            counted = item.in_force(end) and item.category(end) is category
                        case L.PUBLIC_TOTAL_2019:
                            counted = (
                                item.published_by(end)
                                and not item.withdrawn_by(end)
                                and item.category(end) is category
                            )
                        case L.MADE_2019:
                            drafted = item.drafted
                            counted = (
                                drafted is not None
                                and drafted.on.year == year
                                and drafted.category is category
                            )
                        case L.FEE_AMOUNT if issued(item, category):
                            latest = item.latest_publication(end)
                            fee = latest.fee_amount_yuan if latest else None
                            amounts[(row.label, column)] += fee or Decimal(0)
                            counted = True
                        case L.PREVIOUS_ITEMS_2019 if category is ItemCategory.ADMINISTRATIVE_FEE:
                            counted = (
                                item.in_force(previous_end)
                                and item.category(previous_end) is category
                            )
                        case L.CHANGE_2019 if category is ItemCategory.ADMINISTRATIVE_FEE:
                            before = item.in_force(previous_end) and (
                                item.category(previous_end) is category
                            )
                            after = item.in_force(end) and item.category(end) is category
                            if before != after:
                                cells.add(row.label, column, source)
                                amounts[(row.label, column)] += 1 if after else -1
                    if counted:
                        cells.add(row.label, column, source)
    table: dict[tuple[str, str], Cell] = cells.counts()
    for key, amount in amounts.items():
        sources = table[key].sources if key in table else ()
        if key[1] == L.FEE_AMOUNT:
            # 元 → 万元, exact, without trailing zeros (0.17, not 0.170000).
            table[key] = Cell((amount / TEN_THOUSAND).normalize(), sources)
        else:
            table[key] = Cell(int(amount), sources)  # 本年增/减: in minus out
    return Table("二", table)


def _table2_notes(fmt: L.ReportFormat) -> list[str]:
    if fmt is L.ReportFormat.F2021:
        return ["表二“本年收费金额（单位：万元）”为本年首次公开的行政事业性收费条目所载金额之和。"]
    return [
        "表二：目录不记录行政许可、行政处罚、行政强制的事项清单，其“上一年项目数量”“本年增/减”"
        "以及“其他对外管理服务事项”、第二十条第（九）项“政府集中采购”填0，请核对后补充。",
        "表二“本年新制作数量”按目录条目的生成日期统计；行政事业性收费的项目数量为年末现行有效的"
        "收费条目数。",
    ]


# ---------------------------------------------------------------- fees


@dataclass(frozen=True)
class Fees:
    noticed: int
    noticed_yuan: Decimal
    paid: int
    paid_yuan: Decimal


def _fees(facts: Iterable[RequestFact], year: int) -> Fees:
    noticed = [f for f in facts if f.kind is RequestFactKind.FEE_NOTICED and f.on.year == year]
    paid = [f for f in facts if f.kind is RequestFactKind.FEE_PAID and f.on.year == year]
    return Fees(
        len(noticed),
        sum((f.amount_yuan or Decimal(0) for f in noticed), Decimal("0.00")),
        len(paid),
        sum((f.amount_yuan or Decimal(0) for f in paid), Decimal("0.00")),
    )


def _fee_sentence(fees: Fees) -> str:
    """六、其他需要报告的事项: 信息处理费 under 国办函〔2020〕109号, filled in automatically."""
    if not fees.noticed and not fees.paid:
        return "本年度未收取信息处理费。"
    return (
        f"本年度发出信息处理费收费通知{fees.noticed}件，实际收取信息处理费{fees.paid_yuan:.2f}元。"
    )


# ---------------------------------------------------------------- 2007-era sections


def _strip_number(label: str) -> str:
    return label.split(".", 1)[1] if "." in label[:3] else label


def _sections_2007(
    year: int,
    narrative: Narrative,
    requests: Sequence[RequestHistory],
    table: Table,
    cases: Table,
    items: Sequence[ItemHistory],
    case_facts: Sequence[CaseFact],
    fees: Fees,
) -> tuple[Section, ...]:
    end = date(year, 12, 31)
    total = L.TOTAL_KEY

    # 主动公开: every catalogue item first published in the year, by category.
    published = [i for i in items if i.first_published_in(year) and not i.withdrawn_by(end)]
    by_category = {c: sum(1 for i in published if i.category(end) is c) for c in ItemCategory}
    repealed = sum(1 for i in items if i.repealed_in(year) is not None)
    proactive_figures: list[tuple[str, int | Decimal]] = [
        ("本年度主动公开政府信息", len(published))
    ]
    proactive_figures += [(ITEM_CATEGORY_LABELS[c], n) for c, n in by_category.items()]
    proactive_figures.append(("本年度废止", repealed))
    parts = "、".join(f"{ITEM_CATEGORY_LABELS[c]}{n}件" for c, n in by_category.items() if n)
    proactive = f"本年度主动公开政府信息{len(published)}条" + (f"，其中{parts}" if parts else "")
    proactive += f"；废止{repealed}件。"

    # 依申请公开.
    new = [h for h in requests if h.received is not None and h.received.on.year == year]
    by_channel = {
        c: sum(1 for h in new if h.received is not None and h.received.channel is c)
        for c in Channel
    }
    groups = {
        "予以公开": [ReplyOutcome.DISCLOSED],
        "部分公开": [ReplyOutcome.PARTIALLY_DISCLOSED],
        "不予公开": [o for o in ReplyOutcome if L.outcome_group(o) == L.WITHHELD_GROUP],
        "无法提供": [o for o in ReplyOutcome if L.outcome_group(o) == L.UNAVAILABLE_GROUP],
        "不予处理": [o for o in ReplyOutcome if L.outcome_group(o) == L.NOT_PROCESSED_GROUP],
        "其他处理": [o for o in ReplyOutcome if L.outcome_group(o) == L.OTHER_GROUP],
    }
    closed = table.count(L.ROW_TOTAL, total)
    group_counts = {g: sum(table.count(o.value, total) for o in os) for g, os in groups.items()}
    closed_ids = {s.id for s in table.cell(L.ROW_TOTAL, total).sources}
    on_time = sum(
        1
        for h in requests
        if h.request_id in closed_ids and h.closed is not None and h.closed.on_time
    )
    request_figures: list[tuple[str, int | Decimal]] = [
        ("本年度收到政府信息公开申请", table.count(L.ROW_NEW, total)),
        *((f"申请渠道：{CHANNEL_LABELS[c]}", n) for c, n in by_channel.items()),
        *(
            (f"申请人：{APPLICANT_CATEGORY_LABELS[c]}", table.count(L.ROW_NEW, c.value))
            for c in ApplicantCategory
        ),
        ("上年结转", table.count(L.ROW_CARRIED_IN, total)),
        ("本年度办结", closed),
        *group_counts.items(),
        ("按期答复", on_time),
        ("结转下年度继续办理", table.count(L.ROW_CARRIED_OUT, total)),
    ]
    channels = "、".join(f"{CHANNEL_LABELS[c]}{n}件" for c, n in by_channel.items() if n)
    handled = "，".join(f"{g}{n}件" for g, n in group_counts.items())
    request_text = (
        f"本年度共收到政府信息公开申请{table.count(L.ROW_NEW, total)}件"
        + (f"（{channels}）" if channels else "")
        + f"，上年结转{table.count(L.ROW_CARRIED_IN, total)}件。"
        + f"本年度办结{closed}件，其中{handled}；按期答复{on_time}件。"
        + f"结转下年度继续办理{table.count(L.ROW_CARRIED_OUT, total)}件。"
    )

    # 不予公开, by the ground.
    withheld_figures: list[tuple[str, int | Decimal]] = [
        (_strip_number(REPLY_OUTCOME_LABELS[o]), table.count(o.value, total))
        for o in groups["不予公开"]
    ]
    grounds = "、".join(f"{label}{n}件" for label, n in withheld_figures if n)
    withheld_text = (
        f"本年度不予公开{group_counts['不予公开']}件，其中{grounds}。"
        if group_counts["不予公开"]
        else "本年度无不予公开的情况。"
    )

    # 收费及减免.
    fee_figures: list[tuple[str, int | Decimal]] = [
        ("收费通知（件）", fees.noticed),
        ("通知金额（元）", fees.noticed_yuan),
        ("实际收取（元）", fees.paid_yuan),
    ]
    fee_text = (
        f"本年度发出收费通知{fees.noticed}件，金额{fees.noticed_yuan:.2f}元；"
        f"实际收取{fees.paid_yuan:.2f}元。"
        if fees.noticed or fees.paid
        else "本年度未收取政府信息公开费用。"
    )

    # 复议、诉讼: filed in the year; decided in the year by result; pending on 31 December.
    case_figures: list[tuple[str, int | Decimal]] = []
    case_texts: list[str] = []
    litigation = (L.CaseBlock.LITIGATION_DIRECT, L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION)
    for label, blocks in (
        (L.RECONSIDERATION, (L.CaseBlock.RECONSIDERATION,)),
        (L.LITIGATION, litigation),
    ):
        filed = sum(
            1
            for f in case_facts
            if f.kind is CaseFactKind.FILED and f.block in blocks and f.on.year == year
        )
        results = {
            column_label: sum(cases.count(b.value, key) for b in blocks)
            for key, column_label in L.CASE_COLUMNS[:-1]
        }
        decided = sum(n for k, n in results.items() if k != "尚未审结")
        case_figures += [(f"{label}：本年新收", filed), (f"{label}：本年审结", decided)]
        case_figures += [(f"{label}：{k}", n) for k, n in results.items()]
        verb = "申请行政复议" if blocks == (L.CaseBlock.RECONSIDERATION,) else "提起行政诉讼"
        case_texts.append(
            f"{verb}{filed}件，审结{decided}件（结果维持{results['结果维持']}件、"
            f"结果纠正{results['结果纠正']}件、其他结果{results['其他结果']}件），"
            f"年底尚未审结{results['尚未审结']}件"
        )
    case_text = "本年度因政府信息公开" + "；".join(case_texts) + "。"

    return (
        Section(L.OVERVIEW_2007, _paragraphs(narrative.overview)),
        Section(L.PROACTIVE_2007, (proactive,), figures=tuple(proactive_figures)),
        Section(L.REQUESTS_2007, (request_text,), figures=tuple(request_figures)),
        Section(L.WITHHELD_2007, (withheld_text,), figures=tuple(withheld_figures)),
        Section(L.FEES_2007, (fee_text,), figures=tuple(fee_figures)),
        Section(L.CASES_2007, (case_text,), figures=tuple(case_figures)),
        Section(L.PROBLEMS_2007, _paragraphs(narrative.problems_and_improvements)),
        Section(L.OTHER_MATTERS_2007, _paragraphs(narrative.other_matters)),
    )


# ---------------------------------------------------------------- finding a cell by labels


def find_cell(report: AnnualReport, table: str, row: str, column: str) -> tuple[str, str]:
    """(row key, column key) of the cell a reader names by its labels (or by its keys).
    Raises KeyError with the labels that exist."""
    if table == "三":
        rows = {r.label: r.key for r in L.table3_rows(report.request_layout)}
        columns = {label: key for key, label in L.APPLICANT_COLUMNS}
    elif table == "四":
        rows = {label: block.value for block, label in L.CASE_BLOCK_LABELS.items()}
        columns = {label: key for key, label in L.CASE_COLUMNS}
    elif table == "二":
        layout = L.table2_layout(report.format)
        rows = {r.label: r.label for b in layout for r in b.rows}
        columns = {c: c for b in layout for c in b.columns}
    else:
        raise KeyError(f"no table {table!r}: expected 二, 三 or 四")
    row_key = rows.get(row) or (row if row in rows.values() else None)
    column_key = columns.get(column) or (column if column in columns.values() else None)
    if row_key is None:
        raise KeyError(f"表{table} has no row “{row}”; rows: {'、'.join(rows)}")
    if column_key is None:
        raise KeyError(f"表{table} has no column “{column}”; columns: {'、'.join(columns)}")
    return row_key, column_key


def cell_labels(report: AnnualReport, table: str, row_key: str, column_key: str) -> tuple[str, str]:
    """The row and column labels of a cell given by its keys."""
    if table == "三":
        rows = {r.key: r.label for r in L.table3_rows(report.request_layout)}
        return rows[row_key], L.COLUMN_LABELS[column_key]
    if table == "四":
        return L.CASE_BLOCK_LABELS[L.CaseBlock(row_key)], L.CASE_COLUMN_LABELS[column_key]
    return row_key, column_key
