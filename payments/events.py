"""Event types of the payments app and the topic they travel on.

Every payment event is keyed by the payable's id (an order, later an appointment) so that, as
seed 002 says, the payment events of one payable stay in order on one partition. Their life:
payment.initiated → payment.authorized → payment.completed, or payment.failed (the payable
may then be paid again); later payment.refunded or payment.refund_failed.
"""

from typing import Any

from outbox.catalog import event_type_declare
from outbox.schemas import CURRENCY, DATE_TIME, MONEY, UUID
from outbox.topics import topic_declare

# Seed 002 keeps payment events 30 days.
PAYMENT_TOPIC = topic_declare(app="payments", aggregate="payment", retention_days=30)

_PAYABLE = {
    "payment_id": UUID,
    "payable_type": {"type": "string", "enum": ["order", "appointment"]},
    "payable_id": UUID,
    "amount": MONEY,
    "currency": CURRENCY,
}
_TEXT = {"type": "string", "minLength": 1}


def _payment_schema(optional: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """The payable's fields plus the event's own; all required but `optional`."""
    every = {**_PAYABLE, **properties}
    return {
        "type": "object",
        "properties": every,
        "required": [name for name in every if name not in optional],
        "additionalProperties": False,
    }


PAYMENT_INITIATED = event_type_declare(
    name="payment.initiated",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    description="The payer started a payment; the gateway has it (`provider_reference`).",
    schema=_payment_schema(
        gateway=_TEXT,
        provider_reference=_TEXT,
        status={"const": "pending"},
        initiated_at=DATE_TIME,
    ),
)
PAYMENT_AUTHORIZED = event_type_declare(
    name="payment.authorized",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    description="The gateway authorized the payment; the capture follows.",
    schema=_payment_schema(
        provider_reference=_TEXT, status={"const": "authorized"}, authorized_at=DATE_TIME
    ),
)
PAYMENT_COMPLETED = event_type_declare(
    name="payment.completed",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="high",
    description="A payable was paid: captured by the gateway; `invoice_url` serves the "
    "invoice PDF to the payer and managers.",
    schema=_payment_schema(
        ("invoice_url",),
        transaction_id={"type": "string"},
        status={"const": "completed"},
        completed_at=DATE_TIME,
        payment_method={"type": "string"},
        invoice_url={"type": "string"},
    ),
)
PAYMENT_FAILED = event_type_declare(
    name="payment.failed",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="critical",
    description="A payment attempt failed (declined, or no answer from the gateway in time); "
    "the payable may be paid again.",
    schema=_payment_schema(
        status={"const": "failed"}, failure_reason={"type": "string"}, failed_at=DATE_TIME
    ),
)
_REFUND = {"refund_id": UUID, "reason": {"type": "string"}}
PAYMENT_REFUNDED = event_type_declare(
    name="payment.refunded",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="high",
    description="Money went back to the payer (`amount`: this refund; `refunded_total`: all "
    "refunds of the payment so far).",
    schema=_payment_schema(**_REFUND, refunded_total=MONEY, refunded_at=DATE_TIME),
)
PAYMENT_REFUND_FAILED = event_type_declare(
    name="payment.refund_failed",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="critical",
    description="The gateway refused a refund; staff must look (the admin can retry it).",
    schema=_payment_schema(**_REFUND, failure_reason={"type": "string"}, failed_at=DATE_TIME),
)
