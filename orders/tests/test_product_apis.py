"""The product API: who may do what, lists (pages, filters, ordering), and every bad input
answered 4xx in the error shape, writing nothing."""

import json
import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_create
from config.testing import assert_api_error
from orders.models import Product, ProductVariation
from orders.services import VariationSpec, product_create, product_delete
from outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {
    "name": "Cappuccino",
    "description": "Foam.",
    "variations": [{"name": "Classic", "price": "3.60", "stock": 10}],
}


def _product_events() -> list[dict]:
    rows = OutboxEvent.objects.filter(event_type__startswith="product.").order_by("id")
    return [json.loads(bytes(row.value)) for row in rows]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users():
    return {
        role: user_create(username=role, password=f"{role}-pass", role=role)
        for role in User.Role.values
    }


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def manager_client(users):
    return _client(users["manager"])


@pytest.fixture
def customer_client(users):
    return _client(users["customer"])


@pytest.fixture
def latte():
    product = product_create(
        name="Latte",
        variations=[
            VariationSpec(name="Pumpkin Spice", price=Decimal("4.50"), stock=20),
            VariationSpec(name="Classic", price=Decimal("3.90"), stock=30),
        ],
    )
    OutboxEvent.objects.all().delete()  # each test looks at the events it causes
    return product


@pytest.fixture
def pumpkin(latte):
    return ProductVariation.objects.get(product=latte, name="Pumpkin Spice")


# --- who may do what ----------------------------------------------------------------------


@pytest.fixture
def ids(latte, pumpkin):
    """What the paths below are formatted with."""
    return {"product": latte.id, "variation": pumpkin.id, "unknown": uuid.uuid4()}


# method, path, body, the manager's status
ENDPOINTS = [
    pytest.param(("get", "/api/products", None, 200), id="list"),
    pytest.param(("get", "/api/products/{product}", None, 200), id="detail"),
    pytest.param(("post", "/api/products", NEW_PRODUCT, 201), id="create"),
    pytest.param(("patch", "/api/products/{product}", {"description": "Milk."}, 200), id="update"),
    pytest.param(("delete", "/api/products/{product}", None, 204), id="delete"),
    pytest.param(
        ("post", "/api/products/{product}/variations", {"name": "Oat", "price": "4.10"}, 201),
        id="variation-add",
    ),
    pytest.param(
        ("patch", "/api/products/{product}/variations/{variation}", {"price": "4.70"}, 200),
        id="price-change",
    ),
]


