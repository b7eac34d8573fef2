"""Test session set-up: real PostgreSQL, Redis and Kafka for the whole run.

Settings read the service URLs at import, and subprocesses started by tests (relays,
consumers, `make run`) inherit them, so the servers must be up and the URLs exported before
Django is set up: that happens here in `pytest_configure`, once per run, and only for the
URLs that are unset. The `devstack_urls` fixture hands the URLs to tests.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from config import devstack

_stack = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-deployment")
    os.environ.setdefault("EVENTS_ENV", "test")
    if devstack.missing(os.environ):
        devstack.DEFAULT_DIR.mkdir(exist_ok=True)
        base_dir = Path(tempfile.mkdtemp(prefix="test-", dir=devstack.DEFAULT_DIR))
        _stack.callback(shutil.rmtree, base_dir, ignore_errors=True)
        urls = _stack.enter_context(devstack.running(os.environ, base_dir=base_dir))
        os.environ.update(urls)
    import django

    django.setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


@pytest.fixture(scope="session")
def devstack_urls() -> dict[str, str]:
    """DATABASE_URL, REDIS_URL and KAFKA_BOOTSTRAP_SERVERS of this run's servers."""
    return {var: os.environ[var] for var in devstack.SERVICES}
