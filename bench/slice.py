"""Benchmark of the first slice: POST a request → events → relay → Kafka → reporting's count."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from gongkai_contracts.topics import SERVICES
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.auth import issue_token
from gongkai_platform.devstack.kafka import kafka_version
from gongkai_platform.devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHANNELS = [c.value for c in Channel]
CATEGORIES = [c.value for c in ApplicantCategory]
ASKED_FOR = ["部门预算及“三公”经费决算", "某小区征收补偿安置方案", "社会保险基金年度收支情况"]
COMMANDS_TARGET_RATE = 500
COMMANDS_TARGET_P99_MS = 20.0
FRESHNESS_TARGET_P95_MS = 500.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_OUTSIDE_PERCENT = 20.0  # CPU of processes outside the stack we tolerate during a step
MAX_ATTEMPTS = 3
CUTOFF_GRACE = 5.0  # seconds after a step's schedule ends that queued POSTs may still go out


@dataclass(frozen=True)
class Params:
    rates: list[int]
    step_seconds: float
    repeats: int
    bureaus: int
    workers: int
    freshness_rate: int
    freshness_samples: int
    freshness_seconds: float
    poll_interval_ms: float
    partitions: int
    warmup_seconds: float


M = TypeVar("M", bound="Measured")


@dataclass(frozen=True)
class Posted:
    """One POST: when it was due, sent and answered (perf_counter seconds; None when it was
    still waiting for a worker at the cut-off) and whether it was a 201."""

    due: float
    sent: float | None
    answered: float | None
    created: bool


@dataclass(kw_only=True)
class Measured:
    """CPU per process group (percent of one core) while measuring, and how many attempts were
    made to measure without much CPU use outside the stack (the quietest one is kept)."""

    cpu_percent: dict[str, float] = field(default_factory=dict)
    attempts: int = 1


@dataclass
class CommandStep(Measured):
    """One open-loop step at a target rate; latencies count from when each POST was due."""

    target_rate: int
    due: int
    created: int
    errors: int
    unsent: int  # still waiting for a worker at the cut-off: the step saturated the service
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    service_p99_ms: float  # from the moment a worker actually sent it (no generator queue)


@dataclass
class FreshnessRun(Measured):
    """Time from a 201 to a GET of reporting's count that shows it, at a steady load."""

    load_rate: int
    achieved_rate: float
    unsent: int
    samples: int
    missed: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    polls_per_second: float
    command_p99_ms: float


# ------------------------------------------------------------------ small helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def today_in_china() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def body(i: int, on: date) -> bytes:
    return json.dumps(
        {
            "channel": CHANNELS[i % len(CHANNELS)],
            "applicant_category": CATEGORIES[i % len(CATEGORIES)],
            "received_on": on.isoformat(),
            "description": f"{ASKED_FOR[i % len(ASKED_FOR)]} ({i})",
        },
        ensure_ascii=False,
    ).encode()


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ processes: CPU and memory


def proc_status(pid: int, key: str) -> int:
    """A kB figure from /proc/<pid>/status (VmHWM, VmRSS); 0 when gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process; 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS


def children(ppid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == ppid:
                    found.append(int(entry.name))
    return found


def kafka_pid(stack: LocalStack) -> int | None:
    """The broker JVM: the java process whose command line names this stack's Kafka dir."""
    marker = str(stack.workdir / "kafka").encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if b"kafka.Kafka" in cmdline and marker in cmdline:
                    return int(entry.name)
    return None


def process_groups(stack: LocalStack) -> dict[str, list[int]]:
    """Name → pids: each service process, the Kafka JVM, PostgreSQL (all its processes), us."""
    groups: dict[str, list[int]] = {}
    for name, process in stack.processes.items():
        if process.proc is not None and process.running:
            groups[name] = [process.proc.pid]
    if (pid := kafka_pid(stack)) is not None:
        groups["kafka"] = [pid]
    if stack.postgres is not None and stack.postgres.pid is not None:
        groups["postgres"] = [stack.postgres.pid, *children(stack.postgres.pid)]
    groups["bench"] = [os.getpid()]
    return groups


