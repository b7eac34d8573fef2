"""Event types of the payments app and the topic they travel on.

Every payment event is keyed by the payable's id (an order, later an appointment) so that, as
seed 002 says, the payment events of one payable stay in order. The payments issue adds
payment.initiated, payment.authorized, payment.refunded and payment.refund_failed; the two
outcomes below come first because the orders app waits for them.
"""

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

PAYMENT_COMPLETED = event_type_declare(
    name="payment.completed",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="high",
    description="A payable was paid: captured by the gateway.",
    schema={
        "type": "object",
        "properties": {
            **_PAYABLE,
            "transaction_id": {"type": "string"},
            "status": {"const": "completed"},
            "completed_at": DATE_TIME,
            "payment_method": {"type": "string"},
            "invoice_url": {"type": "string"},
        },
        "required": [*_PAYABLE, "transaction_id", "status", "completed_at", "payment_method"],
        "additionalProperties": False,
    },
)
PAYMENT_FAILED = event_type_declare(
    name="payment.failed",
    topic=PAYMENT_TOPIC,
    aggregate_type="payment",
    key_field="payable_id",
    priority="critical",
    description="A payment attempt failed; the payable may be paid again.",
    schema={
        "type": "object",
        "properties": {
            **_PAYABLE,
            "status": {"const": "failed"},
            "failure_reason": {"type": "string"},
            "failed_at": DATE_TIME,
        },
        "required": [*_PAYABLE, "status", "failure_reason", "failed_at"],
        "additionalProperties": False,
    },
)
