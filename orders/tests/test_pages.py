"""The live pages render for whom they are for (their data then comes over the WebSocket)."""

import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import user_create
from orders.models import Customer
from orders.services import VariationSpec, cart_checkout, cart_item_set, product_create

pytestmark = pytest.mark.django_db


def _client(role: str = User.Role.CUSTOMER) -> tuple[Client, User]:
    user = user_create(username=f"u{uuid.uuid4().hex[:10]}", password="pw-123456", role=role)
    Customer.objects.create(user_id=user.pk, username=user.username, updated_at=timezone.now())
    client = Client()
    client.force_login(user)
    return client, user


def _order(customer: User, fulfillment: str = "shipping"):
    variation = product_create(
        name=f"Donuts {uuid.uuid4().hex[:6]}",
        variations=[VariationSpec(name="Glazed", price=Decimal("2.80"), stock=5)],
    ).variations.get()
    cart_item_set(customer_id=customer.pk, variation_id=variation.id, quantity=1)
    return cart_checkout(customer_id=customer.pk, fulfillment=fulfillment)


def test_the_tracking_page_is_for_the_orders_customer_and_managers():
    (owner, customer), (stranger, _) = _client(), _client()
    manager, _ = _client(User.Role.MANAGER)
    order = _order(customer)
    url = f"/orders/{order.id}/track/"

    page = owner.get(url)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'liveSocket("/ws/orders/{order.id}/"' in html
    assert "Donuts" in html
    assert 'data-step="shipped"' in html  # a shipping order's timeline has the carrier step
    assert manager.get(url).status_code == 200
    assert stranger.get(url).status_code == 404
    assert Client().get(url).url == f"/accounts/login/?next={url}"


def test_the_board_is_for_managers():
    manager, _ = _client(User.Role.MANAGER)
    customer, _ = _client()

    page = manager.get("/orders/board/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'liveSocket("/ws/orders/"' in html
    for status in ("waiting", "preparation", "ready", "shipped", "delivered"):
        assert f'id="column-{status}"' in html
    assert customer.get("/orders/board/").status_code == 403


def test_my_orders_link_to_their_live_pages():
    client, customer = _client()
    order = _order(customer)

    page = client.get("/orders/")

    assert f"/orders/{order.id}/track/" in page.content.decode()


def test_login_page_logs_in_with_the_session():
    user_create(username="paula", password="pw-123456")
    client = Client()

    assert client.get("/accounts/login/").status_code == 200
    answer = client.post("/accounts/login/", {"username": "paula", "password": "pw-123456"})

    assert (answer.status_code, answer.url) == (302, "/orders/")
    assert client.get("/orders/").status_code == 200
