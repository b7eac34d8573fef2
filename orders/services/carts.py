"""Carts and checkout (seeds 001 and 004).

Checkout is one transaction: the customer may order (the shop's own customer directory), the
stock is there (variation rows locked in id order, so concurrent checkouts wait for each
other and never oversell nor deadlock), the stock is reserved, the order is created with a
price snapshot, the cart is closed, and the events are written with it.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from orders.directory import customer_may_order
from orders.models import Cart, CartItem, Order, OrderItem, ProductVariation
from outbox.schemas import money_text
from outbox.services import event_publish

CART_QUANTITY_MAX = 100


@dataclass
class CartError(Exception):
    """The cart cannot do that now (empty, out of stock); `fields` says where."""

    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def _cart_open(customer_id: UUID) -> Cart:
    """The customer's open cart, locked; created (with `cart.created`) if there is none."""
    cart = Cart.objects.select_for_update().filter(customer_id=customer_id, status="open").first()
    if cart is None:
        cart = Cart.objects.create(customer_id=customer_id)
        event_publish(
            event_type="cart.created",
            data={
                "id": str(cart.id),
                "customer_id": str(customer_id),
                "created_at": cart.created_at,
            },
            user_id=str(customer_id),
        )
    return cart


@transaction.atomic
def cart_item_set(*, customer_id: UUID, variation_id: UUID, quantity: int) -> Cart:
    """Put a variation in the customer's cart with this quantity (0 takes it out);
    `cart.item_added` carries the quantity now in the cart."""
    if not 0 <= quantity <= CART_QUANTITY_MAX:
        raise ValidationError({"quantity": [f"Between 0 and {CART_QUANTITY_MAX}."]})
    if quantity == 0:
        return cart_item_remove(customer_id=customer_id, variation_id=variation_id)
    variation = (
        ProductVariation.objects.select_related("product")
        .filter(pk=variation_id, product__is_active=True)
        .first()
    )
    if variation is None:
        raise ValidationError({"variation_id": ["No such product variation on sale."]})
    cart = _cart_open(customer_id)
    CartItem.objects.update_or_create(
        cart=cart, variation=variation, defaults={"quantity": quantity}
    )
    cart.save(update_fields=["updated_at"])
    event_publish(
        event_type="cart.item_added",
        data={
            "id": str(cart.id),
            "customer_id": str(customer_id),
            "variation_id": str(variation.id),
            "product_name": variation.product.name,
            "variation_name": variation.name,
            "quantity": quantity,
            "unit_price": money_text(variation.price),
        },
        user_id=str(customer_id),
    )
    return cart


@transaction.atomic
def cart_item_remove(*, customer_id: UUID, variation_id: UUID) -> Cart:
    """Take a variation out of the customer's cart; `cart.item_removed` if it was there."""
    cart = _cart_open(customer_id)
    deleted, _ = CartItem.objects.filter(cart=cart, variation_id=variation_id).delete()
    if deleted:
        cart.save(update_fields=["updated_at"])
        event_publish(
            event_type="cart.item_removed",
            data={
                "id": str(cart.id),
                "customer_id": str(customer_id),
                "variation_id": str(variation_id),
            },
            user_id=str(customer_id),
        )
    return cart


@transaction.atomic
def cart_checkout(*, customer_id: UUID, fulfillment: str = Order.Fulfillment.PICKUP) -> Order:
    """Turn the customer's open cart into an order waiting for its payment.

    Raises CustomerNotAllowed (unknown or deactivated customer) or CartError (empty cart,
    not enough stock); either way nothing is written.
    """
    customer_may_order(user_id=customer_id)
    cart = Cart.objects.select_for_update().filter(customer_id=customer_id, status="open").first()
    items = list(cart.items.order_by("variation_id")) if cart else []
    if not items:
        raise CartError("cart_empty", "The cart is empty.")
    variations = {
        v.id: v
        for v in ProductVariation.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=[item.variation_id for item in items])
        .order_by("id")
    }
    shortages = {
        str(item.variation_id): [f"Only {variations[item.variation_id].stock} left."]
        for item in items
        if variations[item.variation_id].stock < item.quantity
        or not variations[item.variation_id].product.is_active
    }
    if shortages:
        raise CartError("out_of_stock", "Some items are not available in that quantity.", shortages)

    now = timezone.now()
    total = sum((variations[i.variation_id].price * i.quantity for i in items), Decimal(0))
    order = Order.objects.create(
        customer_id=customer_id, cart=cart, fulfillment=fulfillment, total_amount=total
    )
    order_items = OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            variation=variations[item.variation_id],
            product_name=variations[item.variation_id].product.name,
            variation_name=variations[item.variation_id].name,
            quantity=item.quantity,
            unit_price=variations[item.variation_id].price,
        )
        for item in items
    )
    crossed = []
    for item in items:
        variation = variations[item.variation_id]
        before = variation.stock
        variation.stock -= item.quantity
        variation.save(update_fields=["stock"])
        if before > variation.low_stock_threshold >= variation.stock:
            crossed.append(variation)
    cart.status = Cart.Status.CHECKED_OUT
    cart.save(update_fields=["status", "updated_at"])

    user_id = str(customer_id)
    event_publish(
        event_type="order.created",
        data={
            "id": str(order.id),
            "user_id": user_id,
            "status": order.status,
            "total_amount": money_text(order.total_amount),
            "currency": order.currency,
            "items": [
                {
                    "product_name": line.product_name,
                    "variation_name": line.variation_name,
                    "quantity": line.quantity,
                    "unit_price": money_text(line.unit_price),
                }
                for line in order_items
            ],
            "fulfillment": order.fulfillment,
            "created_at": order.created_at,
            "version": order.version,
        },
        user_id=user_id,
    )
    event_publish(
        event_type="inventory.reserved",
        data={
            "order_id": str(order.id),
            "items": [
                {"variation_id": str(line.variation_id), "quantity": line.quantity}
                for line in order_items
            ],
            "reserved_at": now,
        },
        user_id=user_id,
    )
    event_publish(
        event_type="cart.checked_out",
        data={
            "id": str(cart.id),
            "customer_id": user_id,
            "order_id": str(order.id),
            "checked_out_at": now,
        },
        user_id=user_id,
    )
    for variation in crossed:
        event_publish(
            event_type="inventory.stock_low",
            data={
                "product_id": str(variation.product_id),
                "variation_id": str(variation.id),
                "stock": variation.stock,
                "low_stock_threshold": variation.low_stock_threshold,
                "at": now,
            },
        )
    return order


def carts_idle_abandon() -> int:
    """Beat job: close open carts idle for ORDERS_CART_ABANDON_AFTER_S, each in its own
    transaction; `cart.abandoned`. Answer how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDERS_CART_ABANDON_AFTER_S)
    abandoned = 0
    idle = Cart.objects.filter(status=Cart.Status.OPEN, updated_at__lt=cutoff)
    for cart_id in idle.values_list("id", flat=True)[:500]:
        with transaction.atomic():
            cart = Cart.objects.select_for_update().filter(pk=cart_id, status="open").first()
            if cart is None or cart.updated_at >= cutoff:
                continue  # touched meanwhile
            cart.status = Cart.Status.ABANDONED
            cart.save(update_fields=["status"])
            event_publish(
                event_type="cart.abandoned",
                data={
                    "id": str(cart.id),
                    "customer_id": str(cart.customer_id),
                    "items_count": cart.items.count(),
                    "abandoned_at": timezone.now(),
                },
            )
            abandoned += 1
    return abandoned
