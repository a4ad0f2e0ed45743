"""Gongkai event contracts: the envelope, every event type, vocabularies and topic names."""

from . import events
from .envelope import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    Actor,
    ContractError,
    Envelope,
    Event,
    canonical_json,
    chain_hash,
    event_class,
    new_event_id,
    registered_event_types,
    upcast,
)
from .topics import SERVICES, all_topics, dlq_topic, events_topic

__all__ = [
    "GENESIS_HASH",
    "SERVICES",
    "SYSTEM_ACTOR",
    "Actor",
    "ContractError",
    "Envelope",
    "Event",
    "all_topics",
    "canonical_json",
    "chain_hash",
    "dlq_topic",
    "event_class",
    "events",
    "events_topic",
    "new_event_id",
    "registered_event_types",
    "upcast",
]
