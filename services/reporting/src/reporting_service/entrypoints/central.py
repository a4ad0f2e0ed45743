"""HTTP routes of the central office (主管部门): roll-ups across bureaus by region and parent,
and the dashboard page with charts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from gongkai_platform.auth import Overseer

from ..adapters.central_store import FiguresKeeper, Freshness, year_figures
from ..adapters.sign_off_store import ANNUAL, load_year_sign_offs
from ..annual_report import layout as L
from ..central.dashboard import dashboard_html
from ..central.rollup import (
    BureauProfile,
    Figures,
    LateSignOffs,
    Rollup,
    late_sign_offs,
    request_rows,
    rollup_of,
    select_bureaus,
)
from ..sign_off import china_date

router = APIRouter(tags=["central office"])

YearQuery = Annotated[int, Query(ge=2008, le=2100)]
RegionQuery = Annotated[
    str | None, Query(max_length=100, description="地区: this region and the ones inside it")
]
ParentQuery = Annotated[
    str | None, Query(max_length=64, description="this bureau and every bureau under it")
]


def _today(request: Request) -> date:
    clock: Callable[[], datetime] = request.app.state.clock
    return china_date(clock())


async def _rollup(
    request: Request, year: int, region: str | None, parent: str | None
) -> tuple[Rollup, Freshness]:
    found = await year_figures(
        request.app.state.pool,
        year,
        lambda profiles: select_bureaus(profiles, region=region, parent=parent),
    )
    rollup = rollup_of(year, found.profiles, found.lines, region=region, parent=parent)
    return rollup, found.freshness


@cache
def _labels(fmt: L.ReportFormat) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(outcome row key, label) of table 三 and (block, label) of table 四: the same for every
    bureau, so worked out once."""
    outcomes = tuple(
        (r.key, f"{r.group}·{r.label}" if r.group else r.label)
        for r in request_rows(fmt)
        if r.outcome_row
    )
    return outcomes, tuple((b.value, L.CASE_BLOCK_LABELS[b]) for b in L.CaseBlock)


def _figures_json(f: Figures, fmt: L.ReportFormat) -> dict[str, Any]:
    outcomes, blocks = _labels(fmt)
    requests, cases = f.requests, f.cases
    rate = f.on_time_rate
    return {
        "requests": {
            "new": requests.get(L.ROW_NEW, 0),
            "carried_in": requests.get(L.ROW_CARRIED_IN, 0),
            "outcomes": {
                key: {"label": label, "total": requests.get(key, 0)} for key, label in outcomes
            },
            "total": requests.get(L.ROW_TOTAL, 0),
            "carried_out": requests.get(L.ROW_CARRIED_OUT, 0),
        },
        "cases": {
            block: {"label": label, **{c: cases.get((block, c), 0) for c, _ in L.CASE_COLUMNS}}
            for block, label in blocks
        },
        "replies": {
            "on_time": f.replied_on_time,
            "late": f.replied_late,
            "on_time_rate": None if rate is None else round(float(rate), 4),
        },
        "received_by_month": {str(m): n for m, n in sorted(f.received_by_month.items())},
    }


def _profile_json(p: BureauProfile) -> dict[str, Any]:
    return {"bureau_id": p.bureau_id, "region": p.region, "parent_id": p.parent_id}


@router.get("/central/rollup", response_class=JSONResponse)
async def central_rollup(
    request: Request,
    year: YearQuery,
    _: Overseer,
    region: RegionQuery = None,
    parent: ParentQuery = None,
) -> JSONResponse:
    """Per bureau and summed: table 三's main figures (总计 column), table 四, replies on time
    and the on-time rate, requests received per month; each bureau's figures are those of its
    own annual and monthly reports.

    Figures are kept computed ahead per bureau and year; a bureau whose facts changed since is
    computed for the answer, so every fact recorded by `freshness.as_of` is counted.
    `freshness` says how many lines were kept and how many computed now; `kept_ahead` what
    the background keeper has done (per year: bureaus up to date after its last pass)."""
    rollup, freshness = await _rollup(request, year, region, parent)
    fmt = L.format_for_year(year)
    fmt = L.ReportFormat.F2019 if fmt is L.ReportFormat.F2019 else L.ReportFormat.F2021
    keeper: FiguresKeeper | None = getattr(request.app.state, "figures_keeper", None)
    # Built and encoded here: FastAPI's generic encoder takes seconds on 3,000 bureaus.
    body = {
        "year": year,
        "region": region,
        "parent": parent,
        "freshness": freshness.json(),
        "kept_ahead": None if keeper is None else keeper.status.json(),
        "bureaus": [
            {**_profile_json(line.profile), "name": line.name, **_figures_json(line.figures, fmt)}
            for line in rollup.bureaus
        ],
        "total": {"bureaus": len(rollup.bureaus), **_figures_json(rollup.total, fmt)},
    }
    return JSONResponse(body)


@router.get("/central/dashboard", response_class=HTMLResponse)
async def central_dashboard(
    request: Request,
    year: YearQuery,
    _: Overseer,
    region: RegionQuery = None,
    parent: ParentQuery = None,
) -> HTMLResponse:
    """One HTML page with inline SVG charts: requests per month, outcome mix, on-time rate per
    bureau and late sign-offs."""
    rollup, _freshness = await _rollup(request, year, region, parent)
    today = _today(request)
    submitted: dict[str, dict[int, date]] = {}
    for s in await load_year_sign_offs(request.app.state.pool, year):
        submitted.setdefault(s.bureau_id, {})[s.month] = s.submitted_on
    late: dict[str, LateSignOffs] = {}
    for line in rollup.bureaus:
        b = line.profile.bureau_id
        status = late_sign_offs(year, submitted.get(b, {}), today)
        if status.count:
            late[b] = status
    assert ANNUAL == 0  # late_sign_offs reads the annual report's submission under month 0
    return HTMLResponse(dashboard_html(rollup, late, today.isoformat()))
