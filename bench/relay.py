"""Relay throughput: drain N outbox rows to Kafka, against raw confluent-kafka production.

    python bench/relay.py [--events 100000] [--relays 1] [--batch-size 2000] [--compression lz4]

Starts the relay processes (`manage.py relay`), warms them (producer id, shards) and freezes
them with SIGSTOP; fills the outbox with N realistic order events (seed 000's order.created,
~10,000 orders); thaws the relays and times them until every row is published. Then times a
raw idempotent producer sending the very same records to another topic. Last line, JSON:
{"relay_events_per_s": ..., "raw_produce_events_per_s": ..., "ratio": ...}
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import PROJECT_DIR, stack_setup

MENU = [
    ("Latte", "Pumpkin Spice", "4.50"),
    ("Latte", "Vanilla", "4.20"),
    ("Donuts", "Boston Cream", "3.50"),
    ("Espresso", "Double", "2.90"),
    ("Croissant", "Almond", "3.40"),
]


def order_payload(order_id: str, user_id: str) -> dict:
    items = [
        {"product_name": p, "variation_name": v, "quantity": random.randint(1, 3), "unit_price": u}
        for p, v, u in random.sample(MENU, random.randint(1, 4))
    ]
    total = sum(Decimal(i["unit_price"]) * i["quantity"] for i in items)
    return {
        "id": order_id,
        "user_id": user_id,
        "status": "pending_payment",
        "total_amount": str(total),
        "items": items,
        "created_at": datetime.now(UTC).isoformat(),
    }


def relays_start(count: int, options: argparse.Namespace) -> list[subprocess.Popen]:
    """Start `manage.py relay` processes, let them warm up (producer id, shards), freeze them."""
    from django.db import transaction

    from outbox.models import OutboxEvent
    from outbox.services import event_publish

    env = dict(os.environ)
    if options.batch_size:
        env["OUTBOX_RELAY_BATCH_SIZE"] = str(options.batch_size)
    if options.compression:
        env["OUTBOX_COMPRESSION"] = options.compression
    relays = [
        subprocess.Popen(
            [sys.executable, "manage.py", "relay", "--metrics-port", "0"],
            env=env,
            cwd=PROJECT_DIR,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    for seq in range(200):
        with transaction.atomic():
            event_publish(event_type="diagnostic.ping", data={"seq": seq}, key=f"warm-{seq}")
    while OutboxEvent.objects.exists():
        time.sleep(0.05)
    time.sleep(2.5)  # a rebalance round: each relay holds its share of the shards
    for relay in relays:
        relay.send_signal(signal.SIGSTOP)
    return relays


def relays_time(relays: list[subprocess.Popen], topic: str) -> tuple[int, float]:
    """Thaw the relays and time them until the topic's rows are all published."""
    from django.db import connection

    from outbox.models import OutboxEvent

    pending = OutboxEvent.objects.filter(topic=topic)
    count = pending.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE outbox_outboxevent")
    started = time.perf_counter()
    for relay in relays:
        relay.send_signal(signal.SIGCONT)
    while pending.exists():
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    for relay in relays:
        relay.terminate()
        relay.wait()
    return count - pending.count(), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--compression", default=None)
    parser.add_argument("--relays", type=int, default=1, help="relay processes sharing the work")
    options = parser.parse_args()
    stack_setup("benchrelay")

    from confluent_kafka import Producer
    from django.db import connection, transaction

    from outbox.catalog import event_type_declare
    from outbox.kafka import client_config
    from outbox.relay import BATCH_COLUMNS, RelayConfig, kafka_headers
    from outbox.services import EventSpec, events_publish
    from outbox.topics import topic_declare, topics_sync

    topic = topic_declare(app="bench", aggregate="order")
    raw_topic = topic_declare(app="bench", aggregate="rawproduce")
    event_type_declare(
        name="bench.order.created",
        topic=topic,
        key_field="id",
        schema={"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
    )
    topics_sync()

    relays = relays_start(options.relays, options)
    orders = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(max(options.events // 10, 1))]
    started = time.perf_counter()
    chunk = 5000
    for first in range(0, options.events, chunk):
        specs = [
            EventSpec("bench.order.created", order_payload(*random.choice(orders)))
            for _ in range(min(chunk, options.events - first))
        ]
        with transaction.atomic():
            events_publish(specs)
    fill_s = time.perf_counter() - started
    print(f"filled {options.events} events in {fill_s:.1f}s", flush=True)
    # The very records the relay will send: key, value and the headers it derives.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {BATCH_COLUMNS} FROM outbox_outboxevent WHERE topic = %s ORDER BY id",
            [topic.name],
        )
        records = [(row[2], bytes(row[3]), kafka_headers(row)) for row in cursor.fetchall()]
    avg_bytes = sum(len(value) for _, value, _ in records) / len(records)

    config = RelayConfig.from_settings(compression=options.compression)
    drained, relay_s = relays_time(relays, topic.name)
    print(f"{options.relays} relay(s) drained {drained} in {relay_s:.2f}s", flush=True)

    producer = Producer(
        client_config(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": config.compression,
                "linger.ms": config.linger_ms,
                "queue.buffering.max.messages": 500_000,
            }
        )
    )
    producer.produce(raw_topic.name, value=b"warm-up", key="warm")
    producer.flush(10)
    delivered = 0

    def on_delivery(error: object, message: object) -> None:
        nonlocal delivered
        delivered += error is None

    started = time.perf_counter()
    for key, value, headers in records:
        while True:
            try:
                producer.produce(
                    raw_topic.name,
                    value=bytes(value),
                    key=key,
                    headers=headers,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    raw_s = time.perf_counter() - started
    print(f"raw producer sent {delivered} in {raw_s:.2f}s", flush=True)

    with connection.cursor() as cursor:  # leave an external database as it was
        cursor.execute("DELETE FROM outbox_publishedevent WHERE topic = %s", [topic.name])
    relay_rate = drained / relay_s
    raw_rate = delivered / raw_s
    print(
        json.dumps(
            {
                "events": options.events,
                "avg_event_bytes": round(avg_bytes),
                "relays": options.relays,
                "batch_size": options.batch_size or config.batch_size,
                "compression": config.compression,
                "relay_events_per_s": round(relay_rate),
                "raw_produce_events_per_s": round(raw_rate),
                "ratio": round(relay_rate / raw_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
