"""One function per command of the requests service."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from gongkai_contracts import Actor, Envelope, new_event_id
from gongkai_platform.eventstore import EventStore, Metadata

from .domain.request import RegisterRequest, register

CHINA = ZoneInfo("Asia/Shanghai")


def stream_of(request_id: str) -> str:
    return f"request-{request_id}"


async def register_request(
    store: EventStore, command: RegisterRequest, actor: Actor, today: date
) -> Envelope:
    stream = stream_of(command.request_id)
    version = len(await store.load(stream))
    event = register(command, today=today, existing_version=version)
    meta = Metadata(
        bureau_id=command.bureau_id,
        actor=actor,
        correlation_id=new_event_id(),
        # Business time: the day of receipt, even when the request is registered later.
        occurred_at=datetime.combine(command.received_on, time(0), tzinfo=CHINA),
    )
    [envelope] = await store.append(stream, version, [event], meta)
    return envelope
