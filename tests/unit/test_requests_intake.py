"""Registering a request: given history, when the command, then events or a named refusal."""

from __future__ import annotations

from datetime import date

import pytest

from gongkai_contracts import SYSTEM_ACTOR
from gongkai_contracts.events import RequestReceived
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.errors import DomainError
from gongkai_platform.eventstore import InMemoryEventStore
from requests_service.domain.request import RegisterRequest, register
from requests_service.handlers import register_request, stream_of

TODAY = date(2026, 11, 27)


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


def test_a_new_request_is_received_on_its_receipt_date() -> None:
    [event] = register(command(), today=TODAY, history=[])
    assert isinstance(event, RequestReceived)
    assert event.received_on == date(2026, 3, 3)
    assert event.description == "社会保险基金年度收支情况"


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
        register(command(**overrides), today=TODAY, history=[])
    assert refused.value.field == field


def test_the_same_request_again_adds_nothing() -> None:
    history = register(command(), today=TODAY, history=[])
    assert register(command(), today=TODAY, history=history) == []


def test_the_same_id_with_other_details_is_refused() -> None:
    history = register(command(), today=TODAY, history=[])
    with pytest.raises(DomainError, match="other details"):
        register(command(channel=Channel.FAX), today=TODAY, history=history)


async def test_handler_appends_once_and_replays_a_retry() -> None:
    store = InMemoryEventStore()
    first, created = await register_request(store, command(), SYSTEM_ACTOR, TODAY)
    again, created_again = await register_request(store, command(), SYSTEM_ACTOR, TODAY)
    assert (created, created_again) == (True, False)
    assert again.event_id == first.event_id
    assert len(await store.load(stream_of("cz-hrss", "2026-001"))) == 1
    assert first.occurred_at.date() == date(2026, 3, 3)


async def test_request_ids_are_per_bureau() -> None:
    store = InMemoryEventStore()
    await register_request(store, command(), SYSTEM_ACTOR, TODAY)
    _, created = await register_request(store, command(bureau_id="cz-finance"), SYSTEM_ACTOR, TODAY)
    assert created
