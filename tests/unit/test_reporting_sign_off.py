"""Sign-off rules: deadlines (monthly before the 5th; annual 31 January, 31 March before the
2019 report), on time / late / missing in Asia/Shanghai, the digest, the refusal naming failing
cells, and the restatement cell by cell."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime

import pytest
import rfc8785

from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import build_annual_report
from reporting_service.annual_report.checks import CheckFailure
from reporting_service.annual_report.facts import Facts, RequestFact, RequestFactKind
from reporting_service.entrypoints.sign_offs import publication_refusal
from reporting_service.sign_off import (
    SignOffStatus,
    annual_due_on,
    annual_figures,
    china_date,
    figures_digest,
    monthly_due_on,
    period_over,
    restatement,
    sign_off_status,
)

T0 = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("year", "month", "due"),
    [(2026, 3, date(2026, 4, 4)), (2026, 12, date(2027, 1, 4)), (2011, 1, date(2011, 2, 4))],
)
def test_a_monthly_report_is_due_before_the_fifth_of_the_next_month(
    year: int, month: int, due: date
) -> None:
    assert monthly_due_on(year, month) == due
    assert sign_off_status(due, due, due) is SignOffStatus.ON_TIME
    assert sign_off_status(date(due.year, due.month, 5), due, due) is SignOffStatus.LATE


@pytest.mark.parametrize(
    ("year", "due"),
    [
        (2011, date(2012, 3, 31)),
        (2018, date(2019, 3, 31)),
        (2019, date(2020, 1, 31)),
        (2026, date(2027, 1, 31)),
    ],
)
def test_the_annual_report_deadline_follows_the_regulation_in_force(year: int, due: date) -> None:
    assert annual_due_on(year) == due


def test_missing_only_once_past_due() -> None:
    due = date(2026, 4, 4)
    assert sign_off_status(None, due, date(2026, 4, 4)) is SignOffStatus.NOT_DUE
    assert sign_off_status(None, due, date(2026, 4, 5)) is SignOffStatus.MISSING


def test_the_submission_date_is_taken_in_china() -> None:
    # 2026-04-04T17:30Z is already the 5th in Beijing: late.
    instant = datetime(2026, 4, 4, 17, 30, tzinfo=UTC)
    assert china_date(instant) == date(2026, 4, 5)
    assert sign_off_status(china_date(instant), monthly_due_on(2026, 3), china_date(instant)) is (
        SignOffStatus.LATE
    )


def test_a_period_is_signed_off_only_once_it_has_ended() -> None:
    assert not period_over(2026, 3, date(2026, 3, 31))
    assert period_over(2026, 3, date(2026, 4, 1))
    assert not period_over(2026, None, date(2026, 12, 31))
    assert period_over(2026, None, date(2027, 1, 1))


def test_the_digest_is_sha256_of_rfc8785_json() -> None:
    figures: dict[str, int | str] = {"b": 2, "a": "1.50", "中": 0}
    expected = hashlib.sha256(rfc8785.dumps(figures)).hexdigest()
    assert figures_digest(figures) == expected
    assert figures_digest(dict(reversed(list(figures.items())))) == expected


def _report_2026() -> Facts:
    return Facts(
        requests=[
            RequestFact("e1", "A", RequestFactKind.RECEIVED, date(2026, 3, 2), T0),
            RequestFact("e2", "B", RequestFactKind.RECEIVED, date(2026, 5, 2), T0),
        ]
    )


def test_annual_figures_cover_every_printed_cell_by_its_labels() -> None:
    report = build_annual_report("b", 2026, _report_2026())
    figures = annual_figures(report)
    assert figures["三||一、本年新收政府信息公开申请数量|总计"] == 2
    assert len([k for k in figures if k.startswith("三|")]) == 25 * 7
    assert len([k for k in figures if k.startswith("四|")]) == 15
    old = annual_figures(build_annual_report("b", 2011, Facts()))
    assert old and all(isinstance(v, int | str) for v in old.values())


def test_publication_is_refused_naming_the_failing_cells() -> None:
    report = build_annual_report("b", 2026, _report_2026())
    assert publication_refusal(report) is None
    failure = CheckFailure(
        rule="一+二=（七）总计+四",
        table="三",
        row=L.CARRIED_OUT_LABEL,
        column="自然人",
        expected=2,
        actual=1,
        message="表三“四、结转下年度继续办理”×“自然人”应为2，实为1",
    )
    refusal = publication_refusal(dataclasses.replace(report, failures=(failure,)))
    assert refusal is not None
    assert refusal["failures"][0]["row"] == L.CARRIED_OUT_LABEL
    assert refusal["failures"][0]["column"] == "自然人"


def test_restatement_lists_every_changed_cell() -> None:
    published = annual_figures(build_annual_report("b", 2026, _report_2026()))
    later = Facts(
        requests=[
            *_report_2026().requests,
            RequestFact("e3", "C", RequestFactKind.RECEIVED, date(2026, 6, 1), T0),
        ]
    )
    current = annual_figures(build_annual_report("b", 2026, later))
    differences = restatement(published, current)
    keys = {d.key for d in differences}
    assert "三||一、本年新收政府信息公开申请数量|总计" in keys
    assert "三||一、本年新收政府信息公开申请数量|自然人" in keys
    assert all(d.published != d.current for d in differences)
    changed = next(d for d in differences if d.key.endswith("本年新收政府信息公开申请数量|总计"))
    assert (changed.published, changed.current) == (2, 3)
    assert changed.labels == ["三", "一、本年新收政府信息公开申请数量", "总计"]
    assert restatement(published, published) == []
