"""Benchmark of the auditors' replay and of the reports: a year of a province's events (many
bureaus, items, requests with every outcome, fees, cases, reviews) written to Kafka, replayed
from offset 0 into every reporting projection, beside the raw Kafka consume rate and the
PostgreSQL folded-upsert rate; then one bureau's annual report and the central roll-up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen
from slice import (
    QUIET_OUTSIDE_PERCENT,
    RESULTS,
    ROOT,
    children,
    cpu_seconds,
    fmt_cpu,
    free_port,
    git_state,
    kafka_pid,
    log_problems,
    machine,
    machine_busy_seconds,
    median,
    percentile,
    proc_status,
    say,
    versions,
)

from gongkai_contracts import Envelope
from gongkai_contracts.topics import SERVICES, events_topic
from gongkai_platform.audit.verify import topic_partitions
from gongkai_platform.auth import issue_token
from gongkai_platform.devstack.stack import LocalStack
from reporting_service.bootstrap import projections

REPLAY_TARGET_EVENTS_PER_S = 50_000.0
ANNUAL_REPORT_TARGET_MS = 50.0
ROLLUP_TARGET_MS = 1000.0
REPLAYED_TOPICS = [events_topic("requests"), events_topic("catalogue")]  # what reporting folds
BATCH = 2000  # the consumer runners' max_records per fetch


@dataclass(frozen=True)
class Params:
    events: int  # events in the topics reporting folds (the reviews come on top)
    bureaus: int
    year: int
    repeats: int
    partitions: int
    annual_requests: int
    rollup_requests: int
    seed: int
    profile: bool
    compare: str | None  # a git revision whose replay to measure beside (before/after)


# ------------------------------------------------------------------ CPU of every process


def stack_groups(stack: LocalStack, extra: dict[str, list[int]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for name, process in stack.processes.items():
        if process.proc is not None and process.running:
            groups[name] = [process.proc.pid]
    if (pid := kafka_pid(stack)) is not None:
        groups["kafka"] = [pid]
    if stack.postgres is not None and stack.postgres.pid is not None:
        groups["postgres"] = [stack.postgres.pid, *children(stack.postgres.pid)]
    groups["bench"] = [os.getpid()]
    return {**groups, **extra}


class Meter:
    """CPU per process group (percent of one core) between start() and stop(); `outside` is
    what the rest of the machine used meanwhile. `extra` names processes started meanwhile."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.extra: dict[str, list[int]] = {}
        self._before: dict[int, float] = {}
        self._machine = 0.0
        self._started = 0.0
        self.elapsed = 0.0
        self._seen: dict[int, tuple[str, float]] = {}
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self) -> None:
        self.extra = {}
        groups = stack_groups(self.stack, {})
        self._before = {pid: cpu_seconds(pid) for pids in groups.values() for pid in pids}
        self._seen = {}
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._sampler.start()
        self._machine = machine_busy_seconds()
        self._started = time.monotonic()

    def sample(self) -> None:
        """Remember the CPU time of every process now: PostgreSQL backends of a client's
        connections come and go within a measurement, and a process that has exited takes its
        CPU time with it."""
        for name, pids in stack_groups(self.stack, self.extra).items():
            for pid in pids:
                if (seconds := cpu_seconds(pid)) > 0:
                    self._seen[pid] = (name, seconds)

    def _sample_until_stopped(self) -> None:
        while not self._sampling.wait(0.5):
            self.sample()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._started
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        self.sample()
        used: dict[str, float] = dict.fromkeys(stack_groups(self.stack, self.extra), 0.0)
        for pid, (name, seconds) in self._seen.items():
            used[name] = used.get(name, 0.0) + seconds - self._before.get(pid, 0.0)
        for name, seconds in used.items():
            used[name] = round(100 * seconds / elapsed, 1)
        busy = 100 * (machine_busy_seconds() - self._machine) / elapsed
        used["outside"] = round(max(0.0, busy - sum(used.values())), 1)
        used["machine"] = round(busy, 1)
        self.elapsed = elapsed
        return used


