"""Cart, checkout and orders over REST: the permission matrix and bad input."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_create
from config.testing import assert_api_error
from orders.models import Customer
from orders.services import VariationSpec, order_payment_complete, product_create

pytestmark = pytest.mark.django_db


def _known_to_the_shop(user: User) -> User:
    """What the orders consumer does on user.registered, done directly for API tests."""
    Customer.objects.create(
        user_id=user.id, username=user.username, role=user.role, updated_at=timezone.now()
    )
    return user


@pytest.fixture
def customer():
    return _known_to_the_shop(user_create(username="cleo", password="pw-123456"))


@pytest.fixture
def other_customer():
    return _known_to_the_shop(user_create(username="otto", password="pw-123456"))


@pytest.fixture
def manager():
    return user_create(username="mona", password="pw-123456", role=User.Role.MANAGER)


@pytest.fixture
def inspector():
    return user_create(username="ivan", password="pw-123456", role=User.Role.INSPECTOR)


@pytest.fixture
def latte():
    product = product_create(
        name="Latte",
        variations=[VariationSpec(name="Vanilla", price=Decimal("4.20"), stock=5)],
    )
    return product.variations.get()


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _ordered(user: User, variation, quantity: int = 2) -> dict:
    client = _client(user)
    client.put(f"/api/cart/items/{variation.id}", {"quantity": quantity}, format="json")
    response = client.post("/api/cart/checkout", {}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_customer_fills_the_cart_and_checks_out(customer, latte):
    client = _client(customer)

    cart = client.put(f"/api/cart/items/{latte.id}", {"quantity": 2}, format="json")
    assert cart.status_code == 200
    assert cart.json()["total"] == "8.40"
    assert cart.json()["items"][0]["variation_name"] == "Vanilla"
    order = client.post("/api/cart/checkout", {"fulfillment": "shipping"}, format="json")

    assert order.status_code == 201
    body = order.json()
    assert (body["status"], body["total_amount"], body["fulfillment"]) == (
        "pending_payment",
        "8.40",
        "shipping",
    )
    assert client.get("/api/cart").json()["items"] == []
    assert [o["id"] for o in client.get("/api/orders").json()["results"]] == [body["id"]]


def test_a_customer_sees_only_their_own_orders(customer, other_customer, latte):
    mine = _ordered(customer, latte)
    theirs = _ordered(other_customer, latte, quantity=1)
    client = _client(customer)

    listed = client.get("/api/orders").json()["results"]

    assert [o["id"] for o in listed] == [mine["id"]]
    assert_api_error(client.get(f"/api/orders/{theirs['id']}"), 404, "not_found")
    assert_api_error(
        client.post(f"/api/orders/{theirs['id']}/cancel", {}, format="json"), 404, "not_found"
    )


def test_managers_see_every_order_and_filter_them(customer, other_customer, manager, latte):
    paid = _ordered(customer, latte)
    _ordered(other_customer, latte, quantity=1)
    order_payment_complete(order_id=paid["id"], payment_id=str(uuid.uuid4()))
    client = _client(manager)

    assert client.get("/api/orders").json()["count"] == 2
    waiting = client.get("/api/orders?status=waiting").json()["results"]
    assert [o["id"] for o in waiting] == [paid["id"]]
    future = client.get("/api/orders?created_after=2999-01-01T00:00:00Z").json()
    assert future["count"] == 0
    assert_api_error(client.get("/api/orders?status=lost"), 400, "invalid")
    assert_api_error(client.get("/api/orders?created_after=yesterday"), 400, "invalid")


def test_managers_move_orders_and_an_illegal_move_is_a_409(customer, manager, latte):
    order = _ordered(customer, latte)
    client = _client(manager)

    refused = client.post(f"/api/orders/{order['id']}/status", {"status": "ready"}, format="json")
    error = assert_api_error(refused, 409, "invalid_transition")
    assert "Allowed from pending_payment: none" in error["fields"]["status"][0]

    order_payment_complete(order_id=order["id"], payment_id=str(uuid.uuid4()))
    moved = client.post(
        f"/api/orders/{order['id']}/status", {"status": "preparation"}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "preparation"
    error = assert_api_error(
        client.post(f"/api/orders/{order['id']}/status", {"status": "delivered"}, format="json"),
        409,
        "invalid_transition",
    )
    assert "ready" in error["fields"]["status"][0]


def test_customers_cannot_move_orders_and_inspectors_have_no_shop(customer, inspector, latte):
    order = _ordered(customer, latte)

    assert_api_error(
        _client(customer).post(
            f"/api/orders/{order['id']}/status", {"status": "preparation"}, format="json"
        ),
        403,
        "permission_denied",
    )
    for method, path in [
        ("get", "/api/cart"),
        ("get", "/api/orders"),
        ("post", "/api/cart/checkout"),
        ("get", f"/api/orders/{order['id']}"),
    ]:
        assert_api_error(getattr(_client(inspector), method)(path), 403, "permission_denied")
    assert_api_error(_client(None).get("/api/orders"), 401, "not_authenticated")


def test_a_customer_cancels_and_the_stock_comes_back(customer, latte):
    order = _ordered(customer, latte, quantity=3)

    response = _client(customer).post(f"/api/orders/{order['id']}/cancel", {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    latte.refresh_from_db()
    assert latte.stock == 5


def test_checkout_refusals(customer, latte):
    stranger = user_create(username="newcomer", password="pw-123456")  # not known to the shop
    client = _client(customer)

    assert_api_error(client.post("/api/cart/checkout", {}, format="json"), 409, "cart_empty")
    client.put(f"/api/cart/items/{latte.id}", {"quantity": 6}, format="json")
    error = assert_api_error(
        client.post("/api/cart/checkout", {}, format="json"), 409, "out_of_stock"
    )
    assert error["fields"] == {str(latte.id): ["Only 5 left."]}
    _client(stranger).put(f"/api/cart/items/{latte.id}", {"quantity": 1}, format="json")
    assert_api_error(
        _client(stranger).post("/api/cart/checkout", {}, format="json"),
        403,
        "customer_not_allowed",
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ({"quantity": -1}, "application/json", 400, "invalid"),
        ({"quantity": 10**9}, "application/json", 400, "invalid"),
        ({"quantity": "two"}, "application/json", 400, "invalid"),
        ({}, "application/json", 400, "invalid"),
        ('{"quantity": 1', "application/json", 400, "parse_error"),
        ("quantity=1", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_bad_cart_input_is_a_4xx(customer, latte, body, content_type, status, code):
    client = _client(customer)
    path = f"/api/cart/items/{latte.id}"
    if content_type == "application/json" and isinstance(body, dict):
        response = client.put(path, body, format="json")
    else:
        response = client.put(path, body, content_type=content_type)

    assert_api_error(response, status, code)


def test_unknown_ids_are_4xx(customer):
    client = _client(customer)

    assert_api_error(
        client.put(f"/api/cart/items/{uuid.uuid4()}", {"quantity": 1}, format="json"),
        400,
        "invalid",
    )
    assert_api_error(client.get(f"/api/orders/{uuid.uuid4()}"), 404, "not_found")
    assert_api_error(client.get("/api/orders/not-a-uuid"), 404, "not_found")
