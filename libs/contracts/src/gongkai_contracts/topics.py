"""Topic names: one event topic per producing service, each with a dead-letter topic."""

from typing import Literal

Service = Literal["catalogue", "requests", "review", "reporting"]
SERVICES: tuple[Service, ...] = ("catalogue", "requests", "review", "reporting")


def events_topic(service: Service) -> str:
    return f"gongkai.{service}.events"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    """Every topic the platform needs, event topics first, then their DLQs."""
    event_topics = [events_topic(s) for s in SERVICES]
    return event_topics + [dlq_topic(t) for t in event_topics]


# Kafka header names; the envelope remains the source of truth, headers serve routing and tracing.
HEADER_EVENT_TYPE = "event_type"
HEADER_SCHEMA_VERSION = "schema_version"
HEADER_EVENT_ID = "event_id"
HEADER_DLQ_REASON = "dlq_reason"
HEADER_DLQ_SOURCE = "dlq_source"
