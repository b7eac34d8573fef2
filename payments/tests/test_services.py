"""Payment services: the rows they write, the events (checked against their schemas and keyed
by the payable), and the refusals that write nothing."""

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import transaction
from django.utils import timezone

from outbox.models import OutboxEvent
from outbox.testing import outbox_events
from payments.models import Invoice, Payable, Payment, Refund, WebhookDelivery
from payments.services import (
    DuplicateDelivery,
    PaymentError,
    RefundError,
    payable_cancel,
    payable_register,
    payment_notification_apply,
    payment_start,
    payments_stale_fail,
    refund_create,
)
from payments.tests.conftest import notification, payable_for, pdf_text

pytestmark = pytest.mark.django_db


def _start(payable: Payable, token: str = "tok_visa", **overrides) -> Payment:
    arguments = {
        "payer_id": payable.payer_id, "payable_type": payable.payable_type,
        "payable_id": payable.id, "amount": payable.amount, "currency": payable.currency,
        "card_token": token, **overrides,
    }  # fmt: skip
    return payment_start(**arguments)


def _data(event_type: str) -> list[dict]:
    return [envelope["data"] for envelope in outbox_events(event_type)]


def _payment_events() -> list[str]:
    rows = OutboxEvent.objects.filter(event_type__startswith="payment.").order_by("id")
    return list(rows.values_list("event_type", flat=True))


def _paid(payable: Payable) -> Payment:
    payment = _start(payable)
    for kind in ("authorized", "captured"):
        payment_notification_apply(
            gateway="simulator", notification=notification(kind, payment.provider_reference)
        )
    payment.refresh_from_db()
    return payment


def test_a_repeated_order_created_registers_one_payable(payer):
    payable = payable_for(payer)
    again = payable_register(
        payable_type="order", payable_id=payable.id, payer_id=payer.pk, amount=Decimal("1.00"),
        currency="USD", line_items=[], created_at=timezone.now(),
    )  # fmt: skip
    assert again.amount == Decimal("9.00")
    assert Payable.objects.filter(pk=payable.id).count() == 1


def test_starting_a_payment_publishes_initiated_keyed_by_the_payable(payable):
    payment = _start(payable)

    assert payment.status == Payment.Status.PENDING
    assert payment.provider_reference.startswith("sim_ch_")
    (initiated,) = outbox_events("payment.initiated")
    assert initiated["aggregate_id"] == str(payable.id)
    assert initiated["data"] == {
        "payment_id": str(payment.id), "payable_type": "order", "payable_id": str(payable.id),
        "amount": "9.00", "currency": "EUR", "gateway": "simulator",
        "provider_reference": payment.provider_reference, "status": "pending",
        "initiated_at": initiated["data"]["initiated_at"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"amount": Decimal("8.99")}, 400, "amount_mismatch"),
        ({"currency": "USD"}, 400, "currency_mismatch"),
        ({"card_token": "tok_unknown"}, 400, "invalid_card_token"),
    ],
)
def test_a_refused_payment_writes_nothing(payable, overrides, status, code):
    with pytest.raises(PaymentError) as refused:
        _start(payable, **overrides)

    assert (refused.value.status, refused.value.code) == (status, code)
    assert not Payment.objects.exists()
    assert _payment_events() == []


def test_someone_elses_payable_is_not_found(payable, manager):
    with pytest.raises(PaymentError) as refused:
        _start(payable, payer_id=manager.pk)
    assert (refused.value.status, refused.value.code) == (404, "payable_not_found")


def test_one_payment_in_flight_and_a_paid_payable_is_never_paid_again(payable):
    _start(payable)
    with pytest.raises(PaymentError) as in_flight:
        _start(payable)
    assert in_flight.value.code == "payment_in_progress"

    Payment.objects.update(status=Payment.Status.COMPLETED)
    Payable.objects.update(status=Payable.Status.PAID)
    with pytest.raises(PaymentError) as paid:
        _start(payable)
    assert (paid.value.status, paid.value.code) == (409, "already_paid")


def test_authorized_then_captured_completes_with_an_invoice(payable):
    payment = _paid(payable)

    assert payment.status == Payment.Status.COMPLETED
    assert payment.transaction_id == f"txn-{payment.provider_reference}"
    payable.refresh_from_db()
    assert payable.status == Payable.Status.PAID
    assert _payment_events() == ["payment.initiated", "payment.authorized", "payment.completed"]
    (completed,) = _data("payment.completed")
    assert completed["invoice_url"].endswith(f"/api/payments/{payment.id}/invoice")
    assert completed["payment_method"] == "card_visa"
    invoice = Invoice.objects.get(payment=payment)
    text = pdf_text(invoice.file.read())
    assert invoice.number in text
    assert "Latte (Pumpkin Spice)" in text
    assert "9.00 EUR" in text
    assert payment.transaction_id in text
    assert list(payment.event_records.values_list("event_type", flat=True)) == [
        "payment.initiated", "payment.authorized", "payment.completed",
    ]  # fmt: skip


