"""What the payments app does when another app's event arrives (consumer group `payments`)."""

from decimal import Decimal

from django.utils.dateparse import parse_datetime

from outbox.consumer import Event
from outbox.groups import handles
from payments.models import Payable
from payments.services import payable_cancel, payable_register


@handles("order.created", group="payments")
def payable_from_order_created(event: Event) -> None:
    """A new order is owed: its total, currency and lines (for the invoice)."""
    data = event.data
    payable_register(
        payable_type=Payable.Type.ORDER,
        payable_id=data["id"],
        payer_id=data["user_id"],
        amount=Decimal(data["total_amount"]),
        currency=data["currency"],
        line_items=[
            {
                "description": f"{item['product_name']} ({item['variation_name']})",
                "quantity": item["quantity"],
                "unit_price": item["unit_price"],
            }
            for item in data["items"]
        ],
        created_at=parse_datetime(data["created_at"]),
    )


@handles("order.cancelled", group="payments")
def payable_from_order_cancelled(event: Event) -> None:
    """A cancelled order can't be paid any more; a paid one (`refund_due`) is refunded."""
    payable_cancel(
        payable_id=event.data["id"],
        reason=f"order_cancelled: {event.data['reason']}",
        cause_id=event.event_id,
    )
