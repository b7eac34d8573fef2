"""Tools to see what consumers did: per-group event status, `tail`, and `consumer_lag`,
against the real broker and database."""

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from rest_framework.test import APIClient

from accounts.services import user_create
from config import devstack
from outbox.consumer import GroupConsumer
from outbox.events import DIAGNOSTIC_TOPIC
from outbox.groups import consumer_group_get
from outbox.kafka import admin_client
from outbox.management.commands.consumer_lag import UNDER_REPORTED, partition_lag
from outbox.models import ConsumerAttempt, DeadLetter, InboxEntry, OutboxEvent
from outbox.relay import OutboxRelay
from outbox.selectors import event_status_get
from outbox.services import event_publish

HEADER = re.compile(
    r"^(?P<topic>\S+)/(?P<partition>\d+)/(?P<offset>\d+)  key=(?P<key>\S+)  "
    r"ce_type=(?P<ce_type>\S+)  time=\S+$"
)


def _ping(seq: int, key: str | None = None) -> OutboxEvent:
    with transaction.atomic():
        return event_publish(event_type="diagnostic.ping", data={"seq": seq}, key=key)


def _consume_diagnostics() -> int:
    return GroupConsumer(consumer_group_get("diagnostics")).run(until_idle_s=1.0)


def _diagnostics(status: dict) -> dict:
    (entry,) = [c for c in status["consumers"] if c["group"] == "diagnostics"]
    return entry


