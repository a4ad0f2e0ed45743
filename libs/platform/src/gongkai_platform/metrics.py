"""Prometheus metrics of every process (HTTP, consumers, relay) and the GET /metrics answer."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Iterator
from typing import Protocol

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _render
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

# Declared once per process in prometheus_client's default registry (with its process_* and
# python_* metrics): declaring opens nothing, it only reserves the names.
HTTP_REQUESTS = Counter(
    "gongkai_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "gongkai_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
)
CONSUMER_APPLIED = Counter(
    "gongkai_consumer_applied",
    "Events a consumer applied (duplicates dropped by stream version are not counted).",
    ["consumer", "topic"],
)
CONSUMER_DEAD_LETTERED = Counter(
    "gongkai_consumer_dead_lettered",
    "Messages a consumer sent to the dead-letter topic <topic>.dlq.",
    ["consumer", "topic"],
)
RELAY_PUBLISHED = Counter(
    "gongkai_relay_published",
    "Events the relay published to Kafka (acknowledged).",
    ["topic"],
)
RELAY_BACKLOG = Gauge(
    "gongkai_relay_backlog",
    "Events in the events table not yet published by the relay.",
    ["topic"],
)

# Route label of requests no route matched: the raw path would let callers mint label values.
UNMATCHED_ROUTE = "unmatched"


class LagReporter(Protocol):
    """Something consuming Kafka that knows how far behind it is (a ConsumerRunner)."""

    @property
    def name(self) -> str: ...

    @property
    def joined(self) -> bool: ...

    def lag(self) -> Iterable[tuple[str, int, int]]:
        """(topic, partition, high watermark − stored next offset) per assigned partition."""
        ...


class _ConsumerLag:
    """gongkai_consumer_lag of every consumer running in this process, read at scrape time."""

    def __init__(self) -> None:
        self._consumers: weakref.WeakSet[LagReporter] = weakref.WeakSet()

    def add(self, consumer: LagReporter) -> None:
        self._consumers.add(consumer)

    def discard(self, consumer: LagReporter) -> None:
        self._consumers.discard(consumer)

    def joined(self) -> tuple[int, int]:
        """(consumers that have their partitions, consumers running) in this process."""
        consumers = list(self._consumers)
        return sum(c.joined for c in consumers), len(consumers)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "gongkai_consumer_lag",
            "Messages in a partition after the consumer's stored offset "
            "(high watermark − next offset to apply).",
            labels=["consumer", "topic", "partition"],
        )
        for consumer in list(self._consumers):
            for topic, partition, behind in consumer.lag():
                family.add_metric([consumer.name, topic, str(partition)], behind)
        yield family


CONSUMER_LAG = _ConsumerLag()
REGISTRY.register(CONSUMER_LAG)


class ScrapeSource(Protocol):
    """Figures read from a service's own tables when /metrics is scraped: `refresh` queries
    (asynchronously), `collect` yields what the last refresh found."""

    async def refresh(self) -> None: ...

    def collect(self) -> Iterable[Metric]: ...


def add_scrape_source(app: FastAPI, source: ScrapeSource) -> None:
    """Have `app`'s GET /metrics refresh `source` and include it (call from the lifespan)."""
    sources: list[ScrapeSource] = getattr(app.state, "metrics_sources", [])
    app.state.metrics_sources = [*sources, source]


class _Rendered:
    def __init__(self, sources: Iterable[ScrapeSource]) -> None:
        self._sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        for source in self._sources:
            yield from source.collect()


async def metrics_response(app: FastAPI) -> Response:
    """The Prometheus text of this process, with `app`'s scrape sources refreshed first."""
    sources: list[ScrapeSource] = getattr(app.state, "metrics_sources", [])
    for source in sources:
        try:
            await source.refresh()
        except Exception:  # the database restarting: the other figures still answer
            log.warning("metrics source %r failed to refresh", source, exc_info=True)
    return Response(_render(_Rendered(sources)), media_type=CONTENT_TYPE_LATEST)
