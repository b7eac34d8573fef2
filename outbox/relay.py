"""The outbox relay (`manage.py relay`): committed outbox rows to Kafka, in order per key.

How order holds with several relays and crashes (outbox/README.md has the long form):

- Writers take a transaction-scoped advisory lock per partition key before inserting the
  row (`events_publish`), so rows of one key get ids in commit order: a lower id of the same
  key can never become visible after a higher one.
- Rows are spread over OUTBOX_SHARDS shards by key. A relay owns shards through
  session-level advisory locks on its one database connection; only the owner reads a
  shard's rows, in id order. Relays share shards fairly (counted in pg_stat_activity) and
  a dead relay's locks vanish with its session, so a standby takes its shards over.
- A batch is claimed with `FOR UPDATE SKIP LOCKED`, produced with the idempotent producer,
  flushed, and marked published only for the rows whose delivery reports succeeded, in the
  same transaction. A crash before that commit re-sends the batch: duplicates, never loss
  (consumers dedupe by event_id), and the first copies are in order.
- A row the broker refuses is retried with backoff and finally parked; while a row waits
  or is parked, later rows of its key wait too (order), other keys flow.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings
from django.db import connections

from outbox import metrics
from outbox.kafka import client_config
from outbox.models import OutboxEvent, PublishedEvent
from outbox.services import NOTIFY_CHANNEL, OUTBOX_SHARDS, SHARD_LOCK_NAMESPACE

logger = logging.getLogger(__name__)

APPLICATION_NAME = "outbox-relay"
REBALANCE_INTERVAL_S = 2.0
GAUGES_INTERVAL_S = 5.0
TABLE = OutboxEvent._meta.db_table
PUBLISHED_TABLE = PublishedEvent._meta.db_table

# Errors that say nothing about the row: the broker or the network is unwell. Rows that meet
# them stay pending, untouched, and are sent again; they never count towards parking.
TRANSIENT_ERRORS = {
    KafkaError._MSG_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._PURGE_QUEUE,
    KafkaError._PURGE_INFLIGHT,
    KafkaError._FATAL,
    KafkaError._QUEUE_FULL,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.NETWORK_EXCEPTION,
}

_HELD_SQL = f"""
    SELECT topic, key, min(id), min(next_attempt_at) FILTER (WHERE status = 'pending')
    FROM {TABLE}
    WHERE shard = ANY(%(shards)s)
      AND (status = 'parked' OR (status = 'pending' AND next_attempt_at > now()))
    GROUP BY topic, key
"""  # noqa: S608 - table name from the model
# What a batch reads of each row: enough to produce it (kafka_headers) and account for it.
BATCH_COLUMNS = """
    id, topic, key, value, event_type, extract(epoch FROM created_at)::float8,
    event_id::text, source, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    correlation_id, traceparent, tracestate
"""
_BATCH_SQL = f"""
    SELECT {BATCH_COLUMNS}
    FROM {TABLE} AS o
    WHERE status = 'pending' AND shard = ANY(%(shards)s)
      AND (next_attempt_at IS NULL OR next_attempt_at <= now())
      {{held}}
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
"""  # noqa: S608
_HELD_CLAUSE = """
      AND NOT EXISTS (
        SELECT 1 FROM unnest(%(held_topics)s::text[], %(held_keys)s::text[], %(held_ids)s::bigint[])
          AS h(topic, key, id)
        WHERE h.topic = o.topic AND h.key = o.key AND o.id >= h.id)
"""
_MARK_PUBLISHED_SQL = f"""
    WITH sent AS (
        DELETE FROM {TABLE} AS o
        USING unnest(%s::bigint[], %s::int[], %s::bigint[]) AS d(id, partition, offset_)
        WHERE o.id = d.id
        RETURNING o.event_id, o.event_type, o.topic, o.key, o.created_at, d.partition, d.offset_
    )
    INSERT INTO {PUBLISHED_TABLE}
        (event_id, event_type, topic, key, created_at, kafka_partition, kafka_offset, published_at)
    SELECT event_id, event_type, topic, key, created_at, partition, offset_, now() FROM sent
"""  # noqa: S608
_MARK_FAILED_SQL = f"""
    UPDATE {TABLE} AS o
    SET attempts = o.attempts + 1,
        last_error = d.error,
        next_attempt_at = clock_timestamp() + make_interval(
            secs => least(%(base)s * power(2, o.attempts), %(cap)s)),
        status = CASE WHEN o.attempts + 1 >= %(max)s THEN 'parked' ELSE 'pending' END
    FROM unnest(%(ids)s::bigint[], %(errors)s::text[]) AS d(id, error)
    WHERE o.id = d.id
    RETURNING o.event_type, o.status
