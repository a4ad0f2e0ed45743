"""Contracts: round trip, closed schemas, canonical hashing, upcasting."""

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from gongkai_contracts import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    ContractError,
    Envelope,
    Event,
    canonical_json,
    chain_hash,
    new_event_id,
    registered_event_types,
)
from gongkai_contracts.events import RequestReceived
from gongkai_contracts.topics import all_topics


def _received(**overrides: Any) -> RequestReceived:
    fields: dict[str, Any] = {
        "request_id": "r-1",
        "channel": "letter",
        "applicant_category": "natural_person",
        "applicant_ref": "app-1",
        "received_on": date(2026, 3, 3),
        "description": "2025年度部门预算",
        "regime": "2019",
        "due_on": date(2026, 3, 31),
    }
    return RequestReceived(**{**fields, **overrides})


def _seal(event: Event, prev_hash: str = GENESIS_HASH, version: int = 1) -> Envelope:
    return Envelope.seal(
        event,
        bureau_id="b-1",
        stream_id="request-r-1",
        stream_version=version,
        occurred_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        actor=SYSTEM_ACTOR,
        correlation_id=new_event_id(),
        causation_id=None,
        prev_hash=prev_hash,
    )


def test_round_trip_through_json_keeps_every_field() -> None:
    envelope = _seal(_received())
    again = Envelope.from_json(envelope.to_json())
    assert again == envelope
    assert again.payload() == _received()


def test_unknown_field_is_rejected_with_its_name() -> None:
    with pytest.raises(ValidationError, match="shoe_size"):
        RequestReceived.model_validate({**_received().model_dump(), "shoe_size": 42})


def test_unknown_field_in_stored_data_is_a_contract_error() -> None:
    envelope = _seal(_received())
    tampered = envelope.model_copy(update={"data": {**envelope.data, "shoe_size": 42}})
    tampered = tampered.model_copy(
        update={"hash": chain_hash(GENESIS_HASH, tampered.without_hash())}
    )
    with pytest.raises(ContractError, match="shoe_size"):
        tampered.payload()


def test_bad_enum_value_names_the_field() -> None:
    with pytest.raises(ValidationError, match="channel"):
        _received(channel="carrier pigeon")


def test_events_are_frozen() -> None:
    event = _received()
    with pytest.raises(ValidationError):
        event.request_id = "other"  # type: ignore[misc]


def test_hash_is_stable_under_key_order() -> None:
    data = {"b": 1, "a": {"y": "公开", "x": [1, 2]}}
    reordered = {"a": {"x": [1, 2], "y": "公开"}, "b": 1}
    assert (
        canonical_json(data)
        == canonical_json(reordered)
        == ('{"a":{"x":[1,2],"y":"公开"},"b":1}'.encode())
    )
    assert chain_hash(GENESIS_HASH, data) == chain_hash(GENESIS_HASH, reordered)


def test_hash_is_stable_across_processes() -> None:
    envelope = _seal(_received())
    code = (
        "import json,sys; from gongkai_contracts import chain_hash;"
        "d=json.loads(sys.stdin.read()); h=d.pop('hash'); print(chain_hash(d['prev_hash'], d))"
    )
    # A different hash seed and a reversed key order in the other process.
    reversed_json = json.dumps(dict(reversed(list(json.loads(envelope.to_json()).items()))))
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=reversed_json,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert out.stdout.strip() == envelope.hash


def test_tampering_is_detected_on_decode() -> None:
    raw = json.loads(_seal(_received()).to_json())
    raw["data"]["description"] = "something else"
    with pytest.raises(ContractError, match="hash mismatch"):
        Envelope.from_json(json.dumps(raw))


def test_the_hash_is_the_same_checked_on_the_bytes_or_re_serialised() -> None:
    """Canonical bytes are checked as written (fast); any other spelling of the same envelope
    is re-serialised and still verifies; a change in either spelling is refused."""
    envelope = _seal(_received(description='含 "hash":"引号" 的 描述'))
    canonical = envelope.to_json()
    assert Envelope.from_json(canonical) == envelope
    spaced = json.dumps(json.loads(canonical), indent=2, ensure_ascii=True)
    assert Envelope.from_json(spaced) == envelope
    assert b'\\"hash\\":\\"' in canonical, "the look-alike inside a string stays escaped"
    tampered = canonical.replace("引号".encode(), "改了".encode())
    with pytest.raises(ContractError, match="hash mismatch"):
        Envelope.from_json(tampered)
    with pytest.raises(ContractError, match="hash mismatch"):
        Envelope.from_json(spaced.replace("\\u5f15", "\\u6539"))


def test_chain_links_each_event_to_the_previous_hash() -> None:
    first = _seal(_received())
    second = _seal(_received(request_id="r-2"), prev_hash=first.hash, version=2)
    assert second.prev_hash == first.hash
    second.verify()
    broken = second.model_copy(update={"prev_hash": GENESIS_HASH})
    with pytest.raises(ContractError):
        broken.verify()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_type": "x"}', "hash and prev_hash"),
    ],
)
def test_undecodable_messages_say_why(raw: bytes, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        Envelope.from_json(raw)


def test_unknown_event_type_is_a_contract_error() -> None:
    envelope = _seal(_received()).model_copy(update={"event_type": "requests.Nope"})
    with pytest.raises(ContractError, match="unknown event type"):
        envelope.payload()


class _Renamed(Event):
    """A test-only event whose v1 called the field `name`."""

    event_type: ClassVar[str] = "test.Renamed"
    schema_version: ClassVar[int] = 2
    upcasters: ClassVar[dict[int, Any]] = {
        1: lambda data: {"title": data.pop("name"), **data},
    }
    title: str


def test_upcasting_v1_to_v2() -> None:
    v2 = _seal(_Renamed(title="x"))
    v1_data = {"name": "旧名称"}
    v1 = v2.model_copy(update={"schema_version": 1, "data": v1_data})
    payload = v1.payload()
    assert isinstance(payload, _Renamed)
    assert payload.title == "旧名称"


def test_newer_schema_than_code_is_refused() -> None:
    envelope = _seal(_received()).model_copy(update={"schema_version": 9})
    with pytest.raises(ContractError, match="newer"):
        envelope.payload()


def test_every_design_event_type_is_registered() -> None:
    names = {name.split(".", 1)[1] for name in registered_event_types()}
    for required in [
        "ItemPublished",
        "RequestReceived",
        "ReviewApproved",
        "ReplySent",
        "CalendarPublished",
        "MonthlyReportSubmitted",
        "AnnualReportPublished",
    ]:
        assert required in names


def test_topics_come_with_dead_letter_topics() -> None:
    topics = all_topics()
    assert "gongkai.requests.events" in topics
    assert "gongkai.requests.events.dlq" in topics
    assert len(topics) == 8