class CpuMeter:
    """CPU use per process group between start() and stop(), in percent of one core; `outside`
    is what the rest of the machine used meanwhile (another job would skew the figures)."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._before: dict[int, float] = {}
        self._machine = 0.0
        self._started = 0.0

    def start(self) -> None:
        groups = process_groups(self._stack)
        self._before = {pid: cpu_seconds(pid) for pids in groups.values() for pid in pids}
        self._machine = machine_busy_seconds()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._started
        used: dict[str, float] = {}
        for name, pids in process_groups(self._stack).items():
            seconds = sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in pids)
            used[name] = round(100 * seconds / elapsed, 1)
        machine = 100 * (machine_busy_seconds() - self._machine) / elapsed
        used["outside"] = round(max(0.0, machine - sum(used.values())), 1)
        used["machine"] = round(machine, 1)
        return used


async def wait_for_quiet(meter: CpuMeter, timeout: float = 120) -> None:
    """Wait (up to `timeout`) for 3 s in a row in which processes outside the stack use little
    CPU: another job on the machine (a test run, a build) would skew the figures."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        meter.start()
        await asyncio.sleep(1)
        quiet = quiet + 1 if meter.stop()["outside"] < QUIET_OUTSIDE_PERCENT else 0


async def quietly(
    meter: CpuMeter, load: Load, what: str, attempt: Callable[[], Coroutine[Any, Any, M]]
) -> M:
    """Measure; measure again (up to MAX_ATTEMPTS in all) while outside CPU use was high, and
    keep the attempt with the least of it."""
    results: list[M] = []
    for _ in range(MAX_ATTEMPTS):
        await wait_for_quiet(meter)
        result = await attempt()
        results.append(result)
        outside = result.cpu_percent["outside"]
        if outside < QUIET_OUTSIDE_PERCENT:
            break
        say(f"{what}: other processes used {outside:.0f}% of a core meanwhile; again")
        await load.drain()
    best = min(results, key=lambda r: r.cpu_percent["outside"])
    best.attempts = len(results)
    return best


def peak_rss_mb(stack: LocalStack) -> dict[str, float]:
    """VmHWM of each service process, the Kafka JVM and the PostgreSQL processes, in MB."""
    peaks: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.proc is not None:
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


# ------------------------------------------------------------------ the load