def wait_for_quiet(meter: Meter, timeout: float = 90) -> float:
    """Wait (up to `timeout`) for 3 s in a row in which processes outside the stack use little
    CPU; returns the seconds waited."""
    started = time.monotonic()
    quiet = 0
    while quiet < 3 and time.monotonic() - started < timeout:
        meter.start()
        time.sleep(1)
        quiet = quiet + 1 if meter.stop()["outside"] < QUIET_OUTSIDE_PERCENT else 0
    return time.monotonic() - started


def reset_peak(pids: list[int]) -> None:
    """Reset VmHWM (`clear_refs` 5), so a later read is the peak since now."""
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def stack_peaks(stack: LocalStack) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.proc is not None and process.running:
            peaks[name] = round(proc_status(process.proc.pid, "VmHWM") / 1024, 1)
    if (pid := kafka_pid(stack)) is not None:
        peaks["kafka"] = round(proc_status(pid, "VmHWM") / 1024, 1)
    if stack.postgres is not None and stack.postgres.pid is not None:
        pids = children(stack.postgres.pid)
        peaks["postgres-postmaster"] = round(proc_status(stack.postgres.pid, "VmHWM") / 1024, 1)
        peaks["postgres-largest-child"] = round(
            max((proc_status(p, "VmHWM") for p in pids), default=0) / 1024, 1
        )
    return peaks


def stack_pids(stack: LocalStack) -> list[int]:
    return [pid for pids in stack_groups(stack, {}).values() for pid in pids]


# ------------------------------------------------------------------ the data


def generate(stack: LocalStack, params: Params) -> dict[str, Any]:
    """Two processes (one per core) each plan, seal and publish half of the bureaus."""
    shares = datagen.bureau_shares(params.bureaus, params.events, params.seed)
    halves = [list(range(0, params.bureaus, 2)), list(range(1, params.bureaus, 2))]
    started = time.monotonic()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(
                datagen.produce_in_process,
                stack.bootstrap,
                half,
                shares,
                params.seed,
                params.year,
            )
            for half in halves
        ]
        written = [f.result() for f in futures]
    seconds = time.monotonic() - started
    per_topic: Counter[str] = Counter()
    per_type: Counter[str] = Counter()
    for w in written:
        per_topic.update(w.per_topic)
        per_type.update(w.per_type)
    total = sum(w.events for w in written)
    return {
        "events": total,
        "per_topic": dict(per_topic),
        "per_type": dict(sorted(per_type.items())),
        "seconds": round(seconds, 1),
        "events_per_s": round(total / seconds, 1),
    }


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(bootstrap, topics)
        ends = await consumer.end_offsets(partitions)
        return {tp: int(o) for tp, o in ends.items()}
    finally:
        await consumer.stop()


async def live_caught_up(stack: LocalStack, ends: dict[TopicPartition, int]) -> bool:
    """Whether each of reporting's live projections has stored offsets at the topics' ends."""
    conn = await asyncpg.connect(stack.database_url("reporting"))
    try:
        rows = await conn.fetch(
            "SELECT consumer, topic, partition, next_offset FROM consumer_offsets"
        )
    finally:
        await conn.close()
    stored = {(r["consumer"], r["topic"], r["partition"]): r["next_offset"] for r in rows}
    for projection, topic in projections():
        for tp, end in ends.items():
            if tp.topic == topic and stored.get((projection.name, tp.topic, tp.partition), 0) < end:
                return False
    return True


# ------------------------------------------------------------------ replay (a child process)


def child_replay(database_url: str, bootstrap: str) -> None:
    """Run reporting's replay (`gongkai replay --no-switch`) and print its phases as JSON."""
    from reporting_service.replay import replay

    marks: dict[str, float] = {}
    total_deliveries = 0

    def progress(done: int, total: int) -> None:
        nonlocal total_deliveries
        now = time.monotonic()
        total_deliveries = total
        marks.setdefault("catch_up_started", now)
        if done >= total:
            marks.setdefault("catch_up_done", now)

    started = time.monotonic()
    result = asyncio.run(replay(database_url, bootstrap, switch=False, progress=progress))
    finished = time.monotonic()
    caught = marks.get("catch_up_done", marks.get("catch_up_started", finished))
    import reporting_service

    print(
        json.dumps(
            {
                "code": str(Path(reporting_service.__file__).parent),
                "deliveries": result.events,
                "deliveries_expected": total_deliveries,
                "reports": len(result.digests),
                "digest_sample": [asdict(d) for d in result.digests[:3]],
                "setup_s": marks.get("catch_up_started", started) - started,
                "catch_up_s": caught - marks.get("catch_up_started", started),
                "digests_s": finished - caught,
                "total_s": finished - started,
                "vmhwm_mb": proc_status(os.getpid(), "VmHWM") / 1024,
                "cpu_s": cpu_seconds(os.getpid()),
            }
        ),
        flush=True,
    )


