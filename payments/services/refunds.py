"""Refunds through the gateway that took the payment."""

from decimal import Decimal
from uuid import UUID, uuid4

from django.db import transaction
from django.utils import timezone

from outbox.schemas import money_text
from payments.gateways import gateway_get
from payments.invoices import invoice_redraw
from payments.models import Invoice, Payment, Refund
from payments.services.errors import RefundError
from payments.services.records import payment_event_publish


@transaction.atomic
def refund_create(
    *,
    payment_id: UUID,
    reason: str,
    amount: Decimal | None = None,
    requested_by: str = "",
    refund_id: UUID | None = None,
) -> Refund:
    """Give back `amount` (default: all that is left) of a captured payment:
    `payment.refunded`, with a refund note on the invoice, or `payment.refund_failed`.
    `refund_id` (default: new) is the gateway's idempotency key, so a handler that runs
    again after its transaction rolled back does not refund twice."""
    payment = (
        Payment.objects.select_for_update(of=("self",)).select_related("payable").get(pk=payment_id)
    )
    left = payment.refundable_amount
    if left <= 0:
        raise RefundError("not_refundable", f"Payment {payment.id} has nothing left to refund.")
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise RefundError(
            "refund_amount_invalid",
            f"A refund must be more than 0 and at most {money_text(left)} {payment.currency}.",
        )
    refund_id = refund_id or uuid4()
    outcome = gateway_get().refund_create(
        provider_reference=payment.provider_reference,
        refund_id=refund_id,
        amount=amount,
        currency=payment.currency,
    )
    now = timezone.now()
    refund = Refund.objects.create(
        id=refund_id,
        payment=payment,
        amount=amount,
        reason=reason,
        status=Refund.Status.SUCCEEDED if outcome.succeeded else Refund.Status.FAILED,
        provider_refund_id=outcome.provider_refund_id,
        failure_reason=outcome.failure_reason,
        requested_by=requested_by,
        created_at=now,
    )
    fields = {"refund_id": str(refund.id), "amount": money_text(amount), "reason": reason}
    if not outcome.succeeded:
        payment_event_publish(
            payment=payment, event_type="payment.refund_failed", **fields,
            failure_reason=outcome.failure_reason, failed_at=now.isoformat(),
        )  # fmt: skip
        return refund
    payment.refunded_amount += amount
    payment.status = (
        Payment.Status.REFUNDED
        if payment.refunded_amount == payment.amount
        else Payment.Status.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["refunded_amount", "status"])
    invoice = Invoice.objects.filter(payment=payment).first()
    if invoice is not None:
        invoice_redraw(invoice=invoice)
    payment_event_publish(
        payment=payment, event_type="payment.refunded", **fields,
        refunded_total=money_text(payment.refunded_amount), refunded_at=now.isoformat(),
    )  # fmt: skip
    return refund
