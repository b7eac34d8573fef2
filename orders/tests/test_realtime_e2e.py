"""End to end with the real stack: a status change through the REST API travels service →
outbox → relay → Kafka → `realtime` consumer group → channels-redis → uvicorn → a WebSocket
client authenticated with its API token."""

import asyncio
import json
import urllib.request
import uuid
from decimal import Decimal

import pytest
import websockets
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import user_create
from orders.models import Customer
from orders.services import (
    VariationSpec,
    cart_checkout,
    cart_item_set,
    order_payment_complete,
    product_create,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _api_post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_status_change_through_the_api_reaches_a_connected_websocket(live_stack):
    customer = user_create(username="cleo", password="pw-123456")
    Customer.objects.create(user_id=customer.pk, username="cleo", updated_at=timezone.now())
    manager = user_create(username="mona", password="pw-123456", role=User.Role.MANAGER)
    variation = product_create(
        name="Latte", variations=[VariationSpec(name="Classic", price=Decimal("3.90"), stock=9)]
    ).variations.get()
    cart_item_set(customer_id=customer.pk, variation_id=variation.id, quantity=1)
    order = cart_checkout(customer_id=customer.pk)
    order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))
    customer_token = Token.objects.create(user=customer).key
    manager_token = Token.objects.create(user=manager).key
    ws_url = live_stack.base_url.replace("http", "ws") + f"/ws/orders/{order.id}/"

    async def scenario() -> tuple[dict, dict, dict]:
        async with websockets.connect(
            ws_url,
            additional_headers={"Authorization": f"Token {customer_token}"},
            origin=live_stack.base_url,
        ) as socket:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 10))
            moved = await asyncio.to_thread(
                _api_post,
                f"{live_stack.base_url}/api/orders/{order.id}/status",
                manager_token,
                {"status": "preparation"},
            )
            frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
            while frame["type"] == "heartbeat":
                frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
            return snapshot, moved, frame

    snapshot, moved, frame = asyncio.run(scenario())

    assert (snapshot["type"], snapshot["order"]["status"]) == ("snapshot", "waiting")
    assert moved["status"] == "preparation"
    assert frame["type"] == "event"
    assert frame["event_type"] == "order.status.changed"
    assert frame["aggregate_id"] == str(order.id)
    assert frame["version"] == snapshot["order"]["version"] + 1
    assert frame["state"]["status"] == "preparation"
    uuid.UUID(frame["event_id"])