def replay_run(
    stack: LocalStack,
    meter: Meter,
    events: int,
    profile_to: Path | None,
    code: Path | None = None,
) -> dict[str, Any]:
    """One replay in its own process; events/s over the catch-up from offset 0 (the digests
    of every annual report, which the replay computes next, are timed apart). `code`: a
    directory holding another version of the reporting_service package to run instead."""
    command = [sys.executable, __file__, "--child-replay"]
    if profile_to is not None:
        command = [
            "uv",
            "run",
            "--with",
            "py-spy",
            "py-spy",
            "record",
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            str(profile_to),
            "--",
            *command,
        ]
    env = {
        **os.environ,
        "REPORTING_DATABASE_URL": stack.database_url("reporting"),
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
    }
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    reset_peak(stack_pids(stack))
    meter.start()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, cwd=ROOT)
    out, _ = child.communicate()
    cpu = meter.stop()
    if child.returncode != 0:
        raise RuntimeError(f"replay exited with {child.returncode}")
    # The last JSON line: py-spy, when profiling, prints its own lines after the child's.
    figures = json.loads([x for x in out.decode().splitlines() if x.startswith("{")][-1])
    # The child has exited (its /proc entry is gone): it reported its own CPU time.
    cpu["replay"] = round(100 * figures["cpu_s"] / meter.elapsed, 1)
    cpu["outside"] = round(max(0.0, cpu["outside"] - cpu["replay"]), 1)
    return {
        "profile": top_frames(profile_to) if profile_to is not None and profile_to.exists() else {},
        "events": events,
        "events_per_s": round(events / figures["catch_up_s"], 1),
        "deliveries_per_s": round(figures["deliveries"] / figures["catch_up_s"], 1),
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()},
        "peak_rss_mb": {"replay": round(figures["vmhwm_mb"], 1), **stack_peaks(stack)},
        "cpu_percent": cpu,
    }


def top_frames(path: Path, count: int = 15) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's raw (collapsed) output: the functions with the most samples on top of
    the stack (self) and anywhere in it (inclusive), in percent of all samples."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0].rstrip(")")
                  for f in stack.split(";")]  # fmt: skip
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n

    def top(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in counter.most_common(count)]

    return {"self": top(own), "inclusive": top(anywhere)} if total else {}


