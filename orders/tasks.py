"""Celery tasks of the orders app: thin, idempotent, calling services."""

from celery import shared_task

from orders.services import carts_idle_abandon, orders_unpaid_cancel


@shared_task
def orders_unpaid_cancel_task() -> int:
    """Cancel orders left unpaid past ORDERS_PAYMENT_TIMEOUT_S (beat: every minute)."""
    return orders_unpaid_cancel()


@shared_task
def carts_idle_abandon_task() -> int:
    """Close carts idle past ORDERS_CART_ABANDON_AFTER_S (beat: every 10 minutes)."""
    return carts_idle_abandon()