"""  # noqa: S608
_GAUGES_SQL = f"""
    SELECT count(*) FILTER (WHERE status = 'pending'),
           count(*) FILTER (WHERE status = 'parked'),
           extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))
    FROM {TABLE}
"""  # noqa: S608


@dataclass(frozen=True)
class RelayConfig:
    batch_size: int
    poll_interval_s: float
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    delivery_timeout_ms: int
    compression: str
    linger_ms: int

    @classmethod
    def from_settings(cls, **overrides: Any) -> RelayConfig:
        values = {
            "batch_size": settings.OUTBOX_RELAY_BATCH_SIZE,
            "poll_interval_s": settings.OUTBOX_RELAY_POLL_INTERVAL_S,
            "max_attempts": settings.OUTBOX_MAX_ATTEMPTS,
            "backoff_s": settings.OUTBOX_RETRY_BACKOFF_S,
            "backoff_max_s": settings.OUTBOX_RETRY_BACKOFF_MAX_S,
            "delivery_timeout_ms": settings.OUTBOX_DELIVERY_TIMEOUT_MS,
            "compression": settings.OUTBOX_COMPRESSION,
            "linger_ms": settings.OUTBOX_LINGER_MS,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


class _Outcome:
    """One row's fate in a batch, filled in by its delivery report."""

    __slots__ = ("created_at", "error", "event_type", "offset", "partition", "row_id", "topic")

    def __init__(self, row_id: int, event_type: str, topic: str, created_at: float) -> None:
        self.row_id = row_id
        self.event_type = event_type
        self.topic = topic
        self.created_at = created_at  # epoch seconds
        self.partition: int | None = None
        self.offset: int | None = None
        self.error: KafkaError | None = None

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.partition, self.offset = message.partition(), message.offset()
        else:
            self.error = error


