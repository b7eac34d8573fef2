"""The relay against the real broker: what lands on Kafka, in what order, and what it survives."""

import json
import signal
import threading
import time
from collections import defaultdict

import pytest
from confluent_kafka import KafkaError
from django.db import connections, transaction
from prometheus_client import REGISTRY

from config import devstack
from outbox.context import event_context
from outbox.events import DIAGNOSTIC_TOPIC
from outbox.models import OutboxEvent, PublishedEvent
from outbox.relay import OutboxRelay, RelayConfig
from outbox.services import event_publish, outbox_event_resend
from outbox.testing import kafka_read, outbox_drained

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _ping(key: str, seq: int, **extra) -> OutboxEvent:
    with transaction.atomic():
        return event_publish(event_type="diagnostic.ping", data={"seq": seq, **extra}, key=key)


def _keyed_seqs(messages) -> dict[str, list[int]]:
    seqs = defaultdict(list)
    for message in messages:
        seqs[message.key().decode()].append(json.loads(message.value())["data"]["seq"])
    return seqs


def test_record_carries_key_cloudevents_headers_and_the_envelope(fresh_topics):
    with event_context(correlation_id="corr-1", traceparent=TRACEPARENT, tracestate="a=1"):
        event = _ping("order-7", 1)

    assert OutboxRelay().drain() == 1

    (message,) = kafka_read(DIAGNOSTIC_TOPIC.name, 1)
    headers = {name: value.decode() for name, value in message.headers()}
    envelope = json.loads(message.value())
    assert message.key() == b"order-7"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(event.event_id) == envelope["event_id"]
    assert headers["ce_type"] == "diagnostic.ping" == envelope["event_type"]
    assert headers["ce_source"] == "outbox" == envelope["source"]
    assert headers["ce_time"] == envelope["timestamp"]
    assert headers["content-type"] == "application/json"
    assert headers["correlation_id"] == "corr-1" == envelope["correlation_id"]
    assert headers["traceparent"] == TRACEPARENT
    assert headers["tracestate"] == "a=1"
    assert envelope["data"] == {"seq": 1}
    published = PublishedEvent.objects.get(event_id=event.event_id)
    assert (published.kafka_partition, published.kafka_offset) == (
        message.partition(),
        message.offset(),
    )
    assert not OutboxEvent.objects.exists()


def test_no_trace_headers_without_a_trace(fresh_topics):
    _ping("k", 1)
    OutboxRelay().drain()

    (message,) = kafka_read(DIAGNOSTIC_TOPIC.name, 1)
    assert "traceparent" not in dict(message.headers())


def test_rows_of_a_key_arrive_in_commit_order(fresh_topics):
    for seq in range(30):
        _ping(f"key-{seq % 3}", seq)

    assert OutboxRelay(RelayConfig.from_settings(batch_size=7)).drain() == 30

    seqs = _keyed_seqs(kafka_read(DIAGNOSTIC_TOPIC.name, 30))
    assert seqs == {f"key-{k}": list(range(k, 30, 3)) for k in range(3)}


def test_relay_counts_what_it_publishes(fresh_topics):
    labels = {"event_type": "diagnostic.ping", "topic": DIAGNOSTIC_TOPIC.name}
    before = REGISTRY.get_sample_value("events_published_total", labels) or 0
    for seq in range(3):
        _ping("k", seq)

    OutboxRelay().drain()

    assert REGISTRY.get_sample_value("events_published_total", labels) == before + 3


