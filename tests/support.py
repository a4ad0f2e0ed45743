"""Builders shared by tests (plain functions; fixtures live in tests/plugins)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from gongkai_contracts import SYSTEM_ACTOR, new_event_id
from gongkai_contracts.events import RequestReceived
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
