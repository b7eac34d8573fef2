"""Writes of the event backbone. `event_publish` is how every app writes an event.

An event is a row in the outbox table, written in the caller's transaction: it exists if
and only if the change it describes commits. The relay (outbox/relay.py) sends it to Kafka.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from outbox.catalog import PRIORITIES, EventType, UnknownEventType, event_type_get
from outbox.context import (
    EventContext,
    context_user_id,
    correlation_id_clean,
    event_context_current,
)
from outbox.models import OutboxEvent, PublishedEvent

MAX_ENVELOPE_BYTES = 1024 * 1024  # seed 003: an event is at most 1 MB
NOTIFY_CHANNEL = "outbox_events"
# Rows are spread over a fixed number of shards by partition key; a relay owns whole shards.
# Fixed, not a setting: pending rows keep the shard they were written with.
OUTBOX_SHARDS = 16
# Namespaces (first key) of the advisory locks this app takes.
KEY_LOCK_NAMESPACE = 0x0B0D
SHARD_LOCK_NAMESPACE = 0x0B0C


class EventPublishError(Exception):
    """An event could not be written; raised inside the caller's transaction, rolling it back."""


class EventOutsideTransaction(EventPublishError):
    """Publishing in autocommit would be a dual write: the change and its event could part."""


class EventInvalid(EventPublishError):
    """The event does not match its catalog entry; `fields` says where, `index` which one."""

    def __init__(self, message: str, fields: dict[str, Any], index: int | None = None) -> None:
        super().__init__(message)
        self.fields = fields
        self.index = index


class EventTooLarge(EventInvalid):
    pass


@dataclass(frozen=True)
class EventSpec:
    """One event to publish: its type, its data, and optional overrides."""

    event_type: str
    data: Mapping[str, Any]
    key: str | None = None
    priority: str | None = None
    correlation_id: str | None = None
    user_id: str | None = None
    version: int | None = None


def event_publish(
    *,
    event_type: str,
    data: Mapping[str, Any],
    key: str | None = None,
    priority: str | None = None,
    correlation_id: str | None = None,
    user_id: str | None = None,
    version: int | None = None,
) -> OutboxEvent:
    """Write one event in the current transaction (see `events_publish`)."""
    spec = EventSpec(event_type, data, key, priority, correlation_id, user_id, version)
    return events_publish([spec])[0]


def events_publish(specs: Sequence[EventSpec]) -> list[OutboxEvent]:
    """Write events in the current transaction, in order; all of them or, on error, none.

    Must run inside `transaction.atomic`. Validates each event against its catalog schema,
    takes a transaction-scoped lock per partition key (so that, for one key, outbox ids follow
    commit order and the relay can send in id order), and NOTIFYs the relay, which is woken
    when the transaction commits.
    """
    if not connection.in_atomic_block:
        raise EventOutsideTransaction(
            "event_publish must run inside transaction.atomic, with the change it describes"
        )
    context = event_context_current()
    rows = []
    for index, spec in enumerate(specs):
        try:
            rows.append(_outbox_row(spec, context))
        except (EventInvalid, UnknownEventType) as exc:
            exc.index = index
            raise
    if not rows:
        return []
    lock_keys = sorted({_signed32(zlib.crc32(f"{row.topic}\0{row.key}".encode())) for row in rows})
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            [
                KEY_LOCK_NAMESPACE,
                lock_keys,
                NOTIFY_CHANNEL,
                *([getattr(row, column) for row in rows] for column in _INSERT_COLUMNS),
            ],
        )
        ids = dict(cursor.fetchall())
    for row in rows:
        row.id = ids[row.event_id]
        row._state.adding = False
    return rows


# One round trip: take the key locks (sorted, so two writers never deadlock on them), queue
# the relay's wake-up (delivered at commit), insert every row. The locks come first: the CTE
# must be evaluated before the join yields the first row, and so before any id is drawn.
_INSERT_COLUMNS = (
    "event_id", "event_type", "version", "source", "aggregate_type", "aggregate_id", "topic",
    "key", "shard", "priority", "correlation_id", "causation_id", "user_id", "value",
    "traceparent", "tracestate", "created_at",
)  # fmt: skip
_INSERT_TYPES = (
    "uuid", "text", "smallint", "text", "text", "text", "text",
    "text", "smallint", "text", "text", "uuid", "text", "bytea",
    "text", "text", "timestamptz",
)  # fmt: skip
_INSERT_SQL = f"""
    WITH locks AS (
        SELECT count(pg_advisory_xact_lock(%s, k)) AS n FROM unnest(%s::int[]) AS k
    ), wake AS (
        SELECT pg_notify(%s, '') AS n
    )
    INSERT INTO {OutboxEvent._meta.db_table}
        ({", ".join(_INSERT_COLUMNS)}, status, attempts, last_error)
    SELECT rows.*, 'pending', 0, ''
    FROM locks, wake, unnest({", ".join(f"%s::{t}[]" for t in _INSERT_TYPES)}) AS rows
    RETURNING event_id, id
"""  # noqa: S608 - built from constants


