"""The relay: publishes new rows of a service's events table to its Kafka topic, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace

from gongkai_contracts.topics import HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SCHEMA_VERSION

from .eventstore import NOTIFY_CHANNEL, PostgresEventStore, StoredEvent
from .kafka_security import kafka_client_kwargs
from .metrics import RELAY_BACKLOG, RELAY_PUBLISHED
from .telemetry import carrier_of, context_from

log = logging.getLogger(__name__)

# What a restart of PostgreSQL or Kafka raises; waited out, never fatal.
RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # A connection broken by a server crash can come back from the pool half-used: asyncpg
    # then says "cannot switch to state …; another operation is in progress".
    asyncpg.InternalClientError,
    KafkaError,
    TimeoutError,
)


def kafka_headers(
    stored: StoredEvent, trace_context: Mapping[str, str] | None = None
) -> list[tuple[str, bytes]]:
    """Event type, schema version, id, and the trace context: the stored one (the command's)
    unless another is given (the relay's own span, a child of the command's)."""
    env = stored.envelope
    headers = [
        (HEADER_EVENT_TYPE, env.event_type.encode()),
        (HEADER_SCHEMA_VERSION, str(env.schema_version).encode()),
        (HEADER_EVENT_ID, str(env.event_id).encode()),
    ]
    carrier = stored.trace_context if trace_context is None else trace_context
    headers += [(k, v.encode()) for k, v in carrier.items()]
    return headers


def make_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka_client_kwargs(),
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=1024 * 1024,
    )


class Relay:
    """At-least-once, in `position` order (appends are serialised, so that is commit order).

    The cursor moves only after Kafka acknowledged every message of a batch; a crash
    republishes at most one batch, which consumers drop by stream version.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        batch_size: int = 1000,
        idle_poll_seconds: float = 0.5,
    ) -> None:
        self._pool = pool
        self._store = PostgresEventStore(pool)
        self._producer = producer
        self._topic = topic
        self._batch_size = batch_size
        self._idle = idle_poll_seconds
        self._wakeup = asyncio.Event()
        self._tracer = trace.get_tracer(__name__)
        self._backlog_measured = 0.0
        self.published = 0
        RELAY_PUBLISHED.labels(topic)  # shown as 0 from the start

    async def cursor(self) -> int:
        value = await self._pool.fetchval(
            "SELECT position FROM relay_cursor WHERE topic = $1", self._topic
        )
        return int(value or 0)

    async def backlog(self) -> int:
        value = await self._pool.fetchval(
            "SELECT count(*) FROM events WHERE position > "
            "coalesce((SELECT position FROM relay_cursor WHERE topic = $1), 0)",
            self._topic,
        )
        return int(value)

    async def publish_once(self) -> int:
        """Publish the next batch; returns how many events went out."""
        position = await self.cursor()
        batch = await self._store.read_after(position, self._batch_size)
        if not batch:
            return 0
        await self._send(batch)
        await self._pool.execute(
            """INSERT INTO relay_cursor (topic, position) VALUES ($1, $2)
               ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position""",
            self._topic,
            batch[-1].position,
        )
        self.published += len(batch)
        RELAY_PUBLISHED.labels(self._topic).inc(len(batch))
        return len(batch)

    async def measure_backlog(self, *, caught_up: bool = False) -> None:
        """Set gongkai_relay_backlog: 0 right after a read found nothing new, otherwise
        counted in the table at most once a second (a count over the unpublished rows)."""
        if caught_up:
            RELAY_BACKLOG.labels(self._topic).set(0)
            return
        if time.monotonic() - self._backlog_measured >= 1.0:
            self._backlog_measured = time.monotonic()
            RELAY_BACKLOG.labels(self._topic).set(await self.backlog())

    async def _send(self, batch: Sequence[StoredEvent]) -> None:
        """One producer span per event, the child of the command's span stored with it; the
        consumers continue from the relay's span."""
        spans = [
            self._tracer.start_span(
                f"send {self._topic}",
                context=context_from(s.trace_context),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": self._topic,
                    "gongkai.event_type": s.envelope.event_type,
                    "gongkai.event_id": str(s.envelope.event_id),
                    "gongkai.position": s.position,
                },
            )
            for s in batch
        ]
        try:
            futures = [
                await self._producer.send(
                    self._topic,
                    value=s.body,
                    key=s.envelope.bureau_id.encode(),
                    headers=kafka_headers(s, carrier_of(span)),
                )
                for s, span in zip(batch, spans, strict=True)
            ]
            await asyncio.gather(*futures)
        except BaseException as exc:
            for span in spans:
                span.set_status(trace.StatusCode.ERROR, repr(exc))
            raise
        finally:
            for span in spans:
                span.end()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, woken by NOTIFY from appends or a short poll. A lost
        database or broker connection is waited out with a backoff, never fatal: the cursor
        only moves after Kafka acknowledged, so nothing is skipped."""
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._run_connected(stop)
                return
            except RETRYABLE as exc:
                log.warning("relay to %s: %r; retrying in %.1fs", self._topic, exc, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)

    async def _run_connected(self, stop: asyncio.Event) -> None:
        listener: asyncpg.Connection = await self._pool.acquire()
        try:
            await listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
            while not stop.is_set():
                self._wakeup.clear()  # before reading, so a NOTIFY during the read is kept
                published = await self.publish_once()
                await self.measure_backlog(caught_up=published < self._batch_size)
                if published:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._idle)
        finally:
            # The connection may already be gone with the server: releasing must not mask why.
            with contextlib.suppress(*RETRYABLE):
                await listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            with contextlib.suppress(*RETRYABLE):
                await self._pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()
