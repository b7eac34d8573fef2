"""Payments end to end, as they run: the simulated processor in a real Celery worker calls
the webhook of a live server; the real relay publishes to the broker; the payments and orders
consumer groups apply the events. Each flow ends in the orders app."""

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import user_create
from config import devstack
from orders.events import ORDER_TOPIC
from orders.models import Order
from orders.services import VariationSpec, product_create
from outbox.consumer import GroupConsumer
from outbox.groups import consumer_group_get
from outbox.relay import OutboxRelay
from outbox.testing import kafka_envelopes
from payments.events import PAYMENT_TOPIC
from payments.models import Payable, Payment
from payments.services import payments_stale_fail
from payments.tests.conftest import pdf_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def gateway_worker(
    live_server, relay_env: dict[str, str], settings, tmp_path: Path
) -> Iterator[subprocess.Popen]:
    """A Celery worker running the simulator on a queue of this test's own, delivering its
    webhooks to the live server."""
    queue = f"paysim-{uuid.uuid4().hex[:8]}"
    settings.PAYMENTS_SIMULATOR_QUEUE = queue
    settings.PAYMENTS_SIMULATOR_DELAY_S = 0.1
    log_path = tmp_path / "celery.log"
    env = {
        **relay_env,
        "PAYMENTS_WEBHOOK_URL": f"{live_server.url}/api/payments/webhook",
        "PAYMENTS_SIMULATOR_DELAY_S": "0.1",
    }
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             "--pool", "solo", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=devstack.PROJECT_DIR,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    worker.log_path = log_path
    yield worker
    worker.terminate()
    worker.wait(15)


def _relay_and_consume(*groups: str) -> None:
    """Publish what is waiting, let the groups apply it, and publish what they wrote."""
    OutboxRelay().drain()
    for group in groups:
        GroupConsumer(consumer_group_get(group)).run(until_idle_s=1.5)
    OutboxRelay().drain()


@pytest.fixture
def shop(fresh_topics: str, gateway_worker) -> Callable[[], tuple[APIClient, dict]]:
    """A customer the shop knows, and a function placing an order the payments app knows."""
    latte = product_create(
        name="Latte", variations=[VariationSpec(name="Oat", price=Decimal("4.50"), stock=50)]
    ).variations.get()
    user = user_create(username=f"cleo-{uuid.uuid4().hex[:6]}", password="pw-123456")
    customer = APIClient()
    customer.force_authenticate(user)
    _relay_and_consume("orders")  # user.registered: the shop may take orders from cleo

    def order() -> tuple[APIClient, dict]:
        customer.put(f"/api/cart/items/{latte.id}", {"quantity": 2}, format="json")
        placed = customer.post("/api/cart/checkout", {}, format="json")
        assert placed.status_code == 201, placed.content
        _relay_and_consume("payments")  # order.created: a payable
        assert Payable.objects.filter(pk=placed.json()["id"]).exists()
        return customer, placed.json()

    return order


def _pay(customer: APIClient, order: dict, token: str) -> Payment:
    response = customer.post(
        "/api/payments",
        {"payable_type": "order", "payable_id": order["id"], "amount": order["total_amount"],
         "currency": order["currency"], "card_token": token},
        format="json", headers={"Idempotency-Key": f"pay-{uuid.uuid4()}"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return Payment.objects.get(pk=response.json()["id"])


def _settled(payment: Payment, timeout: float = 30.0) -> Payment:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.close()
        payment.refresh_from_db()
        if payment.status not in Payment.IN_FLIGHT:
            return payment
        time.sleep(0.1)
    raise AssertionError(f"payment {payment.id} still {payment.status}")


def _payment_types(order_id: str, count: int) -> list[str]:
    return [e["event_type"] for e in kafka_envelopes(PAYMENT_TOPIC.name, order_id, count)]


def _order_status(order_id: str) -> str:
    return Order.objects.get(pk=order_id).status


def _retry_pays(customer: APIClient, order: dict) -> None:
    """After a failed attempt the customer pays again, and the order is confirmed."""
    retry = _settled(_pay(customer, order, "tok_visa"))
    _relay_and_consume("orders")

    assert retry.status == Payment.Status.COMPLETED
    assert _order_status(order["id"]) == Order.Status.WAITING
    assert _payment_types(order["id"], 5) == [
        "payment.initiated", "payment.failed",
        "payment.initiated", "payment.authorized", "payment.completed",
    ]  # fmt: skip
    assert Payment.objects.filter(payable_id=order["id"], status="completed").count() == 1


def test_a_paid_order_is_confirmed_and_refunded_when_cancelled(shop):
    customer, order = shop()

    payment = _settled(_pay(customer, order, "tok_visa"))
    _relay_and_consume("orders")

    assert payment.status == Payment.Status.COMPLETED
    assert _order_status(order["id"]) == Order.Status.WAITING
    completed = kafka_envelopes(PAYMENT_TOPIC.name, order["id"], 3)
    assert [e["event_type"] for e in completed] == [
        "payment.initiated", "payment.authorized", "payment.completed",
    ]  # fmt: skip
    assert completed[2]["data"]["transaction_id"] == payment.transaction_id
    order_events = [e["event_type"] for e in kafka_envelopes(ORDER_TOPIC.name, order["id"], 3)]
    assert order_events[2] == "order.confirmed"
    invoice = customer.get(f"/api/payments/{payment.id}/invoice")
    assert payment.invoice.number in pdf_text(b"".join(invoice.streaming_content))

    cancelled = customer.post(f"/api/orders/{order['id']}/cancel", {}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    _relay_and_consume("payments")  # order.cancelled with refund_due

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    refunded = kafka_envelopes(PAYMENT_TOPIC.name, order["id"], 4)[3]
    assert refunded["event_type"] == "payment.refunded"
    assert refunded["data"]["amount"] == order["total_amount"]
    payment.invoice.refresh_from_db()
    assert "Refund note" in pdf_text(payment.invoice.file.read())


def test_a_declined_card_fails_and_a_retry_pays(shop):
    customer, order = shop()

    declined = _settled(_pay(customer, order, "tok_insufficient_funds"))
    assert (declined.status, declined.failure_reason) == ("failed", "Insufficient funds")
    _relay_and_consume("orders")
    assert _order_status(order["id"]) == Order.Status.PENDING_PAYMENT

    _retry_pays(customer, order)


def test_a_gateway_that_never_answers_times_out_and_a_retry_pays(shop, gateway_worker):
    customer, order = shop()

    silent = _pay(customer, order, "tok_timeout")
    time.sleep(1.5)  # the worker has long settled the charge: silently
    assert b"succeeded" in gateway_worker.log_path.read_bytes()
    silent.refresh_from_db()
    assert silent.status == Payment.Status.PENDING
    assert payments_stale_fail(older_than_s=1) == 1  # what the beat job does after the timeout

    _retry_pays(customer, order)
    timed_out = kafka_envelopes(PAYMENT_TOPIC.name, order["id"], 2)[1]
    assert timed_out["data"]["failure_reason"] == "No answer from the payment gateway in time"
