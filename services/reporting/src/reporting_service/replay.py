"""`gongkai replay`: rebuild every reporting projection from offset 0 into a fresh schema while
the live tables keep serving, print the digest of every annual report, and switch.

- The fresh schema `replay_<UTC timestamp>` gets the same migrations (yoyo, `?schema=`), and its
  own `consumer_offsets` / `consumer_streams`, so each projection starts at offset 0; its
  consumer names (and Kafka group ids) carry the schema as a suffix, so the live runners are
  never disturbed.
- The switch moves the projection tables, not the schema: `public` also holds what the log
  cannot rebuild (the outbox `events` with the relay cursor, sign-offs, narratives, self-
  assessment entries, the live consumers' offsets). In one transaction, with the live
  consumers' offset tables locked so no batch commits meanwhile, and only when the rebuilt
  tables stand at exactly the live offsets: `ALTER TABLE public.t SET SCHEMA retired_<ts>`,
  `ALTER TABLE replay_<ts>.t SET SCHEMA public` for every projection table. The live
  consumers' offsets and stream versions then describe the new tables as well as they did the
  old ones, and the running service goes on (PostgreSQL re-plans the cached statements of
  asyncpg against the new tables: same names, same columns). The old tables stay in
  `retired_<ts>`.
- The digest of a report is `figures_digest` (sign_off.py: SHA-256 of the RFC 8785 JSON of
  every printed figure keyed by its official labels), the digest `AnnualReportPublished`
  carries; `report_digest` computes it from the JSON output, so the live service's
  `?format=json` answer can be checked by anyone with the same function.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from gongkai_contracts import ContractError, Envelope
from gongkai_platform.audit.verify import topic_partitions
from gongkai_platform.consumer import ConsumerRunner, Delivered, Handler
from gongkai_platform.db import apply_migrations
from gongkai_platform.kafka_security import kafka_client_kwargs

from .adapters.report_store import load_facts
from .annual_report import layout as L
from .annual_report.builder import build_annual_report
from .annual_report.facts import Facts
from .annual_report.tabular import report_json
from .bootstrap import MIGRATIONS, projections
from .sign_off import FIGURE_KEY_SEPARATOR, figures_digest

log = logging.getLogger(__name__)

# The tables the projections write: what a replay rebuilds and the switch exchanges.
PROJECTION_TABLES = (
    "requests_received_monthly",
    "request_facts",
    "request_outcomes_monthly",
    "fees_monthly",
    "report_request_facts",
    "report_case_facts",
    "report_item_facts",
    "report_bureau_names",
    "report_item_approvals",
    "central_facts_marks",  # counts of the fact rows above: they move together
)
FIRST_YEAR, LAST_YEAR = 2008, 2100  # the years the annual report route accepts
FEED_BATCH = 5000  # records per partition and transaction in the first catch-up

Progress = Callable[[int, int], None]  # (events replayed, events to replay)


class ReplayError(RuntimeError):
    pass


@dataclass(frozen=True)
class ReportDigest:
    bureau_id: str
    year: int
    digest: str


@dataclass
class ReplayResult:
    schema: str
    events: int = 0
    digests: list[ReportDigest] = field(default_factory=list)
    switched: bool = False
    retired_schema: str | None = None
    seconds: float = 0.0


# --- digests -----------------------------------------------------------------------------


def figures_of_json(doc: Mapping[str, Any]) -> dict[str, int | str]:
    """The figures of a report's JSON output, keyed as `sign_off.annual_figures` keys them."""
    out: dict[str, int | str] = {}

    def put(*parts: str, value: int | str) -> None:
        out[FIGURE_KEY_SEPARATOR.join(parts)] = value

    tables = doc.get("tables") or {}
    if not tables:  # 2007-era sections
        for section in doc["sections"]:
            for label, value in (section.get("figures") or {}).items():
                put(section["heading"], "", label, "", value=value)
        return out
    for header, rows in tables["二"].items():
        for row, columns in rows.items():
            for column, value in columns.items():
                put("二", header, row, column, value=value)
    for label, entry in tables["三"].items():
        if label != L.RESULTS_LABEL:
            for column, value in entry.items():
                put("三", "", label, column, value=value)
            continue
        for key, sub in entry.items():
            if all(not isinstance(v, dict) for v in sub.values()):  # a row of the results
                for column, value in sub.items():
                    put("三", L.RESULTS_LABEL, key, column, value=value)
            else:  # a group of rows
                for row, columns in sub.items():
                    for column, value in columns.items():
                        put("三", f"{L.RESULTS_LABEL}/{key}", row, column, value=value)
    for label, entry in tables["四"].items():
        if label == L.LITIGATION:
            for row, columns in entry.items():
                for column, value in columns.items():
                    put("四", L.LITIGATION, row, column, value=value)
        else:
            for column, value in entry.items():
                put("四", "", label, column, value=value)
    return out


