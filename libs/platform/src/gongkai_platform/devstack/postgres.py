"""A throwaway PostgreSQL server for tests and development, run from the installed binaries."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

__all__ = ["PostgresError", "PostgresNode", "find_bindir", "main"]

SUPERUSER = "gongkai"
FALLBACK_OS_USER = "gongkai-pg"
_NEEDED = ("initdb", "pg_ctl", "postgres")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_T = TypeVar("_T")


class PostgresError(RuntimeError):
    """The server could not be found, initialised or started."""


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _NEEDED)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path:
    """`pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    if postgres := shutil.which("postgres"):
        candidates.append(Path(postgres).resolve().parent)
    for bindir in candidates:
        if _has_binaries(bindir):
            return bindir
    raise PostgresError(
        f"PostgreSQL server binaries ({', '.join(_NEEDED)}) not found via pg_config, "
        "/usr/lib/postgresql/*/bin or PATH; install them with `apt-get install postgresql` "
        "(or put the server's bin directory on PATH)"
    )


def _os_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group",
         "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
        check=True, capture_output=True,
    )  # fmt: skip
    return pwd.getpwnam(FALLBACK_OS_USER)


def _traversable(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` can reach `path` (checks the x bit of every existing ancestor)."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_async(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, even if this thread has a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


class PostgresNode:
    """One PostgreSQL cluster under `workdir`; trust auth for superuser `gongkai` on 127.0.0.1."""

    def __init__(self, workdir: Path, port: int | None = None, durable: bool = False) -> None:
        self.workdir = Path(workdir).absolute()
        self.port = port or _free_port()
        self.durable = durable
        self.bindir = find_bindir()
        self.user = _os_user()
        self.workdir.mkdir(parents=True, exist_ok=True)
        root = self.workdir / "postgres"
        if self.user is not None and not _traversable(root, self.user):
            # e.g. pytest's /tmp/pytest-of-root is 0700: keep the cluster in a stable /tmp dir.
            digest = hashlib.sha1(str(root).encode()).hexdigest()[:12]
            root = Path(tempfile.gettempdir()) / f"gongkai-pg-{digest}"
        self.root = root  # owned by the server's OS user: data dir, unix socket, log
        self.data_dir = root / "data"
        self.log_path = root / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # --- connection strings -------------------------------------------------------------

    @property
    def admin_dsn(self) -> str:
        return self.dsn("postgres")

    def dsn(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    # --- lifecycle ----------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]], cwd=self.root, capture_output=True,
            text=True, check=check, **self._as_user(),
        )  # fmt: skip

    def _as_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def _prepare(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.root.chmod(0o700)
        if (self.data_dir / "PG_VERSION").exists():
            return
        base = ["initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8"]
        if not self.durable:
            base.append("--no-sync")
        result = self._run(*base, "--locale=C.UTF-8", check=False)
        if result.returncode != 0:  # C.UTF-8 missing on this machine
            result = self._run(*base, "--no-locale", check=False)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _server_args(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "max_connections": "200",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]

    def start(self, timeout: float = 60) -> None:
        """Initialise the data dir if needed, start the server, wait until it takes connections."""
        if self.running:
            return
        self._prepare()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data_dir), *self._server_args()],
                cwd=self.root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, **self._as_user(),
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise self._failure(f"postgres exited with status {self._proc.returncode}")
            if _run_async(self._probe()):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise self._failure(f"postgres did not accept connections within {timeout}s")
            time.sleep(0.1)

    async def _probe(self) -> bool:
        try:
            conn = await asyncpg.connect(self.admin_dsn, timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        try:
            return bool(await conn.fetchval("SELECT 1") == 1)
        finally:
            await conn.close()

    def _failure(self, message: str) -> PostgresError:
        try:
            tail = "".join(self.log_path.read_text(errors="replace").splitlines(True)[-40:])
        except OSError:
            tail = "(no log)"
        return PostgresError(f"{message}; log {self.log_path}:\n{tail}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster pid, while it runs."""
        return self._proc.pid if self._proc is not None and self.running else None

    def stop(self) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`): roll back sessions, checkpoint, exit."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", check=False)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends, as a crash would; `start()` then recovers."""
        if self._proc is None:
            return
        children = _children(self._proc.pid)
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._proc = None

    def remove(self) -> None:
        """Stop the server and delete its directory (data, socket and log)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- databases ----------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; return its DSN."""
        _run_async(create_database(self.admin_dsn, name))
        return self.dsn(name)


async def create_database(admin_dsn: str, name: str) -> None:
    """Create database `name` (a lower-case identifier) on the server, unless it exists."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain lower-case identifier: {name!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a development PostgreSQL in the foreground.")
    parser.add_argument("--workdir", type=Path, default=Path(".devstack/postgres"))
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--durable", action="store_true", help="keep fsync etc. on")
    args = parser.parse_args(argv)
    node = PostgresNode(args.workdir, port=args.port, durable=args.durable)
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT may be inherited as ignored
        signal.signal(signum, signal.default_int_handler)
    started = time.monotonic()
    node.start()
    print(f"PostgreSQL ready in {time.monotonic() - started:.1f}s at {node.admin_dsn}", flush=True)
    print(f"data {node.data_dir}, log {node.log_path}; Ctrl-C to stop", flush=True)
    try:
        while node.running:
            time.sleep(0.5)
        print(f"postgres exited unexpectedly; see {node.log_path}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


if __name__ == "__main__":
    main()
