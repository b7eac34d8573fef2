"""Celery tasks of the event backbone."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from outbox.services import published_events_delete


@shared_task
def outbox_published_cleanup() -> int:
    """Forget published events older than OUTBOX_RETENTION_DAYS (beat: every 10 minutes)."""
    return published_events_delete(older_than=timedelta(days=settings.OUTBOX_RETENTION_DAYS))
