"""Central roll-ups: each bureau's figures are its own annual and monthly reports' figures, the
roll-up is their sum, and the filters select by region (nested by prefix) and by parent with
every bureau under it; the dashboard is one HTML page with inline SVG."""

from __future__ import annotations

import json
from datetime import date

import pytest

from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import build_annual_report
from reporting_service.annual_report.facts import Facts
from reporting_service.central.dashboard import dashboard_html
from reporting_service.central.rollup import (
    BureauProfile,
    Figures,
    build_rollup,
    bureau_figures,
    figures_from_json,
    figures_json,
    late_sign_offs,
    rollup_of,
    select_bureaus,
    stale_bureaus,
    zero_figures,
)
from reporting_service.monthly_report.builder import build_monthly_report, build_monthly_reports
from reporting_service.sign_off import SignOffStatus
from tests.unit.test_reporting_monthly import YEAR, random_facts

PROFILES = [
    BureauProfile("js-gov", "江苏省人民政府办公厅", "江苏省"),
    BureauProfile("cz-gov", "常州市人民政府办公室", "江苏省常州市", "js-gov"),
    BureauProfile("cz-hrss", "常州市人力资源和社会保障局", "江苏省常州市", "cz-gov"),
    BureauProfile("wj-hrss", "武进区人力资源和社会保障局", "江苏省常州市武进区", "cz-hrss"),
    BureauProfile("nj-gov", "南京市人民政府办公厅", "江苏省南京市", "js-gov"),
    BureauProfile("zj-gov", "浙江省人民政府办公厅", "浙江省"),
    BureauProfile("unnamed"),
]


def ids(profiles: list[BureauProfile]) -> list[str]:
    return [p.bureau_id for p in profiles]


def test_region_filters_by_prefix_and_parent_takes_every_bureau_under_it() -> None:
    assert ids(select_bureaus(PROFILES, region="江苏省常州市")) == ["cz-gov", "cz-hrss", "wj-hrss"]
    assert ids(select_bureaus(PROFILES, region="浙江省")) == ["zj-gov"]
    assert ids(select_bureaus(PROFILES, parent="cz-gov")) == ["cz-gov", "cz-hrss", "wj-hrss"]
    assert ids(select_bureaus(PROFILES, parent="js-gov")) == [
        "cz-gov",
        "cz-hrss",
        "js-gov",
        "nj-gov",
        "wj-hrss",
    ]
    assert ids(select_bureaus(PROFILES, parent="js-gov", region="江苏省南京市")) == ["nj-gov"]
    assert len(select_bureaus(PROFILES)) == len(PROFILES)
    assert select_bureaus(PROFILES, parent="nobody") == []


def test_a_parent_cycle_does_not_loop() -> None:
    profiles = [BureauProfile("a", parent_id="b"), BureauProfile("b", parent_id="a")]
    assert ids(select_bureaus(profiles, parent="a")) == ["a", "b"]


@pytest.mark.parametrize("seed", range(4))
def test_each_bureau_shows_its_own_reports_and_the_rollup_is_their_sum(seed: int) -> None:
    facts = {p.bureau_id: random_facts(seed * 10 + i) for i, p in enumerate(PROFILES)}
    rollup = build_rollup(YEAR, PROFILES, facts, parent="js-gov")
    assert [line.profile.bureau_id for line in rollup.bureaus] == sorted(
        ["js-gov", "cz-gov", "cz-hrss", "wj-hrss", "nj-gov"]
    )
    for line in rollup.bureaus:
        b = line.profile.bureau_id
        report = build_annual_report(b, YEAR, facts[b])
        f = line.figures
        for row in L.table3_rows(L.ReportFormat.F2021):
            assert f.requests[row.key] == report.requests.count(row.key, L.TOTAL_KEY)
        for block in L.CaseBlock:
            for column, _ in L.CASE_COLUMNS:
                assert f.cases[(block.value, column)] == report.cases.count(block.value, column)
        months = [build_monthly_report(b, YEAR, m, facts[b]) for m in range(1, 13)]
        assert list(f.received_by_month.values()) == [
            m.line("requests.received.total").this_period for m in months
        ]
        assert sum(f.received_by_month.values()) == f.requests[L.ROW_NEW]
        assert f.replied_on_time == months[-1].line("requests.replied.on_time").year_to_date
        assert f.replied_late == months[-1].line("requests.replied.late").year_to_date
        # 一 + 二 = （七）总计 + 四 for each bureau …
        assert (
            f.requests[L.ROW_NEW] + f.requests[L.ROW_CARRIED_IN]
            == f.requests[L.ROW_TOTAL] + f.requests[L.ROW_CARRIED_OUT]
        )
    total = rollup.total
    lines = [line.figures for line in rollup.bureaus]
    for key in total.requests:
        assert total.requests[key] == sum(f.requests[key] for f in lines)
    for cell in total.cases:
        assert total.cases[cell] == sum(f.cases[cell] for f in lines)
    for m in range(1, 13):
        assert total.received_by_month[m] == sum(f.received_by_month[m] for f in lines)
    assert total.replied_on_time == sum(f.replied_on_time for f in lines)
    assert total.replied_late == sum(f.replied_late for f in lines)
    # … and so for the sum.
    assert (
        total.requests[L.ROW_NEW] + total.requests[L.ROW_CARRIED_IN]
        == total.requests[L.ROW_TOTAL] + total.requests[L.ROW_CARRIED_OUT]
    )
    # The region's roll-up is the parent's without the bureaus outside the region.
    region = build_rollup(YEAR, PROFILES, facts, region="江苏省常州市")
    assert region.total.requests == (
        sum(
            (
                line.figures
                for line in rollup.bureaus
                if line.profile.bureau_id != "js-gov" and line.profile.bureau_id != "nj-gov"
            ),
            zero_figures(YEAR),
        ).requests
    )


