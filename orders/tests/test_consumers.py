"""The live order WebSockets with Channels' WebsocketCommunicator, on the real channels-redis
layer and PostgreSQL: who may watch what, snapshot then live without a gap, no duplicates.

Pushes go through the `realtime` group's real handler, fed the events the services wrote
to the outbox (the relay and broker hop are covered by test_realtime_e2e.py)."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import path
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import user_create
from config.asgi import application
from orders.consumers import OrderTrackingConsumer
from orders.models import Customer, Order
from orders.realtime import order_group
from orders.services import (
    VariationSpec,
    cart_checkout,
    cart_item_set,
    order_payment_complete,
    order_status_change,
    product_create,
)
from outbox.consumer import event_decode
from outbox.groups import consumer_group_get
from outbox.models import OutboxEvent
from outbox.realtime import event_push

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def _run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


def _user(role: str = User.Role.CUSTOMER) -> User:
    user = user_create(username=f"u{uuid.uuid4().hex[:10]}", password="pw-123456", role=role)
    Customer.objects.create(
        user_id=user.pk, username=user.username, role=role, updated_at=timezone.now()
    )
    return user


def _order(customer: User, fulfillment: str = "pickup") -> Order:
    variation = product_create(
        name=f"Latte {uuid.uuid4().hex[:8]}",
        variations=[VariationSpec(name="Classic", price=Decimal("3.90"), stock=10)],
    ).variations.get()
    cart_item_set(customer_id=customer.pk, variation_id=variation.id, quantity=2)
    order = cart_checkout(customer_id=customer.pk, fulfillment=fulfillment)
    return order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4()))


def _session_headers(user: User) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def _push_latest(event_type: str) -> str:
    """Hand the newest outbox event of the type to the realtime group's handler, as the
    consumer runtime does after reading it from Kafka; answer the event id."""
    row = OutboxEvent.objects.filter(event_type=event_type).order_by("-id").first()
    event, handler = event_decode(bytes(row.value), consumer_group_get("realtime"))
    assert handler is not None
    handler.func(event)
    return str(event.event_id)


def _communicator(
    url: str, headers: list[tuple[bytes, bytes]], app: Any = application, **kwargs: Any
) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, url, headers=headers, **kwargs)


async def _closed_with(url: str, headers: list[tuple[bytes, bytes]]) -> int:
    communicator = _communicator(url, headers)
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with a code the client can read
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    await communicator.wait()
    return output["code"]


async def _snapshot(communicator: WebsocketCommunicator) -> dict[str, Any]:
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    frame = json.loads(await communicator.receive_from(timeout=5))
    assert frame["type"] == "snapshot"
    return frame


# --- who may watch what --------------------------------------------------------------------


def test_authorization_matrix():
    owner, stranger, manager = _user(), _user(), _user(User.Role.MANAGER)
    order = _order(owner)
    track, board = f"/ws/orders/{order.id}/", "/ws/orders/"
    missing = f"/ws/orders/{uuid.uuid4()}/"
    owner_h, stranger_h, manager_h = (_session_headers(u) for u in (owner, stranger, manager))

    async def scenario() -> None:
        assert await _closed_with(track, [ORIGIN]) == 4401
        assert await _closed_with(board, [ORIGIN]) == 4401
        assert await _closed_with(track, stranger_h) == 4403
        assert await _closed_with(missing, stranger_h) == 4403
        assert await _closed_with(board, owner_h) == 4403
        assert await _closed_with(missing, manager_h) == 4404
        for headers, url in ((owner_h, track), (manager_h, track), (manager_h, board)):
            communicator = _communicator(url, headers)
            assert (await _snapshot(communicator))["type"] == "snapshot"
            await communicator.disconnect()

    _run(scenario)


def test_an_api_token_authenticates_in_a_header_or_a_subprotocol_never_the_url():
    owner = _user()
    order = _order(owner)
    key = Token.objects.create(user=owner).key
    track = f"/ws/orders/{order.id}/"

    async def scenario() -> None:
        header = _communicator(track, [ORIGIN, (b"authorization", f"Token {key}".encode())])
        assert (await _snapshot(header))["order"]["id"] == str(order.id)
        await header.disconnect()

        browser = _communicator(track, [ORIGIN], subprotocols=["realtime", f"token.{key}"])
        connected, subprotocol = await browser.connect(timeout=5)
        assert (connected, subprotocol) == (True, "realtime")  # the token is never echoed
        assert json.loads(await browser.receive_from(timeout=5))["type"] == "snapshot"
        await browser.disconnect()

        assert await _closed_with(track, [ORIGIN, (b"authorization", b"Token nope")]) == 4401

    _run(scenario)


def test_a_foreign_origin_is_refused():
    owner = _user()
    order = _order(owner)
    headers = [(b"origin", b"http://evil.example"), *_session_headers(owner)[1:]]

    async def scenario() -> None:
        connected, _ = await _communicator(f"/ws/orders/{order.id}/", headers).connect()
        assert not connected

    _run(scenario)


# --- snapshot, then live ------------------------------------------------------------------


def test_tracking_sends_the_snapshot_then_live_frames_with_event_id_and_version():
    owner, manager = _user(), _user(User.Role.MANAGER)
    order = _order(owner)

    headers = _session_headers(owner)

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers)
        snapshot = await _snapshot(communicator)
        assert snapshot["order"]["status"] == "waiting"
        assert snapshot["order"]["version"] == snapshot["versions"][str(order.id)] == 2
        assert [item["quantity"] for item in snapshot["order"]["items"]] == [2]

        await _in_thread(order_status_change, order_id=order.id, new_status="preparation",
                         by=manager)  # fmt: skip
        await _in_thread(_push_latest, "order.status.changed")
        frame = json.loads(await communicator.receive_from(timeout=5))
        row = await _in_thread(_latest_row, "order.status.changed")
        assert frame["type"] == "event"
        assert frame["event_id"] == str(row.event_id)
        assert frame["event_type"] == "order.status.changed"
        assert (frame["aggregate_id"], frame["version"]) == (str(order.id), 3)
        assert frame["state"]["status"] == "preparation"
        assert frame["data"]["previous_status"] == "waiting"
        await communicator.disconnect()

    _run(scenario)


def test_no_gap_and_no_stale_frame_between_snapshot_and_live():
    """An event committed while the socket joins is in the snapshot and its late frame is
    dropped; one committed after the snapshot was read arrives live."""
    owner, manager = _user(), _user(User.Role.MANAGER)
    order = _order(owner)

    class RacingTracking(OrderTrackingConsumer):
        def live_snapshot(self, user: Any) -> tuple[dict[str, Any], dict[str, int]]:
            # Committed and pushed after the join, before the read: in the snapshot.
            order_status_change(order_id=order.id, new_status="preparation", by=manager)
            _push_latest("order.status.changed")
            snapshot = super().live_snapshot(user)
            # Committed after the read, pushed before the snapshot is even sent: live.
            order_status_change(order_id=order.id, new_status="ready", by=manager)
            _push_latest("order.status.changed")
            return snapshot

    app = AuthMiddlewareStack(
        URLRouter([path("ws/orders/<uuid:order_id>/", RacingTracking.as_asgi())])
    )

    headers = _session_headers(owner)

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers, app)
        snapshot = await _snapshot(communicator)
        assert (snapshot["order"]["status"], snapshot["order"]["version"]) == ("preparation", 3)
        frame = json.loads(await communicator.receive_from(timeout=5))
        assert (frame["version"], frame["state"]["status"]) == (4, "ready")
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    _run(scenario)


def test_a_redelivered_event_is_not_pushed_twice():
    owner, manager = _user(), _user(User.Role.MANAGER)
    order = _order(owner)

    headers = _session_headers(owner)

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers)
        await _snapshot(communicator)
        await _in_thread(order_status_change, order_id=order.id, new_status="preparation",
                         by=manager)  # fmt: skip

        event_id = await _in_thread(_push_latest, "order.status.changed")
        assert await _in_thread(_push_latest, "order.status.changed") == event_id  # redelivered

        frame = json.loads(await communicator.receive_from(timeout=5))
        assert (frame["event_id"], frame["version"]) == (event_id, 3)
        assert 3500 < await _in_thread(_dedupe_ttl, event_id) <= 3600  # seed 000: one hour
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    _run(scenario)


def test_the_board_sees_new_orders_and_every_status_change():
    owner, manager = _user(), _user(User.Role.MANAGER)
    earlier = _order(owner)

    headers = _session_headers(manager)

    async def scenario() -> None:
        communicator = _communicator("/ws/orders/", headers)
        snapshot = await _snapshot(communicator)
        assert str(earlier.id) in {card["id"] for card in snapshot["orders"]}

        placed = await _in_thread(_order, owner)  # order.created, then order.confirmed
        await _in_thread(_push_latest, "order.created")
        await _in_thread(_push_latest, "order.confirmed")
        created = json.loads(await communicator.receive_from(timeout=5))
        confirmed = json.loads(await communicator.receive_from(timeout=5))
        assert (created["event_type"], created["aggregate_id"]) == ("order.created", str(placed.id))
        assert created["state"]["status"] == "pending_payment"
        assert created["state"]["items"][0]["quantity"] == 2
        assert created["state"]["fulfillment"] == "pickup"
        assert (confirmed["version"], confirmed["state"]["status"]) == (2, "waiting")
        await communicator.disconnect()

    _run(scenario)


def test_a_socket_idle_longer_than_the_layers_blocking_read_still_gets_frames():
    """The layer's Redis reads wait while nothing happens; redis-py's default 5 s socket
    timeout must not cut them (it made the list-based layer's sockets deaf after 5 idle
    seconds; found by bench/realtime.py)."""
    owner, manager = _user(), _user(User.Role.MANAGER)
    order = _order(owner)
    headers = _session_headers(owner)

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers)
        await _snapshot(communicator)
        await asyncio.sleep(6.5)  # idle: the layer's receive waits on Redis meanwhile
        await _in_thread(order_status_change, order_id=order.id, new_status="preparation",
                         by=manager)  # fmt: skip
        await _in_thread(_push_latest, "order.status.changed")
        frame = json.loads(await communicator.receive_from(timeout=5))
        assert (frame["type"], frame["version"]) == ("event", 3)
        await communicator.disconnect()

    _run(scenario)


def test_a_client_that_does_not_read_is_closed_instead_of_buffered_without_bound(settings):
    settings.REALTIME_SEND_QUEUE_MAX = 3
    owner = _user()
    order = _order(owner)
    headers = _session_headers(owner)

    class StuckClient(OrderTrackingConsumer):
        async def send(self, text_data: Any = None, bytes_data: Any = None, close: Any = False):
            if text_data and '"type": "event"' in text_data:
                await asyncio.Event().wait()  # the client's TCP window stays shut
            await super().send(text_data, bytes_data, close)

    app = AuthMiddlewareStack(
        URLRouter([path("ws/orders/<uuid:order_id>/", StuckClient.as_asgi())])
    )

    def push(version: int) -> None:
        frame = {"type": "event", "event_id": str(uuid.uuid4()), "aggregate_id": str(order.id),
                 "version": version, "event_type": "order.status.changed"}  # fmt: skip
        event_push(event_id=frame["event_id"], event_type="order.status.changed",
                   groups=[order_group(order.id)], frame=frame)  # fmt: skip

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers, app)
        await _snapshot(communicator)
        for version in range(3, 9):  # one stuck in the send, three queued, then one too many
            await _in_thread(push, version)
        output = await communicator.receive_output(timeout=5)
        assert (output["type"], output["code"]) == ("websocket.close", 4429)
        await communicator.disconnect()

    _run(scenario)


# --- heartbeats and group expiry ------------------------------------------------------------


def test_heartbeats_rejoin_the_group_so_a_lost_membership_heals(settings):
    settings.REALTIME_HEARTBEAT_S = 0.2
    owner, manager = _user(), _user(User.Role.MANAGER)
    order = _order(owner)
    headers = _session_headers(owner)

    async def scenario() -> None:
        communicator = _communicator(f"/ws/orders/{order.id}/", headers)
        await _snapshot(communicator)
        # The membership is lost (the layer unsubscribes the process from the group).
        layer = get_channel_layer()
        (channel,) = layer.groups[f"{layer.prefix}__group__{order_group(order.id)}"]
        await layer.group_discard(order_group(order.id), channel)

        heartbeat = json.loads(await communicator.receive_from(timeout=5))
        assert heartbeat["type"] == "heartbeat"  # sent after re-joining
        await _in_thread(order_status_change, order_id=order.id, new_status="preparation",
                         by=manager)  # fmt: skip
        await _in_thread(_push_latest, "order.status.changed")
        frames = []
        while "event" not in [frame["type"] for frame in frames] and len(frames) < 20:
            frames.append(json.loads(await communicator.receive_from(timeout=5)))
        assert frames[-1]["type"] == "event"
        await communicator.disconnect()

    _run(scenario)


async def _in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # database_sync_to_async closes the thread's database connection afterwards.
    return await database_sync_to_async(func)(*args, **kwargs)


def _dedupe_ttl(event_id: str) -> int:
    key = cache.make_and_validate_key(f"realtime:pushed:{event_id}")
    return redis.Redis.from_url(settings.REDIS_URL).ttl(key)


def _latest_row(event_type: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(event_type=event_type).order_by("-id").first()
