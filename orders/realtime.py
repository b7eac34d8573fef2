"""What the orders app pushes live: channel-layer groups, the order's card, its frames.

A card is what a tracking page and the managers' board show of an order. Snapshots carry
cards read from the database; each event frame carries the change (`data`, the event as
published) and `state`, the card's fields after the event, with the order's `version`.
"""

from typing import Any
from uuid import UUID

from orders.models import Order

BOARD_GROUP = "orders.board"  # every order's creation and status changes (managers)
ORDER_EVENT_TYPES = (
    "order.created",
    "order.confirmed",
    "order.status.changed",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
)


def order_group(order_id: UUID | str) -> str:
    """The group of one order's tracking sockets."""
    return f"orders.order.{order_id}"


def order_card(order: Order) -> dict[str, Any]:
    """The order as live pages show it (items prefetched by the caller)."""
    return {
        "id": str(order.id),
        "customer_id": str(order.customer_id),
        "status": order.status,
        "fulfillment": order.fulfillment,
        "total_amount": str(order.total_amount),
        "currency": order.currency,
        "tracking_number": order.tracking_number,
        "items": [
            {
                "product_name": item.product_name,
                "variation_name": item.variation_name,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
            for item in order.items.all()
        ],
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "version": order.version,
    }


def _state(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The card's fields after the event (order.created: the whole card)."""
    if event_type == "order.created":
        return {
            "id": data["id"],
            "customer_id": data["user_id"],
            "status": data["status"],
            "fulfillment": data["fulfillment"],
            "total_amount": data["total_amount"],
            "currency": data["currency"],
            "tracking_number": "",
            "items": data["items"],
            "created_at": data["created_at"],
            "updated_at": data["created_at"],
        }
    if event_type == "order.confirmed":
        return {"status": data["status"], "updated_at": data["confirmed_at"]}
    if event_type == "order.status.changed":
        return {"status": data["new_status"], "updated_at": data["updated_at"]}
    if event_type == "order.shipped":
        return {"status": "shipped", "tracking_number": data["tracking_number"],
                "updated_at": data["shipped_at"]}  # fmt: skip
    if event_type == "order.delivered":
        return {"status": "delivered", "updated_at": data["delivered_at"]}
    if event_type == "order.cancelled":
        return {"status": "cancelled", "updated_at": data["cancelled_at"]}
    raise ValueError(f"not an order event pushed live: {event_type}")


def order_event_frame(
    *, event_id: UUID | str, event_type: str, timestamp: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The frame of one order.* event."""
    return {
        "type": "event",
        "event_id": str(event_id),
        "event_type": event_type,
        "aggregate_type": "order",
        "aggregate_id": data["id"],
        "version": data["version"],
        "state": {**_state(event_type, data), "version": data["version"]},
        "data": data,
        "at": timestamp,
    }
