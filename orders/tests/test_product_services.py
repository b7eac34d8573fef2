"""Product services: each writes its rows and its outbox event (type, key, data valid against
the catalog schema) in one transaction, and nothing at all on invalid input."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator

from accounts.models import User
from accounts.services import user_create
from orders.models import Product, ProductVariation
from orders.services import (
    VariationSpec,
    product_create,
    product_delete,
    product_update,
    variation_add,
    variation_price_change,
)
from outbox.catalog import event_type_get
from outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _events(event_type: str = "product.") -> list[dict]:
    """The product events written so far (or those of one type), in outbox order, with their
    rows' keys. (Creating a user writes user.registered, which is not looked at here.)"""
    rows = OutboxEvent.objects.filter(event_type__startswith=event_type).order_by("id")
    return [{**json.loads(bytes(row.value)), "key": row.key} for row in rows]


def _one_event(event_type: str) -> dict:
    (envelope,) = _events(event_type)
    schema = event_type_get(event_type).schema
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        envelope["data"]
    )
    return envelope


@pytest.fixture
def manager():
    return user_create(username="mona", password="manager-pass", role=User.Role.MANAGER)


@pytest.fixture
def latte(manager):
    product = product_create(
        name="Latte",
        description="Espresso and steamed milk.",
        variations=[
            VariationSpec(name="Pumpkin Spice", price=Decimal("4.50"), stock=20),
            VariationSpec(name="Classic", price=Decimal("3.9"), low_stock_threshold=3),
        ],
        by=manager,
    )
    OutboxEvent.objects.all().delete()  # each test looks at the events it causes
    return product


def _variation(product: Product, name: str) -> ProductVariation:
    return ProductVariation.objects.get(product=product, name=name)


# --- product_create -----------------------------------------------------------------------


def test_product_create_publishes_product_created_with_its_variations(manager):
    product = product_create(
        name="Latte",
        description="Espresso and steamed milk.",
        variations=[
            VariationSpec(name="Pumpkin Spice", price=Decimal("4.5"), stock=20),
            VariationSpec(name="Classic", price=Decimal("3.90")),
        ],
        by=manager,
    )

    envelope = _one_event("product.created")
    assert envelope["key"] == str(product.id) == envelope["aggregate_id"]
    assert envelope["aggregate_type"] == "product"
    assert envelope["source"] == "orders"
    assert envelope["user_id"] == str(manager.id)
    data = envelope["data"]
    assert data["id"] == str(product.id)
    assert data["name"] == "Latte"
    assert data["description"] == "Espresso and steamed milk."
    assert data["is_active"] is True
    pumpkin = _variation(product, "Pumpkin Spice")
    assert data["variations"] == [
        {
            "id": str(_variation(product, "Classic").id),
            "name": "Classic",
            "price": "3.90",
            "stock": 0,
            "low_stock_threshold": 5,
        },
        {
            "id": str(pumpkin.id),
            "name": "Pumpkin Spice",
            "price": "4.50",  # money is a string with two decimals, never a float
            "stock": 20,
            "low_stock_threshold": 5,
        },
    ]


def test_product_create_without_a_user_still_publishes():
    product_create(name="Espresso", variations=[VariationSpec("Single", Decimal("2.20"))])

    assert _one_event("product.created")["data"]["name"] == "Espresso"


@pytest.mark.parametrize(
    "spec",
    [
        VariationSpec(name="Classic", price=Decimal("3.999")),  # three decimals
        VariationSpec(name="Classic", price=Decimal("-1.00")),
        VariationSpec(name="Classic", price=Decimal("100000.01")),
        VariationSpec(name="Classic", price=Decimal("3.90"), stock=1_000_001),
        VariationSpec(name="", price=Decimal("3.90")),
    ],
)
def test_product_create_with_an_invalid_variation_writes_nothing(spec):
    with pytest.raises(ValidationError):
        product_create(name="Latte", variations=[spec])

    assert not Product.objects.exists()
    assert not ProductVariation.objects.exists()
    assert _events() == []


def test_product_create_with_a_taken_name_writes_nothing(latte):
    with pytest.raises(ValidationError) as raised:
        product_create(name="Latte", variations=[VariationSpec("Oat", Decimal("4.00"))])

    assert "name" in raised.value.message_dict
    assert Product.objects.count() == 1
    assert _events() == []


# --- product_update -----------------------------------------------------------------------


def test_product_update_publishes_the_whole_product(latte, manager):
    product = product_update(product=latte, name="Caffè Latte", is_active=False, by=manager)

    product.refresh_from_db()
    assert (product.name, product.is_active) == ("Caffè Latte", False)
    assert product.description == "Espresso and steamed milk."  # None: kept
    envelope = _one_event("product.updated")
    assert envelope["key"] == str(latte.id)
    assert envelope["user_id"] == str(manager.id)
    data = envelope["data"]
    assert (data["name"], data["is_active"]) == ("Caffè Latte", False)
    assert data["description"] == "Espresso and steamed milk."
    assert [variation["name"] for variation in data["variations"]] == ["Classic", "Pumpkin Spice"]
    assert data["updated_at"] > data["created_at"]


def test_product_update_without_a_change_publishes_nothing(latte, manager):
    product_update(product=latte, name="Latte", description=None, by=manager)

    assert _events() == []


