"""Tables of the payments app.

A `Payable` is something that can be paid (an order now, an appointment later); the app
learns about it from events. Each attempt to pay it is a `Payment` through a gateway; a paid
payment may have `Refund`s and has one `Invoice`. Amounts are Decimal with a currency.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q


class Payable(models.Model):
    """What is owed for one order or appointment, learnt from its creation event."""

    class Type(models.TextChoices):
        ORDER = "order", "Order"
        APPOINTMENT = "appointment", "Appointment"

    class Status(models.TextChoices):
        OPEN = "open", "Open (waiting for its payment)"
        PAID = "paid", "Paid"
        CLOSED = "closed", "Closed (cancelled before it was paid)"

    id = models.UUIDField(primary_key=True)  # the order's or appointment's id
    payable_type = models.CharField(max_length=20, choices=Type.choices)
    payer_id = models.UUIDField(db_index=True)  # the user who owes it
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    # [{"description", "quantity", "unit_price"}]: the invoice's lines, as the payable had them.
    line_items = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payable_amount_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.payable_type} {self.id}"


class Payment(models.Model):
    """One attempt to pay a payable through a gateway, moved along by the gateway's webhooks:
    pending → authorized → completed (→ refunded / partially refunded), or failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHORIZED = "authorized", "Authorized"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    IN_FLIGHT = (Status.PENDING, Status.AUTHORIZED)
    CAPTURED = (Status.COMPLETED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payable = models.ForeignKey(Payable, on_delete=models.PROTECT, related_name="payments")
    payer_id = models.UUIDField(db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    gateway = models.CharField(max_length=30)
    provider_reference = models.CharField(max_length=100)
    transaction_id = models.CharField(max_length=100, blank=True)
    payment_method = models.CharField(max_length=50, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(db_index=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_reference"], name="payment_provider_reference_uniq"
            ),
            # At most one attempt in flight and one captured payment per payable: the
            # database, not a check-then-act, keeps a payable from being paid twice.
            models.UniqueConstraint(
                fields=["payable"],
                condition=Q(status__in=["pending", "authorized"]),
                name="payment_one_in_flight_per_payable",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="payment_refunded_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.payable_id} ({self.status})"

    @property
    def refundable_amount(self) -> Decimal:
        if self.status not in self.CAPTURED:
            return Decimal("0.00")
        return self.amount - self.refunded_amount


class Refund(models.Model):
    """Money given back on a captured payment, through the gateway that took it."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    requested_by = models.CharField(max_length=64, blank=True)  # a user id, or "" for events
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0")]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment_id} ({self.status})"


class Invoice(models.Model):
    """The PDF issued when a payment completes; numbered without gaps (`InvoiceCounter`)."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="invoice")
    number = models.CharField(max_length=20, unique=True)
    file = models.FileField(upload_to="invoices/")
    issued_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.number


class InvoiceCounter(models.Model):
    """One row per year; locked and incremented in the completing transaction, so invoice
    numbers are sequential with no gaps (a rolled-back payment gives its number back)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class PaymentEventRecord(models.Model):
    """The events a payment published, kept with it for its history in the admin."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="event_records")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    data = models.JSONField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return self.event_type


class WebhookDelivery(models.Model):
    """A gateway webhook we applied, by its delivery id: a repeated delivery is refused.
    Written in the transaction of the webhook's effect."""

    gateway = models.CharField(max_length=30)
    delivery_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=30)
    provider_reference = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "delivery_id"], name="webhook_delivery_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.delivery_id}"


class IdempotencyKey(models.Model):
    """The stored answer to a request made with an `Idempotency-Key` header, per user.
    The row is inserted first, in the request's transaction: a concurrent request with the
    same key waits on the unique index, then replays this answer (or gets 409 when its body
    differs)."""

    user_id = models.UUIDField()
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_key_uniq")
        ]

    def __str__(self) -> str:
        return self.key
