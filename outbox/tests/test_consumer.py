"""The consumer runtime against the real broker and database."""

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer
from django.core.management import call_command
from django.db import transaction
from prometheus_client import REGISTRY

from config import devstack
from outbox import catalog, groups, topics
from outbox.consumer import ConsumerConfig, Event, GroupConsumer
from outbox.events import DIAGNOSTIC_TOPIC
from outbox.groups import consumer_group_get, handles
from outbox.kafka import client_config
from outbox.models import ConsumerAttempt, DeadLetter, DiagnosticReceipt, InboxEntry
from outbox.relay import OutboxRelay
from outbox.services import event_publish
from outbox.testing import kafka_read
from outbox.topics import topics_sync

pytestmark = pytest.mark.django_db(transaction=True)


def _publish_pings(count: int, key: str = "k") -> list[uuid.UUID]:
    ids = []
    for seq in range(count):
        with transaction.atomic():
            ids.append(
                event_publish(event_type="diagnostic.ping", data={"seq": seq}, key=key).event_id
            )
    OutboxRelay().drain()
    return ids


def _consume(group: str, **config) -> int:
    consumer = GroupConsumer(consumer_group_get(group), ConsumerConfig.from_settings(**config))
    return consumer.run(until_idle_s=1.5)


def _envelope(seq, **changes) -> bytes:
    envelope = {
        "event_id": str(uuid.uuid4()), "event_type": "diagnostic.ping", "version": 1,
        "timestamp": "2026-01-01T00:00:00Z", "source": "outbox", "aggregate_type": "diagnostic",
        "aggregate_id": "k", "correlation_id": "c", "causation_id": None, "user_id": None,
        "priority": "low", "data": {"seq": seq},
    }  # fmt: skip
    envelope.update(changes)
    return json.dumps(envelope).encode()


def _produce_raw(values: list[bytes], key: str = "k") -> None:
    producer = Producer(client_config())
    for value in values:
        producer.produce(DIAGNOSTIC_TOPIC.name, value=value, key=key)
    producer.flush(10)


