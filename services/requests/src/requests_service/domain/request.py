"""A disclosure request (依申请公开): decides from its past events, returns new ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gongkai_contracts import Event
from gongkai_contracts.events import RequestReceived
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.errors import DomainError


@dataclass(frozen=True)
class RegisterRequest:
    """Command: register a request received by the bureau."""

    bureau_id: str
    request_id: str
    channel: Channel
    applicant_category: ApplicantCategory
    applicant_ref: str
    received_on: date
    description: str
    requested_form: str | None = None


# 国务院令第492号 came into force on 2008-05-01; nothing before it is a disclosure request.
FIRST_RECEIPT_DATE = date(2008, 5, 1)


def register(
    command: RegisterRequest, *, today: date, history: Sequence[Event]
) -> list[RequestReceived]:
    """The new events; none when the same request was registered before (a retried POST)."""
    if history:
        first = history[0]
        if isinstance(first, RequestReceived) and _same_request(first, command):
            return []
        raise DomainError(
            "request_id", f"request {command.request_id} is already registered with other details"
        )
    if command.received_on < FIRST_RECEIPT_DATE:
        raise DomainError("received_on", f"{command.received_on} is before 2008-05-01")
    if command.received_on > today:
        # 条例 第三十一条: the receipt date is a day that has happened.
        raise DomainError("received_on", f"{command.received_on} is in the future")
    if not command.description.strip():
        raise DomainError("description", "say what information is asked for")
    return [
        RequestReceived(
            request_id=command.request_id,
            channel=command.channel,
            applicant_category=command.applicant_category,
            applicant_ref=command.applicant_ref,
            received_on=command.received_on,
            description=command.description.strip(),
            requested_form=command.requested_form,
        )
    ]


def _same_request(event: RequestReceived, command: RegisterRequest) -> bool:
    return (
        event.channel == command.channel
        and event.applicant_category == command.applicant_category
        and event.received_on == command.received_on
        and event.description == command.description.strip()
        and event.requested_form == command.requested_form
    )