def test_invoice_numbers_follow_each_other(payer):
    numbers = [_paid(payable_for(payer)).invoice.number for _ in range(3)]
    sequence = [int(number.rsplit("-", 1)[1]) for number in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


def test_a_declined_payment_fails_and_the_payable_can_be_paid_again(payable):
    declined = _start(payable, token="tok_insufficient_funds")
    payment_notification_apply(
        gateway="simulator",
        notification=notification(
            "failed", declined.provider_reference, failure_reason="Insufficient funds"
        ),
    )
    (failed,) = _data("payment.failed")
    assert failed["failure_reason"] == "Insufficient funds"
    assert failed["payable_id"] == str(payable.id)

    retry = _paid(payable)
    assert retry.status == Payment.Status.COMPLETED


def test_a_repeated_delivery_writes_nothing(payable):
    payment = _start(payable)
    once = notification("authorized", payment.provider_reference)
    payment_notification_apply(gateway="simulator", notification=once)
    rows = OutboxEvent.objects.count()

    with pytest.raises(DuplicateDelivery):
        payment_notification_apply(gateway="simulator", notification=once)
    assert OutboxEvent.objects.count() == rows
    assert WebhookDelivery.objects.count() == 1


def test_an_unanswered_payment_fails_after_the_gateway_timeout(payable):
    payment = _start(payable, token="tok_timeout")
    assert payments_stale_fail(older_than_s=60) == 0

    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert payments_stale_fail(older_than_s=60) == 1
    (failed,) = _data("payment.failed")
    assert failed["failure_reason"] == "No answer from the payment gateway in time"
    assert _start(payable).status == Payment.Status.PENDING  # payable again


def test_a_late_capture_of_a_payable_paid_meanwhile_is_refunded(payable):
    late = _start(payable, token="tok_visa")
    Payment.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    payments_stale_fail(older_than_s=60)
    _paid(payable)

    payment_notification_apply(
        gateway="simulator", notification=notification("captured", late.provider_reference)
    )

    late.refresh_from_db()
    assert late.status == Payment.Status.REFUNDED
    (refunded,) = _data("payment.refunded")
    assert (refunded["payment_id"], refunded["reason"]) == (str(late.id), "duplicate_payment")
    assert Payment.objects.filter(payable=payable, status="completed").count() == 1


def test_partial_then_full_refund_and_the_invoice_notes_it(payable, manager):
    payment = _paid(payable)

    refund_create(payment_id=payment.id, amount=Decimal("4.00"), reason="broken cup",
                  requested_by=str(manager.pk))  # fmt: skip
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    with pytest.raises(RefundError):
        refund_create(payment_id=payment.id, amount=Decimal("5.01"), reason="too much")
    refund_create(payment_id=payment.id, reason="rest")

    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, Decimal("9.00"))
    refunds = _data("payment.refunded")
    assert [(r["amount"], r["refunded_total"]) for r in refunds] == [
        ("4.00", "4.00"), ("5.00", "9.00")
    ]  # fmt: skip
    text = pdf_text(payment.invoice.file.read())
    assert "Refund note" in text
    assert "Refunded 4.00 EUR" in text
    assert "Total refunded: 9.00 EUR" in text
    with pytest.raises(RefundError) as nothing_left:
        refund_create(payment_id=payment.id, reason="again")
    assert nothing_left.value.code == "not_refundable"


def test_a_refund_the_gateway_refuses_is_recorded_and_published(payable):
    payment = _start(payable, token="tok_refund_fails")
    payment_notification_apply(
        gateway="simulator", notification=notification("captured", payment.provider_reference)
    )

    refund = refund_create(payment_id=payment.id, reason="customer_request")

    assert refund.status == Refund.Status.FAILED
    (failed,) = _data("payment.refund_failed")
    assert failed["failure_reason"] == "The card issuer refused it"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETED


def test_cancelling_closes_an_unpaid_payable_and_refunds_a_paid_one(payer):
    unpaid, paid = payable_for(payer), payable_for(payer)
    payment = _paid(paid)

    payable_cancel(
        payable_id=unpaid.id, reason="order_cancelled: payment_timeout", cause_id=uuid4()
    )
    payable_cancel(payable_id=paid.id, reason="order_cancelled: customer_request",
                   cause_id=uuid4())  # fmt: skip

    unpaid.refresh_from_db()
    assert unpaid.status == Payable.Status.CLOSED
    with pytest.raises(PaymentError) as closed:
        _start(unpaid)
    assert closed.value.code == "payable_closed"
    (refunded,) = _data("payment.refunded")
    assert refunded["payment_id"] == str(payment.id)
    assert refunded["amount"] == "9.00"
    assert refunded["reason"] == "order_cancelled: customer_request"


def test_a_cancellation_handled_again_after_a_rollback_refunds_once(payer):
    payable = payable_for(payer)
    payment = _paid(payable)
    cause = uuid4()  # the order.cancelled event

    with pytest.raises(RuntimeError), transaction.atomic():
        payable_cancel(payable_id=payable.id, reason="order_cancelled", cause_id=cause)
        raise RuntimeError("the consumer's batch failed after the gateway refunded")
    payable_cancel(payable_id=payable.id, reason="order_cancelled", cause_id=cause)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunds.get().status == Refund.Status.SUCCEEDED  # the gateway's same answer


def test_a_capture_after_the_order_was_cancelled_goes_straight_back(payable):
    payment = _start(payable)
    payable_cancel(payable_id=payable.id, reason="order_cancelled: payment_timeout",
                   cause_id=uuid4())  # fmt: skip

    payment_notification_apply(
        gateway="simulator", notification=notification("captured", payment.provider_reference)
    )

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    (refunded,) = _data("payment.refunded")
    assert refunded["reason"] == "payable_cancelled"
    payable.refresh_from_db()
    assert payable.status == Payable.Status.CLOSED
