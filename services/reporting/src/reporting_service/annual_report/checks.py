"""The cross-checks (勾稽关系) of tables 三 and 四, run on plain figures before publication.
A failure names the cell by its row and column labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .layout import (
    APPLICANT_COLUMNS,
    CARRIED_OUT_LABEL,
    CASE_BLOCK_LABELS,
    CASE_COLUMNS,
    COLUMN_LABELS,
    PENDING_KEY,
    ROW_CARRIED_IN,
    ROW_CARRIED_OUT,
    ROW_NEW,
    ROW_TOTAL,
    TOTAL,
    TOTAL_KEY,
    TOTAL_LABEL,
    CaseBlock,
    ReportFormat,
    table3_rows,
)

Figures = Mapping[tuple[str, str], int]  # (row key, column key) -> value; missing = 0

BALANCE = "一+二=（七）总计+四"
OUTCOMES_ADD_UP = "（七）总计=各项办理结果之和"
APPLICANTS_ADD_UP = "总计=各类申请人之和"
CASES_ADD_UP = "总计=结果维持+结果纠正+其他结果+尚未审结"


@dataclass(frozen=True)
class CheckFailure:
    rule: str
    table: str
    row: str  # the row label of the cell that disagrees
    column: str  # its column label
    expected: int  # what the other cells add up to
    actual: int  # what the cell says
    message: str


def check_request_table(figures: Figures, fmt: ReportFormat) -> list[CheckFailure]:
    """Table 三: for each column 一 + 二 = （七）总计 + 四; （七）总计 = the outcome rows;
    and for each row 总计 = the six applicant columns."""
    rows = table3_rows(fmt)
    applicants = [key for key, _ in APPLICANT_COLUMNS if key != TOTAL_KEY]
    failures: list[CheckFailure] = []

    def get(row: str, column: str) -> int:
        return figures.get((row, column), 0)

    for column, column_label in APPLICANT_COLUMNS:
        outcome_sum = sum(get(r.key, column) for r in rows if r.outcome_row)
        if get(ROW_TOTAL, column) != outcome_sum:
            failures.append(
                CheckFailure(
                    OUTCOMES_ADD_UP,
                    "三",
                    TOTAL_LABEL,
                    column_label,
                    outcome_sum,
                    get(ROW_TOTAL, column),
                    f"表三 “{TOTAL_LABEL}” × “{column_label}” is {get(ROW_TOTAL, column)}, "
                    f"but the outcome rows （一）to（六）of that column add up to {outcome_sum}",
                )
            )
        supply = get(ROW_NEW, column) + get(ROW_CARRIED_IN, column)
        used = get(ROW_TOTAL, column) + get(ROW_CARRIED_OUT, column)
        if supply != used:
            failures.append(
                CheckFailure(
                    BALANCE,
                    "三",
                    CARRIED_OUT_LABEL,
                    column_label,
                    supply - get(ROW_TOTAL, column),
                    get(ROW_CARRIED_OUT, column),
                    f"表三 column “{column_label}”: 一 + 二 = {get(ROW_NEW, column)} + "
                    f"{get(ROW_CARRIED_IN, column)} = {supply}, but （七）总计 + 四 = "
                    f"{get(ROW_TOTAL, column)} + {get(ROW_CARRIED_OUT, column)} = {used} "
                    f"(“{CARRIED_OUT_LABEL}” × “{column_label}” would be "
                    f"{supply - get(ROW_TOTAL, column)})",
                )
            )
    for row in rows:
        applicant_sum = sum(get(row.key, c) for c in applicants)
        if get(row.key, TOTAL_KEY) != applicant_sum:
            failures.append(
                CheckFailure(
                    APPLICANTS_ADD_UP,
                    "三",
                    row.label,
                    COLUMN_LABELS[TOTAL_KEY],
                    applicant_sum,
                    get(row.key, TOTAL_KEY),
                    f"表三 “{row.label}” × “{TOTAL}” is {get(row.key, TOTAL_KEY)}, but its six "
                    f"applicant columns add up to {applicant_sum}",
                )
            )
    return failures


def check_case_table(figures: Figures) -> list[CheckFailure]:
    """Table 四: in each block 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结."""
    parts = [key for key, _ in CASE_COLUMNS if key != TOTAL_KEY]
    assert PENDING_KEY in parts
    failures: list[CheckFailure] = []
    for block in CaseBlock:
        label = CASE_BLOCK_LABELS[block]
        total = figures.get((block.value, TOTAL_KEY), 0)
        expected = sum(figures.get((block.value, p), 0) for p in parts)
        if total != expected:
            failures.append(
                CheckFailure(
                    CASES_ADD_UP,
                    "四",
                    label,
                    TOTAL,
                    expected,
                    total,
                    f"表四 “{label}” × “{TOTAL}” is {total}, but 结果维持 + 结果纠正 + 其他结果 "
                    f"+ 尚未审结 = {expected}",
                )
            )
    return failures
