"""HTTP routes of the self-assessment (自评): the scheme's tree with scores, evidence and total;
the scores the bureau enters with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gongkai_platform.auth import Clerk, Reader

from ..adapters.report_store import bureau_known, load_facts
from ..adapters.self_assessment_store import (
    load_approvals,
    load_entries,
    load_submissions,
    save_entry,
)
from ..self_assessment.scoring import (
    DEFAULT_SCHEME,
    EntryError,
    Item,
    Scored,
    check_entry,
    grade,
    prove,
    score,
)
from ..sign_off import china_date
from .annual_reports import BureauId, Year

router = APIRouter(tags=["self-assessment"])

ItemKey = Annotated[str, Path(min_length=1, max_length=100)]


class EntryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: Decimal = Field(ge=0, max_digits=6, decimal_places=2)
    reason: str = Field(min_length=1, max_length=5000, description="why this score (自评理由)")


def _scheme(request: Request) -> Item:
    scheme: Item = getattr(request.app.state, "self_assessment_scheme", DEFAULT_SCHEME)
    return scheme


def _num(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _scored_json(s: Scored) -> dict[str, Any]:
    item = s.item
    out: dict[str, Any] = {
        "key": item.key,
        "title": item.title,
        "max_points": _num(item.max_points),
        "score": _num(s.score),
        "complete": s.complete,
        "scored_by": "items" if item.children else "evidence" if item.evidence else "entry",
    }
    if item.rule:
        out["rule"] = item.rule
    if item.evidence is not None and s.proof is not None:
        out["evidence"] = {
            "kind": item.evidence.value,
            "checked": s.proof.checked,
            "failures": list(s.proof.failures),
            "deducted": _num(s.deducted),
        }
    if item.entered:
        out["entry"] = (
            {
                "reason": s.entry.reason,
                "recorded_at": s.entry.recorded_at.isoformat() if s.entry.recorded_at else None,
            }
            if s.entry
            else None
        )
    if s.children:
        out["items"] = [_scored_json(c) for c in s.children]
    return out


@router.get("/bureaus/{bureau_id}/self-assessments/{year}")
async def get_self_assessment(
    request: Request, bureau_id: BureauId, year: Year, _: Reader
) -> dict[str, Any]:
    """The scheme's tree: evidence items scored from the log (with what was checked and what
    failed), entered items with their score and reason (null until entered), and the total."""
    pool = request.app.state.pool
    if not await bureau_known(pool, bureau_id):
        raise HTTPException(404, detail=f"reporting has seen nothing of bureau {bureau_id}")
    clock: Callable[[], datetime] = request.app.state.clock
    today = china_date(clock())
    proofs = prove(
        year,
        await load_facts(pool, bureau_id, None),
        await load_approvals(pool, bureau_id),
        await load_submissions(pool, bureau_id),
        today,
    )
    scheme = _scheme(request)
    tree = score(scheme, proofs, await load_entries(pool, bureau_id, year))
    assert tree.score is not None
    return {
        "bureau_id": bureau_id,
        "year": year,
        "today": today.isoformat(),
        "total": _num(tree.score),
        "max_points": _num(scheme.max_points),
        "complete": tree.complete,
        "grade": grade(tree.score, scheme.max_points) if tree.complete else None,
        "tree": _scored_json(tree),
    }


@router.put("/bureaus/{bureau_id}/self-assessments/{year}/items/{key}")
async def put_self_assessment_item(
    request: Request, bureau_id: BureauId, year: Year, key: ItemKey, body: EntryBody, _: Clerk
) -> dict[str, Any]:
    """Enter the score of an item no event can prove, with its reason (422 for an evidence
    item, a group, an unknown key or a score above the item's maximum); the bureau's clerk or
    head."""
    try:
        item = check_entry(_scheme(request), key, body.score)
    except EntryError as e:
        raise HTTPException(422, detail=str(e)) from None
    entry = await save_entry(
        request.app.state.pool, bureau_id, year, key, body.score, body.reason.strip() or "—"
    )
    return {
        "bureau_id": bureau_id,
        "year": year,
        "key": item.key,
        "title": item.title,
        "max_points": _num(item.max_points),
        "score": _num(entry.score),
        "reason": entry.reason,
        "recorded_at": entry.recorded_at.isoformat() if entry.recorded_at else None,
    }
