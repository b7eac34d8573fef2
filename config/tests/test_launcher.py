"""`make run`'s launcher as a user meets it: ready within a minute, and nothing left after."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from config import devstack

pytestmark = pytest.mark.slow

SERVER_NAMES = ("postgres", "redis-server", "tansu")


def _start_launcher(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int, Path]:
    port = devstack.free_port()
    log_path = tmp_path / "launcher.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.launcher", "--port", str(port),
             "--metrics-port", "0",
             "--devstack-dir", str(tmp_path / "devstack")],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=devstack.PROJECT_DIR,
        )  # fmt: skip
    return process, port, log_path


def _wait_ready(process: subprocess.Popen, port: int, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/health/ready"
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready within {timeout}s:\n{log_path.read_text()[-3000:]}")


def _servers_among(processes: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for process in processes:
        try:
            if any(name in " ".join(process.cmdline()) for name in SERVER_NAMES):
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def _stop(process: subprocess.Popen, sig: int) -> int:
    process.send_signal(sig)
    return process.wait(timeout=60)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_run_starts_embedded_servers_answers_ready_and_leaves_nothing_after_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in devstack.SERVICES}
    env["EVENTS_ENV"] = "launcher"
    started = time.monotonic()
    process, port, log_path = _start_launcher(tmp_path, env)
    try:
        _wait_ready(process, port, log_path, timeout=60)
        print(f"ready after {time.monotonic() - started:.1f}s")
        children = psutil.Process(process.pid).children(recursive=True)
        servers = _servers_among(children)
        assert len(servers) >= 3, [p.cmdline() for p in children]

        assert _stop(process, signal.SIGTERM) == 0
    finally:
        if process.poll() is None:
            process.kill()

    time.sleep(0.5)
    assert [p.pid for p in children if _alive(p)] == []
    log = log_path.read_text()
    for name in ("web", "relay", "consume-diagnostics", "celery-worker", "celery-beat"):
        assert f"{name} started" in log


def test_run_uses_the_servers_it_is_given_and_starts_none(tmp_path, devstack_urls):
    env = {**os.environ, **devstack_urls, "EVENTS_ENV": "launcher"}
    process, port, log_path = _start_launcher(tmp_path, env)
    try:
        _wait_ready(process, port, log_path, timeout=60)
        children = psutil.Process(process.pid).children(recursive=True)

        assert _servers_among(children) == []
        assert not (tmp_path / "devstack" / "postgres").exists()
        assert _stop(process, signal.SIGINT) == 0
    finally:
        if process.poll() is None:
            process.kill()