class Load:
    """Posts registrations open-loop: a scheduler queues each POST at its due time and a fixed
    set of workers, each with its own keep-alive connection, sends them. A POST waiting for a
    free worker counts against its latency, as it would for a clerk."""

    def __init__(self, stack: LocalStack, bureaus: list[str], on: date, workers: int) -> None:
        self.stack = stack
        self.bureaus = bureaus
        self.on = on
        self.created = 0  # every 201 of the whole run, to know when reporting has caught up
        self.counter = 0
        # One small client per worker: httpx's pool gets slow with many connections in one.
        self.clients = [
            httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1))
            for _ in range(workers)
        ]
        self.reader = httpx.AsyncClient(
            timeout=10,
            limits=httpx.Limits(max_connections=64),
            headers={"Authorization": f"Bearer {issue_token('bench-auditor', 'auditor')}"},
        )
        self.clerk_headers: dict[str, dict[str, str]] = {}

    def headers(self, bureau: str) -> dict[str, str]:
        """A clerk of the bureau posts its requests (one token per bureau, made once)."""
        if bureau not in self.clerk_headers:
            token = issue_token(f"bench-clerk@{bureau}", "clerk", bureau)
            self.clerk_headers[bureau] = {
                "content-type": "application/json",
                "Authorization": f"Bearer {token}",
            }
        return self.clerk_headers[bureau]

    async def post(self, client: httpx.AsyncClient, bureau: str) -> tuple[float, float, bool]:
        i = self.counter
        self.counter += 1
        url = f"{self.stack.url('requests')}/bureaus/{bureau}/requests"
        headers = self.headers(bureau)
        sent = time.perf_counter()
        try:
            answer = await client.post(url, content=body(i, self.on), headers=headers)
        except httpx.HTTPError:
            return sent, time.perf_counter(), False
        created = answer.status_code == 201
        if created:
            self.created += 1
        return sent, time.perf_counter(), created

    async def run(
        self,
        rate: int,
        seconds: float,
        pick: Callable[[int], str],
        after: Callable[[int, float], Coroutine[Any, Any, None]] | None = None,
    ) -> tuple[list[Posted], float, float]:
        """POST rate*seconds registrations on schedule; `after(n, answered)` follows each 201.
        POSTs still waiting for a worker CUTOFF_GRACE seconds after the schedule ends are not
        sent (an overloaded step would otherwise run for minutes). Returns every POST, the wall
        time from the first due time to the last answer, and the cut-off time."""
        count = int(rate * seconds)
        queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
        posted: list[Posted] = []
        followers: list[asyncio.Task[None]] = []

        async def worker(client: httpx.AsyncClient) -> None:
            while (job := await queue.get()) is not None:
                n, due = job
                sent, answered, created = await self.post(client, pick(n))
                posted.append(Posted(due, sent, answered, created))
                if created and after is not None:
                    followers.append(asyncio.create_task(after(n, answered)))

        workers = [asyncio.create_task(worker(c)) for c in self.clients]
        start = time.perf_counter() + 0.05
        for n in range(count):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((n, due))
        cutoff = start + seconds + CUTOFF_GRACE
        while not queue.empty() and time.perf_counter() < cutoff:
            await asyncio.sleep(0.05)
        cutoff = time.perf_counter()
        while not queue.empty():
            job = queue.get_nowait()
            assert job is not None
            posted.append(Posted(job[1], None, None, False))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        await asyncio.gather(*followers)
        last = max((p.answered for p in posted if p.answered is not None), default=cutoff)
        return posted, last - start, cutoff

    async def consumers(self) -> list[dict[str, Any]]:
        answer = await self.reader.get(f"{self.stack.url('reporting')}/consumers")
        return list(answer.json())

    async def counted(self) -> int:
        """Reporting's count of requests received this year, over every bureau."""
        answer = await self.reader.get(f"{self.stack.url('reporting')}/requests-received")
        return sum(int(r["received"]) for r in answer.json() if r["year"] == self.on.year)

    async def drain(self, timeout: float = 300) -> float:
        """Wait until reporting counts every registration acknowledged so far."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if await self.counted() >= self.created:
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise TimeoutError(f"reporting did not catch up with {self.created} within {timeout}s")

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.reader.aclose()


def latencies_ms(posted: list[Posted], cutoff: float) -> list[float]:
    """Due-to-201 of each 201, and for each POST never sent, how long it had waited by the
    cut-off (a lower bound, which keeps an overloaded step's percentiles honest)."""
    return [
        1000 * (p.answered - p.due) if p.answered is not None else 1000 * (cutoff - p.due)
        for p in posted
        if p.created or p.sent is None
    ]


async def command_step(load: Load, meter: CpuMeter, rate: int, seconds: float) -> CommandStep:
    meter.start()
    posted, wall, cutoff = await load.run(rate, seconds, lambda n: secrets.choice(load.bureaus))
    cpu = meter.stop()
    latencies = latencies_ms(posted, cutoff)
    created = sum(p.created for p in posted)
    unsent = sum(p.sent is None for p in posted)
    service = [
        1000 * (p.answered - p.sent)
        for p in posted
        if p.created and p.answered is not None and p.sent is not None
    ]
    return CommandStep(
        target_rate=rate,
        due=len(posted),
        created=created,
        errors=len(posted) - created - unsent,
        unsent=unsent,
        achieved_rate=round(created / wall, 1),
        p50_ms=round(percentile(latencies, 50), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies, default=float("nan")), 2),
        service_p99_ms=round(percentile(service, 99), 2),
        cpu_percent=cpu,
    )