def _consumed(group: str, event_type: str, outcome: str) -> float:
    labels = {"group": group, "event_type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("events_consumed_total", labels) or 0


@pytest.fixture
def temp_group(fresh_topics) -> Iterator[Callable[..., str]]:
    """Register handlers in a consumer group of the test's own; forget it afterwards."""
    names: list[str] = []

    def register(event_type: str, func: Callable[[Event], None], versions=None) -> str:
        name = f"g{uuid.uuid4().hex[:8]}"
        handles(event_type, group=name, versions=versions)(func)
        topics_sync()  # the group's dead-letter topic
        names.append(name)
        return name

    yield register
    for name in names:
        groups._groups.pop(name, None)
        topics._declared.pop(("dlq", name), None)


def test_events_are_applied_once_and_offsets_committed(fresh_topics):
    ids = _publish_pings(5)

    assert _consume("diagnostics") == 5
    assert set(DiagnosticReceipt.objects.values_list("event_id", flat=True)) == set(ids)
    assert InboxEntry.objects.filter(group="diagnostics").count() == 5

    assert _consume("diagnostics") == 0  # the group resumes after its committed offsets


def test_a_duplicate_delivery_has_one_effect(fresh_topics):
    value = _envelope(1)
    before = _consumed("diagnostics", "diagnostic.ping", "duplicate")

    _produce_raw([value, value])

    assert _consume("diagnostics") == 2
    assert DiagnosticReceipt.objects.count() == 1
    assert _consumed("diagnostics", "diagnostic.ping", "duplicate") == before + 1


def test_killed_after_its_commit_and_before_the_offset_commit_leaves_one_effect(
    fresh_topics, relay_env
):
    ids = _publish_pings(10)
    crashed = subprocess.run(
        [sys.executable, "outbox/tests/crash_before_offset_commit.py", "diagnostics"],
        env={**relay_env, "EVENTS_ENV": fresh_topics},
        cwd=devstack.PROJECT_DIR,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert DiagnosticReceipt.objects.count() == 10  # the effects committed, the offsets not

    assert _consume("diagnostics") == 10  # redelivered...

    assert DiagnosticReceipt.objects.count() == 10  # ...and skipped by the inbox
    assert set(DiagnosticReceipt.objects.values_list("event_id", flat=True)) == set(ids)


def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered_and_the_partition_moves_on(
    temp_group,
):
    calls: list[tuple[int, float]] = []

    def flaky(event: Event) -> None:
        calls.append((event.data["seq"], time.monotonic()))
        if event.data["seq"] == 0:
            raise RuntimeError("payment gateway unreachable")
        DiagnosticReceipt.objects.create(event_id=event.event_id, key="ok", seq=event.data["seq"])

    group = temp_group("diagnostic.ping", flaky)
    ids = _publish_pings(2, key="same-partition")

    _consume(group, backoff_s=(0.3, 0.6), max_attempts=3)

    first_seq_calls = [at for seq, at in calls if seq == 0]
    assert len(first_seq_calls) == 3
    assert first_seq_calls[1] - first_seq_calls[0] >= 0.3
    assert first_seq_calls[2] - first_seq_calls[1] >= 0.6
    assert [seq for seq, _ in calls][-1] == 1  # handled after the dead letter
    dead = DeadLetter.objects.get(group=group)
    assert (dead.event_id, dead.attempts, dead.status) == (ids[0], 3, "pending")
    assert dead.error_class == "RuntimeError"
    assert "payment gateway unreachable" in dead.traceback
    assert DiagnosticReceipt.objects.get().event_id == ids[1]
    assert not ConsumerAttempt.objects.exists()
    assert not InboxEntry.objects.filter(group=group, event_id=ids[0]).exists()

    (record,) = kafka_read(consumer_group_get(group).dlq_topic.name, 1)
    headers = {name: value.decode() for name, value in record.headers()}
    assert json.loads(record.value())["event_id"] == str(ids[0])
    assert headers["dlq_error_class"] == "RuntimeError"
    assert headers["dlq_attempts"] == "3"
    assert headers["dlq_original_topic"] == DIAGNOSTIC_TOPIC.name
    assert headers["ce_type"] == "diagnostic.ping"  # the original headers are kept
    assert "Traceback" in headers["dlq_stack_trace"]


def test_poison_records_are_dead_lettered_at_once_and_the_consumer_keeps_going(fresh_topics):
    poison = {
        b"not json at all": "not JSON",
        json.dumps({"event_type": "diagnostic.ping"}).encode(): "envelope lacks",
        _envelope(1, event_type="no.such.type"): "unknown event type",
        _envelope("x"): "data does not match",
        _envelope(1, version=99): "version 99",
        _envelope(1, event_type=["not", "a", "name"]): "must be a string",
        _envelope(1, version=True): "version an integer",
    }
    _produce_raw([*poison, _envelope(42)])

    assert _consume("diagnostics") == len(poison) + 1

    dead = list(DeadLetter.objects.filter(group="diagnostics").order_by("offset"))
    assert [d.attempts for d in dead] == [1] * len(poison)
    for letter, expected in zip(dead, poison.values(), strict=True):
        assert expected in letter.error_message
    # what could be read of an envelope identifies its dead letter (search, filters)
    assert [d.event_type for d in dead[:4]] == [
        "",
        "diagnostic.ping",
        "no.such.type",
        "diagnostic.ping",
    ]
    assert dead[3].event_id is not None and dead[3].aggregate_id == "k"
    assert DiagnosticReceipt.objects.get().seq == 42


def test_an_older_version_reaches_the_handler_upcast(temp_group):
    name = f"test.upcast.{uuid.uuid4().hex[:6]}"
    schema_v1 = {"type": "object", "required": ["seq"], "properties": {"seq": {"type": "integer"}}}
    schema_v2 = {
        "type": "object", "required": ["seq", "unit"],
        "properties": {"seq": {"type": "integer"}, "unit": {"type": "string"}},
    }  # fmt: skip
    common = {"name": name, "topic": DIAGNOSTIC_TOPIC, "key_field": "seq"}
    catalog.event_type_declare(**common, version=1, schema=schema_v1)
    catalog.event_type_declare(**common, version=2, schema=schema_v2)
    catalog.upcaster_register(name, 1)(lambda data: {**data, "unit": "each"})
    received: list[Event] = []
    try:
        group = temp_group(name, received.append)
        with transaction.atomic():
            event_publish(event_type=name, version=1, data={"seq": 3})
        OutboxRelay().drain()

        _consume(group)

        (event,) = received
        assert (event.version, event.data) == (2, {"seq": 3, "unit": "each"})
    finally:
        catalog._catalog.pop((name, 1), None)
        catalog._catalog.pop((name, 2), None)
        catalog._upcasters.pop((name, 1), None)


def test_consume_lists_the_groups():
    out = call_command_output("consume", "--list")

    assert "diagnostics" in out
    assert "diagnostic.ping (v1) -> outbox.handlers.diagnostic_receipt_record" in out


def test_sigterm_finishes_and_leaves_the_group(fresh_topics, relay_env, tmp_path):
    log_path = tmp_path / "consume.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "consume", "diagnostics", "--metrics-port", "0"],
            env={**relay_env, "EVENTS_ENV": fresh_topics},
            cwd=devstack.PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "assigned" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "assigned" in log_path.read_text()

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=15) == 0
        assert "stopped" in log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()


def call_command_output(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_poison_behind_a_retried_event_waits_its_turn(temp_group):
    calls: list[int] = []

    def fails_on_zero(event: Event) -> None:
        calls.append(event.data["seq"])
        if event.data["seq"] == 0:
            raise RuntimeError("not yet")

    group = temp_group("diagnostic.ping", fails_on_zero)
    _produce_raw([_envelope(0), b"poison", _envelope(2)], key="one-partition")

    _consume(group, backoff_s=(0.2,), max_attempts=2)

    assert calls == [0, 0, 2]
    letters = DeadLetter.objects.filter(group=group).order_by("offset")
    assert [(d.error_class, d.attempts) for d in letters] == [
        ("RuntimeError", 2),
        ("PoisonEvent", 1),
    ]
    assert len(kafka_read(consumer_group_get(group).dlq_topic.name, 3, timeout=5)) == 2


def test_a_database_failure_at_commit_rereads_the_batch_and_applies_it_once(temp_group):
    from django.db import connection

    inside = threading.Event()
    terminated = threading.Event()
    calls: list[int] = []
    backend: list[int] = []

    def slow_once(event: Event) -> None:
        calls.append(event.data["seq"])
        DiagnosticReceipt.objects.create(event_id=event.event_id, key="k", seq=event.data["seq"])
        if len(calls) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend.append(cursor.fetchone()[0])
            inside.set()
            terminated.wait(10)  # the session dies under this transaction

    group = temp_group("diagnostic.ping", slow_once)
    _produce_raw([_envelope(5)])

    def kill_the_session() -> None:
        inside.wait(30)
        import psycopg

        params = connection.get_connection_params()
        with psycopg.connect(
            dbname=params["dbname"], user=params["user"], host=params["host"],
            port=params["port"], autocommit=True,
        ) as admin:  # fmt: skip
            admin.execute("SELECT pg_terminate_backend(%s)", [backend[0]])
        terminated.set()

    killer = threading.Thread(target=kill_the_session)
    killer.start()
    _consume(group)
    killer.join()

    assert calls == [5, 5]  # read again after the failed commit
    assert DiagnosticReceipt.objects.filter(seq=5).count() == 1
    assert InboxEntry.objects.filter(group=group).count() == 1
    assert not ConsumerAttempt.objects.filter(group=group).exists()  # not a handler failure
    assert not DeadLetter.objects.filter(group=group).exists()


def test_a_lone_event_is_handled_without_waiting_out_the_poll_timeout(temp_group):
    """Live pushes ride on this: a batch starts as soon as one record is there, rather than
    when the batch is full or the poll timeout has passed."""
    handled_at: dict[int, float] = {}

    def handle(event: Event) -> None:
        handled_at[event.data["seq"]] = time.monotonic()
        if event.data["seq"] == 1:  # the next event arrives while the consumer is idle
            _produce_raw([_envelope(2)])

    group = temp_group("diagnostic.ping", handle)
    _produce_raw([_envelope(1)])
    consumer = GroupConsumer(
        consumer_group_get(group), ConsumerConfig.from_settings(poll_timeout_s=4.0)
    )

    consumer.run(max_messages=2)

    assert sorted(handled_at) == [1, 2]
    assert handled_at[2] - handled_at[1] < 2.0  # not the 4 s poll timeout
