"""Reads of the event backbone."""

import uuid
from typing import Any

from outbox.groups import groups_handling
from outbox.models import ConsumerAttempt, DeadLetter, InboxEntry, OutboxEvent, PublishedEvent


def event_status_get(*, event_id: uuid.UUID) -> dict[str, Any] | None:
    """Where an event is: waiting in the outbox, parked, or published (and where), and how
    far each consumer group that handles its type got with it (`consumers`).

    Answers from the database for the retention window of published events; None after.
    """
    row = OutboxEvent.objects.filter(event_id=event_id).first()
    if row is not None:
        return {
            "event_id": row.event_id,
            "event_type": row.event_type,
            "status": row.status,
            "topic": row.topic,
            "key": row.key,
            "partition": None,
            "offset": None,
            "created_at": row.created_at,
            "published_at": None,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "consumers": event_consumers_get(event_id=row.event_id, event_type=row.event_type),
        }
    published = PublishedEvent.objects.filter(event_id=event_id).first()
    if published is None:
        return None
    return {
        "event_id": published.event_id,
        "event_type": published.event_type,
        "status": "published",
        "topic": published.topic,
        "key": published.key,
        "partition": published.kafka_partition,
        "offset": published.kafka_offset,
        "created_at": published.created_at,
        "published_at": published.published_at,
        "attempts": 0,
        "last_error": "",
        "consumers": event_consumers_get(
            event_id=published.event_id, event_type=published.event_type
        ),
    }


def event_consumers_get(*, event_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    """One entry per consumer group that handles `event_type`, in group-name order, with its
    status for this event, checked in this order: `processed` (an inbox row), `dead_lettered`
    (a dead letter, whatever its review status), `retrying` (a failed attempt awaiting its
    retry), else `pending`. One query per table, whatever the number of groups."""
    names = [group.name for group in groups_handling(event_type)]
    if not names:
        return []
    processed = dict(
        InboxEntry.objects.filter(event_id=event_id, group__in=names).values_list(
            "group", "processed_at"
        )
    )
    dead_letters: dict[str, tuple[int, str]] = {}
    # Oldest first, so a group's latest dead letter (e.g. dead-lettered again after a
    # replay) is the one kept.
    for group, pk, status in (
        DeadLetter.objects.filter(event_id=event_id, group__in=names)
        .order_by("created_at", "id")
        .values_list("group", "id", "status")
    ):
        dead_letters[group] = (pk, status)
    attempts = {
        group: (count, last_error)
        for group, count, last_error in ConsumerAttempt.objects.filter(
            event_id=event_id, group__in=names
        ).values_list("group", "attempts", "last_error")
    }
    consumers = []
    for name in names:
        entry: dict[str, Any] = {
            "group": name,
            "status": "pending",
            "processed_at": None,
            "attempts": None,
            "last_error": None,
            "dead_letter_id": None,
            "dead_letter_status": None,
        }
        if name in processed:
            entry.update(status="processed", processed_at=processed[name])
        elif name in dead_letters:
            pk, status = dead_letters[name]
            entry.update(status="dead_lettered", dead_letter_id=pk, dead_letter_status=status)
        elif name in attempts:
            count, last_error = attempts[name]
            entry.update(status="retrying", attempts=count, last_error=last_error)
        consumers.append(entry)
    return consumers
