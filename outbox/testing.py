"""Test fixtures of the event backbone, for every app's tests (a pytest plugin the root
conftest loads): fresh topics, a real consumer, relays as processes."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from django.conf import settings
from django.db import connection
from jsonschema import Draft202012Validator
from pytest_django.fixtures import Settings

from config import devstack
from outbox.catalog import event_type_get
from outbox.kafka import admin_client, client_config
from outbox.models import OutboxEvent
from outbox.topics import topics_sync


@pytest.fixture
def fresh_topics(settings: Settings) -> str:
    """A topic prefix of this test's own, with every declared topic created."""
    settings.EVENTS_ENV = f"t{uuid.uuid4().hex[:10]}"
    topics_sync()
    return settings.EVENTS_ENV


def kafka_read(topic: str, count: int, timeout: float = 30.0, key: str | None = None) -> list:
    """Read `count` records of `topic` (of `key` only, if given) from the beginning with a
    real consumer, in order per partition (or fewer if the timeout passes)."""
    metadata = admin_client().list_topics(timeout=10).topics[topic]
    consumer = Consumer(
        client_config(
            **{
                "group.id": f"test-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
            }
        )
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    records = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if key is None or message.key() == key.encode():
                records.append(message)
    finally:
        consumer.close()
    return records


@pytest.fixture
def read_topic() -> Callable[[str, int], list]:
    return kafka_read


def envelope(message: Message) -> dict:
    return json.loads(message.value())


@pytest.fixture
def relay_env() -> dict[str, str]:
    """Environment of a `manage.py relay` process on this test's database and broker."""
    db = settings.DATABASES["default"]
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
    url = f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.KAFKA_BOOTSTRAP_SERVERS,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def start_relay(
    relay_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `manage.py relay` processes; any still running are killed at the end."""
    processes: list[subprocess.Popen] = []

    def start(name: str = "relay", **env: str) -> subprocess.Popen:
        log_path = tmp_path / f"{name}-{len(processes)}.log"
        with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [sys.executable, "manage.py", "relay", "--metrics-port", "0"],
                env={**relay_env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=devstack.PROJECT_DIR,
            )
        process.log_path = log_path
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def outbox_drained(timeout: float, topic_prefix: str = "") -> bool:
    """Wait until no pending row of the prefix is left in the outbox."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = OutboxEvent.objects.filter(topic__startswith=topic_prefix, status="pending")
        if not pending.exists():
            return True
        connection.close()
        time.sleep(0.2)
    return False


def _checked(envelope: dict, key: str) -> dict:
    """The envelope, once its data matches its type's schema and its key its aggregate."""
    Draft202012Validator(event_type_get(envelope["event_type"]).schema).validate(envelope["data"])
    assert key == envelope["aggregate_id"]
    return envelope


def outbox_events(event_type: str) -> list[dict]:
    """The envelopes of a type's outbox rows, in order: each one's data checked against the
    type's schema, and its row keyed by its aggregate (what every service test asserts)."""
    rows = OutboxEvent.objects.filter(event_type=event_type).order_by("id")
    return [_checked(json.loads(bytes(row.value)), row.key) for row in rows]


def kafka_envelopes(topic: str, key: str, count: int, timeout: float = 30.0) -> list[dict]:
    """The envelopes of the first `count` records of `topic` with `key`, in order, each one
    checked like `outbox_events` (records of other keys are skipped)."""
    return [_checked(envelope(m), key) for m in kafka_read(topic, count, timeout, key=key)]
