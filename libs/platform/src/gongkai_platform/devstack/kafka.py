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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ..kafka_security import SaslMechanism, scram_client_kwargs

POM_REL = "deploy/kafka/pom.xml"
# The admin tools (kafka-acls' AclCommand lives in kafka-tools, not in the broker's jars).
TOOLS_POM_REL = "deploy/kafka/tools/pom.xml"
LOG4J_REL = "deploy/kafka/log4j2.properties"
TOOLS_LOG4J_REL = "deploy/kafka/tools/log4j2.properties"
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


def ensure_kafka_jars(
    cache_root: Path | None = None,
    *,
    pom_rel: str = POM_REL,
    name: str = "kafka",
    marker: str = "kafka_2.13-*.jar",
) -> Path:
    """Resolve the broker's jars (or another pom's, e.g. the tools') with Maven once into a
    cache dir and return that dir."""
    pom = find_repo_file(pom_rel)
    text = pom.read_bytes()
    version = kafka_version()
    root = cache_root or _default_cache_root()
    target = root / f"{name}-{version}-{hashlib.sha256(text).hexdigest()[:10]}"
    if target.is_dir() and any(target.glob(marker)):
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
        if proc.returncode != 0 or not any(tmp.glob(marker)):
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


def ensure_kafka_tools_jars(cache_root: Path | None = None) -> Path:
    """The jars of Kafka's admin tools (AclCommand), from deploy/kafka/tools/pom.xml."""
    return ensure_kafka_jars(
        cache_root, pom_rel=TOOLS_POM_REL, name="kafka-tools", marker="kafka-tools-*.jar"
    )


# The scripts deploy/kafka/acls.sh calls, as the apache/kafka image names them, and the class
# each runs (what bin/kafka-acls.sh and bin/kafka-configs.sh run in 4.1).
KAFKA_TOOL_SCRIPTS = {
    "kafka-acls.sh": "org.apache.kafka.tools.AclCommand",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
}


def write_kafka_tool_scripts(bin_dir: Path) -> Path:
    """Write kafka-acls.sh and kafka-configs.sh into ``bin_dir``, running the Maven-resolved
    jars like the distribution's bin/ scripts do, so deploy/kafka/acls.sh runs without a Kafka
    install (``KAFKA_BIN=<bin_dir> deploy/kafka/acls.sh``). Returns ``bin_dir``."""
    _require_tools("java")
    classpath = f"{ensure_kafka_jars()}/*:{ensure_kafka_tools_jars()}/*"
    log4j = find_repo_file(TOOLS_LOG4J_REL)
    bin_dir.mkdir(parents=True, exist_ok=True)
    for script, main_class in KAFKA_TOOL_SCRIPTS.items():
        path = bin_dir / script
        path.write_text(
            "#!/bin/sh\n"
            "# Written by gongkai_platform.devstack.kafka.write_kafka_tool_scripts.\n"
            # Short-lived JVMs: the C1 compiler only and a small heap start fastest.
            f"exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
            f"-Djava.awt.headless=true -Dlog4j2.configurationFile='{log4j}' "
            f"-cp '{classpath}' {main_class} \"$@\"\n"
        )
        path.chmod(0o755)
    return bin_dir


@dataclass(frozen=True)
class ScramSecurity:
    """A broker with access control, as in docker-compose: the client listener speaks
    SASL_PLAINTEXT with SCRAM (credentials in the cluster metadata, ``users`` bootstrapped at
    format time), the controller listener SASL PLAIN with the admin user only, and the
    StandardAuthorizer denies whatever no ACL allows; ``admin_user`` is the only super user
    (the broker itself connects as it)."""

    admin_password: str
    admin_user: str = "admin"
    users: Mapping[str, str] = field(default_factory=dict)
    mechanism: SaslMechanism = "SCRAM-SHA-512"

    def client_kwargs(self, user: str | None = None, password: str | None = None) -> dict[str, Any]:
        """aiokafka arguments for ``user`` (default: the admin) on this broker."""
        if user is None:
            user, password = self.admin_user, self.admin_password
        elif password is None:
            password = self.admin_password if user == self.admin_user else self.users[user]
        return scram_client_kwargs(user, password, self.mechanism)

    def client_properties(self, user: str | None = None, password: str | None = None) -> str:
        """The same as a Java client properties file (``--command-config`` of the tools)."""
        kwargs = self.client_kwargs(user, password)
        username = kwargs["sasl_plain_username"]
        secret = kwargs["sasl_plain_password"]
        return (
            f"security.protocol={kwargs['security_protocol']}\n"
            f"sasl.mechanism={kwargs['sasl_mechanism']}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{_jaas_escape(username)}" password="{_jaas_escape(secret)}";\n'
        )


def _jaas_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


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
        *,
        security: ScramSecurity | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.security = security  # None: PLAINTEXT, no authorizer (the dev and test default)
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

    def client_kwargs(self, user: str | None = None, password: str | None = None) -> dict[str, Any]:
        """aiokafka arguments to connect as ``user`` (default: the admin); {} for PLAINTEXT."""
        if self.security is None:
            return {}
        return self.security.client_kwargs(user, password)

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
        if self.security is not None:
            props |= self._security_props(host, ctl)
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _security_props(self, host: str, ctl: int) -> dict[str, str]:
        sec = self.security
        assert sec is not None
        mech = sec.mechanism
        admin, secret = _jaas_escape(sec.admin_user), _jaas_escape(sec.admin_password)
        listeners = f"SASL_PLAINTEXT://{host}:{self.port},CONTROLLER://{host}:{ctl}"
        return {
            "listeners": listeners,
            "advertised.listeners": listeners,
            "listener.security.protocol.map": (
                "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
            ),
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            # Clients: SCRAM, whose credentials live in the metadata log; the broker itself
            # (inter-broker) connects as the admin.
            "sasl.enabled.mechanisms": mech,
            "sasl.mechanism.inter.broker.protocol": mech,
            f"listener.name.sasl_plaintext.{mech.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{admin}" password="{secret}";'
            ),
            # KRaft controllers cannot use SCRAM (they serve the log that holds it): PLAIN with
            # one static user, the admin, so no anonymous peer is a super user.
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{admin}" password="{secret}" user_{admin}="{secret}";'
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{sec.admin_user}",
        }

    def _scram_format_args(self) -> list[str]:
        """``--add-scram`` for the admin and every user: credentials exist from the first
        start (a formatted log keeps its own; later changes go through kafka-configs)."""
        sec = self.security
        if sec is None:
            return []
        users = {sec.admin_user: sec.admin_password, **sec.users}
        return [
            arg
            for user, password in users.items()
            for arg in ("--add-scram", f"{sec.mechanism}=[name={user},password={password}]")
        ]

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
                *self._scram_format_args(),
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
                bootstrap_servers=self.bootstrap_servers,
                request_timeout_ms=5000,
                **self.client_kwargs(),
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


async def create_topics(bootstrap: str, specs: list[TopicSpec], **client_kwargs: Any) -> None:
    """Create event topics (infinite retention, delete policy); existing topics are fine.
    ``client_kwargs``: security arguments of the admin client (e.g. ``node.client_kwargs()``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs)
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