def _tail(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("tail", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _records(output: str) -> list[dict]:
    """The records `tail` printed: header fields plus the parsed JSON value."""
    records: list[dict] = []
    body: list[str] = []
    for line in [*output.splitlines(), None]:
        match = HEADER.match(line) if line is not None else None
        if match or line is None:
            if records:
                records[-1]["value"] = json.loads("\n".join(body))
            body = []
            if match:
                records.append(match.groupdict())
        else:
            body.append(line)
    return records


def _lag_rows(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line and not line.startswith("*")]
    names = [name.lower() for name in lines[0].split()]
    return [dict(zip(names, line.split(), strict=True)) for line in lines[1:]]


# --- event status per consumer group ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_event_status_is_pending_for_diagnostics_before_consumption_and_processed_after(
    fresh_topics,
):
    client = APIClient()
    client.force_authenticate(user_create(username="stella", password="pw-1", is_staff=True))
    event = _ping(1, key="k-1")
    assert OutboxRelay().drain() == 2  # the ping and the staff user's user.registered

    before = client.get(f"/api/events/{event.event_id}")

    assert before.status_code == 200, before.content
    assert before.json()["status"] == "published"
    assert _diagnostics(before.json()) == {
        "group": "diagnostics",
        "status": "pending",
        "processed_at": None,
        "attempts": None,
        "last_error": None,
        "dead_letter_id": None,
        "dead_letter_status": None,
    }

    assert _consume_diagnostics() == 1

    after = client.get(f"/api/events/{event.event_id}").json()
    entry = _diagnostics(after)
    assert entry["status"] == "processed"
    inbox = InboxEntry.objects.get(group="diagnostics", event_id=event.event_id)
    assert datetime.fromisoformat(entry["processed_at"]) == inbox.processed_at
    assert after["status"] == "published"  # the existing fields are unchanged


@pytest.mark.django_db
def test_event_status_is_retrying_with_attempts_and_last_error_when_an_attempt_exists(
    django_assert_max_num_queries,
):
    event = _ping(1)
    now = datetime.now(UTC)
    ConsumerAttempt.objects.create(
        group="diagnostics",
        event_id=event.event_id,
        event_type="diagnostic.ping",
        attempts=2,
        first_attempt_at=now,
        last_attempt_at=now,
        last_error="RuntimeError: boom",
    )

    with django_assert_max_num_queries(4):  # the outbox row, then one query per table
        status = event_status_get(event_id=event.event_id)

    assert status["status"] == "pending"
    entry = _diagnostics(status)
    assert entry["status"] == "retrying"
    assert entry["attempts"] == 2
    assert entry["last_error"] == "RuntimeError: boom"
    assert entry["processed_at"] is None and entry["dead_letter_id"] is None


def _dead_letter(event: OutboxEvent, offset: int = 7, **fields) -> DeadLetter:
    now = datetime.now(UTC)
    return DeadLetter.objects.create(
        group="diagnostics",
        event_id=event.event_id,
        event_type="diagnostic.ping",
        topic=DIAGNOSTIC_TOPIC.name,
        partition=0,
        offset=offset,
        value=b"{}",
        error_class="RuntimeError",
        error_message="boom",
        first_attempt_at=now,
        last_attempt_at=now,
        **fields,
    )


@pytest.mark.django_db
def test_event_status_is_dead_lettered_with_the_dead_letter_and_its_review_status():
    event = _ping(1)
    _dead_letter(event, offset=3, status=DeadLetter.Status.REPLAYED)
    latest = _dead_letter(event, offset=9)
    now = datetime.now(UTC)
    ConsumerAttempt.objects.create(  # a dead letter outranks an attempt
        group="diagnostics",
        event_id=event.event_id,
        event_type="diagnostic.ping",
        attempts=1,
        first_attempt_at=now,
        last_attempt_at=now,
    )

    entry = _diagnostics(event_status_get(event_id=event.event_id))

    assert entry["status"] == "dead_lettered"
    assert entry["dead_letter_id"] == latest.id
    assert entry["dead_letter_status"] == "pending"
    assert entry["attempts"] is None


@pytest.mark.django_db
def test_event_status_processed_outranks_a_dead_letter():
    event = _ping(1)
    _dead_letter(event, status=DeadLetter.Status.REPLAYED)
    inbox = InboxEntry.objects.create(
        group="diagnostics", event_id=event.event_id, event_type="diagnostic.ping"
    )

    entry = _diagnostics(event_status_get(event_id=event.event_id))

    assert entry["status"] == "processed"
    assert entry["processed_at"] == inbox.processed_at
    assert entry["dead_letter_id"] is None


@pytest.mark.django_db
def test_event_status_of_another_groups_rows_does_not_count():
    event = _ping(1)
    InboxEntry.objects.create(group="other", event_id=event.event_id, event_type="x")

    assert _diagnostics(event_status_get(event_id=event.event_id))["status"] == "pending"


# --- tail --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_tail_from_beginning_prints_the_records_with_keys_headers_and_json(fresh_topics):
    events = {f"key-{seq}": _ping(seq, key=f"key-{seq}") for seq in range(3)}
    OutboxRelay().drain()

    out, _ = _tail(DIAGNOSTIC_TOPIC.name, "--from-beginning", "--max", "3", "--timeout", "20")

    records = _records(out)
    assert len(records) == 3
    assert {r["key"] for r in records} == set(events)
    for record in records:
        assert record["topic"] == DIAGNOSTIC_TOPIC.name
        assert record["ce_type"] == "diagnostic.ping"
        assert record["value"]["event_id"] == str(events[record["key"]].event_id)
        assert record["value"]["data"] == {"seq": int(record["key"].removeprefix("key-"))}
    assert '\n  "data": {\n    "seq": ' in out  # pretty-printed


@pytest.mark.django_db(transaction=True)
def test_tail_group_starts_at_committed_offsets_and_never_commits(fresh_topics):
    for seq in range(4):
        _ping(seq, key=f"key-{seq}")
    OutboxRelay().drain()

    # Nothing committed yet: from the beginning.
    before, _ = _tail(
        DIAGNOSTIC_TOPIC.name, "--group", "diagnostics", "--max", "4", "--timeout", "20"
    )
    assert len(_records(before)) == 4
    assert _consume_diagnostics() == 4  # tail committed nothing for the group

    after, err = _tail(DIAGNOSTIC_TOPIC.name, "--group", "diagnostics", "--timeout", "2")
    again, _ = _tail(DIAGNOSTIC_TOPIC.name, "--from-beginning", "--max", "4", "--timeout", "20")

    assert after == ""
    assert f"group {fresh_topics}.diagnostics committed offsets" in err
    assert "0 record(s)" in err
    assert sorted(r["key"] for r in _records(again)) == [f"key-{seq}" for seq in range(4)]


@pytest.mark.django_db(transaction=True)
def test_tail_from_the_end_prints_only_records_that_arrive_after_it_started(fresh_topics):
    out, err = StringIO(), StringIO()
    tail = threading.Thread(
        target=call_command,
        args=("tail", DIAGNOSTIC_TOPIC.name, "--max", "1", "--timeout", "30"),
        kwargs={"stdout": out, "stderr": err},
    )
    tail.start()
    deadline = time.monotonic() + 20
    while "tailing" not in err.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "from the end" in err.getvalue()

    _ping(1, key="late")
    OutboxRelay().drain()
    tail.join(timeout=30)

    assert not tail.is_alive()
    assert [r["key"] for r in _records(out.getvalue())] == ["late"]


def test_tail_of_an_unknown_topic_is_an_error_and_does_not_create_it(fresh_topics):
    name = f"{fresh_topics}.no.such-topic-{uuid.uuid4().hex[:6]}"

    with pytest.raises(CommandError, match="not found"):
        _tail(name, "--timeout", "1")

    time.sleep(0.5)
    assert name not in admin_client().list_topics(timeout=10).topics


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_tail_exits_cleanly_on_sigint_and_sigterm(fresh_topics, relay_env, tmp_path, sig):
    log_path = tmp_path / "tail.log"
    with open(log_path, "wb") as log:
        tail = subprocess.Popen(
            [sys.executable, "manage.py", "tail", DIAGNOSTIC_TOPIC.name],
            env=relay_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=devstack.PROJECT_DIR,
        )
    try:
        deadline = time.monotonic() + 30
        while "tailing" not in log_path.read_text() and time.monotonic() < deadline:
            assert tail.poll() is None, log_path.read_text()
            time.sleep(0.1)

        tail.send_signal(sig)

        assert tail.wait(timeout=15) == 0, log_path.read_text()
        assert "0 record(s)" in log_path.read_text()
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()


# --- consumer_lag ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_consumer_lag_before_and_after_consumption(fresh_topics):
    for seq in range(5):
        _ping(seq, key=f"key-{seq}")
    OutboxRelay().drain()
    partitions = len(
        admin_client().list_topics(timeout=10).topics[DIAGNOSTIC_TOPIC.name].partitions
    )

    before = StringIO()
    call_command("consumer_lag", "--group", "diagnostics", stdout=before)

    rows = _lag_rows(before.getvalue())
    assert len(rows) == partitions
    assert {(r["group"], r["topic"]) for r in rows} == {("diagnostics", DIAGNOSTIC_TOPIC.name)}
    assert sorted(int(r["partition"]) for r in rows) == list(range(partitions))
    assert all(r["committed"] == "-" for r in rows)
    assert sum(int(r["lag"]) for r in rows) > 0
    assert all(int(r["lag"]) == int(r["end"]) for r in rows)  # fresh topic: low is 0

    assert _consume_diagnostics() == 5
    after = StringIO()
    call_command("consumer_lag", stdout=after)  # all groups

    rows = [r for r in _lag_rows(after.getvalue()) if r["group"] == "diagnostics"]
    committed = [int(r["committed"]) for r in rows if r["committed"] != "-"]
    assert sum(committed) == 5  # each partition starts at 0: offsets sum to the records
    for row in rows:
        assert row["lag"].rstrip("*") == "0"
        if row["committed"] != "-":
            # Real Kafka: end == committed. The embedded Tansu under-reports its high
            # watermark; the row is marked and the footnote explains.
            under = int(row["end"]) < int(row["committed"])
            assert row["lag"].endswith("*") == under
            if not under:
                assert row["end"] == row["committed"]
    marked = any(row["lag"].endswith("*") for row in rows)
    assert (UNDER_REPORTED in after.getvalue()) == marked


def test_consumer_lag_of_an_unknown_group_is_an_error(fresh_topics):
    with pytest.raises(CommandError, match="no consumer group"):
        call_command("consumer_lag", "--group", "nope", stdout=StringIO())


def test_partition_lag_clamps_an_under_reported_end_at_zero_and_says_so():
    assert partition_lag(5, 0, 5) == (0, False)
    assert partition_lag(3, 0, 10) == (7, False)
    assert partition_lag(5, 0, 1) == (0, True)  # Tansu: 5 records, high watermark 1
    assert partition_lag(None, 2, 10) == (8, False)  # nothing committed: all that is kept
