"""HTTP routes of sign-off: a bureau head signs off the monthly report and publishes the annual
report (each written as an event to gongkai.reporting.events, signed by the caller's token);
the central office sees who is late; a published report is compared with today's figures
(restatement)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from gongkai_contracts.events import AnnualReportPublished, MonthlyReportSubmitted
from gongkai_platform.auth import BureauHead, Overseer, Principal, Reader
from gongkai_platform.eventstore import Metadata

from ..adapters.report_store import bureau_known, load_facts, load_narrative
from ..adapters.sign_off_store import (
    ANNUAL,
    AlreadySignedOff,
    SignOff,
    known_bureaus,
    load_sign_off,
    load_year_sign_offs,
    record_sign_off,
)
from ..annual_report.builder import AnnualReport, build_annual_report
from ..monthly_report.builder import build_monthly_report
from ..sign_off import (
    SIGN_OFF_STATUS_LABELS,
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
from .annual_reports import BureauId, Year
from .monthly_reports import Month

router = APIRouter(tags=["sign-off"])


class SignOffBody(BaseModel):
    """Nothing to give: the signer is the caller. The body may be left out; a field in it (such
    as the `signed_by` of old) is refused, so a client that still names a signer learns that
    the name now comes from the token."""

    model_config = ConfigDict(extra="forbid")


# Optional and empty: a POST without a body signs off as well.
NoBody = Annotated[SignOffBody | None, Body()]


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


async def _known(request: Request, bureau_id: str) -> None:
    if not await bureau_known(request.app.state.pool, bureau_id):
        raise HTTPException(404, detail=f"reporting has seen nothing of bureau {bureau_id}")


def _sign_off_json(s: SignOff) -> dict[str, Any]:
    return {
        "bureau_id": s.bureau_id,
        "year": s.year,
        **({"month": s.month} if s.month != ANNUAL else {}),
        "signed_by": s.signed_by,
        "signer": None if s.signer is None else s.signer.model_dump(mode="json"),
        "submitted_at": s.submitted_at.isoformat(),
        "submitted_on": s.submitted_on.isoformat(),
        "due_on": s.due_on.isoformat(),
        "on_time": s.on_time,
        "status": (SignOffStatus.ON_TIME if s.on_time else SignOffStatus.LATE).value,
        "figures_digest": s.figures_digest,
        "event_id": s.event_id,
    }


async def _record(
    request: Request,
    bureau_id: str,
    year: int,
    month: int,
    who: Principal,
    now: datetime,
    due_on: date,
    figures: dict[str, int | str],
) -> JSONResponse:
    submitted_on = china_date(now)
    digest = figures_digest(figures)
    common: dict[str, Any] = {
        "year": year,
        "figures_digest": digest,
        "figures": figures,
        # 签发人: the display name from the token (else the user id); the user id and role are
        # the envelope's actor.
        "signed_by": who.signature,
        "submitted_on": submitted_on,
        "due_on": due_on,
        "on_time": submitted_on <= due_on,
    }
    event = (
        AnnualReportPublished(**common)
        if month == ANNUAL
        else MonthlyReportSubmitted(month=month, **common)
    )
    meta = Metadata(
        bureau_id=bureau_id,
        actor=who.actor,
        correlation_id=uuid4(),
        occurred_at=now,
    )
    pool = request.app.state.pool
    try:
        envelope = await record_sign_off(
            pool,
            request.app.state.store,
            bureau_id,
            year,
            month,
            event,
            meta,
            signed_by=who.signature,
            submitted_on=submitted_on,
            due_on=due_on,
            on_time=submitted_on <= due_on,
            figures=figures,
            digest=digest,
        )
    except AlreadySignedOff:
        earlier = await load_sign_off(pool, bureau_id, year, month)
        what = "annual report" if month == ANNUAL else f"monthly report {year}-{month:02d}"
        raise HTTPException(
            409,
            detail={
                "msg": f"the {what} of {bureau_id} has already been signed off",
                "sign_off": _sign_off_json(earlier) if earlier else None,
            },
        ) from None
    stored = await load_sign_off(pool, bureau_id, year, month)
    assert stored is not None and stored.event_id == str(envelope.event_id)
    return JSONResponse(_sign_off_json(stored) | {"figures": figures}, status_code=201)


@router.post("/bureaus/{bureau_id}/monthly-reports/{year}/{month}/sign-off", status_code=201)
async def sign_off_monthly_report(
    request: Request,
    bureau_id: BureauId,
    year: Year,
    month: Month,
    who: BureauHead,
    _: NoBody = None,
) -> JSONResponse:
    """Freeze the month's statistics (本期 and 本年累计) in MonthlyReportSubmitted, once;
    on time when signed off by the 4th of the next month (Asia/Shanghai). The bureau head
    only: the token names the signer."""
    await _known(request, bureau_id)
    now = _now(request)
    if not period_over(year, month, china_date(now)):
        raise HTTPException(422, detail=f"{year}-{month:02d} has not ended yet")
    facts = await load_facts(request.app.state.pool, bureau_id, None)
    report = build_monthly_report(bureau_id, year, month, facts)
    return await _record(
        request,
        bureau_id,
        year,
        month,
        who,
        now,
        monthly_due_on(year, month),
        report.figures(),
    )


@router.get("/bureaus/{bureau_id}/monthly-reports/{year}/{month}/sign-off")
async def get_monthly_sign_off(
    request: Request, bureau_id: BureauId, year: Year, month: Month, _: Reader
) -> dict[str, Any]:
    found = await load_sign_off(request.app.state.pool, bureau_id, year, month)
    if found is None:
        raise HTTPException(404, detail=f"{bureau_id} has not signed off {year}-{month:02d}")
    return _sign_off_json(found) | {"figures": found.figures}


def publication_refusal(report: AnnualReport) -> dict[str, Any] | None:
    """Why a report cannot be published: the cross-checks that fail, each naming its cell."""
    if not report.failures:
        return None
    return {
        "msg": f"勾稽关系校验未通过（{len(report.failures)}处），不能发布",
        "failures": [
            {
                "rule": f.rule,
                "table": f.table,
                "row": f.row,
                "column": f.column,
                "expected": f.expected,
                "actual": f.actual,
                "message": f.message,
            }
            for f in report.failures
        ],
    }


async def _current_report(request: Request, bureau_id: str, year: int) -> AnnualReport:
    pool = request.app.state.pool
    facts = await load_facts(pool, bureau_id, None)
    narrative = await load_narrative(pool, bureau_id, year, None)
    return build_annual_report(bureau_id, year, facts, narrative)


@router.post("/bureaus/{bureau_id}/annual-reports/{year}/publication", status_code=201)
async def publish_annual_report(
    request: Request, bureau_id: BureauId, year: Year, who: BureauHead, _: NoBody = None
) -> JSONResponse:
    """Publish the annual report: every printed figure frozen in AnnualReportPublished, once;
    refused (422) while a cross-check fails. The bureau head only: the token names the
    signer."""
    await _known(request, bureau_id)
    now = _now(request)
    if not period_over(year, None, china_date(now)):
        raise HTTPException(422, detail=f"the year {year} has not ended yet")
    report = await _current_report(request, bureau_id, year)
    refusal = publication_refusal(report)
    if refusal is not None:
        raise HTTPException(422, detail=refusal)
    return await _record(
        request, bureau_id, year, ANNUAL, who, now, annual_due_on(year), annual_figures(report)
    )


@router.get("/bureaus/{bureau_id}/annual-reports/{year}/restatement")
async def annual_report_restatement(
    request: Request, bureau_id: BureauId, year: Year, _: Reader
) -> dict[str, Any]:
    """As submitted vs as of today: the published (frozen) figures against the ones computed
    now, cell by cell; every difference is listed."""
    await _known(request, bureau_id)
    published = await load_sign_off(request.app.state.pool, bureau_id, year, ANNUAL)
    if published is None:
        raise HTTPException(404, detail=f"{bureau_id} has not published its {year} report")
    current = annual_figures(await _current_report(request, bureau_id, year))
    differences = restatement(published.figures, current)
    return {
        "bureau_id": bureau_id,
        "year": year,
        "published": _sign_off_json(published),
        "current_digest": figures_digest(current),
        "restated": bool(differences),
        "differences": [
            {
                "cell": d.key,
                "labels": d.labels,
                "published": d.published,
                "current": d.current,
            }
            for d in differences
        ],
    }


def _status_json(sign_off: SignOff | None, due_on: date, today: date) -> dict[str, Any]:
    status = sign_off_status(sign_off.submitted_on if sign_off else None, due_on, today)
    return {
        "status": status.value,
        "label": SIGN_OFF_STATUS_LABELS[status],
        "due_on": due_on.isoformat(),
        "submitted_on": sign_off.submitted_on.isoformat() if sign_off else None,
        "signed_by": sign_off.signed_by if sign_off else None,
    }


@router.get("/central/sign-offs")
async def central_sign_offs(
    request: Request, year: Annotated[int, Query(ge=2008, le=2100)], _: Overseer
) -> dict[str, Any]:
    """For the central office (主管部门): per bureau, each month's sign-off and the annual
    report's — on time, late, missing (past due) or not due yet — and who is late."""
    pool = request.app.state.pool
    today = china_date(_now(request))
    signed = {(s.bureau_id, s.month): s for s in await load_year_sign_offs(pool, year)}
    bureaus = []
    late: list[dict[str, Any]] = []
    for bureau_id in await known_bureaus(pool):
        months = {
            m: _status_json(signed.get((bureau_id, m)), monthly_due_on(year, m), today)
            for m in range(1, 13)
        }
        annual = _status_json(signed.get((bureau_id, ANNUAL)), annual_due_on(year), today)
        bureaus.append({"bureau_id": bureau_id, "months": months, "annual": annual})
        late += [
            {"bureau_id": bureau_id, "month": m, "status": s["status"]}
            for m, s in months.items()
            if s["status"] in (SignOffStatus.LATE, SignOffStatus.MISSING)
        ]
        if annual["status"] in (SignOffStatus.LATE, SignOffStatus.MISSING):
            late.append({"bureau_id": bureau_id, "annual": True, "status": annual["status"]})
    return {"year": year, "today": today.isoformat(), "bureaus": bureaus, "late": late}
