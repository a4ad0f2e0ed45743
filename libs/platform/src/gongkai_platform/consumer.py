"""Exactly-once-in-effect consumers: offsets and per-stream versions stored with the effects."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import operator
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace

from gongkai_contracts import GENESIS_HASH, ContractError, Envelope
from gongkai_contracts.topics import HEADER_DLQ_REASON, HEADER_DLQ_SOURCE, dlq_topic

from .kafka_security import kafka_client_kwargs
from .metrics import CONSUMER_APPLIED, CONSUMER_DEAD_LETTERED, CONSUMER_LAG
from .telemetry import TRACEPARENT, context_from

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    """One decoded event with where it came from."""

    envelope: Envelope
    topic: str
    partition: int
    offset: int
    headers: dict[str, str]
    raw: bytes = b""
    key: bytes | None = None

    @property
    def traceparent(self) -> str | None:
        """The trace of the command that caused this event (W3C header), if it had one."""
        return self.headers.get(TRACEPARENT)


class Handler(Protocol):
    """Applies a batch of new events inside the caller's transaction."""

    name: str

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None: ...


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._runner.seek_to_stored(assigned)
        self._runner.joined = True


class ConsumerRunner:
    """Reads batches per partition; one PostgreSQL transaction per batch holds the handler's
    effects, the next offset and the last applied version of every stream in the batch.

    Undecodable or invalid messages go to `<topic>.dlq` with the reason in a header.

    Each record continues the trace of its Kafka `traceparent` header. By default the handler
    is called once per run of consecutive records of the same trace, under a span of that
    trace: events a reaction appends then carry the command's trace on. `batch_spans=True`
    (projections that append no events) calls the handler once per batch, under one span per
    trace in it, none of them current.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        handler: Handler,
        topics: Sequence[str],
        bootstrap_servers: str,
        *,
        max_records: int = 2000,
        verify_chain: bool = False,
        batch_spans: bool = False,
    ) -> None:
        self._pool = pool
        self._handler = handler
        self._topics = list(topics)
        self._bootstrap = bootstrap_servers
        self._max_records = max_records
        # Refuse events that do not continue their producer's hash chain for the bureau:
        # for reactions that act on another service's decisions (the review gate).
        self._verify_chain = verify_chain
        self._batch_spans = batch_spans
        self._tracer = trace.get_tracer(__name__)
        # Next offset to apply per partition, as stored in PostgreSQL: the base of the lag.
        self._stored: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self.applied = 0
        # True once the group has given this consumer its partitions (and it sought to its
        # stored offsets): until then nothing it should apply can be applied (GET /health).
        self.joined = False
        self.duplicates = 0
        self.dead_lettered = 0
        self.last_error: str | None = None  # set while batches fail; shown on /consumers

    @property
    def name(self) -> str:
        return self._handler.name

    async def start(self) -> None:
        self._dlq = AIOKafkaProducer(
            **kafka_client_kwargs(),
            bootstrap_servers=self._bootstrap,
            enable_idempotence=True,
            acks="all",
        )
        await self._dlq.start()
        self._consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(),
            bootstrap_servers=self._bootstrap,
            group_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        self._consumer.subscribe(self._topics, listener=_SeekToStoredOffsets(self))
        await self._consumer.start()
        for topic in self._topics:  # shown as 0 from the start, so a first message is a rise
            CONSUMER_DEAD_LETTERED.labels(self.name, topic)
            CONSUMER_APPLIED.labels(self.name, topic)
        CONSUMER_LAG.add(self)

    async def stop(self) -> None:
        CONSUMER_LAG.discard(self)
        if self._consumer is not None:
            await self._consumer.stop()
        if self._dlq is not None:
            await self._dlq.stop()

    async def seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        assert self._consumer is not None
        rows = await self._pool.fetch(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = $1",
            self.name,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        fresh = [tp for tp in partitions if tp not in stored]
        for tp in partitions:
            if tp in stored:
                self._consumer.seek(tp, stored[tp])
            else:
                await self._consumer.seek_to_beginning(tp)
        if fresh:  # only for the lag: without it, the lag of these stays unknown until a batch
            with contextlib.suppress(KafkaError):
                stored.update(await self._consumer.beginning_offsets(fresh))
        self._stored = {tp: stored[tp] for tp in partitions if tp in stored}
        log.info("%s assigned %s, seeking to stored offsets", self.name, partitions)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop`. A batch that fails (the database restarting, a handler error)
        is retried from the offsets stored in PostgreSQL after a backoff: aiokafka's position
        has already moved past it, so nothing is read again until that seek has succeeded."""
        assert self._consumer is not None
        backoff = 0.2
        must_seek = False
        while not stop.is_set():
            try:
                if must_seek:
                    await self.seek_to_stored(list(self._consumer.assignment()))
                    must_seek = False
                batches = await self._consumer.getmany(
                    timeout_ms=200, max_records=self._max_records
                )
                for tp, records in batches.items():
                    await self.process(tp, records)
                self.last_error = None
                backoff = 0.2
            except Exception as exc:
                self.last_error = repr(exc)
                must_seek = True
                log.warning(
                    "%s: %r; retrying from stored offsets in %.1fs", self.name, exc, backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)

    def lag(self) -> Iterator[tuple[str, int, int]]:
        """(topic, partition, messages after the stored offset) of each assigned partition
        whose high watermark is known (from the last fetch)."""
        if self._consumer is None:
            return
        for tp, next_offset in list(self._stored.items()):
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                yield tp.topic, tp.partition, max(0, highwater - next_offset)

    async def process(self, tp: TopicPartition, records: Sequence[ConsumerRecord]) -> None:
        good: list[Delivered] = []
        for record in records:
            try:
                good.append(_decode(record))
            except ContractError as exc:
                await self._dead_letter(record, str(exc))
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await self._drop_seen(conn, good)
            if fresh and self._batch_spans:
                with self._spans(tp, fresh):
                    await self._handler.apply(conn, fresh)
            elif fresh:
                for run in _runs_by_trace(fresh):
                    with (
                        self._spans(tp, run) as spans,
                        trace.use_span(
                            spans[0],
                            end_on_exit=False,
                            record_exception=False,  # _spans records it
                            set_status_on_exception=False,
                        ),
                    ):
                        await self._handler.apply(conn, run)
            await conn.execute(
                """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (consumer, topic, partition)
                   DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset,
                                                        EXCLUDED.next_offset)""",
                self.name,
                tp.topic,
                tp.partition,
                records[-1].offset + 1,
            )
        self._stored[tp] = records[-1].offset + 1
        self.applied += len(fresh)
        CONSUMER_APPLIED.labels(self.name, tp.topic).inc(len(fresh))
        self.duplicates += len(good) - len(fresh)
        # Kafka's own group offsets only serve lag monitoring; PostgreSQL is the truth.
        assert self._consumer is not None
        try:
            await self._consumer.commit({tp: records[-1].offset + 1})
        except KafkaError as exc:  # a rebalance in progress; the stored offset stands
            log.info("%s: lag-monitoring commit skipped: %s", self.name, exc)

    @contextlib.contextmanager
    def _spans(self, tp: TopicPartition, batch: Sequence[Delivered]) -> Iterator[list[trace.Span]]:
        """One consumer span per trace among `batch`, each the child of the span that sent its
        records, open while the handler applies them; an error is recorded on each."""
        spans = [
            self._tracer.start_span(
                f"{self.name} process",
                context=context_from(run[0].headers),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": tp.topic,
                    "messaging.destination.partition.id": str(tp.partition),
                    "messaging.consumer.group.name": self.name,
                    "messaging.kafka.offset": run[0].offset,
                    "messaging.batch.message_count": len(run),
                    "gongkai.event_types": sorted({d.envelope.event_type for d in run}),
                },
            )
            for run in _by_trace(batch)
        ]
        try:
            yield spans
        except BaseException as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_status(trace.StatusCode.ERROR, repr(exc))
            raise
        finally:
            for span in spans:
                span.end()

    async def _drop_seen(
        self, conn: asyncpg.Connection, batch: Sequence[Delivered]
    ) -> list[Delivered]:
        if not batch:
            return []
        streams = sorted({d.envelope.stream_id for d in batch})
        rows = await conn.fetch(
            """SELECT stream_id, last_version FROM consumer_streams
               WHERE consumer = $1 AND stream_id = ANY($2::text[]) FOR UPDATE""",
            self.name,
            streams,
        )
        last = {r["stream_id"]: r["last_version"] for r in rows}
        fresh: list[Delivered] = []
        seen = dict(last)
        for d in batch:
            env = d.envelope
            if env.stream_version <= seen.get(env.stream_id, 0):
                continue
            seen[env.stream_id] = env.stream_version
            fresh.append(d)
        if self._verify_chain:
            fresh = await self._continuing_chains(conn, fresh)
        for d in fresh:
            last[d.envelope.stream_id] = d.envelope.stream_version
        touched = {d.envelope.stream_id for d in fresh}
        if touched:
            await conn.execute(
                """INSERT INTO consumer_streams (consumer, stream_id, last_version)
                   SELECT $1, s, v FROM unnest($2::text[], $3::int[]) AS t(s, v)
                   ON CONFLICT (consumer, stream_id)
                   DO UPDATE SET last_version = EXCLUDED.last_version""",
                self.name,
                list(touched),
                [last[s] for s in touched],
            )
        return fresh

    async def _continuing_chains(
        self, conn: asyncpg.Connection, batch: Sequence[Delivered]
    ) -> list[Delivered]:
        """Keep the events whose prev_hash is the last hash seen from the same producer topic
        and bureau (GENESIS_HASH for the first); dead-letter the others."""
        if not batch:
            return []
        topic = batch[0].topic
        rows = await conn.fetch(
            """SELECT bureau_id, hash FROM consumer_chain_heads
               WHERE consumer = $1 AND topic = $2 AND bureau_id = ANY($3::text[]) FOR UPDATE""",
            self.name,
            topic,
            sorted({d.envelope.bureau_id for d in batch}),
        )
        heads = {r["bureau_id"]: r["hash"] for r in rows}
        kept: list[Delivered] = []
        for d in batch:
            env = d.envelope
            head = heads.get(env.bureau_id, GENESIS_HASH)
            if env.prev_hash != head:
                await self._dead_letter_delivered(
                    d,
                    f"hash chain broken: prev_hash {env.prev_hash[:12]}… does not continue "
                    f"{head[:12]}… of bureau {env.bureau_id}",
                )
                continue
            heads[env.bureau_id] = env.hash
            kept.append(d)
        touched = sorted({d.envelope.bureau_id for d in kept})
        if touched:
            await conn.execute(
                """INSERT INTO consumer_chain_heads (consumer, topic, bureau_id, hash)
                   SELECT $1, $2, b, h FROM unnest($3::text[], $4::text[]) AS t(b, h)
                   ON CONFLICT (consumer, topic, bureau_id) DO UPDATE SET hash = EXCLUDED.hash""",
                self.name,
                topic,
                touched,
                [heads[b] for b in touched],
            )
        return kept

    async def _dead_letter_delivered(self, d: Delivered, reason: str) -> None:
        await self._send_dead_letter(d.topic, d.partition, d.offset, d.raw, d.key, reason)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        await self._send_dead_letter(
            record.topic, record.partition, record.offset, record.value, record.key, reason
        )

    async def _send_dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None,
        key: bytes | None,
        reason: str,
    ) -> None:
        assert self._dlq is not None
        log.warning("%s: %s[%d]@%d to DLQ: %s", self.name, topic, partition, offset, reason)
        headers = [
            (HEADER_DLQ_REASON, reason.encode()[:1000]),
            (HEADER_DLQ_SOURCE, f"{topic}/{partition}/{offset}".encode()),
            ("dlq_consumer", self.name.encode()),
        ]
        await self._dlq.send_and_wait(dlq_topic(topic), value=value, key=key, headers=headers)
        self.dead_lettered += 1
        CONSUMER_DEAD_LETTERED.labels(self.name, topic).inc()


