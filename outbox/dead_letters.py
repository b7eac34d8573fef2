"""The dead-letter review desk: replay a dead letter to its group, discard it, or mark it
resolved. Staff reach these from the admin and from `manage.py dlq`.

Replay delivers the stored record to the group's handler directly, not through Kafka: the
inbox row keeps it exactly-once (an event the group already applied is a duplicate, skipped),
and a failure is recorded on the dead letter instead of sending it round the DLQ again.
"""

from __future__ import annotations

import dataclasses
import logging

from django.db import transaction
from django.utils import timezone

from outbox.consumer import Event, PoisonEvent, event_apply, event_decode
from outbox.groups import ConsumerGroup, Handler, consumer_group_get
from outbox.models import DeadLetter

logger = logging.getLogger(__name__)


class DeadLetterReplayError(Exception):
    """A dead letter could not be replayed; why is also kept in its `last_replay_error`."""


class DeadLetterNotPending(ValueError):
    """The dead letter was already replayed, discarded or resolved."""


def dead_letter_replay(*, dead_letter: DeadLetter, by: str) -> bool:
    """Apply a pending dead letter's event to its group again; False if already applied."""
    try:
        with transaction.atomic():
            _pending_lock(dead_letter)
            group, event, handler = _replay_target(dead_letter)
            applied = event_apply(group, event, handler)
            dead_letter.status = DeadLetter.Status.REPLAYED
            dead_letter.replayed_at = timezone.now()
            dead_letter.replayed_by = by
            dead_letter.last_replay_error = ""
            dead_letter.save(
                update_fields=["status", "replayed_at", "replayed_by", "last_replay_error"]
            )
    except (DeadLetterNotPending, DeadLetter.DoesNotExist) as exc:
        raise DeadLetterReplayError(str(exc)) from exc
    except DeadLetterReplayError as exc:
        _replay_error_record(dead_letter, str(exc))
        raise
    except Exception as exc:
        # The handler (or its writes) failed: its transaction, inbox row included, rolled back.
        logger.warning("replay of dead letter %s failed", dead_letter.pk, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
        _replay_error_record(dead_letter, error)
        raise DeadLetterReplayError(
            f"replay of dead letter {dead_letter.pk} failed: {error}"
        ) from exc
    logger.info(
        "dead letter %s replayed to %s by %s (%s)",
        dead_letter.pk, dead_letter.group, by, "applied" if applied else "duplicate",
    )  # fmt: skip
    return applied


def dead_letter_discard(*, dead_letter: DeadLetter, by: str, reason: str) -> DeadLetter:
    """Close a pending dead letter without applying it, recording who and why."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required to discard a dead letter")
    with transaction.atomic():
        _pending_lock(dead_letter)
        dead_letter.status = DeadLetter.Status.DISCARDED
        dead_letter.discarded_at = timezone.now()
        dead_letter.discarded_by = by
        dead_letter.discard_reason = reason
        dead_letter.save(update_fields=["status", "discarded_at", "discarded_by", "discard_reason"])
    return dead_letter


def dead_letter_resolve(*, dead_letter: DeadLetter, by: str) -> DeadLetter:
    """Close a pending dead letter that staff fixed by other means."""
    with transaction.atomic():
        _pending_lock(dead_letter)
        dead_letter.status = DeadLetter.Status.RESOLVED
        dead_letter.resolved_at = timezone.now()
        dead_letter.resolved_by = by
        dead_letter.save(update_fields=["status", "resolved_at", "resolved_by"])
    return dead_letter


def _pending_lock(dead_letter: DeadLetter) -> None:
    """Lock the row and check it still awaits review: another reviewer may have acted."""
    status = (
        DeadLetter.objects.select_for_update()
        .filter(pk=dead_letter.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status is None:
        raise DeadLetter.DoesNotExist(f"dead letter {dead_letter.pk} does not exist")
    dead_letter.status = status
    if status != DeadLetter.Status.PENDING:
        raise DeadLetterNotPending(
            f"dead letter {dead_letter.pk} is {status}; only pending ones can be changed"
        )


def _replay_target(dead_letter: DeadLetter) -> tuple[ConsumerGroup, Event, Handler]:
    """The group, event and handler to replay to; DeadLetterReplayError if there is none."""
    try:
        group = consumer_group_get(dead_letter.group)
    except LookupError as exc:
        raise DeadLetterReplayError(str(exc)) from exc
    try:
        event, handler = event_decode(bytes(dead_letter.value), group)
    except PoisonEvent as exc:
        raise DeadLetterReplayError(f"cannot replay: {exc}") from exc
    if handler is None:
        raise DeadLetterReplayError(
            f"cannot replay: group {group.name} no longer handles {event.event_type}"
        )
    located = dataclasses.replace(
        event, topic=dead_letter.topic, partition=dead_letter.partition, offset=dead_letter.offset
    )
    return group, located, handler


def _replay_error_record(dead_letter: DeadLetter, error: str) -> None:
    dead_letter.last_replay_error = error
    DeadLetter.objects.filter(pk=dead_letter.pk).update(last_replay_error=error)
