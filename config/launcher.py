"""`make run`: the whole system in one terminal.

Starts the embedded servers for unset URLs (config/devstack.py), migrates, creates the
Kafka topics, loads the demo data, then runs every process of the system under honcho
with one name-prefixed log. Ctrl-C or SIGTERM stops the processes, then the servers.

    python -m config.launcher [--port 8000] [--devstack-dir .devstack]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from honcho.manager import Manager

from config import devstack

PYTHON = sys.executable
MANAGE = [PYTHON, str(devstack.PROJECT_DIR / "manage.py")]


def system_processes(
    *, port: int, metrics_port: int, groups: list[str], devstack_dir: Path
) -> dict[str, str]:
    """Every long-running process of the system, by name. Metrics ports: the relay's is
    `metrics_port`, each consumer group's the next ones (0: no metrics servers)."""
    python = PYTHON

    def metrics(offset: int) -> int:
        return metrics_port + offset if metrics_port else 0

    processes = {
        "web": (
            f"{python} -m uvicorn config.asgi:application --host 127.0.0.1 --port {port} "
            "--lifespan off"
        ),
        "relay": f"{python} manage.py relay --metrics-port {metrics(0)}",
    }
    for offset, group in enumerate(groups, start=1):
        processes[f"consume-{group}"] = (
            f"{python} manage.py consume {group} --metrics-port {metrics(offset)}"
        )
    processes["celery-worker"] = (
        f"{python} -m celery -A config worker --loglevel INFO --concurrency 2"
    )
    processes["celery-beat"] = (
        f"{python} -m celery -A config beat --loglevel INFO "
        f"--schedule {devstack_dir / 'celerybeat-schedule'}"
    )
    return processes


def _consumer_groups(env: dict[str, str]) -> list[str]:
    """The declared consumer groups (Django is set up here only, after the servers are)."""
    os.environ.update(env)
    import django  # noqa: PLC0415

    django.setup()
    from outbox.groups import consumer_groups  # noqa: PLC0415

    return [group.name for group in consumer_groups()]


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([*MANAGE, *args], env=env, check=True, cwd=devstack.PROJECT_DIR)


def _print_banner(port: int, metrics_port: int, urls: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "  API docs      " + f"{base}/api/docs/",
        "  Admin         " + f"{base}/admin/",
        "  Metrics       " + f"{base}/metrics  (relay: http://127.0.0.1:{metrics_port}/metrics)",
        "  Event catalog " + f"{base}/api/events/asyncapi.json",
        "  Readiness     " + f"{base}/api/health/ready",
        "  Live board    " + f"{base}/orders/board/  (managers)",
        "  My orders     " + f"{base}/orders/  (each order's live tracking page)",
        "  Logins        admin/admin-pass (superuser), manager/manager-pass,",
        "                customer/customer-pass, inspector/inspector-pass",
    ]
    lines += [f"  {var:<13} {url}  (embedded)" for var, url in urls.items()]
    lines += ["  Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--metrics-port", type=int, default=9101, help="relay's; consumers' follow (0: off)"
    )
    parser.add_argument("--devstack-dir", type=Path, default=devstack.DEFAULT_DIR)
    options = parser.parse_args(argv)

    # Until honcho installs its own handlers, SIGTERM unwinds like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("DJANGO_DEBUG", "true")
    # Links in mails and the payment simulator's webhooks point at this web server.
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{options.port}")
    options.devstack_dir.mkdir(parents=True, exist_ok=True)

    with devstack.running(env, base_dir=options.devstack_dir) as urls:
        env.update(urls)
        _manage("migrate", "--noinput", env=env)
        _manage("kafka_topics", "sync", env=env)
        _manage("demo_data", env=env)
        _print_banner(options.port, options.metrics_port, urls)

        manager = Manager()
        processes = system_processes(
            port=options.port,
            metrics_port=options.metrics_port,
            groups=_consumer_groups(env),
            devstack_dir=options.devstack_dir,
        )
        for name, command in processes.items():
            manager.add_process(name, command, env=env, cwd=str(devstack.PROJECT_DIR))
        manager.loop()
    # Stopped by Ctrl-C or SIGTERM is a clean stop; a process that died on its own is not.
    return 0 if manager.returncode in (130, 143) else (manager.returncode or 0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
