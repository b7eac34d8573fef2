"""`manage.py tail TOPIC`: print a topic's records as they arrive, without Kafka's scripts.

Where it starts, per partition: the end (default), the beginning (`--from-beginning`), or a
consumer group's committed offsets (`--group G`). It reads with `assign()` under a throwaway
group id of its own: it never joins a group and never commits, so tailing a group's topic
does not disturb that group.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    Message,
    TopicPartition,
)
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbox.groups import consumer_group_get
from outbox.kafka import admin_client, client_config, committed_offsets

TIMEOUT_S = 15.0
POLL_S = 0.5


def kafka_group_id(group: str) -> str:
    """A declared consumer group's Kafka group id; any other name is taken as a raw id."""
    try:
        return consumer_group_get(group).kafka_group_id
    except LookupError:
        return group


class Command(BaseCommand):
    help = (
        "Print a topic's records as they arrive (from the end, the beginning, or a group's "
        "committed offsets). Never joins a consumer group, never commits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("topic", help="the full topic name, e.g. dev.outbox.diagnostic")
        start = parser.add_mutually_exclusive_group()
        start.add_argument(
            "--from-beginning", action="store_true", help="start at each partition's beginning"
        )
        start.add_argument(
            "--group",
            help="start at the committed offsets of this consumer group (a declared group "
            "name, or a raw Kafka group id); the beginning where it committed nothing",
        )
        parser.add_argument("--max", type=int, help="exit after this many records")
        parser.add_argument(
            "--timeout", type=float, help="exit after this many seconds without a record"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        topic: str = options["topic"]
        max_records: int | None = options["max"]
        idle_timeout: float | None = options["timeout"]
        if max_records is not None and max_records < 1:
            raise CommandError("--max must be at least 1")
        if idle_timeout is not None and idle_timeout <= 0:
            raise CommandError("--timeout must be positive")
        # Ask for all topics: a metadata request naming a missing topic may auto-create it.
        metadata = admin_client().list_topics(timeout=TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise CommandError(f"topic {topic} not found")
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        consumer = Consumer(
            client_config(
                **{
                    "group.id": f"tail-{uuid.uuid4().hex}",  # never joined: assign() only
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    # An assigned offset out of range (e.g. deleted by retention):
                    "auto.offset.reset": "latest" if self._from_end(options) else "earliest",
                    "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
                }
            )
        )
        try:
            start, described = self._start_offsets(consumer, partitions, options)
            consumer.assign(start)
            self.stderr.write(f"tailing {topic} from {described}")
            count = self._tail(consumer, max_records, idle_timeout)
        finally:
            consumer.close()  # commits nothing: auto commit is off and nothing was stored
        self.stderr.write(f"{count} record(s)")

    @staticmethod
    def _from_end(options: dict[str, Any]) -> bool:
        return not options["from_beginning"] and not options["group"]

    def _start_offsets(
        self, consumer: Consumer, partitions: list[TopicPartition], options: dict[str, Any]
    ) -> tuple[list[TopicPartition], str]:
        """The partitions at their starting offsets, and a description for the operator."""
        if options["from_beginning"]:
            start = [TopicPartition(p.topic, p.partition, OFFSET_BEGINNING) for p in partitions]
            return start, "the beginning"
        if options["group"]:
            group_id = kafka_group_id(options["group"])
            committed = committed_offsets(group_id, partitions)
            start = [
                TopicPartition(
                    p.topic, p.partition, committed.get((p.topic, p.partition), OFFSET_BEGINNING)
                )
                for p in partitions
            ]
        else:
            # Concrete end offsets rather than OFFSET_END, so the start is fixed once this
            # answers and is shown. (A broker that under-reports its high watermark, like the
            # embedded Tansu, makes this start a few records early.)
            start = [
                TopicPartition(
                    p.topic, p.partition, consumer.get_watermark_offsets(p, timeout=TIMEOUT_S)[1]
                )
                for p in partitions
            ]
            group_id = ""
        offsets = ", ".join(
            f"{p.partition}:{'beginning' if p.offset == OFFSET_BEGINNING else p.offset}"
            for p in start
        )
        where = f"group {group_id} committed offsets" if group_id else "the end"
        return start, f"{where} (partition:offset {offsets})"

    def _tail(self, consumer: Consumer, max_records: int | None, idle_timeout: float | None) -> int:
        stopping = threading.Event()
        restore = _signals_trap(stopping)
        count = 0
        last_record = time.monotonic()
        try:
            while not stopping.is_set():
                message = consumer.poll(POLL_S)
                if message is None or message.error() is not None:
                    if idle_timeout is not None and time.monotonic() - last_record >= idle_timeout:
                        break
                    continue
                self._record_print(message)
                count += 1
                last_record = time.monotonic()
                if max_records is not None and count >= max_records:
                    break
        finally:
            restore()
        return count

    def _record_print(self, message: Message) -> None:
        headers = dict(message.headers() or [])
        ce_type = headers.get("ce_type")
        key = message.key()
        _, timestamp_ms = message.timestamp()
        when = (
            datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat()
            if timestamp_ms > 0
            else "-"
        )
        self.stdout.write(
            f"{message.topic()}/{message.partition()}/{message.offset()}"
            f"  key={key.decode(errors='replace') if key is not None else '-'}"
            f"  ce_type={ce_type.decode(errors='replace') if ce_type is not None else '-'}"
            f"  time={when}"
        )
        self.stdout.write(_value_text(message.value()))
        self.stdout.flush()


def _value_text(value: bytes | None) -> str:
    """The value pretty-printed if it is JSON, else its repr."""
    if value is None:
        return "None"
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return repr(value)


def _signals_trap(stopping: threading.Event) -> Callable[[], None]:
    """Make SIGINT and SIGTERM set `stopping` (main thread only); answer the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
