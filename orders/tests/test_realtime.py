"""The frames the realtime group pushes, built from the events the services really write."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Customer
from orders.realtime import ORDER_EVENT_TYPES, order_event_frame
from orders.services import (
    VariationSpec,
    cart_checkout,
    cart_item_set,
    order_cancel,
    order_payment_complete,
    order_status_change,
    product_create,
)
from outbox.groups import consumer_group_get
from outbox.models import OutboxEvent
from outbox.testing import outbox_events

pytestmark = pytest.mark.django_db


def _order(fulfillment: str):
    customer = Customer.objects.create(
        user_id=uuid.uuid4(), username="cleo", role="customer", updated_at=timezone.now()
    )
    variation = product_create(
        name=f"Latte {uuid.uuid4().hex[:6]}",
        variations=[VariationSpec(name="Classic", price=Decimal("3.90"), stock=5)],
    ).variations.get()
    cart_item_set(customer_id=customer.user_id, variation_id=variation.id, quantity=1)
    order = cart_checkout(customer_id=customer.user_id, fulfillment=fulfillment)
    return order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))


def _frames() -> list[dict]:
    frames = [
        order_event_frame(event_id=envelope["event_id"], event_type=envelope["event_type"],
                          timestamp=envelope["timestamp"], data=envelope["data"])
        for event_type in ORDER_EVENT_TYPES
        for envelope in outbox_events(event_type)
    ]  # fmt: skip
    return sorted(frames, key=lambda frame: (frame["aggregate_id"], frame["version"]))


def test_every_order_event_becomes_a_frame_with_the_orders_state_and_version():
    shipped = _order("shipping")
    for status in ("preparation", "ready"):
        order_status_change(order_id=shipped.id, new_status=status, by=None)
    order_status_change(order_id=shipped.id, new_status="shipped", by=None, tracking_number="T9")
    cancelled = _order("pickup")
    order_cancel(order_id=cancelled.id, by=None, reason="changed my mind", as_manager=False)

    frames = {order_id: [f for f in _frames() if f["aggregate_id"] == str(order_id)]
              for order_id in (shipped.id, cancelled.id)}  # fmt: skip

    track = frames[shipped.id]
    assert [(f["version"], f["event_type"], f["state"]["status"]) for f in track] == [
        (1, "order.created", "pending_payment"),
        (2, "order.confirmed", "waiting"),
        (3, "order.status.changed", "preparation"),
        (4, "order.status.changed", "ready"),
        (5, "order.status.changed", "shipped"),
        (6, "order.shipped", "shipped"),
    ]
    assert track[0]["state"]["fulfillment"] == "shipping"
    assert track[-1]["state"]["tracking_number"] == "T9"
    assert all(f["state"]["version"] == f["version"] for f in track)
    ids = {str(row.event_id) for row in OutboxEvent.objects.all()}
    assert {f["event_id"] for f in track} <= ids
    assert [f["state"]["status"] for f in frames[cancelled.id]][-1] == "cancelled"


def test_the_realtime_group_handles_every_order_event_type():
    assert set(consumer_group_get("realtime").handlers) == set(ORDER_EVENT_TYPES)
