"""Carts and checkout: the rows, the events, and no oversell under concurrent checkouts."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from orders.directory import CustomerNotAllowed
from orders.models import Cart, Customer, Order, ProductVariation
from orders.services import (
    CartError,
    VariationSpec,
    cart_checkout,
    cart_item_remove,
    cart_item_set,
    carts_idle_abandon,
    product_create,
)
from outbox.testing import outbox_events


def _events(event_type: str) -> list[dict]:
    return [envelope["data"] for envelope in outbox_events(event_type)]


def _customer(active: bool = True) -> uuid.UUID:
    customer = Customer.objects.create(
        user_id=uuid.uuid4(), username=f"c{uuid.uuid4().hex[:6]}", role="customer",
        is_active=active, updated_at=timezone.now(),
    )  # fmt: skip
    return customer.user_id


def _latte(stock: int = 10, threshold: int = 3) -> ProductVariation:
    product = product_create(
        name=f"Latte {uuid.uuid4().hex[:6]}",
        variations=[
            VariationSpec(name="Pumpkin Spice", price=Decimal("4.50"), stock=stock,
                          low_stock_threshold=threshold),
        ],
    )  # fmt: skip
    return product.variations.get()


@pytest.mark.django_db
def test_items_in_the_cart_and_their_events():
    customer_id, latte = _customer(), _latte()

    cart = cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=2)
    cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=3)
    cart_item_remove(customer_id=customer_id, variation_id=latte.id)

    assert [e["id"] for e in _events("cart.created")] == [str(cart.id)]
    added = _events("cart.item_added")
    assert [(e["quantity"], e["unit_price"], e["variation_name"]) for e in added] == [
        (2, "4.50", "Pumpkin Spice"),
        (3, "4.50", "Pumpkin Spice"),
    ]
    assert [e["variation_id"] for e in _events("cart.item_removed")] == [str(latte.id)]
    assert not cart.items.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [-1, 101])
def test_quantities_out_of_range_are_refused(quantity):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        cart_item_set(customer_id=_customer(), variation_id=_latte().id, quantity=quantity)


@pytest.mark.django_db
def test_checkout_creates_the_order_reserves_stock_and_closes_the_cart():
    customer_id, latte = _customer(), _latte(stock=10, threshold=3)
    cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=2)

    order = cart_checkout(customer_id=customer_id)

    latte.refresh_from_db()
    assert latte.stock == 8
    assert order.status == "pending_payment"
    assert order.total_amount == Decimal("9.00")
    assert Cart.objects.get(pk=order.cart_id).status == "checked_out"
    (created,) = _events("order.created")
    assert created == {
        "id": str(order.id), "user_id": str(customer_id), "status": "pending_payment",
        "total_amount": "9.00", "currency": "EUR",
        "items": [{"product_name": latte.product.name, "variation_name": "Pumpkin Spice",
                   "quantity": 2, "unit_price": "4.50"}],
        "fulfillment": "pickup", "created_at": created["created_at"], "version": 1,
    }  # fmt: skip
    (reserved,) = _events("inventory.reserved")
    assert reserved["items"] == [{"variation_id": str(latte.id), "quantity": 2}]
    assert [e["order_id"] for e in _events("cart.checked_out")] == [str(order.id)]
    assert not _events("inventory.stock_low")


@pytest.mark.django_db
def test_the_price_is_a_snapshot():
    customer_id, latte = _customer(), _latte()
    cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=1)
    order = cart_checkout(customer_id=customer_id)

    ProductVariation.objects.filter(pk=latte.pk).update(price=Decimal("9.99"))

    assert order.items.get().unit_price == Decimal("4.50")


@pytest.mark.django_db
def test_crossing_the_low_stock_threshold_is_announced_once():
    latte = _latte(stock=6, threshold=3)
    for quantity in (2, 2, 1):  # 6 -> 4 -> 2 (crosses) -> 1 (already low)
        customer_id = _customer()
        cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=quantity)
        cart_checkout(customer_id=customer_id)

    (low,) = _events("inventory.stock_low")
    assert (low["stock"], low["low_stock_threshold"]) == (2, 3)


@pytest.mark.django_db
def test_an_unknown_or_deactivated_customer_may_not_check_out():
    latte = _latte()
    inactive = _customer(active=False)
    cart_item_set(customer_id=inactive, variation_id=latte.id, quantity=1)

    with pytest.raises(CustomerNotAllowed, match="deactivated"):
        cart_checkout(customer_id=inactive)
    with pytest.raises(CustomerNotAllowed, match="not known"):
        cart_checkout(customer_id=uuid.uuid4())
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_empty_cart_or_missing_stock_is_refused_and_nothing_changes():
    customer_id, latte = _customer(), _latte(stock=1)
    with pytest.raises(CartError, match="empty"):
        cart_checkout(customer_id=customer_id)
    cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=2)

    with pytest.raises(CartError) as raised:
        cart_checkout(customer_id=customer_id)

    assert raised.value.code == "out_of_stock"
    assert raised.value.fields == {str(latte.id): ["Only 1 left."]}
    latte.refresh_from_db()
    assert latte.stock == 1
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_oversell():
    latte = _latte(stock=5, threshold=0)
    customers = [_customer() for _ in range(12)]
    for customer_id in customers:
        cart_item_set(customer_id=customer_id, variation_id=latte.id, quantity=1)
    start = threading.Barrier(len(customers))
    outcomes: list[str] = []

    def checkout(customer_id: uuid.UUID) -> None:
        try:
            start.wait()
            cart_checkout(customer_id=customer_id)
            outcomes.append("ordered")
        except CartError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    latte.refresh_from_db()
    assert sorted(outcomes) == ["ordered"] * 5 + ["out_of_stock"] * 7
    assert latte.stock == 0
    assert Order.objects.count() == 5
    assert len(_events("inventory.reserved")) == 5


@pytest.mark.django_db
def test_idle_carts_are_abandoned_once(settings):
    settings.ORDERS_CART_ABANDON_AFTER_S = 3600
    latte = _latte()
    idle_customer, busy_customer = _customer(), _customer()
    idle = cart_item_set(customer_id=idle_customer, variation_id=latte.id, quantity=1)
    busy = cart_item_set(customer_id=busy_customer, variation_id=latte.id, quantity=1)
    Cart.objects.filter(pk=idle.pk).update(updated_at=timezone.now() - timedelta(hours=2))

    assert carts_idle_abandon() == 1
    assert carts_idle_abandon() == 0

    assert Cart.objects.get(pk=idle.pk).status == "abandoned"
    assert Cart.objects.get(pk=busy.pk).status == "open"
    (event,) = _events("cart.abandoned")
    assert (event["id"], event["items_count"]) == (str(idle.id), 1)
