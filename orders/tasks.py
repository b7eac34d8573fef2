"""Celery tasks of the orders app: thin, idempotent, calling services."""