async def freshness_run(load: Load, meter: CpuMeter, params: Params) -> FreshnessRun:
    """At a steady load, one POST in every fixed slice of time goes to a bureau of its own
    (so its count goes from 0 to 1); after its 201, poll that bureau's count every few ms
    until it shows the request."""
    run = secrets.token_hex(4)  # new bureaus for every run, so each count starts at 0
    interval = params.freshness_seconds / params.freshness_samples
    next_sample = time.perf_counter()
    bureaus: dict[int, str] = {}  # POST number → its own bureau, for the sampled POSTs
    delays: list[float] = []
    missed = 0
    polls = 0

    def pick(n: int) -> str:
        nonlocal next_sample
        now = time.perf_counter()
        if now >= next_sample and len(bureaus) < params.freshness_samples:
            next_sample = max(next_sample + interval, now)
            bureaus[n] = f"fresh-{run}-{n}"
            return bureaus[n]
        return secrets.choice(load.bureaus)

    async def watch(n: int, answered: float) -> None:
        nonlocal missed, polls
        if n not in bureaus:
            return
        url = f"{load.stack.url('reporting')}/bureaus/{bureaus[n]}/requests-received"
        while time.perf_counter() < answered + 60:
            polls += 1
            with contextlib.suppress(httpx.HTTPError):
                answer = await load.reader.get(url, params={"year": load.on.year})
                if answer.status_code == 200 and answer.json()["total"] >= 1:
                    delays.append(1000 * (time.perf_counter() - answered))
                    return
            await asyncio.sleep(params.poll_interval_ms / 1000)
        missed += 1

    meter.start()
    started = time.perf_counter()
    posted, wall, cutoff = await load.run(
        params.freshness_rate, params.freshness_seconds, pick, watch
    )
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    return FreshnessRun(
        load_rate=params.freshness_rate,
        achieved_rate=round(sum(p.created for p in posted) / wall, 1),
        unsent=sum(p.sent is None for p in posted),
        samples=len(delays),
        missed=missed,
        p50_ms=round(percentile(delays, 50), 1),
        p95_ms=round(percentile(delays, 95), 1),
        max_ms=round(max(delays, default=float("nan")), 1),
        polls_per_second=round(polls / elapsed, 1),
        command_p99_ms=round(percentile(latencies_ms(posted, cutoff), 99), 2),
        cpu_percent=cpu,
    )


def fmt_cpu(cpu: dict[str, float]) -> str:
    busy = sorted(cpu.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v:.0f}%" for k, v in busy if v >= 1)


async def measure(stack: LocalStack, params: Params) -> dict[str, Any]:
    on = today_in_china()
    bureaus = [f"bench-{secrets.token_hex(4)}" for _ in range(params.bureaus)]
    load = Load(stack, bureaus, on, params.workers)
    meter = CpuMeter(stack)
    steps: list[CommandStep] = []
    freshness: list[FreshnessRun] = []
    try:
        say(f"warm-up: {params.warmup_seconds:.0f}s at 100/s")
        await load.run(100, params.warmup_seconds, lambda n: secrets.choice(bureaus))
        await load.drain()
        for repeat in range(1, params.repeats + 1):
            for rate in params.rates:
                what = f"[{repeat}/{params.repeats}] commands {rate}/s"
                attempt = partial(command_step, load, meter, rate, params.step_seconds)
                step = await quietly(meter, load, what, attempt)
                steps.append(step)
                caught_up = await load.drain()
                say(
                    f"{what}: achieved {step.achieved_rate}/s, p50 {step.p50_ms} ms, "
                    f"p99 {step.p99_ms} ms, errors {step.errors}, not sent by the cut-off "
                    f"{step.unsent}/{step.due}; reporting caught up "
                    f"{caught_up:.1f}s after; cpu {fmt_cpu(step.cpu_percent)}"
                )
            what = f"[{repeat}/{params.repeats}] freshness at {params.freshness_rate}/s"
            run = await quietly(meter, load, what, partial(freshness_run, load, meter, params))
            freshness.append(run)
            await load.drain()
            say(
                f"{what} (achieved {run.achieved_rate}/s, not sent {run.unsent}, "
                f"command p99 {run.command_p99_ms} ms): "
                f"{run.samples} samples, p50 {run.p50_ms} ms, p95 {run.p95_ms} ms, "
                f"max {run.max_ms} ms, missed {run.missed}, {run.polls_per_second} polls/s; "
                f"cpu {fmt_cpu(run.cpu_percent)}"
            )
        await load.drain()
        counted = await load.counted()
        consumers = await load.consumers()
    finally:
        await load.close()
    return {
        "command_steps": [asdict(s) for s in steps],
        "freshness_runs": [asdict(f) for f in freshness],
        "check": {
            "acknowledged_201": load.created,
            "reporting_total": counted,
            "consumers": consumers,
        },
    }


