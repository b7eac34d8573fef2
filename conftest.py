"""Test session set-up: real PostgreSQL, Redis and Kafka for the whole run.

Settings read the service URLs at import, and subprocesses started by tests (relays,
consumers, `make run`) inherit them, so the servers must be up and the URLs exported before
Django is set up, and before any conftest or test module imports a model. pytest imports
this root conftest first of all, so it does that here, once per run and only for the URLs
that are unset; `pytest_unconfigure` stops what was started. The `devstack_urls` fixture
hands the URLs to tests.
"""

import contextlib
import os

import django
import pytest

from config import devstack

_stack = contextlib.ExitStack()

pytest_plugins = ["outbox.testing"]


def _session_services_start() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-deployment")
    os.environ.setdefault("EVENTS_ENV", "test")
    _stack.enter_context(devstack.running_fresh(os.environ, prefix="test-"))
    django.setup()


_session_services_start()


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


@pytest.fixture(scope="session")
def devstack_urls() -> dict[str, str]:
    """DATABASE_URL, REDIS_URL and KAFKA_BOOTSTRAP_SERVERS of this run's servers."""
    return {var: os.environ[var] for var in devstack.SERVICES}
