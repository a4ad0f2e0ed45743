"""One function per command of the requests service."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from gongkai_contracts import Actor, Envelope, new_event_id
from gongkai_platform.eventstore import ConcurrencyError, EventStore, Metadata

from .domain.request import RegisterRequest, register

CHINA = ZoneInfo("Asia/Shanghai")


def stream_of(bureau_id: str, request_id: str) -> str:
    return f"request-{bureau_id}-{request_id}"


async def register_request(
    store: EventStore, command: RegisterRequest, actor: Actor, today: date
) -> tuple[Envelope, bool]:
    """The RequestReceived envelope, and whether this call created it (False: a retry)."""
    stream = stream_of(command.bureau_id, command.request_id)
    for _attempt in range(3):
        history = await store.load(stream)
        events = register(command, today=today, history=[e.payload() for e in history])
        if not events:
            return history[0], False
        try:
            [envelope] = await store.append(stream, len(history), events, _meta(command, actor))
            return envelope, True
        except ConcurrencyError:
            continue  # the same request arrived twice at once: decide again on the new history
    raise ConcurrencyError(stream, len(history), len(history) + 1)


def _meta(command: RegisterRequest, actor: Actor) -> Metadata:
    return Metadata(
        bureau_id=command.bureau_id,
        actor=actor,
        correlation_id=new_event_id(),
        # Business time: the day of receipt, even when the request is registered later.
        occurred_at=datetime.combine(command.received_on, time(0), tzinfo=CHINA),
    )
