"""The whole story over the REST API, with the real relay, broker and consumer:
register → cart → checkout → payment.completed → confirmed → preparation → ready → delivered."""

import json
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.events import USER_TOPIC
from accounts.models import User
from accounts.services import user_create
from orders.events import ORDER_TOPIC
from orders.services import VariationSpec, product_create
from outbox.consumer import GroupConsumer
from outbox.groups import consumer_group_get
from outbox.relay import OutboxRelay
from outbox.services import event_publish
from outbox.testing import kafka_read

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _relay_and_consume() -> None:
    OutboxRelay().drain()
    GroupConsumer(consumer_group_get("orders")).run(until_idle_s=1.5)


def test_an_order_from_registration_to_delivery(fresh_topics):
    latte = product_create(
        name="Latte",
        variations=[VariationSpec(name="Pumpkin Spice", price=Decimal("4.50"), stock=20)],
    ).variations.get()
    manager = APIClient()
    manager.force_authenticate(
        user_create(username="mona", password="pw-123456", role=User.Role.MANAGER)
    )
    anonymous = APIClient()

    registered = anonymous.post(
        "/api/accounts/register",
        {"username": "cleo", "password": "Long-enough-7", "email": "cleo@example.com"},
        format="json",
    )
    assert registered.status_code == 201
    token = anonymous.post(
        "/api/auth/token", {"username": "cleo", "password": "Long-enough-7"}, format="json"
    ).json()["token"]
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    _relay_and_consume()  # the shop learns about the new customer from user.registered

    customer.put(f"/api/cart/items/{latte.id}", {"quantity": 2}, format="json")
    order = customer.post("/api/cart/checkout", {}, format="json").json()
    with transaction.atomic():  # what the payments app will publish
        event_publish(
            event_type="payment.completed",
            data={
                "payment_id": str(uuid.uuid4()), "payable_type": "order",
                "payable_id": order["id"], "amount": order["total_amount"], "currency": "EUR",
                "transaction_id": "sim-42", "status": "completed",
                "completed_at": timezone.now().isoformat(), "payment_method": "card",
            },
        )  # fmt: skip
    _relay_and_consume()
    assert customer.get(f"/api/orders/{order['id']}").json()["status"] == "waiting"

    for status in ("preparation", "ready", "delivered"):
        moved = manager.post(f"/api/orders/{order['id']}/status", {"status": status}, format="json")
        assert moved.status_code == 200, moved.content
    OutboxRelay().drain()

    records = [m for m in kafka_read(ORDER_TOPIC.name, 8) if m.key() == order["id"].encode()]
    assert [json.loads(m.value())["event_type"] for m in records] == [
        "order.created",
        "inventory.reserved",
        "order.confirmed",
        "inventory.updated",
        "order.status.changed",
        "order.status.changed",
        "order.status.changed",
        "order.delivered",
    ]
    assert len({m.partition() for m in records}) == 1  # one key, one partition, in order
    changes = [json.loads(m.value())["data"] for m in records[4:7]]
    assert [c["new_status"] for c in changes] == ["preparation", "ready", "delivered"]
    user_id = registered.json()["id"]
    user_records = [m for m in kafka_read(USER_TOPIC.name, 2) if m.key() == user_id.encode()]
    assert [json.loads(m.value())["event_type"] for m in user_records] == ["user.registered"]
