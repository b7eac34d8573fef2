"""An order's life after checkout: payment outcome, the status machine, cancellation.

Every write locks the order row first, so two managers changing the same order at once
cannot both win: the second sees the first's status and is refused if its move is no longer
allowed. The payment outcome arrives only as events (orders.handlers), never by a call.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import Order, ProductVariation
from outbox.schemas import money_text
from outbox.services import event_publish

S = Order.Status
# Seed 000 (pickup) and seed 001 (shipping): the moves a manager may make.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.WAITING: (S.PREPARATION,),
    S.PREPARATION: (S.READY,),
    S.READY: (S.DELIVERED, S.SHIPPED),
    S.SHIPPED: (S.DELIVERED,),
}
CUSTOMER_MAY_CANCEL = (S.PENDING_PAYMENT, S.WAITING)
MANAGER_MAY_CANCEL = (S.PENDING_PAYMENT, S.WAITING, S.PREPARATION, S.READY)


@dataclass
class OrderTransitionError(Exception):
    """The move is not allowed from the order's current status; `allowed` says which are."""

    status: str
    requested: str
    allowed: tuple[str, ...]

    def __str__(self) -> str:
        allowed = ", ".join(self.allowed) or "none"
        return (
            f"An order in status {self.status} cannot become {self.requested} (allowed: {allowed})."
        )


def _lock(order_id: UUID) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _items(order: Order) -> list[dict[str, Any]]:
    return [
        {"variation_id": str(item.variation_id), "quantity": item.quantity}
        for item in order.items.order_by("variation_id")
    ]


def _user_id(user: Any) -> str | None:
    return str(user.pk) if user is not None else None


def _version_next(order: Order) -> int:
    """The version the next order.* event carries (saved with the row, which is locked)."""
    order.version += 1
    return order.version


@transaction.atomic
def order_payment_complete(*, order_id: UUID, payment_id: str) -> Order | None:
    """From `payment.completed`: the order is confirmed and waits for preparation;
    `order.confirmed` and `inventory.updated`. A repeated outcome changes nothing."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or order.status != S.PENDING_PAYMENT:
        return order
    now = timezone.now()
    order.status = S.WAITING
    order.paid_at = now
    version = _version_next(order)
    order.save(update_fields=["status", "paid_at", "version", "updated_at"])
    user_id = str(order.customer_id)
    event_publish(
        event_type="order.confirmed",
        data={"id": str(order.id), "user_id": user_id, "status": S.WAITING,
              "payment_id": payment_id, "confirmed_at": now, "version": version},
    )  # fmt: skip
    event_publish(
        event_type="inventory.updated",
        data={"order_id": str(order.id), "items": _items(order), "updated_at": now},
    )
    return order


@transaction.atomic
def order_status_change(
    *, order_id: UUID, new_status: str, by: Any, tracking_number: str = ""
) -> Order:
    """A manager moves the order one step: `order.status.changed`, and `order.shipped` /
    `order.delivered`. Shipping needs a tracking number; pickup orders are delivered."""
    order = _lock(order_id)
    allowed = TRANSITIONS.get(order.status, ())
    if order.fulfillment == Order.Fulfillment.PICKUP:
        allowed = tuple(s for s in allowed if s != S.SHIPPED)
    elif order.status == S.READY:
        allowed = (S.SHIPPED,)
    if new_status not in allowed:
        raise OrderTransitionError(order.status, new_status, allowed)
    if new_status == S.SHIPPED and not tracking_number:
        raise OrderTransitionError(order.status, "shipped without a tracking number", allowed)
    previous, now, user_id = order.status, timezone.now(), str(order.customer_id)
    order.status = new_status
    if new_status == S.SHIPPED:
        order.tracking_number = tracking_number
    changed_version = _version_next(order)
    followed_by = new_status in (S.SHIPPED, S.DELIVERED)  # order.shipped / order.delivered
    final_version = _version_next(order) if followed_by else changed_version
    order.save(update_fields=["status", "tracking_number", "version", "updated_at"])
    event_publish(
        event_type="order.status.changed",
        data={"id": str(order.id), "user_id": user_id, "previous_status": previous,
              "new_status": new_status, "updated_by": _user_id(by), "updated_at": now,
              "version": changed_version},
        user_id=_user_id(by),
    )  # fmt: skip
    if new_status == S.SHIPPED:
        event_publish(
            event_type="order.shipped",
            data={"id": str(order.id), "user_id": user_id,
                  "tracking_number": tracking_number, "shipped_at": now,
                  "version": final_version},
        )  # fmt: skip
    elif new_status == S.DELIVERED:
        event_publish(
            event_type="order.delivered",
            data={"id": str(order.id), "user_id": user_id, "delivered_at": now,
                  "version": final_version},
        )  # fmt: skip
    return order


@transaction.atomic
def order_cancel(*, order_id: UUID, by: Any, reason: str, as_manager: bool) -> Order:
    """Cancel: customers while the order waits for payment or preparation, managers until
    it ships. The reserved stock goes back on sale; `order.cancelled` (with `refund_due`
    when it was paid) and `inventory.released`."""
    order = _lock(order_id)
    allowed = MANAGER_MAY_CANCEL if as_manager else CUSTOMER_MAY_CANCEL
    if order.status not in allowed:
        raise OrderTransitionError(order.status, S.CANCELLED, ())
    previous, now = order.status, timezone.now()
    items = _items(order)
    for item in order.items.order_by("variation_id"):
        ProductVariation.objects.filter(pk=item.variation_id).update(
            stock=F("stock") + item.quantity
        )
    order.status = S.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = reason
    version = _version_next(order)
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "version", "updated_at"])
    event_publish(
        event_type="order.cancelled",
        data={
            "id": str(order.id), "user_id": str(order.customer_id), "previous_status": previous,
            "reason": reason, "refund_due": order.paid_at is not None,
            "amount": money_text(order.total_amount),
            "currency": order.currency, "cancelled_by": _user_id(by), "cancelled_at": now,
            "version": version,
        },
        user_id=_user_id(by),
    )  # fmt: skip
    event_publish(
        event_type="inventory.released",
        data={"order_id": str(order.id), "items": items, "released_at": now},
    )
    return order


def orders_unpaid_cancel() -> int:
    """Beat job: cancel orders still unpaid after ORDERS_PAYMENT_TIMEOUT_S (reason
    `payment_timeout`), one transaction each; answer how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDERS_PAYMENT_TIMEOUT_S)
    cancelled = 0
    for order_id in Order.objects.filter(
        status=S.PENDING_PAYMENT, created_at__lt=cutoff
    ).values_list("id", flat=True)[:500]:
        try:
            order_cancel(order_id=order_id, by=None, reason="payment_timeout", as_manager=True)
            cancelled += 1
        except OrderTransitionError:
            pass  # paid meanwhile
    return cancelled
