"""Every payment event goes out through `payment_event_publish`: the payable's fields, the
event's own, the outbox row, and a copy in the payment's history (the admin shows it)."""

import json
from typing import Any

from outbox.schemas import money_text
from outbox.services import event_publish
from payments.models import Payment, PaymentEventRecord


def payment_event_publish(*, payment: Payment, event_type: str, **fields: Any) -> None:
    """Publish a payment event keyed by the payable's id (one partition per payable)."""
    data = {
        "payment_id": str(payment.id),
        "payable_type": payment.payable.payable_type,
        "payable_id": str(payment.payable_id),
        "amount": money_text(payment.amount),
        "currency": payment.currency,
        **fields,
    }
    row = event_publish(event_type=event_type, data=data)
    PaymentEventRecord.objects.create(
        payment=payment,
        event_id=row.event_id,
        event_type=event_type,
        data=json.loads(bytes(row.value))["data"],
        occurred_at=row.created_at,
    )