# ------------------------------------------------------------------ summary and report


def row(
    name: str,
    runs: list[dict[str, Any]],
    key: str,
    target_below: float | None,
    latency: bool = False,
) -> dict[str, Any]:
    """One figure over the runs. `lower_bound`: the median of a command latency could be
    higher, as a run at or below it fell so far behind that POSTs were never sent.
    `noisy_runs`: runs during which other processes on the machine used much CPU."""
    values = [float(r[key]) for r in runs]
    mid = median(values)
    return {
        "figure": name,
        "runs": values,
        "median": mid,
        "lower_bound": latency and any(r["unsent"] > 0 and float(r[key]) <= mid for r in runs),
        "noisy_runs": sum(r["cpu_percent"]["outside"] >= QUIET_OUTSIDE_PERCENT for r in runs),
        "target": None if target_below is None else f"< {target_below:g}",
        "met": None if target_below is None else bool(mid < target_below),
    }


def summarise(figures: dict[str, Any], params: Params) -> list[dict[str, Any]]:
    """One row per figure: each run, their median, the target and whether the median meets it."""
    rows: list[dict[str, Any]] = []
    for rate in params.rates:
        runs = [s for s in figures["command_steps"] if s["target_rate"] == rate]
        target = COMMANDS_TARGET_P99_MS if rate == COMMANDS_TARGET_RATE else None
        rows.append(row(f"commands {rate}/s achieved /s", runs, "achieved_rate", None))
        rows.append(row(f"commands {rate}/s p50 ms", runs, "p50_ms", None, latency=True))
        rows.append(row(f"commands {rate}/s p99 ms", runs, "p99_ms", target, latency=True))
    label = f"freshness at {params.freshness_rate}/s"
    fresh = figures["freshness_runs"]
    rows.append(row(f"{label}: achieved /s", fresh, "achieved_rate", None))
    rows.append(row(f"{label} p50 ms", fresh, "p50_ms", None))
    rows.append(row(f"{label} p95 ms", fresh, "p95_ms", FRESHNESS_TARGET_P95_MS))
    rows.append(row(f"{label} max ms", fresh, "max_ms", None))
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The summary as text. ≥: a lower bound (the service fell behind the schedule);
    runs (n noisy): n runs had other processes using much CPU meanwhile."""
    lines = [f"{'figure':34} {'runs':>26} {'median':>9} {'target':>7}  met"]
    for r in rows:
        bound = "≥" if r["lower_bound"] else ""
        runs = " ".join(f"{v:.1f}" for v in r["runs"])
        median_text = f"{bound}{r['median']:.1f}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        noisy = f"  ({r['noisy_runs']} noisy)" if r["noisy_runs"] else ""
        lines.append(
            f"{r['figure']:34} {runs:>26} {median_text:>9} {r['target'] or '':>7}  {met}{noisy}"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem_kb = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(mem_kb.group(1)) / 1024 / 1024, 1) if mem_kb else None,
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
    }


async def postgres_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def versions(stack: LocalStack) -> dict[str, str]:
    found = {
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "postgresql": asyncio.run(postgres_version(stack.admin_dsn)),
    }
    for package in ("aiokafka", "asyncpg", "fastapi", "uvicorn", "httpx", "pydantic"):
        found[package] = importlib.metadata.version(package)
    return found


def git_state() -> dict[str, Any]:
    """The commit measured and whether the working tree had changes (None outside git)."""

    def git(*args: str) -> str | None:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}


def log_problems(stack: LocalStack) -> dict[str, list[str]]:
    """ERROR/WARNING/Traceback lines of each log of the stack (the count, then the first 20)."""
    logs = {name: p.log_path for name, p in stack.processes.items()}
    if stack.postgres is not None:
        logs["postgres"] = stack.postgres.log_path
    if stack.kafka is not None:
        logs["kafka"] = stack.kafka.log_path
    pattern = re.compile(r"\b(ERROR|FATAL|PANIC|CRITICAL|WARNING|Traceback)\b")
    problems: dict[str, list[str]] = {}
    for name, path in logs.items():
        with contextlib.suppress(OSError):
            lines = path.read_text(errors="replace").splitlines()
            if hits := [line for line in lines if pattern.search(line)]:
                problems[name] = [f"{len(hits)} lines", *hits[:20]]
    return problems


def save(report: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"slice-{stamp}.json"
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text)
    (RESULTS / "slice-latest.json").write_text(text)
    return path


# ------------------------------------------------------------------ main


@contextlib.contextmanager
def local_stack(workdir: Path, partitions: int) -> Iterator[LocalStack]:
    """A LocalStack with durable PostgreSQL on free ports; stopped and removed afterwards."""
    stack = LocalStack(
        workdir,
        ports={s: free_port() for s in SERVICES},
        partitions=partitions,
        durable_postgres=True,
        log=True,
    )
    try:
        stack.start_infrastructure()
        stack.start_all()
        yield stack
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short and orphan processes.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        if stack.postgres is not None:
            stack.postgres.remove()


def parse(argv: list[str]) -> tuple[Params, bool]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps; one run")
    parser.add_argument("--keep", action="store_true", help="keep the stack's workdir and logs")
    parser.add_argument("--freshness-rate", type=int, default=200, help="POSTs/s meanwhile")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    params = Params(
        rates=[100, 500] if quick else [100, 250, 500, 750],
        step_seconds=5 if quick else 10,
        repeats=1 if quick else 3,
        bureaus=200,
        workers=64,
        freshness_rate=args.freshness_rate,
        freshness_samples=100 if quick else 300,
        freshness_seconds=10 if quick else 30,
        poll_interval_ms=5,
        partitions=3,
        warmup_seconds=2 if quick else 5,
    )
    return params, bool(args.keep)


def main(argv: list[str]) -> None:
    params, keep = parse(argv)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="gongkai-bench-"))
    started = datetime.now(UTC)
    try:
        with local_stack(workdir, params.partitions) as stack:
            found_versions = versions(stack)
            figures = asyncio.run(measure(stack, params))
            peaks = peak_rss_mb(stack)
            problems = log_problems(stack)
    finally:
        if keep:
            say(f"workdir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = summarise(figures, params)
    report = {
        "benchmark": "slice",
        "command": " ".join(["uv run python bench/slice.py", *argv]),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "machine": machine(),
        "versions": found_versions,
        "parameters": {
            **asdict(params),
            "postgres": "durable: fsync, synchronous_commit and full_page_writes on",
            "latency": "from when the POST was due (open loop) to its 201",
            "freshness": "from receiving the 201 to receiving a GET that shows the count",
        },
        "targets": {
            "commands_p99_ms_at_500_per_s": COMMANDS_TARGET_P99_MS,
            "freshness_p95_ms": FRESHNESS_TARGET_P95_MS,
        },
        "summary": rows,
        "figures": figures,
        "peak_rss_mb": peaks,
        "log_problems": problems,
    }
    path = save(report)
    say("")
    say(table(rows))
    say("")
    say("peak RSS (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    check = figures["check"]
    say(f"201s: {check['acknowledged_201']}, counted by reporting: {check['reporting_total']}")
    for name, lines in problems.items():
        say(f"log problems in {name}: {lines[0]}, first: {lines[1][:160]}")
    say(f"saved {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