def report_digest(doc: Mapping[str, Any]) -> str:
    """The figures digest of a report given as its JSON output (`?format=json`)."""
    return figures_digest(figures_of_json(doc))


async def report_years(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch(
        """SELECT DISTINCT bureau_id, extract(year FROM business_date)::int AS year FROM (
               SELECT bureau_id, business_date FROM report_request_facts
               UNION ALL SELECT bureau_id, business_date FROM report_case_facts
               UNION ALL SELECT bureau_id, business_date FROM report_item_facts) AS facts
           WHERE extract(year FROM business_date) BETWEEN $1 AND $2
           ORDER BY bureau_id, year""",
        FIRST_YEAR,
        LAST_YEAR,
    )
    return [(r["bureau_id"], r["year"]) for r in rows]


async def annual_digests(pool: asyncpg.Pool) -> list[ReportDigest]:
    """The digest of every annual report (bureau and year found in the facts) of the tables
    `pool` sees. The narrative prints no figure, so it does not enter the digest."""
    out: list[ReportDigest] = []
    loaded: tuple[str, Facts] | None = None  # report_years is ordered by bureau
    for bureau_id, year in await report_years(pool):
        if loaded is None or loaded[0] != bureau_id:
            loaded = (bureau_id, await load_facts(pool, bureau_id, None))
        report = build_annual_report(bureau_id, year, loaded[1])
        out.append(ReportDigest(bureau_id, year, report_digest(report_json(report))))
    return out


# --- rebuilding ----------------------------------------------------------------------------


class _Suffixed:
    """A projection under another consumer name (its offsets and stream versions)."""

    def __init__(self, projection: Handler, suffix: str) -> None:
        self.projection = projection
        self.name = f"{projection.name}.{suffix}"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await self.projection.apply(conn, batch)


class _ReplayRunner(ConsumerRunner):
    """The live runner's batches and transactions, on partitions assigned by hand from offset
    0, without a dead-letter producer: the live consumer has dead-lettered the poison already."""

    def __init__(self, pool: asyncpg.Pool, handler: _Suffixed, topic: str, bootstrap: str) -> None:
        super().__init__(pool, handler, [topic], bootstrap, batch_spans=True)
        self.topic = topic
        self.live_name = handler.projection.name
        self.skipped = 0
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(),
            bootstrap_servers=self._bootstrap,
            group_id=f"gongkai-replay.{self.name}",
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await self._consumer.start()
        self.partitions = await topic_partitions(self._bootstrap, [self.topic])
        self._consumer.assign(self.partitions)
        if self.partitions:
            await self._consumer.seek_to_beginning(*self.partitions)

    async def _send_dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None,
        key: bytes | None,
        reason: str,
    ) -> None:
        log.warning("replay %s: %s[%d]@%d skipped: %s", self.name, topic, partition, offset, reason)
        self.skipped += 1

    async def apply_decoded(
        self, tp: TopicPartition, fresh: Sequence[Delivered], next_offset: int
    ) -> None:
        """The runner's transaction for records the feed has decoded and de-duplicated."""
        async with self._pool.acquire() as conn, conn.transaction():
            if fresh:
                await self._handler.apply(conn, fresh)
            await conn.execute(
                """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (consumer, topic, partition)
                   DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset,
                                                        EXCLUDED.next_offset)""",
                self.name,
                tp.topic,
                tp.partition,
                next_offset,
            )
        self.applied += len(fresh)

    async def store_stream_versions(self, versions: Mapping[str, int]) -> None:
        """What `_drop_seen` would have stored, so that the switch's catch-up (the runner's
        own batches) still drops a republished event."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO consumer_streams (consumer, stream_id, last_version)
                   SELECT $1, s, v FROM unnest($2::text[], $3::int[]) AS t(s, v)
                   ON CONFLICT (consumer, stream_id)
                   DO UPDATE SET last_version = EXCLUDED.last_version""",
                self.name,
                list(versions),
                list(versions.values()),
            )

    async def end_offsets(self) -> dict[TopicPartition, int]:
        assert self._consumer is not None
        if not self.partitions:
            return {}
        ends = await self._consumer.end_offsets(self.partitions)
        return {tp: int(o) for tp, o in ends.items()}

    async def remaining(self, targets: Mapping[TopicPartition, int]) -> int:
        assert self._consumer is not None
        behind = 0
        for tp, target in targets.items():
            behind += max(0, target - await self._consumer.position(tp))
        return behind

    async def catch_up(
        self, targets: Mapping[TopicPartition, int], advanced: Callable[[int], None]
    ) -> None:
        """Apply every record below `targets`, and none at or beyond."""
        consumer = self._consumer
        assert consumer is not None
        while True:
            behind = [tp for tp, t in targets.items() if await consumer.position(tp) < t]
            if not behind:
                return
            batches = await consumer.getmany(*behind, timeout_ms=500, max_records=self._max_records)
            for tp, records in batches.items():
                target = targets[tp]
                wanted = [r for r in records if r.offset < target]
                if len(wanted) < len(records):
                    consumer.seek(tp, target)
                if wanted:
                    await self.process(tp, wanted)
                    advanced(len(wanted))


