"""The live stack for end-to-end real-time tests: the ASGI server (uvicorn), a relay and the
`realtime` consumer group as processes, on this test's database, Redis and topics."""

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config import devstack


@dataclass
class LiveStack:
    base_url: str
    processes: dict[str, subprocess.Popen]
    logs: dict[str, Path]

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")


@pytest.fixture
def live_stack(
    fresh_topics: str, relay_env: dict[str, str], start_relay: Callable, tmp_path: Path
) -> Iterator[LiveStack]:
    """uvicorn serving config.asgi, `consume realtime` (joined to its partitions) and a relay.
    Session cookies work over plain http here (DJANGO_SECURE_COOKIES=false)."""
    port = devstack.free_port()
    env = {
        **relay_env,
        "EVENTS_ENV": fresh_topics,
        "DJANGO_SECURE_COOKIES": "false",
        "REALTIME_HEARTBEAT_S": "5",
    }
    commands = {
        "web": [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host",
                "127.0.0.1", "--port", str(port), "--lifespan", "off"],
        "consume-realtime": [sys.executable, "manage.py", "consume", "realtime",
                             "--metrics-port", "0"],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for name, command in commands.items():
            logs[name] = tmp_path / f"{name}.log"
            with open(logs[name], "wb") as log:
                processes[name] = subprocess.Popen(
                    command, env=env, cwd=devstack.PROJECT_DIR, stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
        relay = start_relay()
        processes["relay"], logs["relay"] = relay, relay.log_path
        stack = LiveStack(f"http://127.0.0.1:{port}", processes, logs)
        devstack.wait_until(
            lambda: devstack.http_ok(f"{stack.base_url}/api/health"), 60, "the ASGI server"
        )
        devstack.wait_until(lambda: "assigned" in stack.log("consume-realtime"), 60, "the consumer")
        yield stack
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
