"""Roll-ups across bureaus by region and parent, computed with the annual and monthly report
builders so that each bureau's figures are exactly its own reports' figures, and the roll-up is
their sum. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any, TypeVar

from ..annual_report import layout as L
from ..annual_report.builder import AnnualReport, build_annual_report
from ..annual_report.facts import Facts
from ..monthly_report.builder import build_monthly_reports
from ..sign_off import SignOffStatus, annual_due_on, monthly_due_on, sign_off_status

MONTHS = tuple(range(1, 13))
K = TypeVar("K")


@dataclass(frozen=True)
class BureauProfile:
    """The bureau as the catalogue last registered or updated it (None: never seen there)."""

    bureau_id: str
    name: str | None = None
    region: str | None = None
    parent_id: str | None = None


def in_region(profile: BureauProfile, region: str) -> bool:
    """Region names nest by prefix: 江苏省 holds 江苏省常州市 and 江苏省常州市武进区."""
    return profile.region is not None and profile.region.startswith(region)


def descendants(profiles: Iterable[BureauProfile], parent_id: str) -> set[str]:
    """The parent and every bureau under it, at any depth (a cycle cannot loop)."""
    children: dict[str, list[str]] = {}
    for p in profiles:
        if p.parent_id is not None:
            children.setdefault(p.parent_id, []).append(p.bureau_id)
    found = {parent_id}
    todo = [parent_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def select_bureaus(
    profiles: Sequence[BureauProfile], *, region: str | None = None, parent: str | None = None
) -> list[BureauProfile]:
    """The bureaus of a roll-up: in the region (by prefix) and the parent with everything
    under it; both filters when both are given. Sorted by bureau id."""
    chosen = list(profiles)
    if region:
        chosen = [p for p in chosen if in_region(p, region)]
    if parent:
        family = descendants(profiles, parent)
        chosen = [p for p in chosen if p.bureau_id in family]
    return sorted(chosen, key=lambda p: p.bureau_id)


@dataclass(frozen=True)
class Figures:
    """The main figures of one bureau's year (or their sum over bureaus).

    `requests` holds table 三's 总计 column: 一 `new`, 二 `carried_in`, each outcome row (keyed
    as in table 三), `total` = （七）总计 and 四 `carried_out`. `cases` holds table 四 by
    (block, column) including the 总计 column. `received_by_month` and the on-time counts come
    from the twelve monthly reports."""

    requests: Mapping[str, int]
    cases: Mapping[tuple[str, str], int]
    received_by_month: Mapping[int, int]
    replied_on_time: int
    replied_late: int

    @property
    def on_time_rate(self) -> Fraction | None:
        replied = self.replied_on_time + self.replied_late
        return Fraction(self.replied_on_time, replied) if replied else None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            requests=_add(self.requests, other.requests),
            cases=_add(self.cases, other.cases),
            received_by_month=_add(self.received_by_month, other.received_by_month),
            replied_on_time=self.replied_on_time + other.replied_on_time,
            replied_late=self.replied_late + other.replied_late,
        )


def _add(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in (*a, *(k for k in b if k not in a))}


def request_rows(fmt: L.ReportFormat) -> tuple[L.RequestRow, ...]:
    return L.table3_rows(fmt)


def zero_figures(year: int) -> Figures:
    fmt = _request_format(year)
    return Figures(
        requests={r.key: 0 for r in request_rows(fmt)},
        cases={(b.value, c): 0 for b in L.CaseBlock for c, _ in L.CASE_COLUMNS},
        received_by_month=dict.fromkeys(MONTHS, 0),
        replied_on_time=0,
        replied_late=0,
    )


def _request_format(year: int) -> L.ReportFormat:
    fmt = L.format_for_year(year)
    return L.ReportFormat.F2019 if fmt is L.ReportFormat.F2019 else L.ReportFormat.F2021


def figures_of(report: AnnualReport, monthly: Mapping[int, Mapping[str, int | str]]) -> Figures:
    """A bureau's figures from its annual report and its twelve monthly reports' figures."""
    rows = request_rows(report.request_layout)
    return Figures(
        requests={r.key: report.requests.count(r.key, L.TOTAL_KEY) for r in rows},
        cases={
            (b.value, c): report.cases.count(b.value, c)
            for b in L.CaseBlock
            for c, _ in L.CASE_COLUMNS
        },
        received_by_month={
            m: int(monthly[m]["requests.received.total:this_period"]) for m in MONTHS
        },
        replied_on_time=sum(
            int(monthly[m]["requests.replied.on_time:this_period"]) for m in MONTHS
        ),
        replied_late=sum(int(monthly[m]["requests.replied.late:this_period"]) for m in MONTHS),
    )


def bureau_figures(bureau_id: str, year: int, facts: Facts) -> tuple[str, Figures]:
    """(the bureau's name as its report prints it, its figures for the year)."""
    report = build_annual_report(bureau_id, year, facts)
    monthly = {
        m: r.figures() for m, r in build_monthly_reports(bureau_id, year, facts, MONTHS).items()
    }
    return report.bureau_name, figures_of(report, monthly)


def figures_json(f: Figures) -> dict[str, Any]:
    """The figures as stored ahead in `central_figures` (`figures_from_json` reads them)."""
    cases: dict[str, dict[str, int]] = {}
    for (block, column), n in f.cases.items():
        cases.setdefault(block, {})[column] = n
    return {
        "requests": dict(f.requests),
        "cases": cases,
        "received_by_month": {str(m): n for m, n in f.received_by_month.items()},
        "replied_on_time": f.replied_on_time,
        "replied_late": f.replied_late,
    }


def figures_from_json(doc: Mapping[str, Any]) -> Figures:
    """The figures `figures_json` wrote (counts are JSON integers)."""
    return Figures(
        requests=doc["requests"],
        cases={
            (block, column): n
            for block, columns in doc["cases"].items()
            for column, n in columns.items()
        },
        received_by_month={int(m): n for m, n in doc["received_by_month"].items()},
        replied_on_time=doc["replied_on_time"],
        replied_late=doc["replied_late"],
    )


@dataclass(frozen=True)
class BureauLine:
    profile: BureauProfile
    name: str
    figures: Figures


@dataclass(frozen=True)
class Rollup:
    year: int
    region: str | None
    parent: str | None
    bureaus: tuple[BureauLine, ...]
    total: Figures = field(init=False)

    def __post_init__(self) -> None:
        total = zero_figures(self.year)
        for line in self.bureaus:
            total = total + line.figures
        object.__setattr__(self, "total", total)


@dataclass(frozen=True)
class KeptLine:
    """A bureau's figures of a year computed ahead, and the mark of its facts at the time."""

    name: str
    figures: Figures
    facts_mark: int


def stale_bureaus(
    bureau_ids: Iterable[str], marks: Mapping[str, int], kept: Mapping[str, int]
) -> list[str]:
    """The bureaus whose kept line cannot be used: none kept, or kept at another facts mark
    than the bureau's now (`kept`: bureau → mark of its kept line; a bureau without any fact
    has mark 0)."""
    return [b for b in bureau_ids if kept.get(b) != marks.get(b, 0)]


def rollup_of(
    year: int,
    profiles: Sequence[BureauProfile],
    lines: Mapping[str, tuple[str, Figures]],
    *,
    region: str | None = None,
    parent: str | None = None,
) -> Rollup:
    """The roll-up from each selected bureau's (name its report prints, figures), as
    `bureau_figures` computes them (now or ahead); `build_rollup` computes them all now."""
    out = []
    for profile in select_bureaus(profiles, region=region, parent=parent):
        name, figures = lines[profile.bureau_id]
        out.append(BureauLine(profile, profile.name or name, figures))
    return Rollup(year, region, parent, tuple(out))


def build_rollup(
    year: int,
    profiles: Sequence[BureauProfile],
    facts: Mapping[str, Facts],
    *,
    region: str | None = None,
    parent: str | None = None,
) -> Rollup:
    """Each selected bureau's figures from its own reports, and their sum."""
    chosen = select_bureaus(profiles, region=region, parent=parent)
    lines = {
        p.bureau_id: bureau_figures(p.bureau_id, year, facts.get(p.bureau_id, Facts()))
        for p in chosen
    }
    return rollup_of(year, profiles, lines, region=region, parent=parent)


# ---------------------------------------------------------------- sign-offs


@dataclass(frozen=True)
class LateSignOffs:
    """One bureau's reports of the year past their deadline: signed off late or not at all."""

    late_months: tuple[int, ...] = ()
    missing_months: tuple[int, ...] = ()
    annual: SignOffStatus | None = None  # late or missing; None otherwise

    @property
    def count(self) -> int:
        return len(self.late_months) + len(self.missing_months) + (self.annual is not None)


def late_sign_offs(year: int, submitted: Mapping[int, date], today: date) -> LateSignOffs:
    """From the submission dates by month (0: the annual report), as `/central/sign-offs`."""
    late, missing = [], []
    for m in MONTHS:
        status = sign_off_status(submitted.get(m), monthly_due_on(year, m), today)
        if status is SignOffStatus.LATE:
            late.append(m)
        elif status is SignOffStatus.MISSING:
            missing.append(m)
    annual = sign_off_status(submitted.get(0), annual_due_on(year), today)
    return LateSignOffs(
        tuple(late),
        tuple(missing),
        annual if annual in (SignOffStatus.LATE, SignOffStatus.MISSING) else None,
    )