def checkout(rev: str, into: Path) -> Path:
    """reporting_service as of a git revision, in a directory to put first on PYTHONPATH."""
    into.mkdir(parents=True, exist_ok=True)
    package = "services/reporting/src/reporting_service"
    archive = subprocess.run(
        ["git", "archive", rev, package], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "services/reporting/src"


# ------------------------------------------------------------------ the limits beside it


async def consume(
    bootstrap: str, ends: dict[TopicPartition, int], decode: str | None
) -> tuple[int, float, list[tuple[str, int, int]]]:
    """Read every partition from offset 0 to `ends` with one consumer: fetch and count, or
    also decode (`envelope`: Envelope.from_json, which verifies the hash; `payload`: also the
    typed event, as the runners' _decode). Returns events, seconds and (bureau, year, month)
    of each event (for the upsert limit)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    keys: list[tuple[str, int, int]] = []
    count = 0
    try:
        partitions = [tp for tp, end in ends.items() if end > 0]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.monotonic()
        left = set(partitions)
        while left:
            batches = await consumer.getmany(*left, timeout_ms=500, max_records=BATCH)
            for tp, records in batches.items():
                count += len(records)
                if decode is not None:
                    for r in records:
                        assert r.value is not None
                        envelope = Envelope.from_json(r.value)
                        if decode == "payload":
                            envelope.payload()
                            at = envelope.occurred_at
                            keys.append((envelope.bureau_id, at.year, at.month))
                if records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        seconds = time.monotonic() - started
    finally:
        await consumer.stop()
    return count, seconds, keys


async def folded_upserts(dsn: str, keys: list[tuple[str, int, int]]) -> float:
    """PostgreSQL alone: the events in batches of the runners' size, each folded per (bureau,
    year, month) and upserted with the projections' unnest … ON CONFLICT DO UPDATE, plus the
    offset row, one durable transaction per batch. Returns events/s."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS bench_limits CASCADE; CREATE SCHEMA bench_limits")
        await conn.execute(
            "CREATE TABLE bench_limits.monthly (LIKE public.requests_received_monthly "
            "INCLUDING ALL); CREATE TABLE bench_limits.offsets (LIKE public.consumer_offsets "
            "INCLUDING ALL)"
        )
        started = time.monotonic()
        for n in range(0, len(keys), BATCH):
            counts = Counter(keys[n : n + BATCH])
            folded = list(counts)
            async with conn.transaction():
                await conn.execute(
                    """INSERT INTO bench_limits.monthly (bureau_id, year, month, received)
                       SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[])
                       ON CONFLICT (bureau_id, year, month) DO UPDATE
                       SET received = monthly.received + EXCLUDED.received""",
                    [k[0] for k in folded],
                    [k[1] for k in folded],
                    [k[2] for k in folded],
                    [counts[k] for k in folded],
                )
                await conn.execute(
                    """INSERT INTO bench_limits.offsets (consumer, topic, partition, next_offset)
                       VALUES ('bench', 't', 0, $1) ON CONFLICT (consumer, topic, partition)
                       DO UPDATE SET next_offset = EXCLUDED.next_offset""",
                    n + BATCH,
                )
        seconds = time.monotonic() - started
        await conn.execute("DROP SCHEMA bench_limits CASCADE")
    finally:
        await conn.close()
    return len(keys) / seconds


def limits_run(stack: LocalStack, meter: Meter, ends: dict[TopicPartition, int]) -> dict[str, Any]:
    """The raw consume rates and the folded-upsert rate, each alone."""
    out: dict[str, Any] = {}
    keys: list[tuple[str, int, int]] = []
    for what in (None, "envelope", "payload"):
        meter.start()
        count, seconds, found = asyncio.run(consume(stack.bootstrap, ends, what))
        name = {None: "fetch", "envelope": "fetch_decode", "payload": "fetch_decode_payload"}
        out[f"{name[what]}_events_per_s"] = round(count / seconds, 1)
        out[f"{name[what]}_cpu_percent"] = meter.stop()
        keys = found or keys
    meter.start()
    out["folded_upsert_events_per_s"] = round(
        asyncio.run(folded_upserts(stack.database_url("reporting"), keys)), 1
    )
    out["folded_upsert_cpu_percent"] = meter.stop()
    out["events"] = len(keys)
    return out


# ------------------------------------------------------------------ reports over HTTP


async def reports_run(stack: LocalStack, params: Params, meter: Meter) -> dict[str, Any]:
    """One bureau's annual report as JSON (random bureaus) and the central roll-up of every
    bureau for the year, timed from sending the GET to the end of the body."""
    headers = {"authorization": f"Bearer {issue_token('bench', 'auditor')}"}
    base = stack.url("reporting")
    rng = random.Random(params.seed)
    bureaus = [
        datagen.bureau_id(rng.randrange(params.bureaus)) for _ in range(params.annual_requests)
    ]
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        warm = await client.get(f"/bureaus/{bureaus[0]}/annual-reports/{params.year}")
        warm.raise_for_status()
        annual: list[float] = []
        meter.start()
        for b in bureaus:
            started = time.perf_counter()
            answer = await client.get(f"/bureaus/{b}/annual-reports/{params.year}")
            annual.append(1000 * (time.perf_counter() - started))
            answer.raise_for_status()
        out["annual"] = {
            "requests": len(annual),
            "p50_ms": round(percentile(annual, 50), 1),
            "p95_ms": round(percentile(annual, 95), 1),
            "max_ms": round(max(annual), 1),
            "bytes": len(answer.content),
            "cpu_percent": meter.stop(),
        }
        rollup: list[float] = []
        meter.start()
        bureaus_in_rollup = 0
        for _ in range(params.rollup_requests):
            started = time.perf_counter()
            answer = await client.get("/central/rollup", params={"year": params.year})
            rollup.append(1000 * (time.perf_counter() - started))
            answer.raise_for_status()
            bureaus_in_rollup = int(answer.json()["total"]["bureaus"])
        out["rollup"] = {
            "requests": len(rollup),
            "bureaus": bureaus_in_rollup,
            "p50_ms": round(percentile(rollup, 50), 1),
            "p95_ms": round(percentile(rollup, 95), 1),
            "max_ms": round(max(rollup), 1),
            "bytes": len(answer.content),
            "cpu_percent": meter.stop(),
        }
    return out


