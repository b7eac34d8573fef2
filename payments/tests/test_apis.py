"""Payments over REST: starting a payment (with Idempotency-Key, also under concurrency), the
signed webhook, listing, invoices, refunds, and bad input answered 4xx in the error shape."""

import json
import threading
import time
import uuid

import pytest
from django.db import connections
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import User
from config.testing import assert_api_error
from outbox.models import OutboxEvent
from payments.gateways.simulator import signed_headers
from payments.models import IdempotencyKey, Payable, Payment, WebhookDelivery
from payments.tests.conftest import payable_for, pdf_text

pytestmark = pytest.mark.django_db


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _body(payable: Payable, **overrides: str) -> dict[str, str]:
    return {
        "payable_type": payable.payable_type, "payable_id": str(payable.id),
        "amount": str(payable.amount), "currency": payable.currency, "card_token": "tok_visa",
        **overrides,
    }  # fmt: skip


def _webhook(client: APIClient, event: dict, headers: dict[str, str] | None = None):
    body = json.dumps(event).encode()
    headers = signed_headers(body) if headers is None else headers
    return client.post(
        "/api/payments/webhook",
        body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def _event(kind: str, reference: str, delivery_id: str | None = None) -> dict:
    data = {"reference": reference, "amount": "9.00", "currency": "EUR",
            "payment_method": "card_visa", "transaction_id": f"txn-{reference}"}  # fmt: skip
    return {"id": delivery_id or f"evt_{uuid.uuid4().hex}", "type": f"charge.{kind}",
            "created": int(time.time()), "data": data}  # fmt: skip


def test_a_payer_starts_a_payment_of_their_own_payable(payer, payable):
    response = _client(payer).post("/api/payments", _body(payable), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["amount"], body["currency"]) == ("pending", "9.00", "EUR")
    assert body["payable_id"] == str(payable.id)
    assert body["invoice_url"] is None


def test_the_same_idempotency_key_and_body_replays_without_charging_again(payer, payable):
    client = _client(payer)
    first = client.post("/api/payments", _body(payable), format="json",
                        headers={"Idempotency-Key": "k-1"})  # fmt: skip
    again = client.post("/api/payments", _body(payable), format="json",
                        headers={"Idempotency-Key": "k-1"})  # fmt: skip

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert OutboxEvent.objects.filter(event_type="payment.initiated").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(payer, payable):
    client = _client(payer)
    client.post("/api/payments", _body(payable), format="json", headers={"Idempotency-Key": "k"})

    other = client.post("/api/payments", _body(payable, card_token="tok_mastercard"),
                        format="json", headers={"Idempotency-Key": "k"})  # fmt: skip

    assert_api_error(other, 409, "idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_a_refused_request_stores_no_key_so_a_retry_runs_again(payer, payable):
    client = _client(payer)
    wrong = client.post("/api/payments", _body(payable, amount="1.00"), format="json",
                        headers={"Idempotency-Key": "k-2"})  # fmt: skip
    assert_api_error(wrong, 400, "amount_mismatch")
    assert not IdempotencyKey.objects.exists()


def _concurrently(requests: list[dict], key: str, payer: User) -> list:
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def post(index: int) -> None:
        try:
            barrier.wait()
            responses[index] = _client(payer).post(
                "/api/payments", requests[index], format="json", headers={"Idempotency-Key": key}
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


def test_an_overlong_idempotency_key_is_refused(payer, payable):
    response = _client(payer).post("/api/payments", _body(payable), format="json",
                                   headers={"Idempotency-Key": "k" * 256})  # fmt: skip
    assert_api_error(response, 400, "idempotency_key_invalid")
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_charge_once(payer, payable):
    responses = _concurrently([_body(payable)] * 6, "same-key", payer)

    assert [r.status_code for r in responses] == [201] * 6
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 5
    assert Payment.objects.count() == 1
    assert OutboxEvent.objects.filter(event_type="payment.initiated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_and_different_bodies(payer, payable):
    bodies = [_body(payable, card_token=token) for token in ("tok_visa", "tok_mastercard")] * 2
    responses = _concurrently(bodies, "mixed-key", payer)

    statuses = sorted(r.status_code for r in responses)
    winner = next(r for r in responses if r.status_code == 201 and not r.get("Idempotent-Replayed"))
    assert statuses == [201, 201, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_api_error(response, 409, "idempotency_key_reused")
        else:
            assert response.json()["id"] == winner.json()["id"]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"amount": "-9.00"}, 400, "invalid"),
        ({"amount": "nine"}, 400, "invalid"),
        ({"amount": "8.00"}, 400, "amount_mismatch"),
        ({"currency": "usd"}, 400, "invalid"),
        ({"currency": "USD"}, 400, "currency_mismatch"),
        ({"payable_type": "boat"}, 400, "invalid"),
        ({"payable_id": "not-a-uuid"}, 400, "invalid"),
        ({"payable_id": str(uuid.uuid4())}, 404, "payable_not_found"),
        ({"card_token": "tok_nope"}, 400, "invalid_card_token"),
    ],
)
def test_bad_payment_input_is_a_4xx(payer, payable, overrides, status, code):
    response = _client(payer).post("/api/payments", _body(payable, **overrides), format="json")
    assert_api_error(response, status, code)
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"payable_type": "order"', "application/json", 400, "parse_error"),
        ("payable_type=order", "text/plain", 415, "unsupported_media_type"),
        ("[]", "application/json", 400, "invalid"),
    ],
)
def test_malformed_payment_bodies_are_4xx(payer, body, content_type, status, code):
    response = _client(payer).post("/api/payments", body, content_type=content_type)
    assert_api_error(response, status, code)