def _outbox_row(spec: EventSpec, context: EventContext) -> OutboxEvent:
    event_type = event_type_get(spec.event_type, spec.version)
    if not isinstance(spec.data, Mapping):
        raise EventInvalid("data must be an object", {"data": ["Must be a JSON object."]})
    priority = spec.priority or event_type.priority
    if priority not in PRIORITIES:
        raise EventInvalid("unknown priority", {"priority": [f"One of {', '.join(PRIORITIES)}."]})
    event_id = uuid.uuid4()
    now = datetime.now(UTC)
    data = _json_normalized(spec.data)
    _data_validate(event_type, data)
    aggregate_id = str(data[event_type.key_field]) if event_type.key_field else None
    key = spec.key or aggregate_id or str(event_id)
    if len(key) > 200:
        raise EventInvalid("key too long", {"key": ["At most 200 characters."]})
    correlation_id = correlation_id_clean(spec.correlation_id or context.correlation_id)
    user_id = spec.user_id or context_user_id(context)
    envelope = {
        "event_id": str(event_id),
        "event_type": event_type.name,
        "version": event_type.version,
        "timestamp": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "source": event_type.source,
        "aggregate_type": event_type.aggregate_type,
        "aggregate_id": aggregate_id or key,
        "correlation_id": correlation_id,
        "causation_id": str(context.causation_id) if context.causation_id else None,
        "user_id": str(user_id) if user_id else None,
        "priority": priority,
        "data": data,
    }
    value = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    if len(value) > MAX_ENVELOPE_BYTES:
        raise EventTooLarge(
            "event too large",
            {"data": [f"The encoded event is {len(value)} bytes; at most {MAX_ENVELOPE_BYTES}."]},
        )
    return OutboxEvent(
        event_id=event_id,
        event_type=event_type.name,
        version=event_type.version,
        source=event_type.source,
        aggregate_type=event_type.aggregate_type,
        aggregate_id=envelope["aggregate_id"],
        topic=event_type.topic.name,
        key=key,
        shard=zlib.crc32(f"{event_type.topic.name}\0{key}".encode()) % OUTBOX_SHARDS,
        priority=priority,
        correlation_id=correlation_id,
        causation_id=context.causation_id,
        user_id=envelope["user_id"] or "",
        value=value,
        traceparent=context.traceparent or "",
        tracestate=(context.tracestate or "") if context.traceparent else "",
        created_at=now,
    )


def _json_normalized(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as consumers will see it: Decimal, UUID and datetime become JSON strings."""
    try:
        return json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise EventInvalid("data is not JSON", {"data": [f"Not serializable: {exc}"]}) from exc


def _data_validate(event_type: EventType, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for error in event_type.validator.iter_errors(data):
        path = ".".join(str(part) for part in error.absolute_path) or "data"
        errors.setdefault(path, []).append(error.message)
    if errors:
        raise EventInvalid(f"data does not match the {event_type.name} schema", {"data": errors})


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= (1 << 31) else value


@transaction.atomic
def outbox_event_resend(*, event: OutboxEvent) -> OutboxEvent:
    """Give a parked event back to the relay, with fresh attempts."""
    event.status = OutboxEvent.Status.PENDING
    event.attempts = 0
    event.next_attempt_at = None
    event.save(update_fields=["status", "attempts", "next_attempt_at"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return event


def published_events_delete(*, older_than: timedelta, chunk_size: int = 5000) -> int:
    """Delete records of events published before the retention window, a chunk at a time.

    Small chunks in key order keep each DELETE short, so cleanup never holds many locks or
    competes with the relay for long; SKIP LOCKED steps around rows someone holds.
    """
    cutoff = datetime.now(UTC) - older_than
    table = PublishedEvent._meta.db_table
    deleted_total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE event_id IN ("  # noqa: S608 - table from the model
                f"  SELECT event_id FROM {table} WHERE published_at < %s"
                "   ORDER BY published_at LIMIT %s FOR UPDATE SKIP LOCKED)",
                [cutoff, chunk_size],
            )
            deleted = cursor.rowcount
        deleted_total += deleted
        if deleted < chunk_size:
            return deleted_total