def test_a_refused_row_is_retried_then_parked_holding_only_its_own_key(fresh_topics):
    config = RelayConfig.from_settings(max_attempts=2, backoff_s=0.3, backoff_max_s=0.3)
    poison = _ping("poisoned", 1)
    _ping("healthy", 1)
    follower = _ping("poisoned", 2)
    original = bytes(OutboxEvent.objects.get(pk=poison.pk).value)
    # Over the producer's message.max.bytes: the broker would never take it.
    OutboxEvent.objects.filter(pk=poison.pk).update(value=b"x" * 1_500_000)
    parked_before = REGISTRY.get_sample_value(
        "events_parked_total", {"event_type": "diagnostic.ping"}
    )

    OutboxRelay(config).drain()
    first = OutboxEvent.objects.get(pk=poison.pk)
    assert (first.status, first.attempts) == ("pending", 1)
    assert "MSG_SIZE_TOO_LARGE" in first.last_error
    assert first.next_attempt_at is not None
    assert PublishedEvent.objects.filter(key="healthy").count() == 1  # other keys flow
    assert OutboxEvent.objects.filter(pk=follower.pk, status="pending").exists()  # held back

    time.sleep(0.4)
    OutboxRelay(config).drain()
    parked = OutboxEvent.objects.get(pk=poison.pk)
    assert (parked.status, parked.attempts) == ("parked", 2)
    assert OutboxEvent.objects.filter(pk=follower.pk, status="pending").exists()
    parked_after = REGISTRY.get_sample_value(
        "events_parked_total", {"event_type": "diagnostic.ping"}
    )
    assert parked_after == (parked_before or 0) + 1

    # Staff fix the cause and re-send it: it goes first, then the row it held back.
    OutboxEvent.objects.filter(pk=poison.pk).update(value=original)
    outbox_event_resend(event=OutboxEvent.objects.get(pk=poison.pk))
    OutboxRelay(config).drain()

    assert not OutboxEvent.objects.exists()
    seqs = _keyed_seqs(kafka_read(DIAGNOSTIC_TOPIC.name, 3))
    assert seqs["poisoned"] == [1, 2]


def test_a_fatal_producer_error_replaces_the_producer(fresh_topics):
    relay = OutboxRelay()
    wedged = relay._producer_get()

    relay._producer_error(KafkaError(KafkaError._FATAL, "simulated fatal error", fatal=True))
    assert relay._producer_fatal
    _ping("k", 1)
    relay.drain()

    assert relay._producer is not wedged
    assert not OutboxEvent.objects.exists()


# --- relays as processes -----------------------------------------------------------------


def _writer(keys: int, transactions: int, per_transaction: int) -> threading.Thread:
    def run() -> None:
        seq = 0
        try:
            for _ in range(transactions):
                with transaction.atomic():
                    for _ in range(per_transaction):
                        event_publish(
                            event_type="diagnostic.ping",
                            data={"seq": seq},
                            key=f"key-{seq % keys}",
                        )
                        seq += 1
                time.sleep(0.02)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _assert_all_delivered_in_key_order(expected: int) -> None:
    messages = kafka_read(DIAGNOSTIC_TOPIC.name, expected * 2, timeout=8)
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen_ids: set[str] = set()
    for message in messages:
        envelope = json.loads(message.value())
        if envelope["event_id"] in seen_ids:
            continue  # a re-send after a crash: consumers drop it by event_id
        seen_ids.add(envelope["event_id"])
        first_seen[message.key().decode()].append(envelope["data"]["seq"])
    assert len(seen_ids) == expected
    for key, seqs in first_seen.items():
        assert seqs == sorted(seqs), f"{key} out of order"


@pytest.mark.slow
def test_three_relays_and_one_killed_deliver_every_event_in_key_order(fresh_topics, start_relay):
    relays = [start_relay(f"relay-{n}") for n in range(3)]
    writer = _writer(keys=12, transactions=60, per_transaction=25)
    time.sleep(1.5)

    relays[0].send_signal(signal.SIGKILL)
    writer.join()

    assert outbox_drained(timeout=60), "the surviving relays did not drain the outbox"
    _assert_all_delivered_in_key_order(expected=60 * 25)


@pytest.mark.slow
def test_relay_recovers_after_the_broker_is_frozen(fresh_topics, start_relay, tmp_path, settings):
    broker = devstack.start_kafka(tmp_path)
    try:
        settings.KAFKA_BOOTSTRAP_SERVERS = broker.url
        from outbox.topics import topics_sync

        topics_sync()
        start_relay(KAFKA_BOOTSTRAP_SERVERS=broker.url)
        for seq in range(20):
            _ping(f"k{seq % 4}", seq)
        assert outbox_drained(timeout=30)

        broker.process.send_signal(signal.SIGSTOP)
        try:
            for seq in range(20, 60):
                _ping(f"k{seq % 4}", seq)
            time.sleep(10)
        finally:
            broker.process.send_signal(signal.SIGCONT)

        assert outbox_drained(timeout=60), "the relay did not recover"
        _assert_all_delivered_in_key_order(expected=60)
    finally:
        broker.stop()


@pytest.mark.slow
def test_sigterm_finishes_and_exits_cleanly(fresh_topics, start_relay):
    relay = start_relay()
    for seq in range(5):
        _ping("k", seq)
    assert outbox_drained(timeout=30)

    relay.send_signal(signal.SIGTERM)

    assert relay.wait(timeout=15) == 0
    assert "relay stopped" in relay.log_path.read_text()
