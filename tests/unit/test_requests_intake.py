"""Registering a request: given history, when the command, then events or a named refusal."""

from __future__ import annotations

from datetime import date

import pytest

from gongkai_contracts.events import RequestReceived
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.errors import DomainError
from requests_service.domain.request import RegisterRequest, register

TODAY = date(2026, 11, 27)
CALENDAR = WorkingCalendar()


def command(**overrides: object) -> RegisterRequest:
    fields: dict[str, object] = {
        "bureau_id": "cz-hrss",
        "request_id": "2026-001",
        "channel": Channel.LETTER,
        "applicant_category": ApplicantCategory.NATURAL_PERSON,
        "applicant_ref": "app-1",
        "received_on": date(2026, 3, 3),
        "description": " 社会保险基金年度收支情况 ",
    }
    return RegisterRequest(**{**fields, **overrides})  # type: ignore[arg-type]


def test_a_new_request_is_received_with_its_deadline() -> None:
    [event] = register(command(), today=TODAY, history=[], calendar=CALENDAR)
    assert isinstance(event, RequestReceived)
    assert event.received_on == date(2026, 3, 3)
    assert event.description == "社会保险基金年度收支情况"
    # 2026-03-03 is a Tuesday: 20 working days after it, no holiday between, is 2026-03-31.
    assert (event.regime, event.due_on, event.due_provisional) == ("2019", date(2026, 3, 31), False)


def test_the_receipt_date_chooses_the_regime() -> None:
    [old] = register(
        command(received_on=date(2011, 9, 30)), today=TODAY, history=[], calendar=CALENDAR
    )
    assert (old.regime, old.due_on) == ("2007", date(2011, 10, 26))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"received_on": date(2026, 11, 28)}, "received_on"),
        ({"received_on": date(2008, 4, 30)}, "received_on"),
        ({"description": "   "}, "description"),
    ],
)
def test_refusals_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        register(command(**overrides), today=TODAY, history=[], calendar=CALENDAR)
    assert refused.value.field == field


def test_the_same_request_again_adds_nothing() -> None:
    history = register(command(), today=TODAY, history=[], calendar=CALENDAR)
    assert register(command(), today=TODAY, history=history, calendar=CALENDAR) == []


def test_the_same_id_with_other_details_is_refused() -> None:
    history = register(command(), today=TODAY, history=[], calendar=CALENDAR)
    with pytest.raises(DomainError, match="other details"):
        register(command(channel=Channel.FAX), today=TODAY, history=history, calendar=CALENDAR)