class _TopicFeed:
    """The first catch-up from offset 0: one consumer per topic reads and decodes each record
    once (decoding and the hash check are most of the CPU), drops what an earlier record of
    the same stream already covers (the runners' per-stream check, kept in memory), and hands
    every batch to each runner of the topic, each in its own transaction as before. The next
    batch is read and decoded while the runners' statements run in PostgreSQL."""

    def __init__(self, topic: str, runners: Sequence[_ReplayRunner], bootstrap: str) -> None:
        self.topic = topic
        self.runners = list(runners)
        self._bootstrap = bootstrap
        self.versions: dict[str, int] = {}

    async def catch_up(
        self, targets: Mapping[TopicPartition, int], advanced: Callable[[int], None]
    ) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(),
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await consumer.start()
        in_flight: asyncio.Future[None] | None = None
        try:
            partitions = list(targets)
            consumer.assign(partitions)
            if partitions:
                await consumer.seek_to_beginning(*partitions)
            while behind := [tp for tp, t in targets.items() if await consumer.position(tp) < t]:
                batches = await consumer.getmany(*behind, timeout_ms=500, max_records=FEED_BATCH)
                for tp, records in batches.items():
                    wanted = [r for r in records if r.offset < targets[tp]]
                    if len(wanted) < len(records):
                        consumer.seek(tp, targets[tp])
                    if not wanted:
                        continue
                    fresh = await self._fresh(wanted)
                    if in_flight is not None:
                        await in_flight
                    in_flight = asyncio.ensure_future(
                        self._apply(tp, fresh, wanted[-1].offset + 1, len(wanted), advanced)
                    )
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
            await consumer.stop()
        for runner in self.runners:
            await runner.store_stream_versions(self.versions)
            assert runner._consumer is not None
            for tp, target in targets.items():
                runner._consumer.seek(tp, target)

    async def _apply(
        self,
        tp: TopicPartition,
        fresh: Sequence[Delivered],
        next_offset: int,
        read: int,
        advanced: Callable[[int], None],
    ) -> None:
        await asyncio.gather(*(r.apply_decoded(tp, fresh, next_offset) for r in self.runners))
        advanced(read * len(self.runners))

    async def _fresh(self, records: Sequence[ConsumerRecord]) -> list[Delivered]:
        fresh: list[Delivered] = []
        for record in records:
            try:
                delivered = _decode(record)
            except ContractError as exc:
                for runner in self.runners:
                    await runner._send_dead_letter(
                        record.topic, record.partition, record.offset, None, None, str(exc)
                    )
                continue
            env = delivered.envelope
            if env.stream_version <= self.versions.get(env.stream_id, 0):
                for runner in self.runners:
                    runner.duplicates += 1
                continue
            self.versions[env.stream_id] = env.stream_version
            fresh.append(delivered)
        return fresh


def _decode(record: ConsumerRecord) -> Delivered:
    """As the live runners decode (gongkai_platform.consumer): the envelope with its hash
    checked, and its payload validated."""
    if record.value is None:
        raise ContractError("empty message")
    envelope = Envelope.from_json(record.value)
    envelope.payload()
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
    return Delivered(
        envelope, record.topic, record.partition, record.offset, headers, record.value, record.key
    )


def _schema_dsn(dsn: str, schema: str) -> str:
    joiner = "&" if urlsplit(dsn).query else "?"
    return f"{dsn}{joiner}schema={schema}"


async def _stored_offsets(
    conn: asyncpg.Connection, table: str, names: Sequence[str]
) -> dict[tuple[str, TopicPartition], int]:
    rows = await conn.fetch(
        f"SELECT consumer, topic, partition, next_offset FROM {table} "
        "WHERE consumer = ANY($1::text[])",
        list(names),
    )
    return {
        (r["consumer"], TopicPartition(r["topic"], r["partition"])): r["next_offset"] for r in rows
    }