class OutboxRelay:
    """One relay process. `run()` until `stop()`; several may run at once."""

    def __init__(self, config: RelayConfig | None = None) -> None:
        self.config = config or RelayConfig.from_settings()
        self.owned: set[int] = set()
        self._stopping = False
        self._producer: Producer | None = None
        self._producer_fatal = False
        self._conn: psycopg.Connection | None = None
        self._failed_batches = 0
        self._next_gauges = 0.0

    # --- lifecycle -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the relay to finish its batch, flush and return from `run()`."""
        self._stopping = True

    def run(self) -> None:
        reconnect_delay = 0.5
        while not self._stopping:
            try:
                self._connect()
                reconnect_delay = 0.5
                self._run_connected()
            except psycopg.Error as exc:
                logger.warning("relay database error, reconnecting: %s", exc)
                self._disconnect()
                self._sleep(reconnect_delay)
                reconnect_delay = min(reconnect_delay * 2, 10.0)
        self._disconnect()
        if self._producer is not None:
            self._producer.flush(5)
        logger.info("relay stopped")

    def drain(self) -> int:
        """Send until nothing is sendable (empty, or only held rows left); answer how many
        rows were sent or attempted. For scripts, benchmarks and tests."""
        self._connect()
        try:
            self._shards_rebalance()
            total = 0
            while (sent := self._batch_relay()[0]) > 0:
                total += sent
                if self._producer_fatal:
                    self._producer_recreate()
            return total
        finally:
            self._disconnect()

    def producer_warm(self, topic: str) -> None:
        """Create the producer and wait out its first acknowledgement (producer-id set-up)."""
        producer = self._producer_get()
        producer.produce(topic, b"warm-up", "warm-up")
        producer.flush(30)

    def _connect(self) -> None:
        params = connections["default"].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params["application_name"] = APPLICATION_NAME
        self._conn = psycopg.connect(**params, autocommit=True)
        # Losing a bookkeeping commit in a database crash only means sending those rows
        # again (at-least-once), so the relay does not wait for its commits to reach disk.
        self._conn.execute("SET synchronous_commit = off")
        # A queue table's statistics are stale by nature: analysed empty, the planner would
        # sort every pending row for each batch (70 ms at 30,000 rows) instead of reading the
        # pending index in id order (2 ms). Every relay query is built for index order.
        self._conn.execute("SET enable_sort = off")
        self._conn.execute("SET enable_bitmapscan = off")
        self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self.owned = set()
        logger.info("relay connected")

    def _disconnect(self) -> None:
        self.owned = set()
        metrics.outbox_relay_shards_owned.set(0)
        if self._conn is not None:
            try:
                self._conn.close()  # ends the session: its shard locks go with it
            except psycopg.Error:
                pass
            self._conn = None

    def _run_connected(self) -> None:
        next_rebalance = 0.0
        while not self._stopping:
            now = time.monotonic()
            if now >= next_rebalance:
                self._shards_rebalance()
                next_rebalance = now + REBALANCE_INTERVAL_S
            if now >= self._next_gauges:
                self._gauges_update()
                self._next_gauges = now + GAUGES_INTERVAL_S
            sent, next_due_s = self._batch_relay() if self.owned else (0, None)
            if self._producer_fatal:
                self._producer_recreate()
            if self._failed_batches:
                self._sleep(min(0.5 * 2 ** (self._failed_batches - 1), 15.0))
                continue
            if sent >= self.config.batch_size:
                continue  # more is waiting
            timeout = min(self.config.poll_interval_s, next_rebalance - time.monotonic())
            if next_due_s is not None:
                timeout = min(timeout, next_due_s)
            self._wait_for_notify(max(timeout, 0.0))

    def _wait_for_notify(self, timeout: float) -> None:
        assert self._conn is not None
        if timeout <= 0:
            return
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            break
        # Several commits may have notified; one batch serves them all.
        for _ in self._conn.notifies(timeout=0.001):
            pass

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, deadline - time.monotonic()))

    # --- shards --------------------------------------------------------------------------

    def _shards_rebalance(self) -> None:
        """Hold a fair share of the shards: release extras, take free ones."""
        assert self._conn is not None
        (relays,) = self._conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        ).fetchone()
        fair = math.ceil(OUTBOX_SHARDS / max(relays, 1))
        for shard in sorted(self.owned, reverse=True)[: max(0, len(self.owned) - fair)]:
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", [SHARD_LOCK_NAMESPACE, shard])
            self.owned.discard(shard)
        free = [shard for shard in range(OUTBOX_SHARDS) if shard not in self.owned]
        random.shuffle(free)
        for shard in free:
            if len(self.owned) >= fair:
                break
            (locked,) = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [SHARD_LOCK_NAMESPACE, shard]
            ).fetchone()
            if locked:
                self.owned.add(shard)
        metrics.outbox_relay_shards_owned.set(len(self.owned))

    # --- one batch -----------------------------------------------------------------------

    def _batch_relay(self) -> tuple[int, float | None]:
        """Send one batch; answer how many rows it held and when the next retry is due."""
        assert self._conn is not None
        shards = sorted(self.owned)
        with self._conn.transaction():
            held = self._conn.execute(_HELD_SQL, {"shards": shards}).fetchall()
            params: dict[str, Any] = {"shards": shards, "limit": self.config.batch_size}
            if held:
                params |= {
                    "held_topics": [row[0] for row in held],
                    "held_keys": [row[1] for row in held],
                    "held_ids": [row[2] for row in held],
                }
            sql = _BATCH_SQL.format(held=_HELD_CLAUSE if held else "")
            rows = self._conn.execute(sql, params).fetchall()
            outcomes = self._produce(rows) if rows else []
            failed = self._outcomes_record(outcomes)
        self._failed_batches = self._failed_batches + 1 if failed else 0
        due = [row[3] for row in held if row[3] is not None]
        next_due_s = (min(due) - datetime.now(UTC)).total_seconds() if due else None
        return len(rows), next_due_s

    def _produce(self, rows: list[tuple]) -> list[_Outcome]:
        """Produce the rows in id order and wait for their delivery reports."""
        producer = self._producer_get()
        outcomes: list[_Outcome] = []
        failed_keys: set[tuple[str, str]] = set()
        for row in rows:
            row_id, topic, key, value, event_type, created_at = row[:6]
            if failed_keys and (topic, key) in failed_keys:
                continue  # an earlier row of this key failed: keep the key's order
            outcome = _Outcome(row_id, event_type, topic, created_at)
            outcomes.append(outcome)
            try:
                self._produce_one(
                    producer,
                    topic,
                    key,
                    value,
                    headers=kafka_headers(row),
                    callback=outcome.delivered,
                )
            except KafkaException as exc:
                outcome.error = exc.args[0]
                failed_keys.add((topic, key))
                if outcome.error.fatal():
                    self._producer_fatal = True
                    break
        timeout_s = self.config.delivery_timeout_ms / 1000 + 5
        if producer.flush(timeout_s) > 0:
            # Not acknowledged in time: drop them from the producer; they stay pending.
            producer.purge()
            producer.flush(1)
        return outcomes

    @staticmethod
    def _produce_one(
        producer: Producer, topic: str, key: str, value: bytes, *, headers: list, callback: Any
    ) -> None:
        while True:
            try:
                producer.produce(topic, value, key, headers=headers, on_delivery=callback)
                return
            except BufferError:  # local queue full: let deliveries drain it
                producer.poll(0.05)

    def _outcomes_record(self, outcomes: list[_Outcome]) -> bool:
        """Record delivered rows as published and count refused ones; answer whether any
        row went unacknowledged (the broker or network is unwell)."""
        assert self._conn is not None
        delivered: list[_Outcome] = []
        refused: list[_Outcome] = []
        unacknowledged: list[_Outcome] = []
        for outcome in outcomes:
            if outcome.error is None and outcome.offset is not None:
                delivered.append(outcome)
            elif outcome.error is not None and not _transient(outcome.error):
                refused.append(outcome)
            else:
                unacknowledged.append(outcome)
        if delivered:
            self._conn.execute(
                _MARK_PUBLISHED_SQL,
                [
                    [o.row_id for o in delivered],
                    [o.partition for o in delivered],
                    [o.offset for o in delivered],
                ],
            )
        parked: list[str] = []
        if refused:
            results = self._conn.execute(
                _MARK_FAILED_SQL,
                {
                    "ids": [o.row_id for o in refused],
                    "errors": [_error_text(o.error) for o in refused],
                    "base": self.config.backoff_s,
                    "cap": self.config.backoff_max_s,
                    "max": self.config.max_attempts,
                },
            ).fetchall()
            parked = [event_type for event_type, status in results if status == "parked"]
        _metrics_record(delivered, [*refused, *unacknowledged], parked)
        if refused or unacknowledged:
            logger.warning(
                "relay batch: %s delivered, %s refused, %s not acknowledged, %s parked",
                len(delivered),
                len(refused),
                len(unacknowledged),
                len(parked),
            )
        return bool(unacknowledged)

    # --- producer ------------------------------------------------------------------------

    def _producer_get(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                client_config(
                    **{
                        "enable.idempotence": True,
                        "acks": "all",
                        "compression.type": self.config.compression,
                        "linger.ms": self.config.linger_ms,
                        "message.timeout.ms": self.config.delivery_timeout_ms,
                        # Our envelopes may be 1 MiB plus headers; librdkafka's default is 1e6.
                        "message.max.bytes": 1_200_000,
                        "queue.buffering.max.messages": 500_000,
                        "error_cb": self._producer_error,
                    }
                )
            )
        return self._producer

    def _producer_error(self, error: KafkaError) -> None:
        if error.fatal():
            logger.error("fatal producer error, recreating the producer: %s", error)
            self._producer_fatal = True
        else:
            logger.warning("producer error: %s", error)

    def _producer_recreate(self) -> None:
        """A fatal idempotent-producer error would wedge it for good: start a new one."""
        if self._producer is not None:
            self._producer.purge()
            self._producer.flush(1)
        self._producer = None
        self._producer_fatal = False

    # --- gauges --------------------------------------------------------------------------

    def _gauges_update(self) -> None:
        assert self._conn is not None
        pending, parked, oldest = self._conn.execute(_GAUGES_SQL).fetchone()
        metrics.outbox_pending_events.set(pending)
        metrics.outbox_parked_events.set(parked)
        metrics.outbox_oldest_pending_age_seconds.set(float(oldest or 0))
        if self._producer is not None:
            metrics.kafka_producer_queue_size.set(len(self._producer))