def _call(client: APIClient, endpoint: tuple, ids: dict):
    method, path, body, *_ = endpoint
    return getattr(client, method)(path.format(**ids), body, format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_is_401(users, ids, endpoint):
    response = _call(_client(None), endpoint, ids)

    assert_api_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_inspectors_have_no_shop_access(users, ids, endpoint):
    response = _call(_client(users["inspector"]), endpoint, ids)

    assert_api_error(response, 403, "permission_denied")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_customers_read_and_may_not_write(customer_client, ids, endpoint):
    response = _call(customer_client, endpoint, ids)

    if endpoint[0] == "get":
        assert response.status_code == 200
    else:
        assert_api_error(response, 403, "permission_denied")
        assert _product_events() == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_managers_may_do_everything(manager_client, ids, endpoint):
    response = _call(manager_client, endpoint, ids)

    assert response.status_code == endpoint[3], response.content


# --- reads --------------------------------------------------------------------------------


def test_product_detail_shows_variations_with_decimal_prices(customer_client, latte, pumpkin):
    response = customer_client.get(f"/api/products/{latte.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(latte.id)
    assert body["name"] == "Latte"
    assert body["is_active"] is True
    assert body["variations"][1] == {
        "id": str(pumpkin.id),
        "name": "Pumpkin Spice",
        "price": "4.50",
        "stock": 20,
        "low_stock_threshold": 5,
    }


@pytest.fixture
def menu():
    names = ["Latte", "Espresso", "Cappuccino", "Donuts", "Croissant"]
    products = {
        name: product_create(name=name, variations=[VariationSpec("Regular", Decimal("3.00"))])
        for name in names
    }
    product_delete(product=products["Croissant"], by=None)
    return products


def test_list_is_paginated(customer_client, menu):
    first = customer_client.get("/api/products", {"page_size": 2}).json()
    second = customer_client.get("/api/products", {"page_size": 2, "page": 2}).json()

    assert first["count"] == 4  # the withdrawn croissant is not for customers
    assert [p["name"] for p in first["results"]] == ["Cappuccino", "Donuts"]
    assert [p["name"] for p in second["results"]] == ["Espresso", "Latte"]
    assert first["next"] and first["previous"] is None


def test_a_page_past_the_end_is_404(customer_client, menu):
    response = customer_client.get("/api/products", {"page": 9})

    assert_api_error(response, 404, "not_found")


def test_list_filters_by_name_case_insensitively(customer_client, menu):
    response = customer_client.get("/api/products", {"name": "PRESS"})

    assert [p["name"] for p in response.json()["results"]] == ["Espresso"]


def test_list_orders_by_name_or_creation(customer_client, menu):
    by_name = customer_client.get("/api/products", {"ordering": "-name"}).json()["results"]
    by_creation = customer_client.get("/api/products", {"ordering": "created_at"}).json()

    assert [p["name"] for p in by_name] == ["Latte", "Espresso", "Donuts", "Cappuccino"]
    assert [p["name"] for p in by_creation["results"]] == [
        "Latte",
        "Espresso",
        "Cappuccino",
        "Donuts",
    ]


def test_managers_see_withdrawn_products_and_filter_on_them(manager_client, menu):
    everything = manager_client.get("/api/products").json()
    withdrawn = manager_client.get("/api/products", {"is_active": "false"}).json()

    assert everything["count"] == 5
    assert [p["name"] for p in withdrawn["results"]] == ["Croissant"]


def test_customers_do_not_see_withdrawn_products(customer_client, menu):
    listed = customer_client.get("/api/products", {"is_active": "false"}).json()
    detail = customer_client.get(f"/api/products/{menu['Croissant'].id}")

    assert listed["count"] == 0
    assert_api_error(detail, 404, "not_found")


@pytest.mark.parametrize("params", [{"is_active": "maybe"}, {"ordering": "price"}])
def test_bad_list_parameters_are_400(customer_client, menu, params):
    response = customer_client.get("/api/products", params)

    error = assert_api_error(response, 400, "invalid")
    assert set(error["fields"]) == set(params)


# --- writes -------------------------------------------------------------------------------


def test_manager_creates_a_product_and_product_created_is_written(manager_client, users):
    response = manager_client.post("/api/products", NEW_PRODUCT, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Cappuccino"
    assert body["variations"][0]["price"] == "3.60"
    assert body["variations"][0]["low_stock_threshold"] == 5
    (event,) = _product_events()
    assert event["event_type"] == "product.created"
    assert event["aggregate_id"] == body["id"]
    assert event["user_id"] == str(users["manager"].id)


def test_manager_changes_a_price_and_product_price_changed_is_written(
    manager_client, latte, pumpkin
):
    response = manager_client.patch(
        f"/api/products/{latte.id}/variations/{pumpkin.id}", {"price": 4.8}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["price"] == "4.80"
    (event,) = _product_events()
    assert event["event_type"] == "product.price_changed"
    assert (event["data"]["previous_price"], event["data"]["new_price"]) == ("4.50", "4.80")


def test_manager_withdraws_a_product(manager_client, latte):
    response = manager_client.delete(f"/api/products/{latte.id}")

    assert response.status_code == 204
    latte.refresh_from_db()
    assert latte.is_active is False
    assert [event["event_type"] for event in _product_events()] == ["product.deleted"]


def test_manager_updates_a_product(manager_client, latte):
    response = manager_client.patch(
        f"/api/products/{latte.id}", {"name": "Caffè Latte", "is_active": False}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["is_active"]) == ("Caffè Latte", False)
    assert [event["event_type"] for event in _product_events()] == ["product.updated"]


def test_manager_adds_a_variation(manager_client, latte):
    response = manager_client.post(
        f"/api/products/{latte.id}/variations",
        {"name": "Vanilla", "price": "4.20", "stock": 5, "low_stock_threshold": 1},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Vanilla"
    (event,) = _product_events()
    assert event["event_type"] == "product.updated"
    assert "Vanilla" in [variation["name"] for variation in event["data"]["variations"]]


# --- bad input: 4xx in the error shape, nothing written -----------------------------------


def _variation_body(**changes: object) -> dict:
    return {**NEW_PRODUCT, "variations": [{**NEW_PRODUCT["variations"][0], **changes}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_PRODUCT, "name": {"not": "a name"}}, "name"),
        ({**NEW_PRODUCT, "variations": "Classic"}, "variations"),
        ({**NEW_PRODUCT, "variations": []}, "variations"),
        (_variation_body(price="cheap"), "variations"),
        (_variation_body(price=True), "variations"),
        (_variation_body(price="-0.01"), "variations"),
        (_variation_body(price="3.999"), "variations"),
        (_variation_body(price=3.999), "variations"),
        (_variation_body(price="100000.01"), "variations"),
        (_variation_body(price="1e400"), "variations"),
        (_variation_body(price="NaN"), "variations"),
        (_variation_body(stock=1_000_001), "variations"),
        (_variation_body(stock=10**40), "variations"),
        (_variation_body(stock=-1), "variations"),
        (_variation_body(stock="many"), "variations"),
        (
            {**NEW_PRODUCT, "variations": [NEW_PRODUCT["variations"][0]] * 2},
            "variations",
        ),
        ({"variations": NEW_PRODUCT["variations"]}, "name"),
    ],
)
def test_invalid_product_is_400_with_field_errors(manager_client, body, field):
    response = manager_client.post("/api/products", body, format="json")

    error = assert_api_error(response, 400, "invalid")
    assert field in error["fields"]
    assert not Product.objects.exists()
    assert _product_events() == []


def test_a_taken_name_is_400_on_the_name(manager_client, latte):
    response = manager_client.post("/api/products", {**NEW_PRODUCT, "name": "Latte"}, format="json")

    error = assert_api_error(response, 400, "invalid")
    assert "name" in error["fields"]
    assert _product_events() == []


def test_a_taken_variation_name_is_400(manager_client, latte):
    response = manager_client.post(
        f"/api/products/{latte.id}/variations", {"name": "Classic", "price": "1.00"}, format="json"
    )

    assert_api_error(response, 400, "invalid")
    assert latte.variations.count() == 2
    assert _product_events() == []


@pytest.mark.parametrize(
    "body",
    [
        {"price": "-1.00"},
        {"price": "4.505"},
        {"price": "100000.01"},
        {"price": "abc"},
        {"price": None},
        {"price": [4.5]},
        {},
    ],
)
def test_invalid_price_change_is_400(manager_client, latte, pumpkin, body):
    response = manager_client.patch(
        f"/api/products/{latte.id}/variations/{pumpkin.id}", body, format="json"
    )

    error = assert_api_error(response, 400, "invalid")
    assert "price" in error["fields"]
    pumpkin.refresh_from_db()
    assert pumpkin.price == Decimal("4.50")
    assert _product_events() == []


@pytest.mark.parametrize(
    "body", [{"is_active": "perhaps"}, {"name": ""}, {"name": None}, {"name": "x" * 201}]
)
def test_invalid_product_update_is_400(manager_client, latte, body):
    response = manager_client.patch(f"/api/products/{latte.id}", body, format="json")

    assert_api_error(response, 400, "invalid")
    assert _product_events() == []


def test_a_json_array_instead_of_an_object_is_400(manager_client):
    response = manager_client.post("/api/products", [NEW_PRODUCT], format="json")

    assert_api_error(response, 400, "invalid")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/products"),
        ("patch", "/api/products/{product}"),
        ("post", "/api/products/{product}/variations"),
        ("patch", "/api/products/{product}/variations/{variation}"),
    ],
)
def test_malformed_json_is_400_parse_error(manager_client, latte, pumpkin, method, path):
    url = path.format(product=latte.id, variation=pumpkin.id)

    response = getattr(manager_client, method)(
        url, data='{"name": "Latte", ', content_type="application/json"
    )

    assert_api_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/products"),
        ("patch", "/api/products/{product}"),
        ("post", "/api/products/{product}/variations"),
        ("patch", "/api/products/{product}/variations/{variation}"),
    ],
)
def test_a_form_instead_of_json_is_415(manager_client, latte, pumpkin, method, path):
    url = path.format(product=latte.id, variation=pumpkin.id)

    response = getattr(manager_client, method)(
        url, data="name=Latte&price=4.50", content_type="application/x-www-form-urlencoded"
    )

    assert_api_error(response, 415, "unsupported_media_type")
    assert _product_events() == []


