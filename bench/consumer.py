"""Consumer throughput: one consumer process applying N events, against a raw consumer.

    python bench/consumer.py [--events 50000] [--batch-size 500]

Puts N `diagnostic.ping` events on the canary topic, then times the `diagnostics` group
(`GroupConsumer`, as `manage.py consume diagnostics` runs it) applying them: each event is an
inbox row plus one `DiagnosticReceipt` row, exactly once. Then times a raw confluent-kafka
consumer reading the same records. The clock starts at each one's first record, so the group
join is not counted. Last line, JSON:
{"apply_events_per_s": ..., "raw_consume_events_per_s": ..., "ratio": ...}
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import stack_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=None)
    options = parser.parse_args()
    stack_setup("benchconsumer")

    from confluent_kafka import Consumer, Producer
    from django.conf import settings
    from django.db import connection

    from outbox.consumer import ConsumerConfig, GroupConsumer
    from outbox.events import DIAGNOSTIC_TOPIC
    from outbox.groups import consumer_group_get
    from outbox.kafka import client_config
    from outbox.models import DiagnosticReceipt
    from outbox.topics import topics_sync

    topics_sync()
    producer = Producer(client_config(**{"linger.ms": 5, "compression.type": "lz4"}))
    for seq in range(options.events):
        envelope = {
            "event_id": str(uuid.uuid4()), "event_type": "diagnostic.ping", "version": 1,
            "timestamp": "2026-01-01T00:00:00Z", "source": "outbox",
            "aggregate_type": "diagnostic", "aggregate_id": f"k{seq % 64}",
            "correlation_id": str(uuid.uuid4()), "causation_id": None, "user_id": None,
            "priority": "low", "data": {"seq": seq, "note": "bench " * 20},
        }  # fmt: skip
        while True:
            try:
                producer.produce(
                    DIAGNOSTIC_TOPIC.name, json.dumps(envelope).encode(), envelope["aggregate_id"]
                )
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    print(f"put {options.events} events on {DIAGNOSTIC_TOPIC.name}", flush=True)

    class TimedConsumer(GroupConsumer):
        first_record_at: float | None = None

        def _batch_handle(self, messages: list) -> int:
            if self.first_record_at is None:
                self.first_record_at = time.perf_counter()
            return super()._batch_handle(messages)

    group = consumer_group_get("diagnostics")
    consumer = TimedConsumer(group, ConsumerConfig.from_settings(batch_size=options.batch_size))
    handled = consumer.run(max_messages=options.events)
    apply_s = time.perf_counter() - consumer.first_record_at
    applied = DiagnosticReceipt.objects.count()
    print(f"applied {applied} of {handled} handled in {apply_s:.2f}s", flush=True)

    raw = Consumer(
        client_config(
            **{
                "group.id": f"bench-raw-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
                "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
            }
        )
    )
    raw.subscribe([DIAGNOSTIC_TOPIC.name])
    read, started = 0, None
    while read < options.events:
        for message in raw.consume(num_messages=500, timeout=1.0):
            if message.error() is None:
                started = started or time.perf_counter()
                json.loads(message.value())
                read += 1
    raw_s = time.perf_counter() - started
    raw.close()

    with connection.cursor() as cursor:  # leave an external database as it was
        cursor.execute("DELETE FROM outbox_diagnosticreceipt")
        cursor.execute("DELETE FROM outbox_inboxentry WHERE \"group\" = 'diagnostics'")
    apply_rate, raw_rate = applied / apply_s, read / raw_s
    print(
        json.dumps(
            {
                "events": options.events,
                "batch_size": consumer.config.batch_size,
                "applied": applied,
                "apply_events_per_s": round(apply_rate),
                "raw_consume_events_per_s": round(raw_rate),
                "ratio": round(apply_rate / raw_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
