"""The annual report from hand-built facts: every table 三 row, carry-over in and out, table 四,
table 二, the 2019 and 2007-era formats, as_of, and the sources behind each figure."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gongkai_contracts.vocabulary import (
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)
from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import AnnualReport, build_annual_report, find_cell
from reporting_service.annual_report.facts import (
    CaseFact,
    CaseFactKind,
    Facts,
    ItemFact,
    ItemFactKind,
    Narrative,
    RequestFact,
    RequestFactKind,
)

NATURAL = ApplicantCategory.NATURAL_PERSON
COMPANY = ApplicantCategory.COMMERCIAL_ENTERPRISE
LAWYERS = ApplicantCategory.LEGAL_SERVICE_ORGANISATION
T0 = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Log:
    """Facts as the projections would store them; `at` is the recorded_at."""

    requests: list[RequestFact] = field(default_factory=list)
    cases: list[CaseFact] = field(default_factory=list)
    items: list[ItemFact] = field(default_factory=list)
    names: list[tuple[datetime, str]] = field(default_factory=list)
    n: int = 0

    def _id(self) -> str:
        self.n += 1
        return f"ev-{self.n}"

    def receive(
        self,
        rid: str,
        on: date,
        category: ApplicantCategory = NATURAL,
        channel: Channel = Channel.ONLINE,
        at: datetime = T0,
    ) -> str:
        event = self._id()
        self.requests.append(
            RequestFact(event, rid, RequestFactKind.RECEIVED, on, at, category, channel)
        )
        return event

    def close(
        self, rid: str, on: date, outcome: ReplyOutcome, at: datetime = T0, on_time: bool = True
    ) -> str:
        event = self._id()
        self.requests.append(
            RequestFact(
                event, rid, RequestFactKind.CLOSED, on, at, outcome=outcome, on_time=on_time
            )
        )
        return event

    def fee(self, rid: str, kind: RequestFactKind, on: date, amount: str) -> None:
        self.requests.append(
            RequestFact(self._id(), rid, kind, on, T0, amount_yuan=Decimal(amount))
        )

    def file(self, case_id: str, block: L.CaseBlock, on: date, at: datetime = T0) -> None:
        self.cases.append(CaseFact(self._id(), case_id, CaseFactKind.FILED, on, at, block))

    def decide(self, case_id: str, on: date, result: CaseResult, at: datetime = T0) -> None:
        self.cases.append(
            CaseFact(self._id(), case_id, CaseFactKind.DECIDED, on, at, result=result)
        )

    def item(
        self,
        item_id: str,
        kind: ItemFactKind,
        category: ItemCategory,
        on: date,
        *,
        first: bool | None = None,
        fee: str | None = None,
        version: int | None = None,
    ) -> None:
        self.items.append(
            ItemFact(
                self._id(),
                item_id,
                kind,
                category,
                on,
                T0,
                item_version=version,
                first_publication=first,
                fee_amount_yuan=Decimal(fee) if fee else None,
            )
        )

    def facts(self) -> Facts:
        return Facts(self.requests, self.cases, self.items, self.names)


def report(log: Log, year: int, **kwargs: object) -> AnnualReport:
    result = build_annual_report("b-1", year, log.facts(), **kwargs)  # type: ignore[arg-type]
    assert not result.failures, [f.message for f in result.failures]
    return result


def v(r: AnnualReport, row: str, column: str = L.TOTAL_KEY) -> int:
    return r.requests.count(row, column)


# ---------------------------------------------------------------- table 三


@pytest.mark.parametrize("outcome", list(ReplyOutcome))
def test_each_outcome_reaches_its_own_row(outcome: ReplyOutcome) -> None:
    log = Log()
    log.receive("r1", date(2026, 3, 3), COMPANY)
    log.close("r1", date(2026, 3, 20), outcome)
    r = report(log, 2026)
    rows = [row for row in L.table3_rows(L.ReportFormat.F2021) if row.outcome_row]
    counted = {row.label: v(r, row.key, COMPANY.value) for row in rows}
    assert counted == {row.label: int(row.label == REPLY_OUTCOME_LABELS[outcome]) for row in rows}
    assert v(r, L.ROW_TOTAL, COMPANY.value) == 1
    assert v(r, L.ROW_NEW) == 1
    assert v(r, L.ROW_CARRIED_OUT) == 0


def test_carry_over_in_and_out_across_three_years() -> None:
    log = Log()
    log.receive("a", date(2025, 12, 20), NATURAL)  # open over new year, replied in 2026
    log.close("a", date(2026, 1, 12), ReplyOutcome.DISCLOSED)
    log.receive("b", date(2025, 6, 1), COMPANY)  # closed in 2025: never in 2026
    log.close("b", date(2025, 6, 20), ReplyOutcome.UNAVAILABLE_NOT_HELD)
    log.receive("c", date(2025, 12, 30), LAWYERS)  # open through 2026, replied in 2027
    log.close("c", date(2027, 1, 4), ReplyOutcome.PARTIALLY_DISCLOSED)
    log.receive("d", date(2026, 12, 31), NATURAL)  # received on the last day, still open
    log.receive("e", date(2026, 5, 5), NATURAL)  # withdrawn
    log.close("e", date(2026, 5, 6), ReplyOutcome.OTHER)
    log.receive("f", date(2027, 1, 2), NATURAL)  # next year's: not in 2026 at all

    r2025 = report(log, 2025)
    assert (v(r2025, L.ROW_NEW), v(r2025, L.ROW_CARRIED_IN)) == (3, 0)
    assert v(r2025, L.ROW_TOTAL) == 1
    assert v(r2025, L.ROW_CARRIED_OUT, NATURAL.value) == 1
    assert v(r2025, L.ROW_CARRIED_OUT, LAWYERS.value) == 1

    r2026 = report(log, 2026)
    assert v(r2026, L.ROW_NEW) == 2  # d, e
    assert v(r2026, L.ROW_CARRIED_IN, NATURAL.value) == 1  # a
    assert v(r2026, L.ROW_CARRIED_IN, LAWYERS.value) == 1  # c
    assert v(r2026, L.ROW_CARRIED_IN, COMPANY.value) == 0  # b closed in 2025
    assert v(r2026, ReplyOutcome.DISCLOSED.value, NATURAL.value) == 1
    assert v(r2026, ReplyOutcome.OTHER.value, NATURAL.value) == 1
    assert v(r2026, L.ROW_TOTAL) == 2
    assert v(r2026, L.ROW_CARRIED_OUT, NATURAL.value) == 1  # d
    assert v(r2026, L.ROW_CARRIED_OUT, LAWYERS.value) == 1  # c
    assert v(r2026, L.ROW_CARRIED_OUT) == 2
    # 一 + 二 = （七）总计 + 四 in every column
    assert v(r2026, L.ROW_NEW) + v(r2026, L.ROW_CARRIED_IN) == 4 == 2 + 2

    r2027 = report(log, 2027)
    assert (v(r2027, L.ROW_CARRIED_IN), v(r2027, L.ROW_NEW)) == (2, 1)  # c, d; f


def test_the_total_column_and_row_are_sums() -> None:
    log = Log()
    for i, category in enumerate(ApplicantCategory):
        for j in range(i + 1):
            log.receive(f"r{i}-{j}", date(2026, 2, 1 + j), category)
            log.close(f"r{i}-{j}", date(2026, 3, 1), ReplyOutcome.DISCLOSED)
    r = report(log, 2026)
    assert [v(r, L.ROW_NEW, c.value) for c in ApplicantCategory] == [1, 2, 3, 4, 5, 6]
    assert v(r, L.ROW_NEW) == 21 == v(r, L.ROW_TOTAL) == v(r, ReplyOutcome.DISCLOSED.value)


def test_as_of_before_the_reply_shows_the_request_still_open() -> None:
    log = Log()
    log.receive("r1", date(2026, 3, 3), at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    replied_at = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    log.close("r1", date(2026, 3, 20), ReplyOutcome.DISCLOSED, at=replied_at)
    before = report(log, 2026, as_of=replied_at - timedelta(microseconds=1))
    assert (v(before, L.ROW_TOTAL), v(before, L.ROW_CARRIED_OUT)) == (0, 1)
    assert before.as_of == replied_at - timedelta(microseconds=1)
    after = report(log, 2026, as_of=replied_at)
    assert (v(after, L.ROW_TOTAL), v(after, L.ROW_CARRIED_OUT)) == (1, 0)
    nothing_yet = report(log, 2026, as_of=datetime(2026, 1, 1, tzinfo=UTC))
    assert v(nothing_yet, L.ROW_NEW) == 0


def test_a_historical_import_counts_by_business_date_not_by_when_it_was_recorded() -> None:
    log = Log()
    imported = datetime(2026, 11, 27, tzinfo=UTC)  # a ledger of 2024 typed in late 2026
    log.receive("old", date(2024, 4, 1), at=imported)
    log.close("old", date(2024, 4, 20), ReplyOutcome.DISCLOSED, at=imported)
    assert v(report(log, 2024), ReplyOutcome.DISCLOSED.value) == 1
    assert v(report(log, 2024, as_of=imported - timedelta(days=1)), L.ROW_NEW) == 0


def test_each_figure_keeps_its_requests_and_events() -> None:
    log = Log()
    received = log.receive("r1", date(2026, 3, 3))
    closed = log.close("r1", date(2026, 3, 20), ReplyOutcome.WITHHELD_ENDANGERS_SECURITY)
    log.receive("r2", date(2026, 3, 4))
    r = report(log, 2026)
    row, column = find_cell(r, "三", "3.危及“三安全一稳定”", "自然人")
    cell = r.requests.cell(row, column)
    assert cell.value == 1
    assert [(s.kind, s.id, s.event_ids) for s in cell.sources] == [
        ("request", "r1", (received, closed))
    ]
    assert [s.id for s in r.requests.cell(L.ROW_NEW, L.TOTAL_KEY).sources] == ["r1", "r2"]
    assert [s.id for s in r.requests.cell(L.ROW_CARRIED_OUT, NATURAL.value).sources] == ["r2"]
    assert find_cell(r, "三", "new", "natural_person") == ("new", "natural_person")
    with pytest.raises(KeyError, match="no row “（六）其他处理”"):
        find_cell(r, "三", "（六）其他处理", "自然人")
    with pytest.raises(KeyError, match="no column"):
        find_cell(r, "三", "（七）总计", "法人或其他组织")


def test_a_close_recorded_with_a_day_before_receipt_still_balances() -> None:
    log = Log()
    log.receive("r1", date(2026, 1, 5))
    log.close("r1", date(2025, 12, 30), ReplyOutcome.DISCLOSED)  # a typing error upstream
    r = report(log, 2026)
    assert (v(r, L.ROW_NEW), v(r, L.ROW_TOTAL), v(r, L.ROW_CARRIED_OUT)) == (1, 1, 0)


def test_random_histories_always_pass_the_cross_checks() -> None:
    rng = random.Random(20260315)
    log = Log()
    for i in range(400):
        received = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 365))
        log.receive(f"r{i}", received, rng.choice(list(ApplicantCategory)))
        if rng.random() < 0.8:
            log.close(
                f"r{i}",
                received + timedelta(days=rng.randrange(90)),
                rng.choice(list(ReplyOutcome)),
            )
    for i in range(30):
        filed = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 365))
        log.file(f"c{i}", rng.choice(list(L.CaseBlock)), filed)
        if rng.random() < 0.7:
            log.decide(f"c{i}", filed + timedelta(days=rng.randrange(200)), CaseResult.UPHELD)
    for year in (2024, 2025, 2026):
        r = report(log, year)  # fails on any cross-check
        assert v(r, L.ROW_NEW) + v(r, L.ROW_CARRIED_IN) == v(r, L.ROW_TOTAL) + v(
            r, L.ROW_CARRIED_OUT
        )
    # the next year starts with what this one carried over
    assert v(report(log, 2025), L.ROW_CARRIED_OUT) == v(report(log, 2026), L.ROW_CARRIED_IN)


# ---------------------------------------------------------------- table 四


def test_table_four_counts_decisions_of_the_year_and_pending_cases() -> None:
    log = Log()
    log.file("fy1", L.CaseBlock.RECONSIDERATION, date(2026, 2, 1))
    log.decide("fy1", date(2026, 4, 1), CaseResult.UPHELD)
    log.file("fy2", L.CaseBlock.RECONSIDERATION, date(2025, 11, 1))  # decided this year
    log.decide("fy2", date(2026, 1, 20), CaseResult.CORRECTED)
    log.file("fy3", L.CaseBlock.RECONSIDERATION, date(2025, 3, 1))  # decided last year
    log.decide("fy3", date(2025, 5, 1), CaseResult.CORRECTED)
    log.file("ss1", L.CaseBlock.LITIGATION_DIRECT, date(2026, 6, 1))  # pending
    log.file("ss2", L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION, date(2026, 7, 1))
    log.decide("ss2", date(2027, 2, 1), CaseResult.OTHER)  # decided next year: pending
    log.file("ss3", L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION, date(2026, 8, 1))
    log.decide("ss3", date(2026, 9, 1), CaseResult.OTHER)
    log.file("ss4", L.CaseBlock.LITIGATION_DIRECT, date(2027, 1, 3))  # next year's
    r = report(log, 2026)
    table = {
        (b.value, k): r.cases.value(b.value, k) for b in L.CaseBlock for k, _ in L.CASE_COLUMNS
    }
    assert table == {
        ("reconsideration", "upheld"): 1,
        ("reconsideration", "corrected"): 1,
        ("reconsideration", "other"): 0,
        ("reconsideration", "pending"): 0,
        ("reconsideration", "total"): 2,
        ("litigation_direct", "upheld"): 0,
        ("litigation_direct", "corrected"): 0,
        ("litigation_direct", "other"): 0,
        ("litigation_direct", "pending"): 1,
        ("litigation_direct", "total"): 1,
        ("litigation_after_reconsideration", "upheld"): 0,
        ("litigation_after_reconsideration", "corrected"): 0,
        ("litigation_after_reconsideration", "other"): 1,
        ("litigation_after_reconsideration", "pending"): 1,
        ("litigation_after_reconsideration", "total"): 2,
    }
    row, column = find_cell(r, "四", "复议后起诉", "尚未审结")
    assert [s.id for s in r.cases.cell(row, column).sources] == ["ss2"]


# ---------------------------------------------------------------- table 二


def test_table_two_2021_from_the_catalogue() -> None:
    log = Log()
    reg, norm, fee = (
        ItemCategory.REGULATION,
        ItemCategory.NORMATIVE_DOCUMENT,
        (ItemCategory.ADMINISTRATIVE_FEE),
    )
    published = ItemFactKind.PUBLISHED
    log.item("g1", published, reg, date(2024, 5, 1), first=True)  # in force
    log.item("g2", published, reg, date(2026, 2, 1), first=True)  # issued this year
    log.item("g2", published, reg, date(2026, 6, 1), first=False, version=2)  # a revision
    log.item("n1", published, norm, date(2025, 1, 1), first=True)
    log.item("n1", ItemFactKind.REPEALED, norm, date(2026, 3, 1))  # repealed this year
    log.item("n2", published, norm, date(2026, 4, 1), first=True)
    log.item("n2", ItemFactKind.WITHDRAWN, norm, date(2026, 4, 2))  # in error: not counted
    log.item("p1", published, ItemCategory.PENALTY, date(2026, 7, 1), first=True)
    log.item("p2", published, ItemCategory.PENALTY, date(2026, 7, 2), first=True)
    log.item("l1", published, ItemCategory.LICENSING, date(2026, 7, 3), first=True)
    log.item("f1", published, fee, date(2026, 3, 3), first=True, fee="12345.60")
    log.item("f2", published, fee, date(2026, 4, 3), first=True, fee="4.40")
    log.item("f3", published, fee, date(2025, 4, 3), first=True, fee="999")  # last year's
    r = report(log, 2026)
    t = r.items
    assert [t.value("规章", c) for c in ("本年制发件数", "本年废止件数", "现行有效件数")] == [
        1,
        0,
        2,
    ]
    assert [
        t.value("行政规范性文件", c) for c in ("本年制发件数", "本年废止件数", "现行有效件数")
    ] == [0, 1, 0]
    assert t.value("行政处罚", "本年处理决定数量") == 2
    assert t.value("行政许可", "本年处理决定数量") == 1
    assert t.value("行政强制", "本年处理决定数量") == 0
    amount = t.value("行政事业性收费", "本年收费金额（单位：万元）")
    assert amount == Decimal("1.235")  # (12345.60 + 4.40) 元 = 1.235 万元, exact
    assert [s.id for s in t.cell("规章", "本年制发件数").sources] == ["g2"]


def test_table_two_2019_fills_what_the_catalogue_knows_and_notes_the_rest() -> None:
    log = Log()
    reg, fee = ItemCategory.REGULATION, ItemCategory.ADMINISTRATIVE_FEE
    log.item("g1", ItemFactKind.DRAFTED, reg, date(2020, 3, 1))
    log.item("g1", ItemFactKind.PUBLISHED, reg, date(2020, 3, 10), first=True)
    log.item("g2", ItemFactKind.DRAFTED, reg, date(2019, 12, 1))
    log.item("g2", ItemFactKind.PUBLISHED, reg, date(2020, 1, 10), first=True)
    log.item("g0", ItemFactKind.PUBLISHED, reg, date(2018, 1, 10), first=True)
    log.item("g0", ItemFactKind.REPEALED, reg, date(2020, 2, 1))  # 废止 stays listed
    for i, (on, repealed) in enumerate(
        [(date(2018, 1, 1), None), (date(2019, 1, 1), date(2020, 5, 1)), (date(2020, 6, 1), None)]
    ):
        log.item(f"f{i}", ItemFactKind.PUBLISHED, fee, on, first=True, fee="10")
        if repealed:
            log.item(f"f{i}", ItemFactKind.REPEALED, fee, repealed)
    r = report(log, 2020)
    assert r.format is L.ReportFormat.F2019
    t = r.items
    assert [t.value("规章", c) for c in ("本年新制作数量", "本年新公开数量", "对外公开总数量")] == [
        1,
        2,
        3,
    ]
    assert t.value("行政事业性收费", "上一年项目数量") == 2  # f0, f1 in force on 2019-12-31
    assert t.value("行政事业性收费", "本年增/减") == 0  # f1 repealed, f2 published
    assert sorted(s.id for s in t.cell("行政事业性收费", "本年增/减").sources) == ["f1", "f2"]
    assert t.value("政府集中采购", "采购项目数量") == 0
    assert any("政府集中采购" in n for n in r.notes)


# ---------------------------------------------------------------- sections and formats


def test_2021_sections_narrative_and_fees_in_section_six() -> None:
    log = Log()
    log.names.append((T0, "某市人力资源和社会保障局"))
    log.receive("r1", date(2026, 3, 3))
    log.fee("r1", RequestFactKind.FEE_NOTICED, date(2026, 3, 5), "1700.00")
    log.fee("r1", RequestFactKind.FEE_PAID, date(2026, 3, 11), "1700.00")
    log.fee("r1", RequestFactKind.FEE_PAID, date(2025, 3, 11), "99.00")  # another year
    narrative = Narrative("本年度，我局认真贯彻落实《条例》。\n\n主动公开信息212条。", "", "无。")
    r = report(log, 2026, narrative=narrative)
    assert r.title == "《某市人力资源和社会保障局2026年政府信息公开工作年度报告》"
    assert [s.heading for s in r.sections] == list(L.SECTIONS)
    assert r.sections[0].paragraphs == ("本年度，我局认真贯彻落实《条例》。", "主动公开信息212条。")
    assert [s.table for s in r.sections] == [None, "二", "三", "四", None, None]
    assert r.sections[5].paragraphs == (
        "无。",
        "本年度发出信息处理费收费通知1件，实际收取信息处理费1700.00元。",
    )
    assert r.notes[-1] == "“五、存在的主要问题及改进情况”尚待本机关填写。"
    assert report(Log(), 2026).sections[5].paragraphs == ("本年度未收取信息处理费。",)
    assert report(Log(), 2026).bureau_name == "b-1"


def test_2019_and_2020_use_the_trial_format_with_other_processing_in_one_row() -> None:
    log = Log()
    log.receive("r1", date(2020, 3, 3))
    log.close("r1", date(2020, 3, 30), ReplyOutcome.OTHER_CORRECTION_LAPSED)
    log.receive("r2", date(2020, 4, 3), COMPANY)
    log.close("r2", date(2020, 4, 30), ReplyOutcome.OTHER_FEE_LAPSED)
    log.receive("r3", date(2020, 5, 3))
    log.close("r3", date(2020, 5, 4), ReplyOutcome.OTHER)
    r = report(log, 2020)
    assert r.format is L.ReportFormat.F2019
    assert [s.heading for s in r.sections] == list(L.SECTIONS)
    assert v(r, L.ROW_OTHER_2019) == 3
    assert v(r, L.ROW_OTHER_2019, COMPANY.value) == 1
    assert v(r, ReplyOutcome.OTHER.value) == 0  # no such row in 2020
    assert find_cell(r, "三", "（六）其他处理", "总计") == (L.ROW_OTHER_2019, L.TOTAL_KEY)
    assert report(log, 2019).format is L.ReportFormat.F2019


def test_years_before_2019_use_the_2007_era_sections() -> None:
    log = Log()
    log.receive("r1", date(2012, 3, 3), channel=Channel.LETTER)
    log.close("r1", date(2012, 3, 20), ReplyOutcome.DISCLOSED, on_time=True)
    log.receive("r2", date(2012, 4, 3), COMPANY, Channel.IN_PERSON)
    log.close("r2", date(2012, 5, 20), ReplyOutcome.WITHHELD_STATE_SECRET, on_time=False)
    log.receive("r3", date(2012, 12, 28))
    log.fee("r2", RequestFactKind.FEE_NOTICED, date(2012, 4, 5), "20.00")
    log.fee("r2", RequestFactKind.FEE_PAID, date(2012, 4, 6), "20.00")
    log.file("fy1", L.CaseBlock.RECONSIDERATION, date(2012, 6, 1))
    log.decide("fy1", date(2012, 8, 1), CaseResult.UPHELD)
    log.item("i1", ItemFactKind.PUBLISHED, ItemCategory.OTHER, date(2012, 2, 1), first=True)
    narrative = Narrative("概述。", "问题。", "其他。")
    r = report(log, 2012, narrative=narrative)
    assert r.format is L.ReportFormat.F2007
    assert [s.heading for s in r.sections] == [
        "一、概述",
        "二、主动公开政府信息情况",
        "三、依申请公开政府信息情况",
        "四、不予公开政府信息情况",
        "五、政府信息公开的收费及减免情况",
        "六、因政府信息公开申请行政复议、提起行政诉讼的情况",
        "七、政府信息公开工作存在的主要问题及改进情况",
        "八、其他需要报告的事项",
    ]
    assert all(s.table is None for s in r.sections)
    figures = {label: value for s in r.sections for label, value in s.figures}
    assert figures["本年度主动公开政府信息"] == 1
    assert figures["本年度收到政府信息公开申请"] == 3
    assert (figures["申请渠道：信函"], figures["申请渠道：当面"]) == (1, 1)
    assert (figures["予以公开"], figures["不予公开"], figures["按期答复"]) == (1, 1, 1)
    assert figures["结转下年度继续办理"] == 1
    assert figures["属于国家秘密"] == 1
    assert figures["实际收取（元）"] == Decimal("20.00")
    assert (figures["行政复议：本年新收"], figures["行政复议：结果维持"]) == (1, 1)
    assert r.sections[2].paragraphs[0].startswith("本年度共收到政府信息公开申请3件")
    assert r.sections[3].paragraphs == ("本年度不予公开1件，其中属于国家秘密1件。",)
    assert r.sections[6].paragraphs == ("问题。",)
