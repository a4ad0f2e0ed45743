"""Sign-off of reports: deadlines, the digest of frozen figures, on time / late / missing, and the
restatement of a published report against today's figures. Pure, no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gongkai_contracts import canonical_json

from .annual_report.builder import AnnualReport
from .annual_report.grid import number_text
from .annual_report.tabular import figure_lines
from .monthly_report.builder import month_end

CHINA = ZoneInfo("Asia/Shanghai")

# Local practice (disclosure-rules §9; DESIGN: Reports): the month's statistics are signed off
# "before the 5th" of the next month, read literally: the 4th is the last day on time.
MONTHLY_LAST_DAY = 4

# The 2019 regulation (in force 2019-05-15) moved the annual report to 1月31日 (第四十九条);
# the 2007 regulation (第三十一条) had 3月31日. The deadline follows the regulation in force
# when the report falls due: the report on 2018 was due 2019-03-31, the report on 2019
# (submitted in 2020, under the 2019 regulation) 2020-01-31.
FIRST_YEAR_DUE_IN_JANUARY = 2019

Figures = dict[str, int | str]


def china_date(instant: datetime) -> date:
    return instant.astimezone(CHINA).date()


def monthly_due_on(year: int, month: int) -> date:
    """The last day a monthly report is on time."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(next_year, next_month, MONTHLY_LAST_DAY)


def annual_due_on(year: int) -> date:
    """The last day the annual report on `year` is on time."""
    if year >= FIRST_YEAR_DUE_IN_JANUARY:
        return date(year + 1, 1, 31)  # 条例（2019）第四十九条: 每年1月31日前
    return date(year + 1, 3, 31)  # 条例（2007）第三十一条: 每年3月31日前


def period_over(year: int, month: int | None, today: date) -> bool:
    """A report can be signed off only once its period has ended."""
    last = month_end(year, month) if month is not None else date(year, 12, 31)
    return today > last


def figures_digest(figures: Mapping[str, int | str]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of the figures."""
    return hashlib.sha256(canonical_json(dict(figures))).hexdigest()


FIGURE_KEY_SEPARATOR = "|"


def annual_figures(report: AnnualReport) -> Figures:
    """Every printed figure of the report, keyed `table|block|row|column` by the official labels
    (2007-era years: `section||label|`); amounts as printed."""
    out: Figures = {}
    for table, block, row, column, value in figure_lines(report):
        key = FIGURE_KEY_SEPARATOR.join((table, block, row, column))
        assert key not in out, f"two figures share the key {key}"
        out[key] = value if isinstance(value, int) else number_text(value)
    return out


class SignOffStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # past its deadline and not signed off
    NOT_DUE = "not_due"  # not signed off, deadline not passed yet


SIGN_OFF_STATUS_LABELS = {
    SignOffStatus.ON_TIME: "按时",
    SignOffStatus.LATE: "逾期",
    SignOffStatus.MISSING: "逾期未报",
    SignOffStatus.NOT_DUE: "未到期",
}


def sign_off_status(submitted_on: date | None, due_on: date, today: date) -> SignOffStatus:
    if submitted_on is not None:
        return SignOffStatus.ON_TIME if submitted_on <= due_on else SignOffStatus.LATE
    return SignOffStatus.MISSING if today > due_on else SignOffStatus.NOT_DUE


@dataclass(frozen=True)
class Difference:
    key: str
    published: int | str | None  # None: the cell was not in the published report
    current: int | str | None

    @property
    def labels(self) -> list[str]:
        return [p for p in self.key.split(FIGURE_KEY_SEPARATOR) if p]


def restatement(
    published: Mapping[str, int | str], current: Mapping[str, int | str]
) -> list[Difference]:
    """Every cell whose figure today differs from the published (frozen) one, in the order of
    the published report, then cells that only exist today."""
    keys = list(published) + [k for k in current if k not in published]
    return [
        Difference(k, published.get(k), current.get(k))
        for k in keys
        if published.get(k) != current.get(k)
    ]