# ------------------------------------------------------------------ summary


def row(
    name: str,
    values: list[float],
    target: str | None,
    met: Callable[[float], bool] | None,
    noisy: int,
    limit: str | None = None,
) -> dict[str, Any]:
    mid = median(values)
    return {
        "figure": name,
        "runs": values,
        "median": mid,
        "target": target,
        "met": None if met is None else bool(met(mid)),
        "noisy_runs": noisy,
        "limit_of": limit,
    }


def summarise(figures: dict[str, Any]) -> list[dict[str, Any]]:
    runs = figures["replay_runs"]
    limits = figures["limit_runs"]

    def noisy(rs: list[dict[str, Any]], key: str = "cpu_percent") -> int:
        return sum(r[key]["outside"] >= QUIET_OUTSIDE_PERCENT for r in rs)

    rows = [
        row(
            "replay catch-up events/s",
            [r["events_per_s"] for r in runs],
            f"≥ {REPLAY_TARGET_EVENTS_PER_S:,.0f}",
            lambda v: v >= REPLAY_TARGET_EVENTS_PER_S,
            noisy(runs),
        ),
        row(
            "replay deliveries/s (events × projections)",
            [r["deliveries_per_s"] for r in runs],
            None,
            None,
            noisy(runs),
        ),
        row("replay catch-up s", [r["catch_up_s"] for r in runs], None, None, noisy(runs)),
        row(
            "replay digests of every annual report s",
            [r["digests_s"] for r in runs],
            None,
            None,
            noisy(runs),
        ),
        row(
            "replay process peak RSS MB",
            [r["peak_rss_mb"]["replay"] for r in runs],
            None,
            None,
            noisy(runs),
        ),
    ]
    if before := figures.get("replay_runs_before"):
        rev = figures["compared_with"]
        rows.insert(
            1,
            row(
                f"replay catch-up events/s as of {rev} (before)",
                [r["events_per_s"] for r in before],
                None,
                None,
                noisy(before),
            ),
        )
        rows.insert(
            2,
            row(
                f"replay digests s as of {rev} (before)",
                [r["digests_s"] for r in before],
                None,
                None,
                noisy(before),
            ),
        )
    for key, label in (
        ("fetch", "limit: aiokafka fetch events/s"),
        ("fetch_decode", "limit: fetch + Envelope.from_json events/s"),
        ("fetch_decode_payload", "limit: fetch + from_json + payload() events/s"),
        ("folded_upsert", "limit: PostgreSQL folded upsert events/s"),
    ):
        rows.append(
            row(
                label,
                [r[f"{key}_events_per_s"] for r in limits],
                None,
                None,
                noisy(limits, f"{key}_cpu_percent"),
                "replay",
            )
        )
    if "reports" in figures:
        rep = figures["reports"]
        rows.append(
            row(
                f"annual report JSON p50 ms ({rep['annual']['requests']} GETs)",
                [rep["annual"]["p50_ms"]],
                None,
                None,
                0,
            )
        )
        rows.append(
            row(
                "annual report JSON p95 ms",
                [rep["annual"]["p95_ms"]],
                f"< {ANNUAL_REPORT_TARGET_MS:g}",
                lambda v: v < ANNUAL_REPORT_TARGET_MS,
                int(rep["annual"]["cpu_percent"]["outside"] >= QUIET_OUTSIDE_PERCENT),
            )
        )
        rows.append(
            row(
                f"rollup of {rep['rollup']['bureaus']} bureaus p50 ms "
                f"({rep['rollup']['requests']} GETs)",
                [rep["rollup"]["p50_ms"]],
                None,
                None,
                0,
            )
        )
        rows.append(
            row(
                "rollup p95 ms",
                [rep["rollup"]["p95_ms"]],
                f"< {ROLLUP_TARGET_MS:g}",
                lambda v: v < ROLLUP_TARGET_MS,
                int(rep["rollup"]["cpu_percent"]["outside"] >= QUIET_OUTSIDE_PERCENT),
            )
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'figure':48} {'runs':>30} {'median':>10} {'target':>9}  met"]
    for r in rows:
        runs = " ".join(f"{v:,.1f}" for v in r["runs"])
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        noisy = f"  ({r['noisy_runs']} noisy)" if r["noisy_runs"] else ""
        lines.append(
            f"{r['figure']:48} {runs:>30} {r['median']:>10,.1f} {r['target'] or '':>9}  "
            f"{met}{noisy}"
        )
    return "\n".join(lines)


