"""Celery tasks of the orders app: thin, idempotent, calling services."""

from celery import shared_task

from orders.services import orders_unpaid_cancel


@shared_task
def orders_unpaid_cancel_task() -> int:
    """Cancel orders left unpaid past ORDERS_PAYMENT_TIMEOUT_S (beat: every minute)."""
    return orders_unpaid_cancel()
