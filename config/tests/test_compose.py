"""docker-compose.yml and the Dockerfile: the stack they describe runs this project's code.

No Docker here: the files are parsed, and every command the app services run is checked
against the project (management commands, the Celery app, the ASGI application) with the
same parsers that will read it in the container.
"""

import importlib
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import Client
from django.urls import resolve
from prometheus_client import REGISTRY, generate_latest

from outbox.groups import consumer_groups

PROJECT_DIR = Path(settings.BASE_DIR)
COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
DOCKERFILE = PROJECT_DIR / "Dockerfile"

COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# App services are the ones built from the project's Dockerfile.
APP_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)

EXPECTED_SERVICES = {
    "kafka",
    "kafka-ui",
    "postgres",
    "redis",
    "migrate",
    "web",
    "celery-worker",
    "celery-beat",
    "relay",
    "prometheus",
    "grafana",
}
REQUIRED_APP_ENV = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "DJANGO_SECRET_KEY")
# Dashboard metrics exported by other processes than web, the relay and the consumer groups
# (checked against the registry those processes fill).
METRICS_FROM_WORKERS = {"events_published_total", "events_consumed_total"}


# --- helpers ----------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _dockerfile_cmd() -> list[str]:
    commands = [args for keyword, args in _dockerfile_instructions() if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    assert not [kw for kw, _ in _dockerfile_instructions() if kw == "ENTRYPOINT"], (
        "an ENTRYPOINT would prefix every command; this test does not model one"
    )
    cmd = json.loads(commands[-1])  # exec form: a JSON array, so signals reach the process
    assert isinstance(cmd, list)
    return cmd


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _service_argv(service: dict[str, Any]) -> list[str]:
    assert "entrypoint" not in service, "an entrypoint override is not modelled by this test"
    command = service.get("command")
    if command is None:
        return _dockerfile_cmd()
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def _simple_commands(argv: list[str]) -> list[list[str]]:
    """The commands an argv runs: itself, or each `&&`-joined command of `sh -c "..."`."""
    if argv[0] not in {"sh", "/bin/sh", "bash", "/bin/bash"}:
        return [argv]
    assert len(argv) == 3 and argv[1] == "-c", f"only `sh -c SCRIPT` is understood: {argv}"
    lexer = shlex.shlex(argv[2], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token == "&&":
            commands.append([])
        elif set(token) <= set("();<>|&"):
            pytest.fail(f"shell operator {token!r} is not understood in {argv[2]!r}")
        else:
            commands[-1].append(token)
    assert all(commands), f"empty command in {argv[2]!r}"
    return commands


def _check_manage_py(args: list[str]) -> None:
    assert args[:1] == ["manage.py"], f"only `python manage.py ...` is understood: {args}"
    assert len(args) >= 2, "`python manage.py` without a command"
    name, options = args[1], args[2:]
    commands = get_commands()
    assert name in commands, f"`manage.py {name}` does not exist"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(options)
    except CommandError as exc:
        pytest.fail(f"`manage.py {name} {shlex.join(options)}`: {exc}")


def _check_celery(args: list[str]) -> None:
    assert len(args) >= 3 and args[0] in {"-A", "--app"}, (
        f"only `celery -A APP SUBCOMMAND ...` is understood: {args}"
    )
    app_name, subcommand, options = args[1], args[2], args[3:]
    assert app_name == "config"
    importlib.import_module("config.celery")
    app = find_app(app_name)  # what `-A config` loads: config.celery.app
    assert isinstance(app, Celery)
    assert subcommand in celery_cli.commands, f"`celery {subcommand}` does not exist"
    context = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    # Parses and validates the options without running the command.
    celery_cli.commands[subcommand].make_context(subcommand, options, obj=context)


def _check_uvicorn(args: list[str]) -> None:
    uvicorn_cli = importlib.import_module("uvicorn.main").main
    context = uvicorn_cli.make_context("uvicorn", list(args))  # parses, does not serve
    module_name, _, attribute = context.params["app"].partition(":")
    assert (module_name, attribute) == ("config.asgi", "application")
    application = importlib.import_module(module_name).application
    assert callable(application)


CHECKERS: dict[str, Callable[[list[str]], None]] = {
    "python": _check_manage_py,
    "celery": _check_celery,
    "uvicorn": _check_uvicorn,
}


def _check_command(argv: list[str]) -> None:
    for command in _simple_commands(argv):
        executable, *args = command
        checker = CHECKERS.get(executable)
        if checker is None:
            pytest.fail(f"unknown executable {executable!r} in {shlex.join(command)}")
        checker(args)


def _bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the service's ./relative bind mounts."""
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = source
    return mounts


# --- services ---------------------------------------------------------------------------


def test_compose_defines_the_expected_services():
    assert set(SERVICES) >= EXPECTED_SERVICES


def test_the_app_services_are_the_ones_built_from_the_dockerfile():
    consumers = {f"consumer-{group.name}" for group in consumer_groups()}
    assert set(APP_SERVICES) == {
        "migrate", "web", "relay", "celery-worker", "celery-beat", *consumers
    }  # fmt: skip
    for name in APP_SERVICES:
        build = SERVICES[name]["build"]
        context = build if isinstance(build, str) else build["context"]
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        path = PROJECT_DIR / context / (dockerfile or "Dockerfile")
        assert path.resolve() == DOCKERFILE.resolve(), name


def test_kafka_runs_in_kraft_mode_without_zookeeper():
    env = _environment(SERVICES["kafka"])

    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for name, service in SERVICES.items():
        assert "zookeeper" not in name.lower()
        assert "zookeeper" not in str(service.get("image", "")).lower()
        assert not [key for key in _environment(service) if "ZOOKEEPER" in key.upper()], name


def test_kafka_serves_the_network_and_the_host_and_creates_no_topics_itself():
    kafka = SERVICES["kafka"]
    env = _environment(kafka)

    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "PLAINTEXT://kafka:9092" in advertised
    assert "EXTERNAL://localhost:29092" in advertised
    assert "29092:29092" in kafka["ports"]
    healthcheck = " ".join(kafka["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in healthcheck


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_runs_commands_that_exist(name):
    _check_command(_service_argv(SERVICES[name]))


def test_migrate_migrates_then_creates_the_topics_once():
    migrate = SERVICES["migrate"]
    commands = _simple_commands(_service_argv(migrate))

    assert [command[:3] for command in commands] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "kafka_topics"],
    ]
    assert commands[1][3:] == ["sync"]
    assert migrate["restart"] == "no"


def test_app_processes_wait_for_migrate_to_complete():
    for name in set(APP_SERVICES) - {"migrate"}:
        depends_on = SERVICES[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        for dependency in ("postgres", "redis", "kafka"):
            assert depends_on[dependency]["condition"] == "service_healthy", name


def test_web_serves_the_dockerfile_cmd_on_port_8000_with_a_healthcheck():
    web = SERVICES["web"]

    assert _service_argv(web) == _dockerfile_cmd()
    assert "8000:8000" in web["ports"]
    healthcheck = web["healthcheck"]["test"]
    assert healthcheck[:2] == ["CMD", "python"]
    assert "http://localhost:8000/api/health" in healthcheck[-1]
    assert resolve("/api/health").url_name == "health-live"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_gets_the_service_urls_and_secret_key(name):
    env = _environment(SERVICES[name])

    missing = [var for var in REQUIRED_APP_ENV if not env.get(var)]
    assert not missing, f"{name} lacks {missing}"
    # Compose refuses to start without it instead of running with an empty or default key.
    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


# --- observability ----------------------------------------------------------------------


def test_bind_mounted_files_exist():
    for name, service in SERVICES.items():
        for source in _bind_mounts(service).values():
            assert (PROJECT_DIR / source).exists(), f"{name} mounts missing {source}"


def test_prometheus_config_scrapes_web_metrics():
    mounts = _bind_mounts(SERVICES["prometheus"])
    config_path = PROJECT_DIR / mounts["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_path.read_text())

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["web"]
    targets = [target for static in web["static_configs"] for target in static["targets"]]
    assert targets == ["web:8000"]
    metrics_path = web.get("metrics_path", "/metrics")
    assert resolve(metrics_path).func.__module__.startswith("django_prometheus")


def test_dashboard_queries_metrics_the_web_process_exports(client: Client):
    mounts = _bind_mounts(SERVICES["grafana"])
    dashboards = PROJECT_DIR / mounts["/etc/grafana/dashboards"]
    dashboard = json.loads((dashboards / "platform.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\[", target["expr"])
    }
    assert client.get("/api/health").status_code == 200  # one request, so HTTP series exist

    exported = client.get("/metrics").content.decode()

    assert queried >= METRICS_FROM_WORKERS
    for name in queried - METRICS_FROM_WORKERS:
        assert re.search(rf"^{re.escape(name)}[{{ ]", exported, re.MULTILINE), name
    importlib.import_module("outbox.metrics")  # what the relay and consumers register
    relay_exported = generate_latest(REGISTRY).decode()
    for name in METRICS_FROM_WORKERS:
        assert f"# TYPE {name} counter" in relay_exported, name


def test_each_consumer_group_has_a_service_and_is_scraped():
    mounts = _bind_mounts(SERVICES["prometheus"])
    config = yaml.safe_load((PROJECT_DIR / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for static in jobs["consumers"]["static_configs"] for t in static["targets"]}

    for group in consumer_groups():
        argv = _service_argv(SERVICES[f"consumer-{group.name}"])
        assert argv[:4] == ["python", "manage.py", "consume", group.name]
        port = argv[argv.index("--metrics-port") + 1]
        assert f"consumer-{group.name}:{port}" in targets


def test_prometheus_scrapes_the_relays_metrics_port():
    mounts = _bind_mounts(SERVICES["prometheus"])
    config = yaml.safe_load((PROJECT_DIR / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    (discovery,) = jobs["relay"]["dns_sd_configs"]
    relay_argv = _service_argv(SERVICES["relay"])
    assert discovery["names"] == ["relay"]
    assert str(discovery["port"]) == relay_argv[relay_argv.index("--metrics-port") + 1]


# --- Dockerfile -------------------------------------------------------------------------


def test_dockerfile_is_based_on_python_311():
    bases = [args.split()[0] for keyword, args in _dockerfile_instructions() if keyword == "FROM"]

    assert bases
    assert all(base.startswith("python:3.11") for base in bases), bases


def test_dockerfile_cmd_serves_the_asgi_application():
    cmd = _dockerfile_cmd()

    assert cmd[:2] == ["uvicorn", "config.asgi:application"]
    _check_command(cmd)
    assert importlib.import_module("config.asgi").application is not None


def test_dockerfile_runs_as_a_non_root_user_on_port_8000():
    instructions = _dockerfile_instructions()
    users = [args for keyword, args in instructions if keyword == "USER"]

    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert ("EXPOSE", "8000") in instructions


def test_image_processes_start_without_the_devstack_packages_it_leaves_out():
    """The image installs requirements.txt only; nothing it runs needs the devstack packages."""
    requirements = (PROJECT_DIR / "requirements-devstack.txt").read_text().splitlines()
    left_out = [
        re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()
        for line in requirements
        if line.strip() and not line.startswith(("#", "-r"))
    ]
    assert not [args for _, args in _dockerfile_instructions() if "requirements-devstack" in args]
    distributions: dict[str, list[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            distributions.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), []).append(module)
    modules = sorted(module for package in left_out for module in distributions[package])
    assert modules, left_out
    script = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    sys.modules[name] = None  # any import of it now fails\n"
        "import django\n"
        "django.setup()\n"
        "import importlib\n"
        "from django.core.management import get_commands, load_command_class\n"
        "importlib.import_module('config.asgi').application\n"
        "importlib.import_module('config.celery').app.loader.import_default_modules()\n"
        "for name, app in get_commands().items():\n"
        "    load_command_class(app, name)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
