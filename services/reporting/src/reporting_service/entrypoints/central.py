"""HTTP routes of the central office (主管部门): roll-ups across bureaus by region and parent,
and the dashboard page with charts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gongkai_platform.auth import Overseer

from ..adapters.central_store import load_all_facts, load_profiles
from ..adapters.sign_off_store import ANNUAL, load_year_sign_offs
from ..annual_report import layout as L
from ..central.dashboard import dashboard_html
from ..central.rollup import (
    BureauProfile,
    Figures,
    LateSignOffs,
    Rollup,
    build_rollup,
    late_sign_offs,
    request_rows,
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


async def _rollup(request: Request, year: int, region: str | None, parent: str | None) -> Rollup:
    pool = request.app.state.pool
    profiles = await load_profiles(pool)
    chosen = select_bureaus(profiles, region=region, parent=parent)
    facts = await load_all_facts(pool, [p.bureau_id for p in chosen])
    return build_rollup(year, profiles, facts, region=region, parent=parent)


def _figures_json(f: Figures, fmt: L.ReportFormat) -> dict[str, Any]:
    rows = request_rows(fmt)
    rate = f.on_time_rate
    return {
        "requests": {
            "new": f.requests.get(L.ROW_NEW, 0),
            "carried_in": f.requests.get(L.ROW_CARRIED_IN, 0),
            "outcomes": {
                r.key: {
                    "label": f"{r.group}·{r.label}" if r.group else r.label,
                    "total": f.requests.get(r.key, 0),
                }
                for r in rows
                if r.outcome_row
            },
            "total": f.requests.get(L.ROW_TOTAL, 0),
            "carried_out": f.requests.get(L.ROW_CARRIED_OUT, 0),
        },
        "cases": {
            b.value: {
                "label": L.CASE_BLOCK_LABELS[b],
                **{c: f.cases.get((b.value, c), 0) for c, _ in L.CASE_COLUMNS},
            }
            for b in L.CaseBlock
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


@router.get("/central/rollup")
async def central_rollup(
    request: Request,
    year: YearQuery,
    _: Overseer,
    region: RegionQuery = None,
    parent: ParentQuery = None,
) -> dict[str, Any]:
    """Per bureau and summed: table 三's main figures (总计 column), table 四, replies on time
    and the on-time rate, requests received per month; each bureau's figures are those of its
    own annual and monthly reports."""
    rollup = await _rollup(request, year, region, parent)
    fmt = L.format_for_year(year)
    fmt = L.ReportFormat.F2019 if fmt is L.ReportFormat.F2019 else L.ReportFormat.F2021
    return {
        "year": year,
        "region": region,
        "parent": parent,
        "bureaus": [
            {**_profile_json(line.profile), "name": line.name, **_figures_json(line.figures, fmt)}
            for line in rollup.bureaus
        ],
        "total": {"bureaus": len(rollup.bureaus), **_figures_json(rollup.total, fmt)},
    }


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
    rollup = await _rollup(request, year, region, parent)
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
