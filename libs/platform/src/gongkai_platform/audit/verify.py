"""`gongkai verify`: walk every event topic from offset 0 and check, per bureau, the hash chain,
per stream the version continuity, and every event's schema. Reads only; commits nothing."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from gongkai_contracts import GENESIS_HASH, ContractError, Envelope
from gongkai_contracts.envelope import chain_hash

from ..kafka_security import kafka_client_kwargs

EVENT_TOPIC = re.compile(r"^gongkai\.[a-z0-9_-]+\.events$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ProblemKind(StrEnum):
    UNREADABLE = "unreadable"  # not JSON, or no hash / prev_hash
    HASH_MISMATCH = "hash_mismatch"  # the stored hash does not recompute (a forged event)
    BAD_ENVELOPE = "bad_envelope"  # the envelope's fields do not validate
    BAD_PAYLOAD = "bad_payload"  # unknown type or data that does not validate (schema)
    CHAIN_BROKEN = "chain_broken"  # prev_hash is not the hash of the bureau's previous event
    VERSION_GAP = "version_gap"  # stream versions skipped: events missing
    REORDERED = "reordered"  # a stream version at or below one already seen, another event
    DUPLICATE = "duplicate"  # the same event again (the relay is at-least-once): a warning
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same event id, different content
    LOG_TRUNCATED = "log_truncated"  # the partition does not start at offset 0


@dataclass(frozen=True)
class Problem:
    severity: Severity
    kind: ProblemKind
    topic: str
    partition: int
    offset: int
    bureau_id: str | None
    stream_id: str | None
    message: str
    expected: str | None = None
    found: str | None = None
    event_id: str | None = None

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass
class VerifyReport:
    topics: list[str]
    events: int = 0
    bureaus: int = 0
    streams: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


Progress = Callable[[int, int], None]  # (events read so far, events to read in all)


@dataclass(frozen=True)
class _Seen:
    partition: int
    offset: int
    hash: str
    stream_id: str | None
    stream_version: int | None


@dataclass
class _Gap:
    problem: Problem
    missing: set[int]


class Verifier:
    """The checks, fed one record at a time in offset order per partition (pure, no I/O)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.events = 0
        self._heads: dict[tuple[str, str], str] = {}  # (topic, bureau) -> last hash
        self._versions: dict[tuple[str, str], int] = {}  # (topic, stream) -> last version
        self._at_version: dict[tuple[str, str, int], _Seen] = {}
        self._by_id: dict[tuple[str, str], _Seen] = {}  # (topic, event id)
        self._by_hash: dict[tuple[str, str], _Seen] = {}  # (topic, hash)
        self._gaps: dict[tuple[str, str], list[_Gap]] = {}
        self._bureaus: set[str] = set()

    @property
    def bureaus(self) -> int:
        return len(self._bureaus)

    @property
    def streams(self) -> int:
        return len(self._versions)

    def _add(self, severity: Severity, kind: ProblemKind, **fields: Any) -> Problem:
        problem = Problem(severity, kind, **fields)
        self.problems.append(problem)
        return problem

    def truncated(self, topic: str, partition: int, first_offset: int) -> None:
        self._add(
            Severity.ERROR,
            ProblemKind.LOG_TRUNCATED,
            topic=topic,
            partition=partition,
            offset=first_offset,
            bureau_id=None,
            stream_id=None,
            message="the partition does not start at offset 0: earlier events are gone",
            expected="0",
            found=str(first_offset),
        )

    def check(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        self.events += 1
        where: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset}
        try:
            data = json.loads(value or b"")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            data = None
            reason = f"not JSON: {exc}"
        else:
            reason = "not a JSON object"
        if not isinstance(data, dict):
            self._add(
                Severity.ERROR,
                ProblemKind.UNREADABLE,
                **where,
                bureau_id=None,
                stream_id=None,
                message=reason,
            )
            return
        bureau = data.get("bureau_id") if isinstance(data.get("bureau_id"), str) else None
        stream = data.get("stream_id") if isinstance(data.get("stream_id"), str) else None
        event_id = str(data.get("event_id")) if data.get("event_id") is not None else None
        where |= {"bureau_id": bureau, "stream_id": stream, "event_id": event_id}
        stored, prev = data.get("hash"), data.get("prev_hash")
        if not isinstance(stored, str) or not isinstance(prev, str):
            self._add(
                Severity.ERROR,
                ProblemKind.UNREADABLE,
                **where,
                message="hash and prev_hash are required strings",
            )
            return
        if bureau is not None:
            self._bureaus.add(bureau)

        # 1. The stored hash recomputes from the content as received.
        computed = chain_hash(prev, {k: v for k, v in data.items() if k != "hash"})
        if computed != stored:
            self._add(
                Severity.ERROR,
                ProblemKind.HASH_MISMATCH,
                **where,
                message="the stored hash does not match the event's content (altered or forged)",
                expected=computed,
                found=stored,
            )

        # 2. The envelope and the payload validate against their schema.
        envelope: Envelope | None = None
        try:
            envelope = Envelope.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            self._add(
                Severity.ERROR,
                ProblemKind.BAD_ENVELOPE,
                **where,
                message=f"bad envelope: {'.'.join(map(str, first['loc']))}: {first['msg']}",
            )
        if envelope is not None:
            try:
                envelope.payload()
            except ContractError as exc:
                self._add(
                    Severity.ERROR,
                    ProblemKind.BAD_PAYLOAD,
                    **where,
                    message=f"{envelope.event_type} v{envelope.schema_version}: {exc}",
                )
        version = envelope.stream_version if envelope is not None else None
        this = _Seen(partition, offset, stored, stream, version)

        # 3. The same event again: a republication (warning), or a conflicting one (error).
        if event_id is not None:
            earlier = self._by_id.get((topic, event_id))
            if earlier is not None:
                same = earlier.hash == stored
                self._add(
                    Severity.WARNING if same else Severity.ERROR,
                    ProblemKind.DUPLICATE if same else ProblemKind.CONFLICTING_DUPLICATE,
                    **where,
                    message=(
                        f"event {event_id} again, first at {topic}[{earlier.partition}]"
                        f"@{earlier.offset}" + ("" if same else " with different content")
                    ),
                    expected=None if same else earlier.hash,
                    found=None if same else stored,
                )
                return
            self._by_id[(topic, event_id)] = this
        self._by_hash.setdefault((topic, stored), this)

        # 4. The bureau's hash chain: prev_hash is the hash of its previous event.
        if bureau is not None:
            head = self._heads.get((topic, bureau), GENESIS_HASH)
            if prev != head:
                pointed = self._by_hash.get((topic, prev))
                if prev == GENESIS_HASH:
                    points = "the genesis hash"
                elif pointed is not None:
                    points = (
                        f"the event at {topic}[{pointed.partition}]@{pointed.offset} "
                        f"({pointed.stream_id} v{pointed.stream_version})"
                    )
                else:
                    points = "an event not (yet) seen in the topic"
                self._add(
                    Severity.ERROR,
                    ProblemKind.CHAIN_BROKEN,
                    **where,
                    message=(
                        f"prev_hash does not continue bureau {bureau}'s chain; it points to "
                        f"{points}"
                    ),
                    expected=head,
                    found=prev,
                )
            self._heads[(topic, bureau)] = stored

        # 5. The stream's versions continue by exactly one.
        if stream is not None and version is not None:
            key = (topic, stream)
            last = self._versions.get(key, 0)
            if version == last + 1:
                self._versions[key] = version
            elif version > last + 1:
                missing = set(range(last + 1, version))
                gap = self._add(
                    Severity.ERROR,
                    ProblemKind.VERSION_GAP,
                    **where,
                    message=(
                        f"stream {stream} jumps from v{last} to v{version}: "
                        f"{_versions_text(missing)} missing"
                    ),
                    expected=str(last + 1),
                    found=str(version),
                )
                self._gaps.setdefault(key, []).append(_Gap(gap, missing))
                self._versions[key] = version
            else:
                ahead = self._at_version.get((topic, stream, version))
                filled = self._fill_gap(key, version)
                if filled is not None:
                    detail = (
                        f"v{version} arrives after v{filled.found} at "
                        f"{topic}[{filled.partition}]@{filled.offset}"
                    )
                elif ahead is not None:
                    detail = (
                        f"a different event with v{version} is already at "
                        f"{topic}[{ahead.partition}]@{ahead.offset}"
                    )
                else:
                    detail = f"v{version} arrives after v{last}"
                self._add(
                    Severity.ERROR,
                    ProblemKind.REORDERED,
                    **where,
                    message=f"stream {stream} out of order: {detail}",
                    expected=str(last + 1),
                    found=str(version),
                )
            self._at_version.setdefault((topic, stream, version), this)

    def _fill_gap(self, key: tuple[str, str], version: int) -> Problem | None:
        """A late version that fills an earlier gap: that gap was a reordering, not a loss."""
        for gap in self._gaps.get(key, []):
            if version in gap.missing:
                gap.missing.discard(version)
                if not gap.missing and gap.problem in self.problems:
                    self.problems.remove(gap.problem)
                return gap.problem
        return None