def kafka_headers(row: tuple) -> list[tuple[str, str]]:
    """CloudEvents binary-mode headers (plus correlation and W3C trace context), so tools
    can route on headers without parsing the value. `row` is a `_BATCH_SQL` row."""
    event_id, source, time_, correlation_id, traceparent, tracestate = row[6:]
    event_type = row[4]
    headers = [
        ("ce_specversion", "1.0"),
        ("ce_id", event_id),
        ("ce_type", event_type),
        ("ce_source", source),
        ("ce_time", time_),
        ("content-type", "application/json"),
        ("correlation_id", correlation_id),
    ]
    if traceparent:
        headers.append(("traceparent", traceparent))
        if tracestate:
            headers.append(("tracestate", tracestate))
    return headers


def _metrics_record(delivered: list[_Outcome], failed: list[_Outcome], parked: list[str]) -> None:
    """Per batch, not per event: counters are incremented once per (type, topic)."""
    published = Counter((o.event_type, o.topic) for o in delivered)
    for (event_type, topic), count in published.items():
        metrics.events_published_total.labels(event_type, topic).inc(count)
    now = time.time()
    observe = metrics.event_publish_duration_seconds.observe
    for outcome in delivered:
        observe(now - outcome.created_at)
    errors = Counter(
        (o.event_type, o.error.name() if o.error else "not_acknowledged") for o in failed
    )
    for (event_type, error), count in errors.items():
        metrics.events_publish_errors_total.labels(event_type, error).inc(count)
    for event_type, count in Counter(parked).items():
        metrics.events_parked_total.labels(event_type).inc(count)


def _transient(error: KafkaError) -> bool:
    return error.code() in TRANSIENT_ERRORS or error.retriable()


def _error_text(error: KafkaError | None) -> str:
    return f"{error.name()}: {error.str()}" if error is not None else ""
