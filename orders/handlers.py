"""What the orders app does when another app's event arrives (consumer group `orders`)."""

from orders.directory import customer_deactivate, customer_register, customer_update
from orders.services import order_payment_complete
from outbox.consumer import Event
from outbox.groups import handles


@handles("user.registered", group="orders")
def customer_from_user_registered(event: Event) -> None:
    """A new user becomes a customer of the shop."""
    customer_register(data=event.data)


@handles("user.updated", group="orders")
def customer_from_user_updated(event: Event) -> None:
    """Keep the customer's profile and role current (older updates are ignored)."""
    customer_update(data=event.data)


@handles("user.deleted", group="orders")
def customer_from_user_deleted(event: Event) -> None:
    """A deleted user may no longer order; their orders stay."""
    customer_deactivate(data=event.data)


@handles("payment.completed", group="orders")
def order_from_payment_completed(event: Event) -> None:
    """A paid order is confirmed (other payables are not the shop's)."""
    if event.data["payable_type"] == "order":
        order_payment_complete(
            order_id=event.data["payable_id"], payment_id=event.data["payment_id"]
        )


@handles("payment.failed", group="orders")
def order_from_payment_failed(event: Event) -> None:
    """A failed payment leaves the order payable: the customer may try again until the
    payment timeout cancels it. Nothing to change here; the handler records that the
    shop saw the outcome (its inbox row)."""
