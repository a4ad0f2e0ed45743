"""A disclosure request (依申请公开): decides from its past events, returns new ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def register(command: RegisterRequest, *, today: date, existing_version: int) -> RequestReceived:
    if existing_version:
        raise DomainError("request_id", f"request {command.request_id} is already registered")
    if command.received_on > today:
        # 条例 第三十一条: the receipt date is a day that has happened.
        raise DomainError("received_on", f"{command.received_on} is in the future")
    if not command.description.strip():
        raise DomainError("description", "say what information is asked for")
    return RequestReceived(
        request_id=command.request_id,
        channel=command.channel,
        applicant_category=command.applicant_category,
        applicant_ref=command.applicant_ref,
        received_on=command.received_on,
        description=command.description.strip(),
        requested_form=command.requested_form,
    )
