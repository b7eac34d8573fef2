"""event_publish: one transaction with the change, validated, ordered per key, waking the relay."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection, connections, transaction
from jsonschema import Draft202012Validator

from accounts.models import User
from accounts.services import user_create
from outbox.asyncapi import envelope_schema
from outbox.catalog import UnknownEventType, event_type_get
from outbox.context import event_context
from outbox.models import OutboxEvent, PublishedEvent
from outbox.services import (
    MAX_ENVELOPE_BYTES,
    NOTIFY_CHANNEL,
    EventInvalid,
    EventOutsideTransaction,
    EventSpec,
    EventTooLarge,
    event_publish,
    events_publish,
    published_events_delete,
)


def _envelope(row: OutboxEvent) -> dict:
    return json.loads(bytes(row.value))


@pytest.mark.django_db(transaction=True)
def test_event_is_written_in_the_transaction_of_the_change():
    with transaction.atomic():
        user = user_create(username="ana", password="s3cret-pass")
        event = event_publish(event_type="diagnostic.ping", data={"seq": 1}, key=str(user.id))

    row = OutboxEvent.objects.get(event_id=event.event_id)
    assert User.objects.filter(pk=user.pk).exists()
    assert row.status == "pending"
    assert row.key == str(user.id)
    assert row.event_type == "diagnostic.ping"
    assert _envelope(row)["data"] == {"seq": 1}


@pytest.mark.django_db(transaction=True)
def test_rollback_leaves_neither_the_change_nor_the_event():
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        user_create(username="bo", password="s3cret-pass")
        event_publish(event_type="diagnostic.ping", data={"seq": 1}, key="k")
        raise Abort

    assert not User.objects.filter(username="bo").exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_invalid_data_rolls_the_change_back():
    with pytest.raises(EventInvalid) as raised, transaction.atomic():
        user_create(username="cy", password="s3cret-pass")
        event_publish(event_type="diagnostic.ping", data={"seq": "one"}, key="k")

    assert raised.value.fields == {"data": {"seq": ["'one' is not of type 'integer'"]}}
    assert not User.objects.filter(username="cy").exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused():
    with pytest.raises(EventOutsideTransaction):
        event_publish(event_type="diagnostic.ping", data={"seq": 1})

    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_unknown_event_type_is_refused():
    with pytest.raises(UnknownEventType):
        event_publish(event_type="no.such.event", data={})


@pytest.mark.django_db
def test_an_event_over_one_megabyte_is_refused():
    with pytest.raises(EventTooLarge):
        event_publish(
            event_type="diagnostic.ping", data={"seq": 1, "note": "x" * MAX_ENVELOPE_BYTES}
        )


@pytest.mark.django_db
def test_a_batch_is_all_or_nothing_and_names_the_bad_event():
    specs = [
        EventSpec("diagnostic.ping", {"seq": 1}),
        EventSpec("diagnostic.ping", {"seq": 2, "unexpected": True}),
    ]

    with pytest.raises(EventInvalid) as raised:
        events_publish(specs)

    assert raised.value.index == 1
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_envelope_carries_context_and_matches_its_schema():
    causation = uuid.uuid4()
    with event_context(correlation_id="corr-7", causation_id=causation, user_id="user-9"):
        event = event_publish(
            event_type="diagnostic.ping", data={"seq": 3}, key="k-3", priority="high"
        )

    row = OutboxEvent.objects.get(pk=event.pk)
    envelope = _envelope(row)
    Draft202012Validator(envelope_schema(event_type_get("diagnostic.ping"))).validate(envelope)
    assert envelope["event_id"] == str(row.event_id)
    assert envelope["correlation_id"] == "corr-7" == row.correlation_id
    assert envelope["causation_id"] == str(causation)
    assert envelope["user_id"] == "user-9"
    assert envelope["priority"] == "high"
    assert envelope["source"] == "outbox"
    assert envelope["aggregate_type"] == "diagnostic"
    assert envelope["aggregate_id"] == "k-3"
    assert envelope["timestamp"].endswith("Z")
    assert datetime.fromisoformat(envelope["timestamp"]) == row.created_at


@pytest.mark.django_db
def test_without_a_context_each_event_gets_a_correlation_id():
    event = event_publish(event_type="diagnostic.ping", data={"seq": 1})

    assert uuid.UUID(_envelope(OutboxEvent.objects.get(pk=event.pk))["correlation_id"])


def _publish_in_thread(key: str, hold_s: float, log: list) -> threading.Thread:
    def run() -> None:
        try:
            with transaction.atomic():
                event = event_publish(event_type="diagnostic.ping", data={"seq": 0}, key=key)
                log.append(("inserted", event.id, time.monotonic()))
                time.sleep(hold_s)
            log.append(("committed", event.id, time.monotonic()))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_rows_of_one_key_get_ids_in_commit_order():
    log: list = []
    first = _publish_in_thread("same-key", hold_s=1.0, log=log)
    time.sleep(0.3)  # the first writer holds its transaction open
    second = _publish_in_thread("same-key", hold_s=0.0, log=log)
    first.join()
    second.join()

    first_commit = next(entry for entry in log if entry[0] == "committed")
    second_insert = [entry for entry in log if entry[0] == "inserted"][1]
    assert second_insert[2] >= first_commit[2]  # it waited for the first commit
    assert second_insert[1] > first_commit[1]  # so its id is higher


@pytest.mark.django_db(transaction=True)
def test_rows_of_other_keys_do_not_wait():
    log: list = []
    first = _publish_in_thread("key-a", hold_s=1.0, log=log)
    time.sleep(0.3)
    second = _publish_in_thread("key-b", hold_s=0.0, log=log)
    second.join()

    assert [entry[0] for entry in log][:3] == ["inserted", "inserted", "committed"]
    first.join()


@pytest.mark.django_db(transaction=True)
def test_commit_notifies_the_relay_and_rollback_does_not(devstack_urls):
    params = connection.get_connection_params()
    listener = psycopg.connect(
        dbname=params["dbname"], user=params["user"], host=params["host"],
        port=params["port"], autocommit=True,
    )  # fmt: skip
    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            event_publish(event_type="diagnostic.ping", data={"seq": 1})
            raise RuntimeError
        assert list(listener.notifies(timeout=0.5)) == []

        with transaction.atomic():
            event_publish(event_type="diagnostic.ping", data={"seq": 2})

        assert [n.channel for n in listener.notifies(timeout=2, stop_after=1)] == [NOTIFY_CHANNEL]
    finally:
        listener.close()


@pytest.mark.django_db
def test_cleanup_deletes_published_records_past_retention_in_chunks():
    now = datetime.now(UTC)

    def record(age: timedelta) -> PublishedEvent:
        return PublishedEvent(
            event_id=uuid.uuid4(), event_type="diagnostic.ping", topic="t", key="k",
            kafka_partition=0, kafka_offset=0, created_at=now - age, published_at=now - age,
        )  # fmt: skip

    PublishedEvent.objects.bulk_create([record(timedelta(days=8)) for _ in range(25)])
    recent = PublishedEvent.objects.bulk_create([record(timedelta(days=6)) for _ in range(3)])

    deleted = published_events_delete(older_than=timedelta(days=7), chunk_size=10)

    assert deleted == 25
    assert set(PublishedEvent.objects.values_list("event_id", flat=True)) == {
        r.event_id for r in recent
    }
