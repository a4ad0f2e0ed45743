"""One function per command of the catalogue service."""

from __future__ import annotations

from gongkai_contracts import Actor, Envelope, new_event_id
from gongkai_platform.eventstore import EventStore, Metadata

from .domain.bureau import RegisterBureau, register


def bureau_stream(bureau_id: str) -> str:
    return f"bureau-{bureau_id}"


async def register_bureau(store: EventStore, command: RegisterBureau, actor: Actor) -> Envelope:
    stream = bureau_stream(command.bureau_id)
    version = len(await store.load(stream))
    event = register(command, existing_version=version)
    meta = Metadata(bureau_id=command.bureau_id, actor=actor, correlation_id=new_event_id())
    [envelope] = await store.append(stream, version, [event], meta)
    return envelope
