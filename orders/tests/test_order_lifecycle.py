"""An order after checkout: payment outcome from events, the status machine, cancellation."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.utils import timezone

from orders.models import Customer, Order, ProductVariation
from orders.services import (
    OrderTransitionError,
    VariationSpec,
    cart_checkout,
    cart_item_set,
    order_cancel,
    order_payment_complete,
    order_status_change,
    orders_unpaid_cancel,
    product_create,
)
from outbox.consumer import GroupConsumer
from outbox.groups import consumer_group_get
from outbox.relay import OutboxRelay
from outbox.services import event_publish
from outbox.testing import outbox_events


def _data(event_type: str) -> list[dict]:
    return [envelope["data"] for envelope in outbox_events(event_type)]


def _order(fulfillment: str = "pickup", quantity: int = 2) -> tuple[Order, ProductVariation]:
    customer = Customer.objects.create(
        user_id=uuid.uuid4(), username="cleo", role="customer", updated_at=timezone.now()
    )
    product = product_create(
        name=f"Donuts {uuid.uuid4().hex[:6]}",
        variations=[VariationSpec(name="Glazed", price=Decimal("2.80"), stock=10)],
    )
    variation = product.variations.get()
    cart_item_set(customer_id=customer.user_id, variation_id=variation.id, quantity=quantity)
    return cart_checkout(customer_id=customer.user_id, fulfillment=fulfillment), variation


def _payment_completed(order: Order) -> None:
    event_publish(
        event_type="payment.completed",
        data={
            "payment_id": str(uuid.uuid4()), "payable_type": "order",
            "payable_id": str(order.id), "amount": "5.60", "currency": "EUR",
            "transaction_id": "sim-1", "status": "completed",
            "completed_at": timezone.now().isoformat(), "payment_method": "card",
        },
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_payment_completed_confirms_the_order_once(fresh_topics):
    order, _ = _order()
    with transaction.atomic():
        _payment_completed(order)
        _payment_completed(order)  # the gateway repeats itself
    OutboxRelay().drain()

    GroupConsumer(consumer_group_get("orders")).run(until_idle_s=1.5)

    order.refresh_from_db()
    assert order.status == "waiting"
    assert order.paid_at is not None
    assert [e["id"] for e in _data("order.confirmed")] == [str(order.id)]
    assert len(_data("inventory.updated")) == 1


@pytest.mark.django_db
def test_pickup_order_moves_through_its_statuses():
    order, _ = _order()
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    manager = None

    for status in ("preparation", "ready", "delivered"):
        order = order_status_change(order_id=order.id, new_status=status, by=manager)

    assert [(e["previous_status"], e["new_status"]) for e in _data("order.status.changed")] == [
        ("waiting", "preparation"),
        ("preparation", "ready"),
        ("ready", "delivered"),
    ]
    assert [e["id"] for e in _data("order.delivered")] == [str(order.id)]


@pytest.mark.django_db
def test_each_order_event_carries_the_next_version_of_the_order():
    order, _ = _order(fulfillment="shipping")
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    for status in ("preparation", "ready"):
        order_status_change(order_id=order.id, new_status=status, by=None)
    order_status_change(order_id=order.id, new_status="shipped", by=None, tracking_number="T1")
    order_status_change(order_id=order.id, new_status="delivered", by=None)

    versions = sorted(
        (envelope["data"]["version"], envelope["event_type"])
        for event_type in ("order.created", "order.confirmed", "order.status.changed",
                           "order.shipped", "order.delivered")
        for envelope in outbox_events(event_type)
    )  # fmt: skip
    assert versions == [
        (1, "order.created"),
        (2, "order.confirmed"),
        (3, "order.status.changed"),
        (4, "order.status.changed"),
        (5, "order.status.changed"),
        (6, "order.shipped"),
        (7, "order.status.changed"),
        (8, "order.delivered"),
    ]
    order.refresh_from_db()
    assert order.version == 8


@pytest.mark.django_db
def test_shipping_needs_a_tracking_number():
    order, _ = _order(fulfillment="shipping")
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    order_status_change(order_id=order.id, new_status="preparation", by=None)
    order_status_change(order_id=order.id, new_status="ready", by=None)

    with pytest.raises(OrderTransitionError):
        order_status_change(order_id=order.id, new_status="shipped", by=None)
    with pytest.raises(OrderTransitionError) as raised:
        order_status_change(order_id=order.id, new_status="delivered", by=None)
    assert raised.value.allowed == ("shipped",)

    order_status_change(order_id=order.id, new_status="shipped", by=None, tracking_number="TRK1")
    order_status_change(order_id=order.id, new_status="delivered", by=None)
    assert [e["tracking_number"] for e in _data("order.shipped")] == ["TRK1"]


@pytest.mark.django_db
def test_an_illegal_move_names_the_allowed_ones():
    order, _ = _order()

    with pytest.raises(OrderTransitionError) as raised:
        order_status_change(order_id=order.id, new_status="preparation", by=None)

    assert raised.value.status == "pending_payment"
    assert "cannot become preparation" in str(raised.value)
    assert not _data("order.status.changed")


@pytest.mark.django_db(transaction=True)
def test_two_managers_moving_the_same_order_cannot_both_win():
    order, _ = _order()
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def move() -> None:
        try:
            start.wait()
            order_status_change(order_id=order.id, new_status="preparation", by=None)
            outcomes.append("moved")
        except OrderTransitionError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["moved", "refused"]
    assert len(_data("order.status.changed")) == 1


@pytest.mark.django_db
def test_customer_cancels_a_paid_order_waiting_for_preparation():
    order, variation = _order(quantity=3)
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))

    order_cancel(order_id=order.id, by=None, reason="changed my mind", as_manager=False)

    variation.refresh_from_db()
    assert variation.stock == 10
    (cancelled,) = _data("order.cancelled")
    assert (cancelled["refund_due"], cancelled["amount"]) == (True, "8.40")
    assert cancelled["version"] == 3  # created, confirmed, cancelled
    (released,) = _data("inventory.released")
    assert released["items"] == [{"variation_id": str(variation.id), "quantity": 3}]


@pytest.mark.django_db
def test_cancel_rights_depend_on_who_and_when():
    order, _ = _order()
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    order_status_change(order_id=order.id, new_status="preparation", by=None)

    with pytest.raises(OrderTransitionError):
        order_cancel(order_id=order.id, by=None, reason="late", as_manager=False)
    order_cancel(order_id=order.id, by=None, reason="out of milk", as_manager=True)
    with pytest.raises(OrderTransitionError):
        order_cancel(order_id=order.id, by=None, reason="again", as_manager=True)


@pytest.mark.django_db
def test_unpaid_orders_are_cancelled_after_the_timeout(settings):
    settings.ORDERS_PAYMENT_TIMEOUT_S = 15 * 60
    stale, variation = _order()
    fresh, _ = _order()
    Order.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=16))

    assert orders_unpaid_cancel() == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.cancel_reason) == ("cancelled", "payment_timeout")
    assert fresh.status == "pending_payment"
    (cancelled,) = _data("order.cancelled")
    assert (cancelled["reason"], cancelled["refund_due"]) == ("payment_timeout", False)
    variation.refresh_from_db()
    assert variation.stock == 10