def _versions_text(versions: set[int]) -> str:
    ordered = sorted(versions)
    if len(ordered) == 1:
        return f"v{ordered[0]}"
    return f"v{ordered[0]}–v{ordered[-1]}"


async def event_topics(consumer: AIOKafkaConsumer) -> list[str]:
    """Every gongkai.<service>.events topic on the broker (not the DLQs)."""
    return sorted(t for t in await consumer.topics() if EVENT_TOPIC.match(t))


async def topic_partitions(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from the broker's metadata; ValueError if one is missing."""
    if not topics:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found: dict[str, list[int]] = {}
    for topic in described:
        if topic.get("error_code", 0) == 0:
            found[topic["topic"]] = sorted(p["partition"] for p in topic["partitions"])
    missing = [t for t in topics if not found.get(t)]
    if missing:
        raise ValueError(f"no topic {', '.join(missing)} on {bootstrap}")
    return [TopicPartition(t, p) for t in topics for p in found[t]]


async def verify(
    bootstrap: str,
    topics: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    timeout: float = 600,
) -> VerifyReport:
    """Read `topics` (default: every event topic) from offset 0 to their end offsets at the
    start, one partition after another in offset order, and check every event."""
    started = time.monotonic()
    consumer = AIOKafkaConsumer(
        **kafka_client_kwargs(),
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    verifier = Verifier()
    try:
        names = list(topics) if topics else await event_topics(consumer)
        partitions = await topic_partitions(bootstrap, names)
        if not partitions:
            return VerifyReport(names, seconds=time.monotonic() - started)
        firsts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        total = sum(ends[tp] - firsts[tp] for tp in partitions)
        read = 0
        if progress:
            progress(0, total)
        deadline = time.monotonic() + timeout
        for tp in partitions:
            if firsts[tp] > 0:
                verifier.truncated(tp.topic, tp.partition, firsts[tp])
            if ends[tp] <= firsts[tp]:
                continue
            consumer.assign([tp])
            consumer.seek(tp, firsts[tp])
            while await consumer.position(tp) < ends[tp]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{tp.topic}[{tp.partition}] not read within {timeout}s")
                batches = await consumer.getmany(tp, timeout_ms=500, max_records=5000)
                records: list[ConsumerRecord] = [
                    r for r in batches.get(tp, []) if r.offset < ends[tp]
                ]
                for record in records:
                    verifier.check(tp.topic, tp.partition, record.offset, record.value)
                read += len(records)
                if progress and records:
                    progress(read, total)
        if progress:
            progress(total, total)
    finally:
        await consumer.stop()
    problems = sorted(
        verifier.problems, key=lambda p: (p.topic, p.partition, p.offset, p.kind.value)
    )
    return VerifyReport(
        topics=names,
        events=verifier.events,
        bureaus=verifier.bureaus,
        streams=verifier.streams,
        seconds=time.monotonic() - started,
        problems=problems,
    )
