"""The consumer runtime (`manage.py consume GROUP`): apply a group's events exactly once.

- At-least-once delivery, exactly-once effect: the inbox row (group, event_id) is inserted in
  the transaction of the handler's effects; a redelivery hits its unique constraint and is
  skipped. Offsets are committed only after that transaction commits.
- Order: a partition's events are handled in order. A failing event is retried with backoff
  (OUTBOX_CONSUMER_BACKOFF_S) by seeking back and pausing only its partition, so the loop
  keeps polling and the consumer never overruns max.poll.interval.ms; after the last attempt
  it goes to the dead letters and the partition moves on.
- Poison (not JSON, envelope incomplete, unknown type or version, data failing its schema)
  goes to the dead letters at once: retrying cannot fix it.
- Throughput: a poll's events are applied in one transaction (each with its inbox row), and
  the offsets are committed after it. If a handler fails, the transaction is rolled back, the
  failure is counted against that event, and the others are applied again without it. A
  crash can never apply an event twice or skip one.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from outbox import metrics
from outbox.catalog import UnknownEventType, UnsupportedVersion, data_upcast, event_type_get
from outbox.context import event_context
from outbox.groups import ConsumerGroup, Handler
from outbox.kafka import client_config
from outbox.models import ConsumerAttempt, DeadLetter, InboxEntry

logger = logging.getLogger(__name__)

ENVELOPE_REQUIRED = ("event_id", "event_type", "version", "source", "aggregate_id", "data")


@dataclass(frozen=True)
class Event:
    """What a handler receives: the envelope, its data (upcast to a version the handler
    accepts), and where the record came from."""

    event_id: uuid.UUID
    event_type: str
    version: int
    timestamp: str
    source: str
    aggregate_type: str
    aggregate_id: str
    correlation_id: str | None
    causation_id: str | None
    user_id: str | None
    priority: str
    data: dict[str, Any]
    topic: str = ""
    partition: int = -1
    offset: int = -1


class PoisonEvent(Exception):
    """A record no retry can fix; it goes straight to the dead letters. `envelope` is what
    could be read of it (for the dead letter's identifiers), if anything."""

    def __init__(self, message: str, envelope: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.envelope = envelope or {}


def event_decode(value: bytes | None, group: ConsumerGroup) -> tuple[Event, Handler | None]:
    """Decode and check a record value; answer the event and the group's handler for it
    (None: the group does not handle this type). Raises PoisonEvent."""
    try:
        envelope = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonEvent(f"value is not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise PoisonEvent("value is not a JSON object")
    missing = [name for name in ENVELOPE_REQUIRED if name not in envelope]
    if missing:
        raise PoisonEvent(f"envelope lacks {', '.join(missing)}", envelope)
    name, version, data = envelope["event_type"], envelope["version"], envelope["data"]
    if (
        not isinstance(name, str)
        or not isinstance(version, int)
        or isinstance(version, bool)
        or not isinstance(data, dict)
    ):
        raise PoisonEvent(
            "envelope event_type must be a string, version an integer, data an object", envelope
        )
    try:
        event_id = uuid.UUID(str(envelope["event_id"]))
        event_type = event_type_get(name, version)
    except ValueError as exc:
        raise PoisonEvent(f"event_id is not a UUID: {envelope['event_id']!r}", envelope) from exc
    except UnknownEventType as exc:
        raise PoisonEvent(str(exc), envelope) from exc
    errors = sorted(event_type.validator.iter_errors(data), key=lambda e: e.path)
    if errors:
        path = ".".join(str(p) for p in errors[0].absolute_path) or "data"
        raise PoisonEvent(
            f"data does not match {name} v{version}: {path}: {errors[0].message}", envelope
        )
    handler = group.handlers.get(name)
    if handler is not None:
        try:
            version, data = data_upcast(name, version, data, handler.versions)
        except UnsupportedVersion as exc:
            raise PoisonEvent(str(exc), envelope) from exc
    event = Event(
        event_id=event_id,
        event_type=name,
        version=version,
        timestamp=str(envelope.get("timestamp", "")),
        source=str(envelope["source"]),
        aggregate_type=str(envelope.get("aggregate_type", "")),
        aggregate_id=str(envelope["aggregate_id"]),
        correlation_id=envelope.get("correlation_id"),
        causation_id=envelope.get("causation_id"),
        user_id=envelope.get("user_id"),
        priority=str(envelope.get("priority", "normal")),
        data=data,
    )
    return event, handler


def inbox_claim(group: ConsumerGroup, events: list[Event]) -> set[uuid.UUID]:
    """Insert the inbox rows of `events` in the caller's transaction, in one statement;
    answer the ids that were new (the others were applied before: duplicates)."""
    if not events:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {InboxEntry._meta.db_table} ("group", event_id, event_type, processed_at)'  # noqa: S608
            " SELECT %s, e.id, e.type, now() FROM unnest(%s::uuid[], %s::text[]) AS e(id, type)"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            [group.name, [e.event_id for e in events], [e.event_type for e in events]],
        )
        return {row[0] for row in cursor.fetchall()}


def event_handler_run(event: Event, handler: Handler) -> None:
    """Run the handler with the event as the cause of whatever it writes."""
    with event_context(causation_id=event.event_id, correlation_id=event.correlation_id):
        handler.func(event)


def event_apply(group: ConsumerGroup, event: Event, handler: Handler) -> bool:
    """Apply one event inside the caller's transaction: inbox row, then the handler.
    Answers False for a duplicate (already applied; nothing done)."""
    if not inbox_claim(group, [event]):
        return False
    event_handler_run(event, handler)
    return True


@dataclass(frozen=True)
class ConsumerConfig:
    batch_size: int
    max_attempts: int
    backoff_s: tuple[float, ...]
    poll_timeout_s: float = 0.5

    @classmethod
    def from_settings(cls, **overrides: Any) -> ConsumerConfig:
        values: dict[str, Any] = {
            "batch_size": settings.OUTBOX_CONSUMER_BATCH_SIZE,
            "max_attempts": settings.OUTBOX_CONSUMER_MAX_ATTEMPTS,
            "backoff_s": tuple(settings.OUTBOX_CONSUMER_BACKOFF_S),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def backoff(self, attempt: int) -> float:
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]


@dataclass
class _Work:
    """A record of a batch: an event to apply, or poison to dead-letter, or a type the group
    ignores. All three advance the partition only when the batch gets to them, in order."""

    message: Message
    event: Event | None = None
    handler: Handler | None = None
    poison: PoisonEvent | None = None

    @property
    def partition(self) -> tuple[str, int]:
        return (self.message.topic(), self.message.partition())


class GroupConsumer:
    """One process of a consumer group. `run()` until `stop()`."""

    def __init__(self, group: ConsumerGroup, config: ConsumerConfig | None = None) -> None:
        self.group = group
        self.config = config or ConsumerConfig.from_settings()
        self._stopping = False
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._paused: dict[tuple[str, int], float] = {}  # partition -> resume at (monotonic)
        self._next_lag = 0.0
        self._last_activity = 0.0
        self._retried: set[uuid.UUID] = set()  # events that failed and may succeed later

    def stop(self) -> None:
        self._stopping = True

    # --- loop ----------------------------------------------------------------------------

    def run(self, *, max_messages: int | None = None, until_idle_s: float | None = None) -> int:
        """Consume until stopped (or `max_messages` records, or `until_idle_s` without any);
        answer how many records were handled."""
        # Clients are created here, in the running process, never before a fork.
        self._consumer = Consumer(
            client_config(
                **{
                    "group.id": self.group.kafka_group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
                    "heartbeat.interval.ms": max(settings.KAFKA_SESSION_TIMEOUT_MS // 3, 100),
                    "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
                    "max.poll.interval.ms": 300_000,
                }
            )
        )
        self._consumer.subscribe(
            self.group.topics, on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        handled = 0
        self._last_activity = time.monotonic()
        try:
            while not self._stopping:
                self._partitions_resume()
                messages = self._poll()
                records = [m for m in messages if m.error() is None]
                for message in messages:
                    if message.error() is not None:
                        self._consumer_error(message.error())
                if records:
                    handled += self._batch_handle(records)
                    self._last_activity = time.monotonic()
                elif (
                    until_idle_s is not None
                    and self._consumer.assignment()  # idle counts once partitions are ours
                    and time.monotonic() - self._last_activity > until_idle_s
                ):
                    break
                if max_messages is not None and handled >= max_messages:
                    break
                self._lag_update()
        finally:
            self._close()
        return handled

    def _poll(self) -> list[Message]:
        """Up to a batch of records, as soon as there is one. `consume(n, timeout)` alone
        waits for n records or the whole timeout, which would hold a lone event for up to
        poll_timeout_s; so wait for the first, then take what else is already fetched."""
        assert self._consumer is not None
        messages = self._consumer.consume(num_messages=1, timeout=self.config.poll_timeout_s)
        if messages and self.config.batch_size > 1:
            messages += self._consumer.consume(num_messages=self.config.batch_size - 1, timeout=0)
        return messages

    def _consumer_error(self, error: KafkaError) -> None:
        if error.code() != KafkaError._PARTITION_EOF:
            logger.warning("consumer error: %s", error)

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()  # commits nothing (auto commit is off); leaves the group
            self._consumer = None
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
        connection.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._last_activity = time.monotonic()
        logger.info("assigned %s", [f"{p.topic}/{p.partition}" for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Offsets of handled events were committed after each batch; nothing is pending
        # here. Forget retry pauses: the next owner starts from the committed offset.
        for partition in partitions:
            self._paused.pop((partition.topic, partition.partition), None)
        logger.info("revoked %s", [f"{p.topic}/{p.partition}" for p in partitions])

    def _partitions_resume(self) -> None:
        now = time.monotonic()
        due = [tp for tp, at in self._paused.items() if at <= now]
        if due:
            assert self._consumer is not None
            self._consumer.resume([TopicPartition(topic, p) for topic, p in due])
            for tp in due:
                del self._paused[tp]

    # --- one batch -----------------------------------------------------------------------

    def _batch_handle(self, messages: list[Message]) -> int:
        """Handle a poll's records; commit the offsets of those done. Answer how many."""
        done: dict[tuple[str, int], int] = {}  # partition -> next offset to commit
        work: list[_Work] = []
        for message in messages:
            if (message.topic(), message.partition()) in self._paused:
                continue  # fetched before its partition was paused for a retry
            try:
                event, handler = event_decode(message.value(), self.group)
            except PoisonEvent as exc:
                work.append(_Work(message, poison=exc))
                continue
            work.append(_Work(message, _located(event, message), handler))
        if work:
            try:
                self._apply(work, done)
            except DatabaseError as exc:
                self._batch_rewind(messages, exc)
                return 0
        if done:
            assert self._consumer is not None
            self._consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in done.items()],
                asynchronous=False,
            )
        return len(messages)

    def _batch_rewind(self, messages: list[Message], exc: DatabaseError) -> None:
        """The database failed (not a handler): nothing of the batch was applied or
        committed. Read it again from its first record after a pause, on a new connection."""
        logger.error("database error, the batch will be read again: %s", exc)
        connection.close()
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            tp = (message.topic(), message.partition())
            first[tp] = min(first.get(tp, message.offset()), message.offset())
        assert self._consumer is not None
        for (topic, partition), offset in first.items():
            if (topic, partition) not in self._paused:
                self._consumer.seek(TopicPartition(topic, partition, offset))
        time.sleep(1.0)

    def _apply(self, work: list[_Work], done: dict[tuple[str, int], int]) -> None:
        """Apply the events in one transaction. When a handler fails, roll back, count the
        failure against that event, and apply the others again without it (and without the
        later events of its partition, unless it was dead-lettered)."""
        pending = work
        while pending:
            failure: tuple[int, Exception] | None = None
            started = time.perf_counter()
            try:
                with transaction.atomic(durable=True):
                    claimed = inbox_claim(
                        self.group, [item.event for item in pending if item.handler is not None]
                    )
                    outcomes = []
                    for index, item in enumerate(pending):
                        try:
                            outcomes.append(self._event_apply(item, claimed))
                        except Exception as exc:
                            failure = (index, exc)
                            raise
            except Exception:
                if failure is None:
                    raise  # the database itself failed: the caller reads the batch again
                pending = self._failure_drop(pending, *failure, done)
                continue
            applied_count = max(sum(1 for item in pending if item.handler), 1)
            per_event = (time.perf_counter() - started) / applied_count
            for item, applied in zip(pending, outcomes, strict=True):
                if item.poison is not None:
                    self._dead_letter(item.message, item.poison, None, attempts=1)
                elif item.handler is None:
                    assert item.event is not None
                    metrics.events_consumed_total.labels(
                        self.group.name, item.event.event_type, "ignored"
                    ).inc()
                else:
                    self._applied(item, applied, per_event)
                done[item.partition] = item.message.offset() + 1
            return

    def _event_apply(self, item: _Work, claimed: set[uuid.UUID]) -> bool:
        """Run the handler if this batch claimed the event's inbox row (once: a duplicate
        within the batch finds its id gone). Answer whether it ran."""
        if item.event is None or item.handler is None:
            return False  # poison or ignored: nothing to apply in the transaction
        if item.event.event_id not in claimed:
            return False  # applied before: a duplicate
        claimed.discard(item.event.event_id)
        event_handler_run(item.event, item.handler)
        if item.event.event_id in self._retried:  # it had failed before: forget its attempts
            ConsumerAttempt.objects.filter(
                group=self.group.name, event_id=item.event.event_id
            ).delete()
            self._retried.discard(item.event.event_id)
        return True

    def _failure_drop(
        self, pending: list[_Work], index: int, exc: Exception, done: dict[tuple[str, int], int]
    ) -> list[_Work]:
        failed = pending[index]
        tp = failed.partition
        dead_lettered = self._failure_handle(failed, exc)
        if dead_lettered:
            done[tp] = failed.message.offset() + 1
            return pending[:index] + pending[index + 1 :]
        # Retried later: the partition waits, its later events with it (order).
        return [
            item
            for position, item in enumerate(pending)
            if position < index or item.partition != tp
        ]

    def _applied(self, item: _Work, applied: bool, seconds: float) -> None:
        event_type = item.event.event_type
        outcome = "processed" if applied else "duplicate"
        metrics.events_consumed_total.labels(self.group.name, event_type, outcome).inc()
        if applied:
            metrics.event_processing_duration_seconds.labels(self.group.name, event_type).observe(
                seconds
            )
        else:
            logger.info("duplicate %s %s skipped", event_type, item.event.event_id)

    def _failure_handle(self, item: _Work, exc: Exception) -> bool:
        """Count the failure; retry later (answer False) or dead-letter it (answer True)."""
        event = item.event
        assert event is not None  # only events with a handler can fail
        metrics.event_processing_errors_total.labels(self.group.name, event.event_type).inc()
        now = datetime.now(UTC)
        attempt, _ = ConsumerAttempt.objects.get_or_create(
            group=self.group.name,
            event_id=event.event_id,
            defaults={
                "event_type": event.event_type,
                "first_attempt_at": now,
                "last_attempt_at": now,
            },
        )
        ConsumerAttempt.objects.filter(pk=attempt.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=now, last_error=_error_text(exc)
        )
        attempt.refresh_from_db()
        logger.warning(
            "%s %s failed (attempt %s of %s): %s",
            event.event_type, event.event_id, attempt.attempts, self.config.max_attempts, exc,
        )  # fmt: skip
        if attempt.attempts >= self.config.max_attempts:
            self._dead_letter(item.message, exc, event, attempt.attempts, attempt.first_attempt_at)
            attempt.delete()
            self._retried.discard(event.event_id)
            return True
        self._retried.add(event.event_id)
        delay = self.config.backoff(attempt.attempts)
        metrics.events_consumed_total.labels(self.group.name, event.event_type, "retried").inc()
        message = item.message
        assert self._consumer is not None
        partition = TopicPartition(message.topic(), message.partition(), message.offset())
        self._consumer.seek(partition)
        self._consumer.pause([partition])
        self._paused[(message.topic(), message.partition())] = time.monotonic() + delay
        return False

    # --- dead letters --------------------------------------------------------------------

    def _dead_letter(
        self,
        message: Message,
        exc: Exception,
        event: Event | None,
        attempts: int,
        first_attempt_at: datetime | None = None,
    ) -> None:
        """Send the record to the group's DLQ topic, with the error in headers, and keep a
        DeadLetter row for staff. A record dead-lettered before (a redelivery after a crash)
        is neither sent again nor reopened once staff reviewed it."""
        existing = DeadLetter.objects.filter(
            group=self.group.name,
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
        ).first()
        if existing is not None:
            logger.info("record %s/%s/%s was dead-lettered before", message.topic(),
                        message.partition(), message.offset())  # fmt: skip
            return
        now = datetime.now(UTC)
        first = first_attempt_at or now
        identity = _identity(event, exc)
        error_headers = {
            "dlq_group": self.group.name,
            "dlq_error_class": type(exc).__name__,
            "dlq_error_message": str(exc)[:2000],
            "dlq_stack_trace": "".join(traceback.format_exception(exc))[-8000:],
            "dlq_attempts": str(attempts),
            "dlq_first_attempt_at": first.isoformat(),
            "dlq_last_attempt_at": now.isoformat(),
            "dlq_original_topic": message.topic(),
            "dlq_original_partition": str(message.partition()),
            "dlq_original_offset": str(message.offset()),
        }
        original_headers = message.headers() or []
        producer = self._producer_get()
        producer.produce(
            self.group.dlq_topic.name,
            value=message.value(),
            key=message.key(),
            headers=[*original_headers, *error_headers.items()],
        )
        producer.flush(30)
        DeadLetter.objects.create(
            group=self.group.name,
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            **identity,
            key=(message.key() or b"").decode(errors="replace"),
            value=message.value() or b"",
            headers=[
                [name, (value or b"").decode(errors="replace")] for name, value in original_headers
            ],
            error_class=type(exc).__name__,
            error_message=str(exc),
            traceback=error_headers["dlq_stack_trace"],
            attempts=attempts,
            first_attempt_at=first,
            last_attempt_at=now,
        )
        event_type = identity["event_type"] or "undecodable"
        metrics.events_dead_lettered_total.labels(self.group.name).inc()
        metrics.events_consumed_total.labels(self.group.name, event_type, "dead_lettered").inc()
        logger.error(
            "dead-lettered %s at %s/%s/%s: %s",
            event_type, message.topic(), message.partition(), message.offset(), exc,
        )  # fmt: skip

    def _producer_get(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(client_config(**{"enable.idempotence": True, "acks": "all"}))
        return self._producer

    # --- lag -----------------------------------------------------------------------------

    def _lag_update(self) -> None:
        now = time.monotonic()
        if now < self._next_lag:
            return
        self._next_lag = now + 10.0
        assert self._consumer is not None
        for partition in self._consumer.assignment():
            _, high = self._consumer.get_watermark_offsets(partition, cached=True)
            position = self._consumer.position([partition])[0].offset
            if high >= 0 and position >= 0:
                metrics.kafka_consumer_lag.labels(
                    self.group.name, partition.topic, partition.partition
                ).set(max(high - position, 0))


def _identity(event: Event | None, exc: Exception) -> dict[str, Any]:
    """The dead letter's identifiers: from the event, or what a poison envelope showed."""
    if event is not None:
        return {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "aggregate_id": event.aggregate_id,
        }
    envelope = exc.envelope if isinstance(exc, PoisonEvent) else {}
    try:
        event_id = uuid.UUID(str(envelope.get("event_id")))
    except ValueError:
        event_id = None
    return {
        "event_id": event_id,
        "event_type": str(envelope.get("event_type") or "")[:100],
        "aggregate_id": str(envelope.get("aggregate_id") or "")[:200],
    }


def _located(event: Event, message: Message) -> Event:
    return Event(
        **{**event.__dict__, "topic": message.topic(), "partition": message.partition(),
           "offset": message.offset()}
    )  # fmt: skip


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


HandlerFunc = Callable[[Event], None]
