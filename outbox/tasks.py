"""Celery tasks of the event backbone (retention cleanup of published rows)."""
