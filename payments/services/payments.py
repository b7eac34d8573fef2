"""Payments: started by the payer, moved along by the gateway's webhooks."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from outbox.schemas import money_text
from payments.gateways import GatewayError, GatewayNotification, gateway_get
from payments.invoices import invoice_issue
from payments.models import Payable, Payment, WebhookDelivery
from payments.services.errors import DuplicateDelivery, PaymentError
from payments.services.records import payment_event_publish
from payments.services.refunds import refund_create

GATEWAY_TIMEOUT_REASON = "No answer from the payment gateway in time"


@transaction.atomic
def payment_start(
    *,
    payer_id: UUID,
    payable_type: str,
    payable_id: UUID,
    amount: Decimal,
    currency: str,
    card_token: str,
) -> Payment:
    """Charge the payer's own payable through the gateway: `payment.initiated`. The payable
    row is locked, so two attempts can't both start; one already paid or in flight is 409."""
    payable = (
        Payable.objects.select_for_update()
        .filter(pk=payable_id, payable_type=payable_type, payer_id=payer_id)
        .first()
    )
    if payable is None:  # someone else's payable is as unknown as a missing one
        raise PaymentError(404, "payable_not_found", f"No {payable_type} {payable_id} to pay.")
    if payable.status == Payable.Status.PAID:
        raise PaymentError(409, "already_paid", f"{payable} is already paid.")
    if payable.status == Payable.Status.CLOSED:
        raise PaymentError(409, "payable_closed", f"{payable} was cancelled.")
    if payable.payments.filter(status__in=Payment.IN_FLIGHT).exists():
        raise PaymentError(
            409, "payment_in_progress", f"A payment of {payable} is waiting for the gateway."
        )
    if currency != payable.currency:
        raise PaymentError(
            400, "currency_mismatch", f"{payable} is owed in {payable.currency}.", "currency"
        )
    if amount != payable.amount:
        raise PaymentError(
            400,
            "amount_mismatch",
            f"{payable} is owed {money_text(payable.amount)} {payable.currency}.",
            "amount",
        )
    gateway = gateway_get()
    payment_id = uuid4()
    try:
        charge = gateway.charge_create(
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            card_token=card_token,
            description=f"{payable.payable_type} {payable.id}",
        )
    except GatewayError as exc:
        raise PaymentError(400, exc.code, exc.message, "card_token") from exc
    now = timezone.now()
    payment = Payment.objects.create(
        id=payment_id,
        payable=payable,
        payer_id=payer_id,
        amount=amount,
        currency=currency,
        gateway=gateway.name,
        provider_reference=charge.provider_reference,
        created_at=now,
    )
    payment_event_publish(
        payment=payment, event_type="payment.initiated", gateway=gateway.name,
        provider_reference=payment.provider_reference, status="pending",
        initiated_at=now.isoformat(),
    )  # fmt: skip
    return payment


@transaction.atomic
def payment_notification_apply(*, gateway: str, notification: GatewayNotification) -> Payment:
    """Apply one verified webhook. The delivery id is recorded in the same transaction, so a
    repeat raises DuplicateDelivery and writes nothing; an unknown reference raises
    Payment.DoesNotExist. Late or out-of-order notifications change nothing."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                gateway=gateway,
                delivery_id=notification.delivery_id,
                kind=notification.kind,
                provider_reference=notification.provider_reference,
                received_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise DuplicateDelivery(notification.delivery_id) from exc
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("payable")
        .get(gateway=gateway, provider_reference=notification.provider_reference)
    )
    if notification.kind == "authorized":
        _payment_authorize(payment)
    elif notification.kind == "captured":
        _payment_capture(payment, notification)
    else:
        _payment_fail(payment, notification.failure_reason)
    return payment


def _payment_authorize(payment: Payment) -> None:
    if payment.status != Payment.Status.PENDING:
        return
    payment.status = Payment.Status.AUTHORIZED
    payment.authorized_at = timezone.now()
    payment.save(update_fields=["status", "authorized_at"])
    payment_event_publish(
        payment=payment, event_type="payment.authorized", status="authorized",
        provider_reference=payment.provider_reference,
        authorized_at=payment.authorized_at.isoformat(),
    )  # fmt: skip


def _payment_capture(payment: Payment, notification: GatewayNotification) -> None:
    """The money is taken: the payment completes and its invoice is issued. If the payable
    was meanwhile paid by another attempt, or cancelled, the money goes straight back, so a
    payable is never paid twice."""
    if payment.status not in (*Payment.IN_FLIGHT, Payment.Status.FAILED):
        return
    payable = Payable.objects.select_for_update().get(pk=payment.payable_id)
    now = timezone.now()
    payment.status = Payment.Status.COMPLETED
    payment.completed_at = now
    payment.authorized_at = payment.authorized_at or now
    payment.transaction_id = notification.transaction_id
    payment.payment_method = notification.payment_method
    payment.failure_reason = ""
    payment.save()
    invoice_issue(payment=payment)
    payment_event_publish(
        payment=payment, event_type="payment.completed",
        transaction_id=payment.transaction_id, status="completed",
        completed_at=now.isoformat(), payment_method=payment.payment_method,
        invoice_url=settings.PUBLIC_BASE_URL
        + reverse("payments-invoice", kwargs={"payment_id": payment.id}),
    )  # fmt: skip
    if payable.status == Payable.Status.OPEN:
        payable.status = Payable.Status.PAID
        payable.save(update_fields=["status", "updated_at"])
        return
    reason = "duplicate_payment" if payable.status == Payable.Status.PAID else "payable_cancelled"
    refund_create(
        payment_id=payment.id, reason=reason, refund_id=uuid5(payment.id, "automatic_refund")
    )


def _payment_fail(payment: Payment, reason: str) -> None:
    if payment.status not in Payment.IN_FLIGHT:
        return
    payment.status = Payment.Status.FAILED
    payment.failed_at = timezone.now()
    payment.failure_reason = reason or "Declined"
    payment.save(update_fields=["status", "failed_at", "failure_reason"])
    payment_event_publish(
        payment=payment, event_type="payment.failed", status="failed",
        failure_reason=payment.failure_reason, failed_at=payment.failed_at.isoformat(),
    )  # fmt: skip


def payments_stale_fail(*, older_than_s: float | None = None, limit: int = 500) -> int:
    """Fail payments the gateway has not answered for PAYMENTS_GATEWAY_TIMEOUT_S, so their
    payable can be paid again (a capture that still comes later is refunded)."""
    timeout = settings.PAYMENTS_GATEWAY_TIMEOUT_S if older_than_s is None else older_than_s
    cutoff = timezone.now() - timedelta(seconds=timeout)
    with transaction.atomic():
        stale = list(
            Payment.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("payable")
            .filter(status__in=Payment.IN_FLIGHT, created_at__lt=cutoff)
            .order_by("created_at", "id")[:limit]
        )
        for payment in stale:
            _payment_fail(payment, GATEWAY_TIMEOUT_REASON)
    return len(stale)
