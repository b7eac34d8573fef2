"""What the orders app does when an event arrives: consumer group `orders` (other apps'
events) and group `realtime` (its own order events, pushed to live pages)."""

from orders.directory import customer_deactivate, customer_register, customer_update
from orders.realtime import BOARD_GROUP, ORDER_EVENT_TYPES, order_event_frame, order_group
from orders.services import order_payment_complete
from outbox.consumer import Event
from outbox.groups import handles
from outbox.realtime import event_push


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


def order_event_push(event: Event) -> None:
    """Push the order's event to its tracking pages and to the managers' board, once per
    event id (a redelivery within the hour is not pushed again)."""
    event_push(
        event_id=event.event_id,
        event_type=event.event_type,
        groups=[order_group(event.data["id"]), BOARD_GROUP],
        frame=order_event_frame(
            event_id=event.event_id,
            event_type=event.event_type,
            timestamp=event.timestamp,
            data=event.data,
        ),
    )


for _event_type in ORDER_EVENT_TYPES:
    handles(_event_type, group="realtime")(order_event_push)
