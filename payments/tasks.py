"""Celery tasks of the payments app: thin, idempotent, calling services."""
