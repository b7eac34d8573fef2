"""Celery tasks of the accounts app: thin, idempotent, calling services."""