def test_someone_elses_payable_and_already_paid_are_refused(payer, manager, payable):
    assert_api_error(
        _client(manager).post("/api/payments", _body(payable), format="json"),
        404,
        "payable_not_found",
    )
    Payable.objects.filter(pk=payable.pk).update(status=Payable.Status.PAID)
    assert_api_error(
        _client(payer).post("/api/payments", _body(payable), format="json"), 409, "already_paid"
    )
    assert_api_error(
        APIClient().post("/api/payments", _body(payable), format="json"),
        401,
        "not_authenticated",
    )


def _pending(payer: User, payable: Payable) -> Payment:
    response = _client(payer).post("/api/payments", _body(payable), format="json")
    return Payment.objects.get(pk=response.json()["id"])


def test_the_webhook_applies_signed_deliveries(payer, payable):
    payment = _pending(payer, payable)
    webhook = APIClient()

    assert _webhook(webhook, _event("authorized", payment.provider_reference)).status_code == 200
    assert _webhook(webhook, _event("captured", payment.provider_reference)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETED
    assert payment.invoice.number


def _nothing_written(payment: Payment, outbox_rows: int) -> None:
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert OutboxEvent.objects.count() == outbox_rows
    assert not WebhookDelivery.objects.exists()


def test_the_webhook_refuses_a_bad_signature_writing_nothing(payer, payable):
    payment = _pending(payer, payable)
    rows = OutboxEvent.objects.count()
    event = _event("authorized", payment.provider_reference)
    headers = signed_headers(json.dumps(event).encode())
    tampered = {**event, "data": {**event["data"], "amount": "0.01"}}

    assert_api_error(_webhook(APIClient(), tampered, headers), 400, "signature_invalid")
    assert_api_error(_webhook(APIClient(), event, {}), 400, "signature_missing")
    forged = {**headers, "Simulator-Signature": "v1=" + "0" * 64}
    assert_api_error(_webhook(APIClient(), event, forged), 400, "signature_invalid")
    _nothing_written(payment, rows)


def test_the_webhook_refuses_an_old_timestamp_writing_nothing(payer, payable, settings):
    settings.PAYMENTS_WEBHOOK_TOLERANCE_S = 300
    payment = _pending(payer, payable)
    rows = OutboxEvent.objects.count()
    event = _event("authorized", payment.provider_reference)
    old = signed_headers(json.dumps(event).encode(), timestamp=int(time.time()) - 301)

    assert_api_error(_webhook(APIClient(), event, old), 400, "timestamp_outside_window")
    _nothing_written(payment, rows)


def _webhooks_counted(outcome: str) -> float:
    labels = {"gateway": "simulator", "outcome": outcome}
    return REGISTRY.get_sample_value("payment_webhooks_total", labels) or 0.0


def test_the_webhook_refuses_a_repeated_delivery_writing_nothing(payer, payable):
    payment = _pending(payer, payable)
    event = _event("authorized", payment.provider_reference, delivery_id="evt_once")
    applied, duplicates = _webhooks_counted("applied"), _webhooks_counted("duplicate_delivery")
    assert _webhook(APIClient(), event).status_code == 200
    rows = OutboxEvent.objects.count()

    assert_api_error(_webhook(APIClient(), event), 409, "duplicate_delivery")
    assert OutboxEvent.objects.count() == rows
    assert WebhookDelivery.objects.count() == 1
    assert _webhooks_counted("applied") == applied + 1
    assert _webhooks_counted("duplicate_delivery") == duplicates + 1


def test_the_webhook_refuses_unknown_references_and_junk(payer, payable):
    assert_api_error(_webhook(APIClient(), _event("captured", "sim_ch_nope")), 404,
                     "unknown_reference")  # fmt: skip
    assert_api_error(_webhook(APIClient(), {"id": "evt_x", "type": "charge.exploded"}), 400,
                     "malformed_webhook")  # fmt: skip
    junk = b"\x00not json"
    response = APIClient().post("/api/payments/webhook", junk, content_type="application/json",
                                headers={k: v for k, v in signed_headers(junk).items()
                                         if k != "Content-Type"})  # fmt: skip
    assert_api_error(response, 400, "malformed_webhook")
    huge = b"x" * (3 * 1024 * 1024)  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    response = APIClient().post("/api/payments/webhook", huge, content_type="application/json")
    assert_api_error(response, 413, "request_too_large")
    assert not WebhookDelivery.objects.exists()


def _completed(payer: User, payable: Payable) -> Payment:
    payment = _pending(payer, payable)
    for kind in ("authorized", "captured"):
        _webhook(APIClient(), _event(kind, payment.provider_reference))
    payment.refresh_from_db()
    return payment


def test_the_invoice_is_served_to_its_payer_and_managers_only(payer, manager, payable):
    payment = _completed(payer, payable)
    stranger = User.objects.create_user(username="stranger", password="pw-123456")
    path = f"/api/payments/{payment.id}/invoice"

    response = _client(payer).get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert payment.invoice.number in pdf_text(b"".join(response.streaming_content))
    assert _client(manager).get(path).status_code == 200
    assert_api_error(_client(stranger).get(path), 404, "not_found")
    assert_api_error(APIClient().get(path), 401, "not_authenticated")
    unpaid = _pending(payer, payable_for(payer))
    assert_api_error(_client(payer).get(f"/api/payments/{unpaid.id}/invoice"), 404, "not_found")


def test_payers_list_their_own_payments_and_managers_all(payer, manager, payable):
    paid = _completed(payer, payable)
    other_payer = User.objects.create_user(username="other", password="pw-123456")
    _pending(other_payer, payable_for(other_payer))

    own = _client(payer).get("/api/payments").json()
    assert [p["id"] for p in own["results"]] == [str(paid.id)]
    assert own["results"][0]["invoice_url"] == f"/api/payments/{paid.id}/invoice"
    assert _client(manager).get("/api/payments").json()["count"] == 2
    pending = _client(manager).get("/api/payments", {"status": "pending"}).json()
    assert [p["payer_id"] for p in pending["results"]] == [str(other_payer.pk)]
    by_payable = _client(manager).get("/api/payments", {"payable_id": str(payable.id)}).json()
    assert by_payable["count"] == 1
    assert_api_error(_client(payer).get("/api/payments", {"status": "lost"}), 400, "invalid")
    assert_api_error(_client(other_payer).get(f"/api/payments/{paid.id}"), 404, "not_found")
    assert _client(payer).get(f"/api/payments/payables/{payable.id}").json()["status"] == "paid"


def test_managers_refund_through_the_api(payer, manager, payable):
    payment = _completed(payer, payable)
    path = f"/api/payments/{payment.id}/refund"

    assert_api_error(_client(payer).post(path, {}, format="json"), 403, "permission_denied")
    assert_api_error(_client(manager).post(path, {"amount": "9.01"}, format="json"), 409,
                     "refund_amount_invalid")  # fmt: skip
    assert_api_error(_client(manager).post(path, {"amount": "-1"}, format="json"), 400, "invalid")
    partial = _client(manager).post(path, {"amount": "2.50", "reason": "cold"}, format="json")

    assert partial.status_code == 201, partial.content
    body = partial.json()
    assert (body["status"], body["refunded_amount"]) == ("partially_refunded", "2.50")
    assert [(r["amount"], r["reason"], r["status"]) for r in body["refunds"]] == [
        ("2.50", "cold", "succeeded")
    ]
