"""The relay: publishes new rows of a service's events table to its Kafka topic, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gongkai_contracts.topics import HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SCHEMA_VERSION

from .eventstore import NOTIFY_CHANNEL, PostgresEventStore, StoredEvent

log = logging.getLogger(__name__)

# What a restart of PostgreSQL or Kafka raises; waited out, never fatal.
RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
    TimeoutError,
)


def kafka_headers(stored: StoredEvent) -> list[tuple[str, bytes]]:
    env = stored.envelope
    headers = [
        (HEADER_EVENT_TYPE, env.event_type.encode()),
        (HEADER_SCHEMA_VERSION, str(env.schema_version).encode()),
        (HEADER_EVENT_ID, str(env.event_id).encode()),
    ]
    headers += [(k, v.encode()) for k, v in stored.trace_context.items()]
    return headers


def make_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
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
        self.published = 0

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
        return len(batch)

    async def _send(self, batch: Sequence[StoredEvent]) -> None:
        futures = [
            await self._producer.send(
                self._topic,
                value=s.body,
                key=s.envelope.bureau_id.encode(),
                headers=kafka_headers(s),
            )
            for s in batch
        ]
        await asyncio.gather(*futures)

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
                if await self.publish_once():
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
