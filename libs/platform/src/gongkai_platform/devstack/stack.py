"""The whole platform on one machine: PostgreSQL, Kafka, topics and every service process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from gongkai_contracts.topics import SERVICES, Service, all_topics

from ..kafka_security import kafka_client_kwargs
from .kafka import KafkaNode, TopicSpec, create_topics
from .postgres import PostgresNode, create_database

Role = Literal["api", "relay"]
DEFAULT_PORTS: dict[Service, int] = {
    "catalogue": 8010,
    "requests": 8020,
    "review": 8030,
    "reporting": 8040,
}
# Every service runs its API and the relay of its own events (reporting: sign-offs).
PROCESSES: list[tuple[Service, Role]] = [
    ("catalogue", "api"),
    ("catalogue", "relay"),
    ("requests", "api"),
    ("requests", "relay"),
    ("review", "api"),
    ("review", "relay"),
    ("reporting", "api"),
    ("reporting", "relay"),
]


class StackError(RuntimeError):
    """A part of the platform did not come up; the message names it and its log."""


@dataclass
class ServiceProcess:
    service: Service
    role: Role
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = field(default=0)

    @property
    def name(self) -> str:
        return f"{self.service}-{self.role}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


async def ensure_topics(bootstrap: str, partitions: int) -> None:
    await create_topics(
        bootstrap,
        [TopicSpec(t, partitions) for t in all_topics()],
        **kafka_client_kwargs(),
    )


class LocalStack:
    """Starts what is not given: an existing server (`admin_dsn`) or broker (`bootstrap`) is used
    as is. Each service gets its own database and runs as separate OS processes."""

    def __init__(
        self,
        workdir: Path,
        *,
        admin_dsn: str | None = None,
        bootstrap: str | None = None,
        ports: dict[Service, int] | None = None,
        partitions: int = 3,
        database_prefix: str = "",
        log: bool = False,
        durable_postgres: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = dict(ports or DEFAULT_PORTS)
        self.partitions = partitions
        self.database_prefix = database_prefix
        self._log = log
        self.durable_postgres = durable_postgres
        # Given to every service process over the environment (OTLP endpoint, metrics ports).
        self.extra_env = dict(extra_env or {})
        self.postgres: PostgresNode | None = None
        self.kafka: KafkaNode | None = None
        self.admin_dsn = admin_dsn or ""
        self.bootstrap = bootstrap or ""
        self.processes = {
            f"{s}-{r}": ServiceProcess(s, r, self.workdir / "logs" / f"{s}-{r}.log")
            for s, r in PROCESSES
        }

    # ---------------------------------------------------------------- infrastructure

    def _say(self, message: str) -> None:
        if self._log:
            print(message, flush=True)

    def start_infrastructure(self) -> None:
        if not self.admin_dsn:
            self._say("starting PostgreSQL …")
            self.postgres = PostgresNode(self.workdir / "postgres", durable=self.durable_postgres)
            self.postgres.start()
            self.admin_dsn = self.postgres.admin_dsn
        if not self.bootstrap:
            self._say("starting Kafka (the first run downloads the broker jars) …")
            self.kafka = KafkaNode(self.workdir / "kafka")
            self.kafka.start()
            self.bootstrap = self.kafka.bootstrap_servers
        asyncio.run(self._prepare())
        self._say(f"PostgreSQL {self.admin_dsn}, Kafka {self.bootstrap}, topics ready")

    async def _prepare(self) -> None:
        for service in SERVICES:
            await create_database(self.admin_dsn, self.database(service))
        await ensure_topics(self.bootstrap, self.partitions)

    def database(self, service: Service) -> str:
        return f"{self.database_prefix}{service}"

    def database_url(self, service: Service) -> str:
        base, _, _ = self.admin_dsn.rpartition("/")
        return f"{base}/{self.database(service)}"

    # ---------------------------------------------------------------- services

    def url(self, service: Service) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: Service) -> dict[str, str]:
        prefix = service.upper()
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            f"{prefix}_DATABASE_URL": self.database_url(service),
            f"{prefix}_HTTP_HOST": "127.0.0.1",
            f"{prefix}_HTTP_PORT": str(self.ports[service]),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, name: str, wait: bool = True) -> None:
        process = self.processes[name]
        if process.running:
            return
        process.log_path.parent.mkdir(parents=True, exist_ok=True)
        with process.log_path.open("ab") as log:
            process.proc = subprocess.Popen(
                [sys.executable, "-m", f"{process.service}_service", process.role],
                env=self.env(process.service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait and process.role == "api":
            self.wait_healthy(process)

    def start_all(self) -> None:
        for name in self.processes:
            self.start(name, wait=False)
        for process in self.processes.values():
            if process.role == "api":
                self.wait_healthy(process)
        self._say("services up: " + ", ".join(f"{s} {self.url(s)}" for s in SERVICES))

    def wait_healthy(self, process: ServiceProcess, timeout: float = 60) -> None:
        """Until the API answers /health and every Kafka consumer in it has its partitions
        (a command posted earlier would otherwise wait for the group to form)."""
        deadline = time.monotonic() + timeout
        url = f"{self.url(process.service)}/health"
        while time.monotonic() < deadline:
            if not process.running:
                raise StackError(self._failure(process, "exited during start"))
            try:
                answer = httpx.get(url, timeout=1)
                if answer.status_code == 200:
                    consumers = answer.json().get("consumers", {})
                    if consumers.get("joined") == consumers.get("running"):
                        return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise StackError(self._failure(process, f"not healthy after {timeout:.0f}s"))

    def _failure(self, process: ServiceProcess, what: str) -> str:
        tail = ""
        if process.log_path.exists():
            tail = "\n".join(process.log_path.read_text(errors="replace").splitlines()[-30:])
        return f"{process.name} {what}; log {process.log_path}:\n{tail}"

    def kill(self, name: str) -> None:
        """kill -9, as a crash would."""
        process = self.processes[name]
        if process.proc is not None and process.running:
            os.killpg(process.proc.pid, signal.SIGKILL)
            process.proc.wait()

    def stop(self, name: str, timeout: float = 10) -> None:
        process = self.processes[name]
        if process.proc is None or not process.running:
            return
        os.killpg(process.proc.pid, signal.SIGTERM)
        try:
            process.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(name)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.processes[name].restarts += 1
        self.start(name)

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
