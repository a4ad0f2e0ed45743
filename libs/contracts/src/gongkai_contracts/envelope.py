"""The event envelope, canonical JSON (RFC 8785), the hash chain, and the event-type registry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

import rfc8785
import uuid6
from pydantic import BaseModel, ConfigDict, Field, ValidationError

GENESIS_HASH = "0" * 64

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class ContractError(ValueError):
    """An event that cannot be read: unknown type, bad schema version, invalid data or bad hash."""


class Role(StrEnum):
    CLERK = "clerk"
    REVIEWER = "reviewer"
    BUREAU_HEAD = "bureau_head"
    CENTRAL_OFFICE = "central_office"
    AUDITOR = "auditor"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who caused an event: taken from the caller's token, never from a request body."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_id: str
    role: Role


SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM)


_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every domain event: a closed, frozen value. Subclasses declare the payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # upcasters[n] turns the data of version n into version n + 1.
    upcasters: ClassVar[Mapping[int, Upcaster]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return
        if event_type in _REGISTRY:
            raise TypeError(f"event type {event_type!r} is declared twice")
        _REGISTRY[event_type] = cls


def event_class(event_type: str) -> type[Event]:
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}") from None


def registered_event_types() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring stored data of an older schema version up to the current class."""
    cls = event_class(event_type)
    if schema_version > cls.schema_version:
        raise ContractError(
            f"{event_type} schema_version {schema_version} is newer than this code "
            f"understands ({cls.schema_version})"
        )
    version = schema_version
    while version < cls.schema_version:
        step = cls.upcasters.get(version)
        if step is None:
            raise ContractError(f"{event_type}: no upcaster from schema_version {version}")
        data = step(dict(data))
        version += 1
    return data


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON: sorted keys, no whitespace, UTF-8; stable across processes."""
    return rfc8785.dumps(value)


def chain_hash(prev_hash: str, envelope_without_hash: Mapping[str, Any]) -> str:
    """hash = SHA-256(prev_hash || canonical JSON of the event without its hash)."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(dict(envelope_without_hash)))
    return digest.hexdigest()


def new_event_id() -> UUID:
    return UUID(str(uuid6.uuid7()))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One stored, published event: metadata plus the payload as plain JSON data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    bureau_id: str
    stream_id: str
    stream_version: int = Field(ge=1)
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None
    prev_hash: str
    hash: str
    data: dict[str, Any]

    def without_hash(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"hash"})

    def to_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    def payload(self) -> Event:
        """The typed event, upcast to the current schema version."""
        cls = event_class(self.event_type)
        data = upcast(self.event_type, self.schema_version, self.data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ContractError(f"{self.event_type} {self.event_id}: {_first_error(exc)}") from exc

    def verify(self) -> None:
        """Raise ContractError if the stored hash does not match the content."""
        expected = chain_hash(self.prev_hash, self.without_hash())
        if expected != self.hash:
            raise ContractError(
                f"hash mismatch on {self.event_type} {self.event_id}: "
                f"stored {self.hash[:12]}…, computed {expected[:12]}…"
            )

    @classmethod
    def seal(
        cls,
        event: Event,
        *,
        bureau_id: str,
        stream_id: str,
        stream_version: int,
        occurred_at: datetime,
        actor: Actor,
        correlation_id: UUID,
        causation_id: UUID | None,
        prev_hash: str,
        event_id: UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> Envelope:
        """Wrap a payload event, computing its hash from the previous link of its chain."""
        fields: dict[str, Any] = {
            "event_id": event_id or new_event_id(),
            "event_type": event.event_type,
            "schema_version": event.schema_version,
            "bureau_id": bureau_id,
            "stream_id": stream_id,
            "stream_version": stream_version,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at or utcnow(),
            "actor": actor,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "prev_hash": prev_hash,
            "data": event.model_dump(mode="json"),
        }
        draft = cls.model_validate({**fields, "hash": ""})
        return draft.model_copy(update={"hash": chain_hash(prev_hash, draft.without_hash())})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Decode, verify the hash and validate one message; ContractError says what is wrong."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ContractError("not a JSON object")
        # The hash is checked on the data as received, so it never depends on how this
        # code version would re-serialise it.
        stored_hash = data.get("hash")
        prev_hash = data.get("prev_hash")
        if not isinstance(stored_hash, str) or not isinstance(prev_hash, str):
            raise ContractError("bad envelope: hash and prev_hash are required strings")
        if not _hash_matches_as_written(raw, prev_hash, stored_hash):
            unhashed = {k: v for k, v in data.items() if k != "hash"}
            if chain_hash(prev_hash, unhashed) != stored_hash:
                raise ContractError(
                    f"hash mismatch on {data.get('event_type')} {data.get('event_id')}"
                )
        try:
            envelope = cls.model_validate(data)
        except ValidationError as exc:
            raise ContractError(f"bad envelope: {_first_error(exc)}") from exc
        return envelope


def _hash_matches_as_written(raw: bytes | str, prev_hash: str, stored_hash: str) -> bool:
    """The fast check for a message written as canonical JSON (as every producer here writes
    it): cut the top-level `"hash"` member out of the bytes and hash the rest as they are, with
    no re-serialisation. False when that does not match — then the caller re-serialises."""
    if isinstance(raw, str):
        raw = raw.encode()
    member = b',"hash":"' + stored_hash.encode("ascii") + b'"'
    at = raw.rfind(member)  # keys are sorted: "hash" follows "data", the only nested member
    if at < 0:
        return False
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(raw[:at])
    digest.update(raw[at + len(member) :])
    return digest.hexdigest() == stored_hash


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:3]]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more
