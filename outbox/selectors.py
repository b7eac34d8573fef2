"""Reads of the event backbone."""

import uuid
from typing import Any

from outbox.models import OutboxEvent, PublishedEvent


def event_status_get(*, event_id: uuid.UUID) -> dict[str, Any] | None:
    """Where an event is: waiting in the outbox, parked, or published (and where).

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
    }
