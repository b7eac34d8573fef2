"""The payments admin: a payment's page shows its event history; staff refund from the list."""

import pytest
from django.test import Client

from payments.models import Payment
from payments.services import payment_notification_apply, payment_start
from payments.tests.conftest import notification

pytestmark = pytest.mark.django_db


def _paid(payable) -> Payment:
    payment = payment_start(
        payer_id=payable.payer_id, payable_type="order", payable_id=payable.id,
        amount=payable.amount, currency=payable.currency, card_token="tok_visa",
    )  # fmt: skip
    for kind in ("authorized", "captured"):
        payment_notification_apply(
            gateway="simulator", notification=notification(kind, payment.provider_reference)
        )
    return payment


def test_a_payment_page_shows_its_event_history_and_invoice(manager, payable):
    payment = _paid(payable)
    browser = Client()
    browser.force_login(manager)

    page = browser.get(f"/admin/payments/payment/{payment.id}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    for event_type in ("payment.initiated", "payment.authorized", "payment.completed"):
        assert event_type in html
    assert payment.invoice.number in html


def test_staff_refund_in_full_from_the_admin(manager, payer, payable):
    payment = _paid(payable)
    browser = Client()
    browser.force_login(manager)

    response = browser.post(
        "/admin/payments/payment/",
        {"action": "refund_in_full", "_selected_action": [str(payment.id)]},
        follow=True,
    )

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    refund = payment.refunds.get()
    assert refund.requested_by == str(manager.pk)
    assert refund.reason == f"refunded_by_staff: {manager.username}"

    customer = Client()
    customer.force_login(payer)
    assert customer.get("/admin/payments/payment/").status_code == 302  # to the login page
