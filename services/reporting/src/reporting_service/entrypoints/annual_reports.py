"""HTTP routes of the annual report: the report in four formats, the sources of a figure, and
the narrative the bureau writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gongkai_platform.auth import Clerk, Reader

from ..adapters.report_store import bureau_known, load_facts, load_narrative, save_narrative
from ..annual_report.builder import (
    AnnualReport,
    build_annual_report,
    cell_key,
    cell_labels,
    find_cell,
)
from ..annual_report.facts import Narrative
from ..annual_report.html import report_html
from ..annual_report.tabular import report_csv, report_json
from ..annual_report.xlsx import report_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BureauId = Annotated[str, Path(min_length=1, max_length=64)]
Year = Annotated[int, Path(ge=2008, le=2100, description="the report year (2008 onwards)")]
AsOf = Annotated[
    datetime | None,
    Query(
        description="compute from the facts recorded up to this instant (ISO 8601 with an "
        "offset, e.g. 2027-01-20T09:00:00+08:00); default: everything recorded so far"
    ),
]

router = APIRouter(tags=["annual report"])


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"


class NarrativeBody(BaseModel):
    """The sections the bureau writes; 六 gets the year's 信息处理费 appended automatically."""

    model_config = ConfigDict(extra="forbid")

    overview: str = Field("", max_length=50_000, description="一、总体情况 (before 2019: 概述)")
    problems_and_improvements: str = Field(
        "", max_length=50_000, description="五、存在的主要问题及改进情况"
    )
    other_matters: str = Field("", max_length=50_000, description="六、其他需要报告的事项")


def instant_of(as_of: datetime | None) -> datetime | None:
    if as_of is not None and as_of.tzinfo is None:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["query", "as_of"],
                    "msg": "give the instant with its offset, e.g. 2027-01-20T09:00:00+08:00",
                }
            ],
        )
    return as_of


async def _report(
    request: Request, bureau_id: str, year: int, as_of: datetime | None
) -> AnnualReport:
    pool = request.app.state.pool
    if not await bureau_known(pool, bureau_id):
        raise HTTPException(404, detail=f"reporting has seen nothing of bureau {bureau_id}")
    facts = await load_facts(pool, bureau_id, as_of)
    narrative = await load_narrative(pool, bureau_id, year, as_of)
    return build_annual_report(bureau_id, year, facts, narrative, as_of=as_of)


def _attachment(report: AnnualReport, extension: str) -> dict[str, str]:
    """A download named after the report's title (RFC 6266), with an ASCII fallback."""
    fallback = f"annual-report-{report.year}.{extension}"
    name = quote(f"{report.title.strip('《》')}.{extension}")
    return {"content-disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{name}"}


def _cells_href(bureau_id: str, year: int, as_of: datetime | None) -> Callable[[str], str]:
    base = f"/bureaus/{quote(bureau_id)}/annual-reports/{year}/cells"

    def href(key: str) -> str:
        params = {"cell": key} | ({"as_of": as_of.isoformat()} if as_of else {})
        return f"{base}?{urlencode(params)}"

    return href