@pytest.mark.parametrize(
    "endpoint",
    [
        ("get", "/api/products/{unknown}", None),
        ("patch", "/api/products/{unknown}", {"name": "Mocha"}),
        ("delete", "/api/products/{unknown}", None),
        ("post", "/api/products/{unknown}/variations", {"name": "Oat", "price": "4.10"}),
        ("patch", "/api/products/{unknown}/variations/{variation}", {"price": "1.00"}),
        ("patch", "/api/products/{product}/variations/{unknown}", {"price": "1.00"}),
        ("get", "/api/products/not-a-uuid", None),
        ("patch", "/api/products/{product}/variations/42", {"price": "1.00"}),
    ],
)
def test_unknown_ids_are_404(manager_client, ids, endpoint):
    response = _call(manager_client, endpoint, ids)

    assert_api_error(response, 404, "not_found")
    assert _product_events() == []


def test_a_variation_of_another_product_is_404(manager_client, latte, pumpkin):
    espresso = product_create(name="Espresso", variations=[VariationSpec("Single", Decimal(2))])

    response = manager_client.patch(
        f"/api/products/{espresso.id}/variations/{pumpkin.id}", {"price": "1.00"}, format="json"
    )

    assert_api_error(response, 404, "not_found")


# --- the admin: managers manage products there too, through the services -----------------


@pytest.fixture
def manager_admin_client(client):
    manager = user_create(
        username="admin-manager", password="pass", role=User.Role.MANAGER, is_staff=True
    )
    client.force_login(manager)
    return client


