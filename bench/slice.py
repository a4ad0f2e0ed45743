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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from gongkai_contracts.topics import SERVICES
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.devstack.kafka import kafka_version
from gongkai_platform.devstack.stack import LocalStack

RESULTS = Path(__file__).resolve().parent / "results"
CHANNELS = [c.value for c in Channel]
CATEGORIES = [c.value for c in ApplicantCategory]
ASKED_FOR = ["部门预算及“三公”经费决算", "某小区征收补偿安置方案", "社会保险基金年度收支情况"]
COMMANDS_TARGET_RATE = 500
COMMANDS_TARGET_P99_MS = 20.0
FRESHNESS_TARGET_P95_MS = 500.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Params:
    rates: list[int]
    step_seconds: float
    repeats: int
    bureaus: int
    freshness_rate: int
    freshness_samples: int
    freshness_seconds: float
    poll_interval_ms: float
    partitions: int
    warmup_seconds: float


@dataclass
class CommandStep:
    """One open-loop step at a target rate."""

    target_rate: int
    sent: int
    created: int
    errors: int
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    send_lag_p99_ms: float  # how late the generator sent versus its schedule
    cpu_percent: dict[str, float] = field(default_factory=dict)


@dataclass
class FreshnessRun:
    """Time from a 201 to reporting's count showing that request, at a steady load."""

    load_rate: int
    achieved_rate: float
    samples: int
    missed: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    polls_per_second: float
    command_p99_ms: float
    cpu_percent: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------ helpers


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