async def replay(
    database_url: str,
    bootstrap: str,
    *,
    switch: bool = True,
    progress: Progress | None = None,
    switch_timeout: float = 60,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReplayResult:
    """Rebuild the projections into `replay_<ts>`, compute the annual report digests there and,
    with `switch`, exchange the rebuilt tables for the live ones; without, drop the schema."""
    started = time.monotonic()
    stamp = now().strftime("%Y%m%d%H%M%S%f")
    schema, retired = f"replay_{stamp}", f"retired_{stamp}"
    result = ReplayResult(schema)
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        await asyncio.to_thread(apply_migrations, _schema_dsn(database_url, schema), MIGRATIONS)
        pool = await asyncpg.create_pool(
            database_url,
            min_size=1,
            max_size=len(projections()) + 1,
            server_settings={"search_path": schema},
        )
        assert pool is not None
        runners = [
            _ReplayRunner(pool, _Suffixed(projection, schema), topic, bootstrap)
            for projection, topic in projections()
        ]
        try:
            for runner in runners:
                await runner.start()
            targets = [await runner.end_offsets() for runner in runners]
            total = sum([await r.remaining(t) for r, t in zip(runners, targets, strict=True)])
            done = 0

            def advanced(count: int) -> None:
                nonlocal done
                done += count
                if progress:
                    progress(done, total)

            if progress:
                progress(0, total)
            feeds: dict[str, tuple[list[_ReplayRunner], dict[TopicPartition, int]]] = {}
            for runner, target in zip(runners, targets, strict=True):
                feeds.setdefault(runner.topic, ([], target))[0].append(runner)
            await asyncio.gather(
                *(
                    _TopicFeed(topic, topic_runners, bootstrap).catch_up(target, advanced)
                    for topic, (topic_runners, target) in feeds.items()
                )
            )
            result.events = done
            result.digests = await annual_digests(pool)
            if switch:
                await _switch(admin, runners, schema, retired, switch_timeout)
                result.switched, result.retired_schema = True, retired
        finally:
            for runner in runners:
                await runner.stop()
            await pool.close()
    finally:
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await admin.close()
    result.seconds = time.monotonic() - started
    return result


async def _switch(
    conn: asyncpg.Connection,
    runners: Sequence[_ReplayRunner],
    schema: str,
    retired: str,
    timeout: float,
) -> None:
    """Exchange the tables once the rebuilt ones stand at exactly the live offsets."""
    deadline = time.monotonic() + timeout
    live_names = [r.live_name for r in runners]
    while True:
        lagging: list[tuple[_ReplayRunner, dict[TopicPartition, int]]] = []
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '5s'")
                # A live batch takes consumer_streams first, then its tables, then offsets:
                # lock in that order, so a batch in flight finishes and the next one waits.
                await conn.execute(
                    "LOCK TABLE public.consumer_streams, public.consumer_offsets IN EXCLUSIVE MODE"
                )
                live = await _stored_offsets(conn, "public.consumer_offsets", live_names)
                rebuilt = await _stored_offsets(
                    conn, f"{schema}.consumer_offsets", [r.name for r in runners]
                )
                ahead = False
                for runner in runners:
                    wanted: dict[TopicPartition, int] = {}
                    for tp in runner.partitions:
                        have = rebuilt.get((runner.name, tp), 0)
                        need = live.get((runner.live_name, tp), 0)
                        if have < need:
                            wanted[tp] = need
                        elif have > need:
                            ahead = True  # the live runner has not applied these yet
                    if wanted:
                        lagging.append((runner, wanted))
                if not lagging and not ahead:
                    await conn.execute(f"CREATE SCHEMA {retired}")
                    for table in PROJECTION_TABLES:
                        await conn.execute(f"ALTER TABLE public.{table} SET SCHEMA {retired}")
                        await conn.execute(f"ALTER TABLE {schema}.{table} SET SCHEMA public")
                    log.info(
                        "replay: switched to the tables of %s; old ones in %s", schema, retired
                    )
                    return
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError) as exc:
            log.info("replay: switch postponed: %s", exc)
        if time.monotonic() > deadline:
            raise ReplayError(
                f"the live projections did not hold still for the switch within {timeout}s; "
                f"nothing was switched"
            )
        if lagging:
            await asyncio.gather(*(r.catch_up(w, lambda _: None) for r, w in lagging))
        else:
            await asyncio.sleep(0.2)