def _inline(rows: list[dict], initial: int = 0) -> dict:
    data = {
        "variations-TOTAL_FORMS": str(len(rows)),
        "variations-INITIAL_FORMS": str(initial),
        "variations-MIN_NUM_FORMS": "0",
        "variations-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"variations-{index}-{field}": value for field, value in row.items()})
    return data


def test_managers_use_the_product_admin_and_inspectors_do_not(manager_admin_client, client, latte):
    assert manager_admin_client.get("/admin/orders/product/").status_code == 200
    assert manager_admin_client.get(f"/admin/orders/product/{latte.id}/change/").status_code == 200

    inspector = user_create(
        username="ivo", password="pass", role=User.Role.INSPECTOR, is_staff=True
    )
    client.force_login(inspector)
    assert client.get("/admin/orders/product/").status_code == 403


def test_admin_add_creates_the_product_with_its_variations_in_one_event(manager_admin_client):
    data = {
        "name": "Mocha",
        "description": "Chocolate.",
        **_inline([{"name": "Dark", "price": "4.40", "stock": "9", "low_stock_threshold": "2"}]),
    }

    response = manager_admin_client.post("/admin/orders/product/add/", data)

    assert response.status_code == 302, response.content
    mocha = Product.objects.get(name="Mocha")
    assert response["Location"] == "/admin/orders/product/"
    # The admin logs the saved product (the service created it, not the admin's form).
    assert LogEntry.objects.get(action_flag=ADDITION).object_id == str(mocha.id)
    (event,) = _product_events()
    assert event["event_type"] == "product.created"
    assert event["aggregate_id"] == str(mocha.id)
    assert [(v["name"], v["price"], v["stock"]) for v in event["data"]["variations"]] == [
        ("Dark", "4.40", 9)
    ]


def test_admin_change_goes_through_the_services(manager_admin_client, latte, pumpkin):
    classic = ProductVariation.objects.get(product=latte, name="Classic")
    rows = [
        {"id": str(classic.id), "product": str(latte.id), "price": "3.90"},  # unchanged
        {"id": str(pumpkin.id), "product": str(latte.id), "price": "4.95"},
        {"name": "Oat", "price": "4.10", "stock": "3", "low_stock_threshold": "1"},
    ]
    data = {"name": "Caffè Latte", "description": "", "is_active": "on", **_inline(rows, 2)}

    response = manager_admin_client.post(f"/admin/orders/product/{latte.id}/change/", data)

    assert response.status_code == 302, response.content
    events = _product_events()
    assert [event["event_type"] for event in events] == [
        "product.updated",
        "product.price_changed",
        "product.updated",
    ]
    assert events[0]["data"]["name"] == "Caffè Latte"
    assert (events[1]["data"]["previous_price"], events[1]["data"]["new_price"]) == (
        "4.50",
        "4.95",
    )
    assert "Oat" in [variation["name"] for variation in events[2]["data"]["variations"]]


def test_admin_does_not_change_the_stock_of_an_existing_variation(
    manager_admin_client, latte, pumpkin
):
    classic = ProductVariation.objects.get(product=latte, name="Classic")
    rows = [
        {"id": str(classic.id), "product": str(latte.id), "price": "3.90", "stock": "999"},
        {"id": str(pumpkin.id), "product": str(latte.id), "price": "4.50", "stock": "999"},
    ]
    data = {"name": "Latte", "description": "", "is_active": "on", **_inline(rows, 2)}

    response = manager_admin_client.post(f"/admin/orders/product/{latte.id}/change/", data)

    assert response.status_code == 302, response.content
    pumpkin.refresh_from_db()
    assert pumpkin.stock == 20
    assert _product_events() == []


def test_admin_delete_is_a_soft_delete_with_its_event(manager_admin_client, latte):
    response = manager_admin_client.post(
        f"/admin/orders/product/{latte.id}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302, response.content
    latte.refresh_from_db()
    assert latte.is_active is False
    assert latte.variations.count() == 2
    assert [event["event_type"] for event in _product_events()] == ["product.deleted"]


def test_admin_bulk_delete_goes_through_the_service(manager_admin_client, latte):
    espresso = product_create(name="Espresso", variations=[VariationSpec("Single", Decimal(2))])
    data = {
        "action": "delete_selected",
        "_selected_action": [str(latte.id), str(espresso.id)],
        "post": "yes",
    }

    response = manager_admin_client.post("/admin/orders/product/", data)

    assert response.status_code == 302, response.content
    assert not Product.objects.filter(is_active=True).exists()
    deleted = [event for event in _product_events() if event["event_type"] == "product.deleted"]
    assert {event["aggregate_id"] for event in deleted} == {str(latte.id), str(espresso.id)}
