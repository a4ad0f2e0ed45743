"""The cross-checks (勾稽关系) catch each kind of inconsistency and name the cell."""

from __future__ import annotations

from reporting_service.annual_report import layout as L
from reporting_service.annual_report.checks import (
    APPLICANTS_ADD_UP,
    BALANCE,
    CASES_ADD_UP,
    OUTCOMES_ADD_UP,
    check_case_table,
    check_request_table,
)

F2021 = L.ReportFormat.F2021
NATURAL = "natural_person"
COMPANY = "commercial_enterprise"


def consistent() -> dict[tuple[str, str], int]:
    """3 new and 1 carried in (自然人 2+1, 商业企业 1); 2 disclosed, 1 repeat; 1 carried out."""
    figures = {
        (L.ROW_NEW, NATURAL): 2,
        (L.ROW_NEW, COMPANY): 1,
        (L.ROW_CARRIED_IN, NATURAL): 1,
        ("disclosed", NATURAL): 2,
        ("not_processed_repeat", COMPANY): 1,
        (L.ROW_TOTAL, NATURAL): 2,
        (L.ROW_TOTAL, COMPANY): 1,
        (L.ROW_CARRIED_OUT, NATURAL): 1,
    }
    for row in {r for r, _ in figures}:
        figures[(row, L.TOTAL_KEY)] = sum(n for (r, _), n in figures.items() if r == row)
    return figures


def failing(figures: dict[tuple[str, str], int]) -> set[tuple[str, str, str]]:
    return {(f.rule, f.row, f.column) for f in check_request_table(figures, F2021)}


def test_consistent_figures_pass() -> None:
    assert check_request_table(consistent(), F2021) == []
    assert check_request_table(consistent(), L.ReportFormat.F2019) == []


def test_one_plus_two_must_equal_total_plus_four() -> None:
    figures = consistent()
    figures[(L.ROW_CARRIED_OUT, NATURAL)] += 1
    figures[(L.ROW_CARRIED_OUT, L.TOTAL_KEY)] += 1
    failure, in_total = check_request_table(figures, F2021)
    assert (in_total.rule, in_total.row, in_total.column) == (
        BALANCE,
        "四、结转下年度继续办理",
        "总计",
    )
    assert (failure.rule, failure.table, failure.row, failure.column) == (
        BALANCE,
        "三",
        "四、结转下年度继续办理",
        "自然人",
    )
    assert (failure.expected, failure.actual) == (1, 2)
    assert (
        "column “自然人”: 一 + 二 = 2 + 1 = 3, but （七）总计 + 四 = 2 + 2 = 4" in failure.message
    )
    # the 总计 column disagrees the same way
    figures[(L.ROW_CARRIED_OUT, L.TOTAL_KEY)] -= 1
    assert failing(figures) == {
        (BALANCE, "四、结转下年度继续办理", "自然人"),
        (APPLICANTS_ADD_UP, "四、结转下年度继续办理", "总计"),
    }


def test_the_total_row_must_add_up_the_outcome_rows() -> None:
    figures = consistent()
    # （七）总计 one higher, 四 one lower: the balance holds, the outcome rows do not.
    for row, step in ((L.ROW_TOTAL, 1), (L.ROW_CARRIED_OUT, -1)):
        figures[(row, NATURAL)] += step
        figures[(row, L.TOTAL_KEY)] += step
    by_column = {f.column: f for f in check_request_table(figures, F2021)}
    natural, total = by_column["自然人"], by_column["总计"]
    assert len(by_column) == 2
    assert (natural.rule, natural.row, natural.column) == (OUTCOMES_ADD_UP, "（七）总计", "自然人")
    assert (natural.expected, natural.actual) == (2, 3)
    assert natural.message == (
        "表三 “（七）总计” × “自然人” is 3, but the outcome rows （一）to（六）of that column "
        "add up to 2"
    )
    assert (total.row, total.column) == ("（七）总计", "总计")


def test_the_total_column_must_add_up_the_applicant_columns() -> None:
    figures = consistent()
    figures[("disclosed", L.TOTAL_KEY)] += 1
    figures[(L.ROW_TOTAL, L.TOTAL_KEY)] += 1
    figures[(L.ROW_CARRIED_OUT, L.TOTAL_KEY)] -= 1
    assert failing(figures) == {
        (APPLICANTS_ADD_UP, "（一）予以公开", "总计"),
        (APPLICANTS_ADD_UP, "（七）总计", "总计"),
        (APPLICANTS_ADD_UP, "四、结转下年度继续办理", "总计"),
    }
    [first] = [f for f in check_request_table(figures, F2021) if f.row == "（一）予以公开"]
    assert first.message == (
        "表三 “（一）予以公开” × “总计” is 3, but its six applicant columns add up to 2"
    )


def test_in_2019_other_processing_is_one_row_of_the_total() -> None:
    figures = {
        (L.ROW_NEW, NATURAL): 1,
        (L.ROW_NEW, L.TOTAL_KEY): 1,
        (L.ROW_OTHER_2019, NATURAL): 1,
        (L.ROW_OTHER_2019, L.TOTAL_KEY): 1,
        (L.ROW_TOTAL, NATURAL): 1,
        (L.ROW_TOTAL, L.TOTAL_KEY): 1,
    }
    assert check_request_table(figures, L.ReportFormat.F2019) == []
    # the 2021 table has no such row: its total no longer adds up
    assert {f.rule for f in check_request_table(figures, F2021)} == {OUTCOMES_ADD_UP}


def test_table_four_block_totals() -> None:
    good = {
        ("reconsideration", "upheld"): 2,
        ("reconsideration", "pending"): 1,
        ("reconsideration", "total"): 3,
        ("litigation_after_reconsideration", "corrected"): 1,
        ("litigation_after_reconsideration", "total"): 1,
    }
    assert check_case_table(good) == []
    bad = good | {("litigation_direct", "other"): 1, ("reconsideration", "total"): 4}
    failures = check_case_table(bad)
    assert [(f.rule, f.table, f.row, f.column, f.expected, f.actual) for f in failures] == [
        (CASES_ADD_UP, "四", "行政复议", "总计", 3, 4),
        (CASES_ADD_UP, "四", "未经复议直接起诉", "总计", 1, 0),
    ]
    assert failures[0].message == (
        "表四 “行政复议” × “总计” is 4, but 结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 3"
    )
