"""Builders shared by tests (plain functions; fixtures live in tests/plugins)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from gongkai_contracts import SYSTEM_ACTOR, new_event_id
from gongkai_contracts.events import RequestReceived
from gongkai_platform.auth import issue_token
from gongkai_platform.eventstore import Metadata


def received(request_id: str | None = None, on: date = date(2026, 3, 3)) -> RequestReceived:
    return RequestReceived(
        request_id=request_id or uuid4().hex,
        channel="online",
        applicant_category="natural_person",
        applicant_ref=uuid4().hex,
        received_on=on,
        description="2025年度部门预算执行情况",
        regime="2019",
        due_on=on,
    )


def meta(bureau_id: str = "b-1") -> Metadata:
    return Metadata(bureau_id=bureau_id, actor=SYSTEM_ACTOR, correlation_id=new_event_id())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:10]}"


# Who reviews at which stage in tests: the bureau head assigns them (PUT …/review-stages).
STAGE_REVIEWERS = [("初审", "reviewer-1"), ("复审", "reviewer-2"), ("终审", "reviewer-3")]


def bearer(
    role: str, bureau_id: str | None = None, user_id: str | None = None, name: str | None = None
) -> dict[str, str]:
    """Authorization header for a caller; bureau staff need `bureau_id`, overseers must not."""
    user = user_id or (f"{role}@{bureau_id}" if bureau_id else role)
    return {"Authorization": f"Bearer {issue_token(user, role, bureau_id, name=name)}"}