def body(i: int, on: date) -> dict[str, object]:
    return {
        "channel": CHANNELS[i % len(CHANNELS)],
        "applicant_category": CATEGORIES[i % len(CATEGORIES)],
        "received_on": on.isoformat(),
        "description": f"{ASKED_FOR[i % len(ASKED_FOR)]} ({i})",
    }


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
    """CPU use per process group between start() and stop(), in percent of one core."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._before: dict[int, float] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = {
            pid: cpu_seconds(pid) for pids in process_groups(self._stack).values() for pid in pids
        }
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._started
        used: dict[str, float] = {}
        for name, pids in process_groups(self._stack).items():
            seconds = sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in pids)
            used[name] = round(100 * seconds / elapsed, 1)
        return used


def peak_rss_mb(stack: LocalStack) -> dict[str, float]:
    """VmHWM of each service process, the Kafka JVM and the PostgreSQL postmaster, in MB."""
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
    """Posts registrations open-loop: each is sent at its scheduled time, whatever is pending."""

    def __init__(self, stack: LocalStack, bureaus: list[str], on: date) -> None:
        self.stack = stack
        self.bureaus = bureaus
        self.on = on
        self.created = 0  # every 201 of the whole run, to know when reporting has caught up
        self.counter = 0
        limits = httpx.Limits(max_connections=4000, max_keepalive_connections=4000)
        self.client = httpx.AsyncClient(timeout=60, limits=limits)
        self.reader = httpx.AsyncClient(timeout=10, limits=limits)

    async def post(self, bureau: str) -> tuple[float, float, bool]:
        """(sent, answered, created) in perf_counter seconds."""
        i = self.counter
        self.counter += 1
        url = f"{self.stack.url('requests')}/bureaus/{bureau}/requests"
        sent = time.perf_counter()
        try:
            answer = await self.client.post(url, json=body(i, self.on))
        except httpx.HTTPError:
            return sent, time.perf_counter(), False
        answered = time.perf_counter()
        ok = answer.status_code == 201
        if ok:
            self.created += 1
        return sent, answered, ok

    async def run(
        self,
        rate: int,
        seconds: float,
        pick: Callable[[int], str],
        after: Callable[[int, float, float], Any] | None = None,
    ) -> tuple[list[tuple[float, float, float, bool]], float]:
        """Send rate*seconds POSTs on schedule; returns (scheduled, sent, answered, ok) of each
        and the wall time from the first send to the last answer."""
        count = int(rate * seconds)
        results: list[tuple[float, float, float, bool]] = []
        followers: list[asyncio.Task[Any]] = []

        async def one(n: int, scheduled: float) -> None:
            sent, answered, ok = await self.post(pick(n))
            results.append((scheduled, sent, answered, ok))
            if ok and after is not None:
                followers.append(asyncio.create_task(after(n, sent, answered)))

        start = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for n in range(count):
            scheduled = start + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, scheduled)))
        await asyncio.gather(*tasks)
        await asyncio.gather(*followers)
        first = min(r[1] for r in results)
        last = max(r[2] for r in results)
        return results, last - first

    async def applied(self) -> int:
        """How many requests reporting's projection has applied."""
        answer = await self.reader.get(f"{self.stack.url('reporting')}/consumers")
        return sum(int(r["applied"]) for r in answer.json())

    async def drain(self, timeout: float = 180) -> float:
        """Wait until reporting has applied every registration acknowledged so far."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if await self.applied() >= self.created:
                return time.monotonic() - started
            await asyncio.sleep(0.1)
        raise TimeoutError(f"reporting did not catch up with {self.created} within {timeout}s")

    async def close(self) -> None:
        await self.client.aclose()
        await self.reader.aclose()


async def command_step(load: Load, meter: CpuMeter, rate: int, seconds: float) -> CommandStep:
    meter.start()
    results, wall = await load.run(rate, seconds, lambda n: secrets.choice(load.bureaus))
    cpu = meter.stop()
    latencies = [1000 * (answered - sent) for _, sent, answered, ok in results if ok]
    lags = [1000 * (sent - scheduled) for scheduled, sent, _, _ in results]
    created = len(latencies)
    return CommandStep(
        target_rate=rate,
        sent=len(results),
        created=created,
        errors=len(results) - created,
        achieved_rate=round(created / wall, 1),
        p50_ms=round(percentile(latencies, 50), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies, default=float("nan")), 2),
        send_lag_p99_ms=round(percentile(lags, 99), 2),
        cpu_percent=cpu,
    )


async def freshness_run(load: Load, meter: CpuMeter, params: Params, run: int) -> FreshnessRun:
    """Every k-th POST of a steady load goes to a bureau of its own; after its 201, poll that
    bureau's count every few ms until it shows 1."""
    total = int(params.freshness_rate * params.freshness_seconds)
    every = max(1, total // params.freshness_samples)
    year = load.on.year
    delays: list[float] = []
    missed = 0
    polls = 0

    def sampled(n: int) -> str | None:
        """The bureau of its own of the n-th POST, if that POST is a sample."""
        if n % every == every - 1 and n // every < params.freshness_samples:
            return f"fresh-{run}-{n}"
        return None

    def pick(n: int) -> str:
        return sampled(n) or secrets.choice(load.bureaus)

    async def watch(n: int, _sent: float, answered: float) -> None:
        nonlocal missed, polls
        bureau = sampled(n)
        if bureau is None:
            return
        url = f"{load.stack.url('reporting')}/bureaus/{bureau}/requests-received"
        deadline = answered + 60
        while time.perf_counter() < deadline:
            polls += 1
            with contextlib.suppress(httpx.HTTPError):
                answer = await load.reader.get(url, params={"year": year})
                if answer.status_code == 200 and answer.json()["total"] >= 1:
                    delays.append(1000 * (time.perf_counter() - answered))
                    return
            await asyncio.sleep(params.poll_interval_ms / 1000)
        missed += 1

    meter.start()
    started = time.perf_counter()
    results, wall = await load.run(params.freshness_rate, params.freshness_seconds, pick, watch)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    latencies = [1000 * (answered - sent) for _, sent, answered, ok in results if ok]
    return FreshnessRun(
        load_rate=params.freshness_rate,
        achieved_rate=round(len(latencies) / wall, 1),
        samples=len(delays),
        missed=missed,
        p50_ms=round(percentile(delays, 50), 1),
        p95_ms=round(percentile(delays, 95), 1),
        max_ms=round(max(delays, default=float("nan")), 1),
        polls_per_second=round(polls / elapsed, 1),
        command_p99_ms=round(percentile(latencies, 99), 2),
        cpu_percent=cpu,
    )


async def measure(stack: LocalStack, params: Params) -> dict[str, Any]:
    on = today_in_china()
    bureaus = [f"bench-{secrets.token_hex(4)}" for _ in range(params.bureaus)]
    load = Load(stack, bureaus, on)
    meter = CpuMeter(stack)
    steps: list[CommandStep] = []
    freshness: list[FreshnessRun] = []
    try:
        say(f"warm-up: {params.warmup_seconds:.0f}s at 100/s")
        await load.run(100, params.warmup_seconds, lambda n: secrets.choice(bureaus))
        await load.drain()
        for repeat in range(1, params.repeats + 1):
            for rate in params.rates:
                step = await command_step(load, meter, rate, params.step_seconds)
                steps.append(step)
                caught_up = await load.drain()
                say(
                    f"[{repeat}/{params.repeats}] commands {rate}/s: achieved "
                    f"{step.achieved_rate}/s, p50 {step.p50_ms} ms, p99 {step.p99_ms} ms, "
                    f"errors {step.errors}, reporting caught up {caught_up:.1f}s later; "
                    f"cpu {fmt_cpu(step.cpu_percent)}"
                )
            run = await freshness_run(load, meter, params, repeat)
            freshness.append(run)
            await load.drain()
            say(
                f"[{repeat}/{params.repeats}] freshness at {run.load_rate}/s: {run.samples} "
                f"samples, p50 {run.p50_ms} ms, p95 {run.p95_ms} ms, max {run.max_ms} ms, "
                f"missed {run.missed}, {run.polls_per_second} polls/s; "
                f"cpu {fmt_cpu(run.cpu_percent)}"
            )
        counted = await reporting_total(load, on.year)
        consumers = (await load.reader.get(f"{stack.url('reporting')}/consumers")).json()
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


async def reporting_total(load: Load, year: int) -> int:
    rows = (await load.reader.get(f"{load.stack.url('reporting')}/requests-received")).json()
    return sum(int(r["received"]) for r in rows if r["year"] == year)


def fmt_cpu(cpu: dict[str, float]) -> str:
    busy = sorted(cpu.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v:.0f}%" for k, v in busy if v >= 1)


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ summary and report


def summarise(figures: dict[str, Any], params: Params) -> list[dict[str, Any]]:
    """One row per figure: the runs, their median, the target and whether it is met."""
    rows: list[dict[str, Any]] = []
    for rate in params.rates:
        runs = [s for s in figures["command_steps"] if s["target_rate"] == rate]
        for key, label in (
            ("achieved_rate", "achieved /s"),
            ("p50_ms", "p50 ms"),
            ("p99_ms", "p99 ms"),
        ):
            values = [float(s[key]) for s in runs]
            target = None
            if key == "p99_ms" and rate == COMMANDS_TARGET_RATE:
                target = COMMANDS_TARGET_P99_MS
            rows.append(row(f"commands {rate}/s {label}", values, target))
        rows.append(row(f"commands {rate}/s errors", [float(s["errors"]) for s in runs], None))
    fresh = figures["freshness_runs"]
    rate = params.freshness_rate
    for key, label in (("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("max_ms", "max ms")):
        target = FRESHNESS_TARGET_P95_MS if key == "p95_ms" else None
        rows.append(row(f"freshness at {rate}/s {label}", [float(f[key]) for f in fresh], target))
    return rows


def row(name: str, values: list[float], target_below: float | None) -> dict[str, Any]:
    mid = median(values)
    verdict = None if target_below is None else bool(mid < target_below)
    return {
        "figure": name,
        "runs": values,
        "median": mid,
        "target": None if target_below is None else f"< {target_below:g}",
        "met": verdict,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'figure':34} {'runs':>26} {'median':>9} {'target':>8}  met"]
    for r in rows:
        runs = " ".join(f"{v:.1f}" for v in r["runs"])
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(
            f"{r['figure']:34} {runs:>26} {r['median']:>9.1f} {r['target'] or '':>8}  {met}"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)
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


def log_problems(stack: LocalStack) -> dict[str, list[str]]:
    """ERROR/WARNING/Traceback lines of each service log (first 20 of each)."""
    problems: dict[str, list[str]] = {}
    pattern = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback)\b")
    for name, process in stack.processes.items():
        if process.log_path.exists():
            lines = process.log_path.read_text(errors="replace").splitlines()
            hits = [line for line in lines if pattern.search(line)]
            if hits:
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
        stack.close()
        if stack.postgres is not None:
            stack.postgres.remove()


def parse(argv: list[str]) -> tuple[Params, bool]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps; one run")
    parser.add_argument("--keep", action="store_true", help="keep the stack's workdir and logs")
    args = parser.parse_args(argv)
    if args.quick:
        params = Params(
            rates=[100, 500],
            step_seconds=5,
            repeats=1,
            bureaus=200,
            freshness_rate=200,
            freshness_samples=100,
            freshness_seconds=10,
            poll_interval_ms=5,
            partitions=3,
            warmup_seconds=2,
        )
    else:
        params = Params(
            rates=[100, 250, 500, 750],
            step_seconds=10,
            repeats=3,
            bureaus=200,
            freshness_rate=200,
            freshness_samples=300,
            freshness_seconds=30,
            poll_interval_ms=5,
            partitions=3,
            warmup_seconds=5,
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
        "command": "uv run python bench/slice.py" + (" --quick" if "--quick" in argv else ""),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": found_versions,
        "parameters": {
            **asdict(params),
            "postgres": "durable (fsync, synchronous_commit, full_page_writes on)",
            "latency": "from sending the POST to receiving its 201",
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
    if problems:
        say("log problems: " + ", ".join(f"{k} ({v[0]})" for k, v in problems.items()))
    say(f"saved {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main(sys.argv[1:])
