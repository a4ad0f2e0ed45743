"""HTTP API of the reporting service: read models only."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from pydantic import BaseModel, Field

from gongkai_contracts.vocabulary import REPLY_OUTCOME_LABELS, ReplyOutcome
from gongkai_platform.auth import Overseer, Reader
from gongkai_platform.http import install_common
from gongkai_platform.telemetry import setup_telemetry

from ..bootstrap import lifespan
from ..config import Settings
from .annual_reports import router as annual_reports
from .central import router as central
from .monthly_reports import router as monthly_reports
from .self_assessments import router as self_assessments
from .sign_offs import router as sign_offs

BureauId = Annotated[str, Path(min_length=1, max_length=64)]


class MonthCount(BaseModel):
    bureau_id: str
    year: int
    month: int
    received: int


class OutcomeCount(BaseModel):
    """One table 三 outcome row: closed requests, how many late, by applicant column."""

    label: str
    total: int = 0
    late: int = 0
    by_applicant_category: dict[str, int] = Field(default_factory=dict)


class BureauYear(BaseModel):
    """本年新收政府信息公开申请 by month, and the year's total."""

    bureau_id: str
    year: int
    months: dict[int, int]
    total: int


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("reporting", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(title="Gongkai reporting (统计与报告)", lifespan=lifespan(settings))
    install_common(app, "reporting")
    app.include_router(annual_reports)
    app.include_router(monthly_reports)
    app.include_router(sign_offs)
    app.include_router(central)
    app.include_router(self_assessments)

    @app.get("/requests-received", response_model=list[MonthCount])
    async def all_counts(request: Request, _: Overseer) -> list[MonthCount]:
        """本年新收 by bureau and month, across every bureau: the central office and auditors."""
        rows = await request.app.state.pool.fetch(
            "SELECT bureau_id, year, month, received FROM requests_received_monthly "
            "ORDER BY bureau_id, year, month"
        )
        return [MonthCount(**dict(r)) for r in rows]

    @app.get("/bureaus/{bureau_id}/requests-received", response_model=BureauYear)
    async def bureau_year(
        request: Request,
        bureau_id: BureauId,
        _: Reader,
        year: Annotated[int, Query(ge=2008, le=2100)],
    ) -> BureauYear:
        rows = await request.app.state.pool.fetch(
            "SELECT month, received FROM requests_received_monthly "
            "WHERE bureau_id = $1 AND year = $2",
            bureau_id,
            year,
        )
        months = {m: 0 for m in range(1, 13)} | {r["month"]: r["received"] for r in rows}
        return BureauYear(bureau_id=bureau_id, year=year, months=months, total=sum(months.values()))

    @app.get("/bureaus/{bureau_id}/request-outcomes")
    async def outcomes(
        request: Request,
        bureau_id: BureauId,
        _: Reader,
        year: Annotated[int, Query(ge=2008, le=2100)],
    ) -> dict[str, Any]:
        """Requests closed in the year by outcome (table 三 rows) and applicant category."""
        rows = await request.app.state.pool.fetch(
            "SELECT outcome, applicant_category, sum(closed) AS closed, sum(late) AS late "
            "FROM request_outcomes_monthly WHERE bureau_id = $1 AND year = $2 "
            "GROUP BY outcome, applicant_category ORDER BY outcome, applicant_category",
            bureau_id,
            year,
        )
        by_outcome: dict[str, OutcomeCount] = {}
        for r in rows:
            entry = by_outcome.setdefault(
                r["outcome"],
                OutcomeCount(label=REPLY_OUTCOME_LABELS[ReplyOutcome(r["outcome"])]),
            )
            entry.total += r["closed"]
            entry.late += r["late"]
            entry.by_applicant_category[r["applicant_category"]] = r["closed"]
        return {"bureau_id": bureau_id, "year": year, "outcomes": by_outcome}

    @app.get("/bureaus/{bureau_id}/fees")
    async def fees(
        request: Request,
        bureau_id: BureauId,
        _: Reader,
        year: Annotated[int, Query(ge=2008, le=2100)],
    ) -> dict[str, Any]:
        """信息处理费 noticed and paid, by month and for the year (元)."""
        rows = await request.app.state.pool.fetch(
            "SELECT month, noticed, noticed_yuan::text, paid, paid_yuan::text FROM fees_monthly "
            "WHERE bureau_id = $1 AND year = $2 ORDER BY month",
            bureau_id,
            year,
        )
        months = [dict(r) for r in rows]
        return {
            "bureau_id": bureau_id,
            "year": year,
            "months": months,
            "paid_yuan": str(sum((Decimal(m["paid_yuan"]) for m in months), Decimal("0.00"))),
        }

    @app.get("/bureaus/{bureau_id}/items-published")
    async def items_published(
        request: Request,
        bureau_id: BureauId,
        _: Reader,
        year: Annotated[int, Query(ge=2008, le=2100)],
    ) -> dict[str, Any]:
        """主动公开: items first published per month of the year, by category."""
        rows = await request.app.state.pool.fetch(
            "SELECT extract(month FROM business_date)::int AS month, category, count(*) AS n "
            "FROM report_item_facts WHERE bureau_id = $1 AND kind = 'published' "
            "AND first_publication AND extract(year FROM business_date) = $2 "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            bureau_id,
            year,
        )
        months: dict[int, dict[str, int]] = {m: {} for m in range(1, 13)}
        for r in rows:
            months[r["month"]][r["category"]] = r["n"]
        return {
            "bureau_id": bureau_id,
            "year": year,
            "months": months,
            "total": sum(r["n"] for r in rows),
        }

    @app.get("/consumers", tags=["operations"])
    async def consumers(request: Request, _: Overseer) -> list[dict[str, object]]:
        """Each projection's consumer: applied, duplicates, dead-lettered, last error."""
        return [
            {
                "name": r.name,
                "applied": r.applied,
                "duplicates": r.duplicates,
                "dead_lettered": r.dead_lettered,
                "last_error": r.last_error,
            }
            for r in request.app.state.runners
        ]

    return app