def save(name: str, report: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    path.write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    return path


# ------------------------------------------------------------------ main


def measure(stack: LocalStack, params: Params) -> dict[str, Any]:
    meter = Meter(stack)
    say(f"generating {params.events:,} events for {params.bureaus} bureaus (+ their reviews) …")
    generated = generate(stack, params)
    say(
        f"wrote {generated['events']:,} events in {generated['seconds']}s "
        f"({generated['events_per_s']:,.0f}/s): {generated['per_topic']}"
    )
    ends = asyncio.run(end_offsets(stack.bootstrap, REPLAYED_TOPICS))
    events = sum(ends.values())
    say(f"{events:,} events in {', '.join(REPLAYED_TOPICS)}")

    # The live service folds the same log from offset 0 as it starts: its own catch-up.
    meter.start()
    started = time.monotonic()
    stack.start("reporting-api")
    while not asyncio.run(live_caught_up(stack, ends)):
        time.sleep(1)
    live_seconds = time.monotonic() - started
    live = {
        "seconds": round(live_seconds, 1),
        "events_per_s": round(events / live_seconds, 1),
        "cpu_percent": meter.stop(),
    }
    say(f"live reporting caught up in {live_seconds:.1f}s ({live['events_per_s']:,.0f} ev/s)")

    replay_runs: list[dict[str, Any]] = []
    limit_runs: list[dict[str, Any]] = []
    before_runs: list[dict[str, Any]] = []
    before = checkout(params.compare, stack.workdir / "before") if params.compare else None
    for repeat in range(1, params.repeats + 1):
        if before is not None:
            wait_for_quiet(meter)
            profile = RESULTS / "replay-profile-before.txt" if params.profile else None
            run = replay_run(stack, meter, events, profile if repeat == 1 else None, before)
            before_runs.append(run)
            say(
                f"[{repeat}/{params.repeats}] replay as of {params.compare}: "
                f"{run['events_per_s']:,.0f} events/s, catch-up {run['catch_up_s']}s, digests "
                f"{run['digests_s']}s, peak RSS {run['peak_rss_mb']['replay']:.0f} MB; "
                f"cpu {fmt_cpu(run['cpu_percent'])}"
            )
        wait_for_quiet(meter)
        profile = RESULTS / "replay-profile.txt" if params.profile and repeat == 1 else None
        run = replay_run(stack, meter, events, profile)
        replay_runs.append(run)
        say(
            f"[{repeat}/{params.repeats}] replay: {run['events_per_s']:,.0f} events/s "
            f"({run['deliveries_per_s']:,.0f} deliveries/s), catch-up {run['catch_up_s']}s, "
            f"digests of {run['reports']} reports {run['digests_s']}s, peak RSS "
            f"{run['peak_rss_mb']['replay']:.0f} MB; cpu {fmt_cpu(run['cpu_percent'])}"
        )
        wait_for_quiet(meter)
        limits = limits_run(stack, meter, ends)
        limit_runs.append(limits)
        say(
            f"[{repeat}/{params.repeats}] limits: fetch {limits['fetch_events_per_s']:,.0f}/s, "
            f"+decode {limits['fetch_decode_events_per_s']:,.0f}/s, +payload "
            f"{limits['fetch_decode_payload_events_per_s']:,.0f}/s, folded upsert "
            f"{limits['folded_upsert_events_per_s']:,.0f}/s"
        )
    wait_for_quiet(meter)
    reports = asyncio.run(reports_run(stack, params, meter))
    say(
        f"annual report p50 {reports['annual']['p50_ms']} ms, p95 {reports['annual']['p95_ms']} "
        f"ms; rollup of {reports['rollup']['bureaus']} bureaus p50 {reports['rollup']['p50_ms']} "
        f"ms, p95 {reports['rollup']['p95_ms']} ms"
    )
    return {
        "generated": generated,
        "replayed_topics": {f"{tp.topic}[{tp.partition}]": o for tp, o in sorted(ends.items())},
        "live_catch_up": live,
        "replay_runs": replay_runs,
        "replay_runs_before": before_runs,
        "compared_with": params.compare,
        "limit_runs": limit_runs,
        "reports": reports,
    }


def parse(argv: list[str]) -> Params:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 events, one run")
    parser.add_argument("--events", type=int, help="events in the topics reporting folds")
    parser.add_argument("--bureaus", type=int, default=3000)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--profile", action="store_true", help="py-spy the first replay")
    parser.add_argument(
        "--compare", metavar="REV", help="also replay with reporting_service as of git REV"
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Params(
        events=args.events or (100_000 if quick else 1_000_000),
        bureaus=args.bureaus,
        year=date.today().year - 1,
        repeats=args.repeats or (1 if quick else 3),
        partitions=3,
        annual_requests=50,
        rollup_requests=3 if quick else 5,
        seed=20261127,
        profile=bool(args.profile),
        compare=args.compare,
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child-replay"]:
        child_replay(os.environ["REPORTING_DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        return
    params = parse(argv)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="gongkai-bench-replay-"))
    started = datetime.now(UTC)
    stack = LocalStack(
        workdir,
        ports={s: free_port() for s in SERVICES},
        partitions=params.partitions,
        durable_postgres=True,
        log=True,
    )
    try:
        stack.start_infrastructure()
        found_versions = versions(stack)
        figures = measure(stack, params)
        peaks = stack_peaks(stack)
        problems = log_problems(stack)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        if stack.postgres is not None:
            stack.postgres.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    rows = summarise(figures)
    common = {
        "command": " ".join(["uv run python bench/replay.py", *argv]),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "machine": machine(),
        "versions": found_versions,
        "parameters": {
            **asdict(params),
            "postgres": "durable: fsync, synchronous_commit and full_page_writes on",
            "events": "events in gongkai.requests.events and gongkai.catalogue.events (what "
            "reporting folds); the reviews in gongkai.review.events come on top",
            "events_per_s": "events of those topics ÷ the replay's catch-up from offset 0 "
            "to the end offsets (each event once, though three projections fold requests)",
        },
    }
    report = {
        "benchmark": "replay",
        **common,
        "targets": {
            "replay_events_per_s": REPLAY_TARGET_EVENTS_PER_S,
            "annual_report_ms": ANNUAL_REPORT_TARGET_MS,
            "rollup_ms": ROLLUP_TARGET_MS,
        },
        "summary": rows,
        "figures": figures,
        "peak_rss_mb_end": peaks,
        "log_problems": problems,
    }
    path = save("replay", report)
    save(
        "reports",
        {
            "benchmark": "reports",
            **common,
            "targets": {"annual_report_ms": ANNUAL_REPORT_TARGET_MS, "rollup_ms": ROLLUP_TARGET_MS},
            "summary": [r for r in rows if "annual" in r["figure"] or "rollup" in r["figure"]],
            "figures": figures["reports"],
        },
    )
    say("")
    say(table(rows))
    say("")
    say("peak RSS (MB) at the end: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    for name, lines in problems.items():
        say(f"log problems in {name}: {lines[0]}, first: {lines[1][:160]}")
    say(f"saved {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
