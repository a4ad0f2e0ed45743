"""Run a real single-node KRaft Kafka broker from Maven-resolved jars, for dev and tests."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

POM_REL = "deploy/kafka/pom.xml"
LOG4J_REL = "deploy/kafka/log4j2.properties"
EVENT_TOPIC_CONFIGS = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}

_T = TypeVar("_T")


def find_repo_file(rel: str) -> Path:
    """Find ``rel`` (e.g. "deploy/kafka/pom.xml") in the cwd, this file's dir, or their parents."""
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for base in (start, *start.parents):
            if (base / rel).is_file():
                return base / rel
    raise FileNotFoundError(f"{rel} not found above {Path.cwd()} or {Path(__file__).parent}")


def _default_cache_root() -> Path:
    env = os.environ.get("GONGKAI_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gongkai"


def _require_tools(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"`{tool}` is not on PATH; the Kafka dev broker needs Java 17+ and Maven 3.6+ "
                "(check with `java -version` and `mvn -v`), or set KAFKA_BOOTSTRAP_SERVERS "
                "to use an existing broker."
            )


def kafka_version() -> str:
    """The broker version deploy/kafka/pom.xml pins."""
    match = re.search(
        rb"<kafka\.version>([^<]+)</kafka\.version>", find_repo_file(POM_REL).read_bytes()
    )
    return match.group(1).decode() if match else "unknown"


def ensure_kafka_jars(cache_root: Path | None = None) -> Path:
    """Resolve the broker's jars with Maven once into a cache dir and return that dir."""
    pom = find_repo_file(POM_REL)
    text = pom.read_bytes()
    version = kafka_version()
    root = cache_root or _default_cache_root()
    target = root / f"kafka-{version}-{hashlib.sha256(text).hexdigest()[:10]}"
    if target.is_dir() and any(target.glob("kafka_2.13-*.jar")):
        return target
    _require_tools("java", "mvn")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    print(
        f"gongkai: downloading Kafka {version} jars with Maven into {target} "
        "(first time only, takes a while)...",
        file=sys.stderr,
        flush=True,
    )
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={tmp}",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
            raise RuntimeError(
                f"Maven failed to resolve Kafka jars (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
            )
        try:
            tmp.rename(target)
        except OSError:  # lost a race with another process: keep its copy
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _new_cluster_id() -> str:
    while True:  # Kafka's Uuid.randomUuid rejects ids starting with '-'
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(missing)"


def _error_lines(path: Path, limit: int = 10) -> str:
    """ERROR/FATAL log lines, each with the following line (usually the exception message)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(missing)"
    hits = [i for i, line in enumerate(lines) if "] ERROR " in line or "] FATAL " in line]
    return "\n".join("\n".join(lines[i : i + 2]) for i in hits[:limit]) or "(none)"


def _run_async(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine on a fresh loop in a worker thread (safe inside or outside a loop)."""

    async def runner() -> _T:
        return await factory()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, runner()).result()


class KafkaNode:
    """One KRaft broker+controller JVM whose config, data and logs live in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.heap = heap
        # node.json keeps the cluster id and ports so a restart reuses data and addresses.
        self._state_file = self.workdir / "node.json"
        state: dict[str, object] = {}
        if self._state_file.exists():
            state = json.loads(self._state_file.read_text())
        self.cluster_id = str(state.get("cluster_id") or _new_cluster_id())
        self.port = port or int(str(state.get("port") or _free_port()))
        self.controller_port = controller_port or int(str(state.get("controller_port") or 0))
        while not self.controller_port or self.controller_port == self.port:
            self.controller_port = _free_port()
        self._state_file.write_text(
            json.dumps(
                {
                    "cluster_id": self.cluster_id,
                    "port": self.port,
                    "controller_port": self.controller_port,
                }
            )
        )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The broker's log4j server.log (INFO); console output (WARN+) is in console.log."""
        return self.workdir / "logs" / "server.log"

    @property
    def console_path(self) -> Path:
        return self.workdir / "console.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _write_config(self) -> Path:
        host, ctl = "127.0.0.1", self.controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{host}:{ctl}",
            "listeners": f"PLAINTEXT://{host}:{self.port},CONTROLLER://{host}:{ctl}",
            "advertised.listeners": f"PLAINTEXT://{host}:{self.port},CONTROLLER://{host}:{ctl}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _java(self, heap: str, *args: str) -> list[str]:
        _require_tools("java")
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.log_path.parent}",
            f"-Dlog4j2.configurationFile={find_repo_file(LOG4J_REL)}",
            "-cp",
            f"{ensure_kafka_jars()}/*",
            *args,
        ]

    def start(self, timeout: float = 120) -> None:
        """Format storage if needed, launch the JVM and wait until the broker serves metadata."""
        if self.running:
            raise RuntimeError(f"Kafka node in {self.workdir} is already running")
        deadline = time.monotonic() + timeout
        config = self._write_config()
        self.log_path.parent.mkdir(exist_ok=True)
        fmt = subprocess.run(
            self._java(
                "256m",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                self.cluster_id,
                "-c",
                str(config),
                "--ignore-formatted",
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if fmt.returncode != 0:
            raise RuntimeError(
                f"kafka StorageTool format failed ({fmt.returncode}):\n"
                f"{fmt.stdout[-3000:]}{fmt.stderr[-3000:]}"
            )
        with self.console_path.open("ab") as out:
            self._proc = subprocess.Popen(
                self._java(self.heap, "kafka.Kafka", str(config)),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # own process group: stop() signals the whole group
        atexit.register(self.stop)
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float) -> None:
        async def probe() -> bool:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers, request_timeout_ms=5000
            )
            try:
                await admin.start()
                return bool((await admin.describe_cluster())["brokers"])
            finally:
                await admin.close()

        problem = "timed out"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                problem = f"JVM exited with code {self._proc.returncode}"
                break
            try:  # plain connect first: aiokafka logs an ERROR per refused connection
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if _run_async(probe):
                    return
            except Exception as exc:  # not listening yet / not ready yet
                problem = f"timed out, last probe error: {exc!r}"
            time.sleep(0.3)
        raise RuntimeError(
            f"Kafka broker at {self.bootstrap_servers} did not become ready ({problem}).\n"
            f"--- errors in {self.log_path} ---\n{_error_lines(self.log_path)}\n"
            f"--- {self.log_path} (last 40 lines) ---\n{_tail(self.log_path, 40)}\n"
            f"--- {self.console_path} (last 15 lines) ---\n{_tail(self.console_path, 15)}"
        )

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the JVM's process group (controlled shutdown), then SIGKILL after timeout."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, timeout: float = 120) -> None:
        self.stop()
        self.start(timeout)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1


async def create_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    """Create event topics (infinite retention, delete policy); existing topics are fine."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, 1, topic_configs=EVENT_TOPIC_CONFIGS) for s in specs]
        )
        for name, code, *message in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create topic {name}: {message}")
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a dev Kafka broker until Ctrl-C.")
    parser.add_argument("workdir", type=Path, nargs="?", default=Path(".devstack/kafka"))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--controller-port", type=int, default=None)
    parser.add_argument("--heap", default="512m")
    args = parser.parse_args()
    node = KafkaNode(args.workdir, args.port, args.controller_port, args.heap)

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    node.start()
    print(
        f"Kafka ready: KAFKA_BOOTSTRAP_SERVERS={node.bootstrap_servers} (log: {node.log_path})"
        "; Ctrl-C to stop",
        flush=True,
    )
    try:
        while node.running:
            time.sleep(1)
        print(f"Kafka exited; see {node.log_path}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


if __name__ == "__main__":
    main()