@router.get(
    "/bureaus/{bureau_id}/annual-reports/{year}",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                XLSX: {},
                "text/html": {},
            },
            "description": "the report in the national format of its year",
        }
    },
)
async def annual_report(
    request: Request,
    bureau_id: BureauId,
    year: Year,
    _: Reader,
    output: Annotated[OutputFormat, Query(alias="format")] = OutputFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    """政府信息公开工作年度报告: the 2021 format from 2021, the 2019 trial format for 2019 and
    2020, the 2007-era sections before; with the cross-checks (勾稽关系)."""
    instant = instant_of(as_of)
    report = await _report(request, bureau_id, year, instant)
    match output:
        case OutputFormat.CSV:
            return Response(
                report_csv(report),
                media_type="text/csv; charset=utf-8",
                headers=_attachment(report, "csv"),
            )
        case OutputFormat.XLSX:
            return Response(
                report_xlsx(report), media_type=XLSX, headers=_attachment(report, "xlsx")
            )
        case OutputFormat.HTML:
            return HTMLResponse(report_html(report, _cells_href(bureau_id, year, instant)))
    return JSONResponse(report_json(report))


@router.get("/bureaus/{bureau_id}/annual-reports/{year}/cells")
async def report_cell(
    request: Request,
    bureau_id: BureauId,
    year: Year,
    _: Reader,
    table: Annotated[str | None, Query(description="二, 三 or 四")] = None,
    row: Annotated[str | None, Query(description="the row label, e.g. （一）予以公开")] = None,
    column: Annotated[str | None, Query(description="the column label, e.g. 自然人")] = None,
    cell: Annotated[
        str | None, Query(description="or the cell key, e.g. 三:disclosed:natural_person")
    ] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """What is behind one figure: the requests (table 三), cases (四) or catalogue items (二)
    counted in it, each with the events that place it there."""
    if cell is not None:
        parts = cell.split(":", 2)
        if len(parts) != 3:
            raise HTTPException(
                422, detail=[{"loc": ["query", "cell"], "msg": "expected table:row:column"}]
            )
        table, row, column = parts
    missing = [n for n, v in (("table", table), ("row", row), ("column", column)) if not v]
    if missing:
        raise HTTPException(
            422,
            detail=[
                {"loc": ["query", n], "msg": "name the cell by table, row and column, or cell"}
                for n in missing
            ],
        )
    assert table is not None and row is not None and column is not None
    instant = instant_of(as_of)
    report = await _report(request, bureau_id, year, instant)
    try:
        row_key, column_key = find_cell(report, table, row, column)
    except KeyError as exc:
        raise HTTPException(422, detail=[{"loc": ["query"], "msg": exc.args[0]}]) from None
    found = report.table(table).cell(row_key, column_key)
    row_label, column_label = cell_labels(report, table, row_key, column_key)
    ids = {"二": "item_ids", "三": "request_ids", "四": "case_ids"}[table]
    value = found.value
    return {
        "bureau_id": bureau_id,
        "year": year,
        "as_of": instant.isoformat() if instant else None,
        "table": table,
        "row": row_label,
        "column": column_label,
        "cell": cell_key(table, row_key, column_key),
        "value": value if isinstance(value, int) else format(value, "f"),
        ids: [s.id for s in found.sources],
        "event_ids": [e for s in found.sources for e in s.event_ids],
        "sources": [
            {"kind": s.kind, "id": s.id, "event_ids": list(s.event_ids)} for s in found.sources
        ],
    }


@router.put("/bureaus/{bureau_id}/annual-reports/{year}/narrative")
async def put_narrative(
    request: Request, bureau_id: BureauId, year: Year, body: NarrativeBody, _: Clerk
) -> dict[str, Any]:
    """Replace the bureau's narrative of the year (the earlier versions stay for `as_of`);
    the bureau's clerk or head."""
    stored = await save_narrative(
        request.app.state.pool,
        bureau_id,
        year,
        Narrative(body.overview, body.problems_and_improvements, body.other_matters),
    )
    return _narrative_json(bureau_id, year, stored)


@router.get("/bureaus/{bureau_id}/annual-reports/{year}/narrative")
async def get_narrative(
    request: Request, bureau_id: BureauId, year: Year, _: Reader, as_of: AsOf = None
) -> dict[str, Any]:
    stored = await load_narrative(request.app.state.pool, bureau_id, year, instant_of(as_of))
    if stored is None:
        raise HTTPException(404, detail=f"bureau {bureau_id} has written no narrative for {year}")
    return _narrative_json(bureau_id, year, stored)


def _narrative_json(bureau_id: str, year: int, narrative: Narrative) -> dict[str, Any]:
    return {
        "bureau_id": bureau_id,
        "year": year,
        "overview": narrative.overview,
        "problems_and_improvements": narrative.problems_and_improvements,
        "other_matters": narrative.other_matters,
        "recorded_at": narrative.recorded_at.isoformat() if narrative.recorded_at else None,
    }
