"""HTTP routes of the monthly statistics (本期 and 本年累计)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from gongkai_platform.auth import Reader

from ..adapters.report_store import bureau_known, load_facts
from ..monthly_report.builder import MonthlyReport, build_monthly_report
from ..monthly_report.outputs import monthly_html, monthly_json
from .annual_reports import AsOf, BureauId, Year, instant_of

Month = Annotated[int, Path(ge=1, le=12)]

router = APIRouter(tags=["monthly report"])


class MonthlyFormat(StrEnum):
    JSON = "json"
    HTML = "html"


async def monthly_report(
    request: Request, bureau_id: str, year: int, month: int, as_of: AsOf = None
) -> MonthlyReport:
    pool = request.app.state.pool
    if not await bureau_known(pool, bureau_id):
        raise HTTPException(404, detail=f"reporting has seen nothing of bureau {bureau_id}")
    facts = await load_facts(pool, bureau_id, as_of)
    return build_monthly_report(bureau_id, year, month, facts, as_of=as_of)


@router.get(
    "/bureaus/{bureau_id}/monthly-reports/{year}/{month}",
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
async def get_monthly_report(
    request: Request,
    bureau_id: BureauId,
    year: Year,
    month: Month,
    _: Reader,
    output: Annotated[MonthlyFormat, Query(alias="format")] = MonthlyFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    """政府信息公开工作统计月报: 本期 (the month) and 本年累计 (1 January to the month's end),
    computed from the same facts as the annual report."""
    report = await monthly_report(request, bureau_id, year, month, instant_of(as_of))
    if output is MonthlyFormat.HTML:
        return HTMLResponse(monthly_html(report))
    return JSONResponse(monthly_json(report))
