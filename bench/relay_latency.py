"""Relay latency: commit of the writing transaction → Kafka's acknowledgement of the event.

    python bench/relay_latency.py [--rate 1000] [--seconds 10] [--writers 8]

Writers (threads of a process of their own, like an app's workers) commit one event per
transaction through `event_publish` at a steady total rate while a relay (woken by
LISTEN/NOTIFY, as in production) sends them from this process. Both note wall-clock time: the
writer when each commit returned, the relay's delivery report when Kafka acknowledged. The
producer is warmed first. Last line, JSON:
{"rate": ..., "achieved_rate": ..., "events": ..., "p50_ms": ..., "p99_ms": ..., "max_ms": ...}
"""

import argparse
import json
import statistics
import sys
import threading
import time
from multiprocessing import Queue, get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import stack_setup


def _writer_threads(count: int, rate: float, writers: int, seq0: int, results: Queue) -> None:
    """In its own process, like an app's workers: threads commit one event per transaction
    at a steady total rate; answer {row id: commit time} and the rate achieved."""
    import django

    django.setup()
    from django.db import connection, transaction

    from outbox.services import event_publish

    committed: dict[int, float] = {}

    def write(share: int, seq: int) -> None:
        interval = writers / rate
        start = time.perf_counter()
        try:
            for i in range(share):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                with transaction.atomic():
                    event = event_publish(
                        event_type="diagnostic.ping", data={"seq": seq + i}, key=f"k{i % 64}"
                    )
                committed[event.id] = time.time()
        finally:
            connection.close()

    share = count // writers
    threads = [
        threading.Thread(target=write, args=(share, seq0 + n * share)) for n in range(writers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((committed, count / (time.perf_counter() - started)))


def write(count: int, rate: float, writers: int, seq0: int) -> tuple[dict[int, float], float]:
    results: Queue = get_context("spawn").Queue()
    process = get_context("spawn").Process(
        target=_writer_threads, args=(count, rate, writers, seq0, results)
    )
    process.start()
    committed, achieved = results.get()
    process.join()
    return committed, achieved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=8, help="concurrent writing threads")
    options = parser.parse_args()
    stack_setup("benchlatency")

    from django.db import connection

    from outbox import relay as relay_module
    from outbox.events import DIAGNOSTIC_TOPIC
    from outbox.relay import OutboxRelay
    from outbox.topics import topics_sync

    topics_sync()
    acked: dict[int, float] = {}
    delivered = relay_module._Outcome.delivered

    def delivered_and_timed(outcome, error, message) -> None:  # noqa: ANN001
        acked[outcome.row_id] = time.time()
        delivered(outcome, error, message)

    relay_module._Outcome.delivered = delivered_and_timed
    relay = OutboxRelay()
    relay.producer_warm(DIAGNOSTIC_TOPIC.name)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()

    write(options.rate // 2, options.rate, options.writers, 0)  # warm-up
    time.sleep(1.0)
    acked.clear()
    count = int(options.rate * options.seconds) // options.writers * options.writers
    committed, achieved_rate = write(count, options.rate, options.writers, 10**6)
    deadline = time.perf_counter() + 30
    while len(acked.keys() & committed.keys()) < count and time.perf_counter() < deadline:
        time.sleep(0.1)
    relay.stop()
    thread.join(10)

    latencies = sorted((acked[i] - t) * 1000 for i, t in committed.items() if i in acked)
    quantiles = statistics.quantiles(latencies, n=100)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM outbox_publishedevent WHERE topic = %s", [DIAGNOSTIC_TOPIC.name]
        )
    print(
        json.dumps(
            {
                "rate": options.rate,
                "achieved_rate": round(achieved_rate),
                "writers": options.writers,
                "events": count,
                "acknowledged": len(latencies),
                "p50_ms": round(quantiles[49], 2),
                "p90_ms": round(quantiles[89], 2),
                "p99_ms": round(quantiles[98], 2),
                "max_ms": round(latencies[-1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