def test_on_time_rate_and_empty_rollup() -> None:
    empty = build_rollup(YEAR, PROFILES, {}, region="上海市")
    assert empty.bureaus == ()
    assert empty.total == zero_figures(YEAR)
    assert empty.total.on_time_rate is None
    f = Figures({}, {}, {}, replied_on_time=3, replied_late=1)
    assert float(f.on_time_rate or 0) == 0.75
    # A bureau without any facts counts zero everywhere, and is named by its id.
    lonely = build_rollup(YEAR, [BureauProfile("unnamed")], {})
    assert lonely.bureaus[0].name == "unnamed"
    assert lonely.total == zero_figures(YEAR)


def test_late_sign_offs_follow_the_deadlines() -> None:
    submitted = {1: date(2026, 2, 4), 2: date(2026, 3, 5), 0: date(2026, 1, 20)}
    late = late_sign_offs(2026, submitted, today=date(2026, 5, 10))
    assert late.late_months == (2,)
    assert late.missing_months == (3, 4)  # May's report is not due until 4 June
    assert late.annual is None  # the 2026 report is due 2027-01-31
    assert late.count == 3
    after = late_sign_offs(2026, submitted | {0: date(2027, 2, 1)}, today=date(2027, 3, 1))
    assert after.annual is SignOffStatus.LATE


def test_the_dashboard_is_one_page_with_inline_svg_and_chinese_labels() -> None:
    facts = {p.bureau_id: random_facts(i) for i, p in enumerate(PROFILES)}
    rollup = build_rollup(YEAR, PROFILES, facts, region="江苏省")
    late = {"cz-hrss": late_sign_offs(YEAR, {}, date(2026, 4, 10))}
    page = dashboard_html(rollup, late, "2026-04-10")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 4
    for label in ("每月收到政府信息公开申请", "办理结果构成", "按期答复率", "逾期报送", "12月"):
        assert label in page
    assert "常州市人力资源和社会保障局" in page and "逾期未报：1月、2月、3月" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page and "<link" not in page


def test_a_bureau_without_facts_is_zero() -> None:
    assert build_rollup(YEAR, PROFILES[:1], {"js-gov": Facts()}).total == zero_figures(YEAR)


@pytest.mark.parametrize("seed", range(4))
def test_figures_kept_ahead_read_back_equal_and_roll_up_the_same(seed: int) -> None:
    facts = {p.bureau_id: random_facts(seed * 10 + i) for i, p in enumerate(PROFILES)}
    lines = {}
    for p in PROFILES:
        name, figures = bureau_figures(p.bureau_id, YEAR, facts.get(p.bureau_id, Facts()))
        # Through JSON, as central_figures stores them.
        stored = json.loads(json.dumps(figures_json(figures)))
        assert figures_from_json(stored) == figures
        lines[p.bureau_id] = (name, figures_from_json(stored))
    for region, parent in ((None, "js-gov"), ("江苏省常州市", None), (None, None)):
        assert rollup_of(YEAR, PROFILES, lines, region=region, parent=parent) == build_rollup(
            YEAR, PROFILES, facts, region=region, parent=parent
        )


def test_a_kept_line_is_stale_when_missing_or_kept_at_another_mark() -> None:
    marks = {"a": 5, "b": 3, "c": 7}
    kept = {"a": 5, "b": 2, "d": 0}
    # b moved since, c was never kept; d has no facts (mark 0) and was kept at 0; e never kept.
    assert stale_bureaus(["a", "b", "c", "d", "e"], marks, kept) == ["b", "c", "e"]


@pytest.mark.parametrize("seed", range(6))
def test_the_months_built_together_are_the_months_built_one_by_one(seed: int) -> None:
    facts = random_facts(seed)
    for year in (YEAR - 1, YEAR, YEAR + 1):
        together = build_monthly_reports("b", year, facts)
        assert sorted(together) == list(range(1, 13))
        for m in range(1, 13):
            assert together[m] == build_monthly_report("b", year, m, facts)
