"""Payables: what the payments app learns it may charge, from other apps' events."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from django.db import transaction

from payments.models import Payable, Payment
from payments.services.refunds import refund_create


@transaction.atomic
def payable_register(
    *,
    payable_type: str,
    payable_id: UUID,
    payer_id: UUID,
    amount: Decimal,
    currency: str,
    line_items: list[dict[str, Any]],
    created_at: datetime,
) -> Payable:
    """Record what a new order (or appointment) costs; a repeated event changes nothing."""
    payable, _ = Payable.objects.get_or_create(
        id=payable_id,
        defaults={
            "payable_type": payable_type,
            "payer_id": payer_id,
            "amount": amount,
            "currency": currency,
            "line_items": line_items,
            "created_at": created_at,
        },
    )
    return payable


@transaction.atomic
def payable_cancel(*, payable_id: UUID, reason: str, cause_id: UUID) -> Payable | None:
    """The order (or appointment) was cancelled. Unpaid: it is closed and can't be paid any
    more. Paid: the captured payment is refunded in full; payments is the book of money, so
    this does not depend on whether the canceller believed it was paid. Refund ids derive
    from `cause_id` (the event), so a re-run asks the gateway for the same refunds."""
    payable = Payable.objects.select_for_update().filter(pk=payable_id).first()
    if payable is None:
        return None
    if payable.status == Payable.Status.OPEN:
        payable.status = Payable.Status.CLOSED
        payable.save(update_fields=["status", "updated_at"])
    elif payable.status == Payable.Status.PAID:
        captured = payable.payments.filter(status__in=Payment.CAPTURED).order_by("completed_at")
        for payment in captured:
            if payment.refundable_amount > 0:
                refund_id = uuid5(cause_id, str(payment.id))
                refund_create(payment_id=payment.id, reason=reason, refund_id=refund_id)
    return payable
