"""Celery tasks of the notifications app: thin, idempotent, calling services."""