def _runs_by_trace(batch: Sequence[Delivered]) -> Iterator[list[Delivered]]:
    """Consecutive records of the same trace (a command's events arrive together), in order."""
    for _, run in itertools.groupby(batch, key=operator.attrgetter("traceparent")):
        yield list(run)


def _by_trace(batch: Iterable[Delivered]) -> list[list[Delivered]]:
    """The records of each trace among `batch`, in order of first appearance."""
    traces: dict[str | None, list[Delivered]] = {}
    for delivered in batch:
        traces.setdefault(delivered.traceparent, []).append(delivered)
    return list(traces.values())


def _decode(record: ConsumerRecord) -> Delivered:
    if record.value is None:
        raise ContractError("empty message")
    envelope = Envelope.from_json(record.value)
    envelope.payload()  # validates the data against its event type, upcast if older
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
    return Delivered(
        envelope, record.topic, record.partition, record.offset, headers, record.value, record.key
    )


@contextlib.asynccontextmanager
async def running(runners: Sequence[ConsumerRunner]) -> AsyncIterator[None]:
    """Run consumers in the background of a service process for the duration of the block."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        for runner in runners:
            await runner.start()
            tasks.append(asyncio.create_task(runner.run(stop), name=runner.name))
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
        for runner in runners:
            await runner.stop()