def test_product_update_reads_the_product_under_its_lock(latte, manager):
    # The admin hands over an instance already carrying the new values: the service compares
    # them with the row, not with the instance.
    latte.name = "Flat White"

    product_update(product=latte, name="Flat White", by=manager)

    assert _one_event("product.updated")["data"]["name"] == "Flat White"


def test_product_update_with_an_invalid_name_writes_nothing(latte, manager):
    with pytest.raises(ValidationError):
        product_update(product=latte, name="", by=manager)

    latte.refresh_from_db()
    assert latte.name == "Latte"
    assert _events() == []


# --- variation_price_change ---------------------------------------------------------------


def test_variation_price_change_publishes_previous_and_new_price(latte, manager):
    pumpkin = _variation(latte, "Pumpkin Spice")

    variation_price_change(variation=pumpkin, new_price=Decimal("4.8"), by=manager)

    pumpkin.refresh_from_db()
    assert pumpkin.price == Decimal("4.80")
    envelope = _one_event("product.price_changed")
    assert envelope["key"] == str(latte.id)
    data = envelope["data"]
    assert data["id"] == str(latte.id)
    assert data["variation_id"] == str(pumpkin.id)
    assert data["variation_name"] == "Pumpkin Spice"
    assert (data["previous_price"], data["new_price"]) == ("4.50", "4.80")
    assert data["changed_by"] == str(manager.id)
    assert data["changed_at"]
    assert _events() == [envelope]  # no product.updated besides


def test_variation_price_change_takes_the_previous_price_from_the_row(latte, manager):
    stale = _variation(latte, "Pumpkin Spice")
    variation_price_change(variation=stale, new_price=Decimal("5.00"), by=manager)

    variation_price_change(variation=stale, new_price=Decimal("5.50"), by=None)

    first, second = _events("product.price_changed")
    assert (first["data"]["previous_price"], first["data"]["new_price"]) == ("4.50", "5.00")
    assert (second["data"]["previous_price"], second["data"]["new_price"]) == ("5.00", "5.50")
    assert second["data"]["changed_by"] is None


def test_variation_price_change_to_the_same_price_publishes_nothing(latte, manager):
    pumpkin = _variation(latte, "Pumpkin Spice")

    variation_price_change(variation=pumpkin, new_price=Decimal("4.5"), by=manager)

    assert _events() == []


@pytest.mark.parametrize("price", ["-0.01", "4.555", "100000.01", "NaN"])
def test_variation_price_change_to_an_invalid_price_writes_nothing(latte, manager, price):
    pumpkin = _variation(latte, "Pumpkin Spice")

    with pytest.raises(ValidationError):
        variation_price_change(variation=pumpkin, new_price=Decimal(price), by=manager)

    pumpkin.refresh_from_db()
    assert pumpkin.price == Decimal("4.50")
    assert _events() == []


# --- variation_add ------------------------------------------------------------------------


def test_variation_add_publishes_product_updated_with_the_new_variation(latte, manager):
    variation = variation_add(
        product=latte,
        spec=VariationSpec(name="Vanilla", price=Decimal("4.20"), stock=7, low_stock_threshold=2),
        by=manager,
    )

    envelope = _one_event("product.updated")
    assert envelope["key"] == str(latte.id)
    assert {
        "id": str(variation.id),
        "name": "Vanilla",
        "price": "4.20",
        "stock": 7,
        "low_stock_threshold": 2,
    } in envelope["data"]["variations"]
    assert len(envelope["data"]["variations"]) == 3


def test_variation_add_with_a_taken_name_writes_nothing(latte, manager):
    with pytest.raises(ValidationError):
        variation_add(
            product=latte, spec=VariationSpec(name="Classic", price=Decimal("1.00")), by=manager
        )

    assert latte.variations.count() == 2
    assert _events() == []


# --- product_delete -----------------------------------------------------------------------


def test_product_delete_withdraws_the_product_and_keeps_its_variations(latte, manager):
    product_delete(product=latte, by=manager)

    latte.refresh_from_db()
    assert latte.is_active is False
    assert latte.variations.count() == 2  # orders keep referring to them
    envelope = _one_event("product.deleted")
    assert envelope["key"] == str(latte.id)
    assert envelope["data"]["id"] == str(latte.id)
    assert envelope["data"]["deleted_by"] == str(manager.id)
    assert envelope["data"]["deleted_at"]
    assert _events() == [envelope]


# --- one product, one key -----------------------------------------------------------------


def test_every_event_of_a_product_has_its_key_in_write_order(manager):
    product = product_create(
        name="Donuts", variations=[VariationSpec("Glazed", Decimal("2.80"))], by=manager
    )
    glazed = _variation(product, "Glazed")
    variation_add(product=product, spec=VariationSpec("Boston Cream", Decimal("3.50")), by=manager)
    variation_price_change(variation=glazed, new_price=Decimal("2.90"), by=manager)
    product_update(product=product, description="Fresh daily.", by=manager)
    product_delete(product=product, by=manager)

    events = _events()
    assert [event["event_type"] for event in events] == [
        "product.created",
        "product.updated",
        "product.price_changed",
        "product.updated",
        "product.deleted",
    ]
    assert {event["key"] for event in events} == {str(product.id)}
    for event in events:
        Draft202012Validator(event_type_get(event["event_type"]).schema).validate(event["data"])
