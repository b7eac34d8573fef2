"""Celery tasks of the appointments app: thin, idempotent, calling services."""
