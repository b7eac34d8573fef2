"""Products and their variations: keyword-only `<entity>_<action>` functions, each atomic.

Every write of a product locks the product row first, so the writes of one product (and the
events they publish, keyed by its id) follow one another in commit order.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from orders.events import PRODUCT_CREATED, PRODUCT_DELETED, PRODUCT_PRICE_CHANGED, PRODUCT_UPDATED
from orders.models import Product, ProductVariation
from outbox.catalog import EventType
from outbox.schemas import money_text
from outbox.services import event_publish

# Bounds of a variation's price and stock. They belong on the model's fields as validators;
# until then the services check them, and the API and admin forms check them first.
PRICE_MAX = Decimal("100000")
STOCK_MAX = 1_000_000


@dataclass(frozen=True)
class VariationSpec:
    name: str
    price: Decimal
    stock: int = 0
    low_stock_threshold: int = 5


@transaction.atomic
def product_create(
    *,
    name: str,
    description: str = "",
    variations: list[VariationSpec],
    by: User | None = None,
) -> Product:
    """Create a product with its variations; publishes product.created."""
    product = Product(name=name, description=description)
    product.full_clean()
    product.save()
    for spec in variations:
        _variation_save(product=product, spec=spec)
    _publish(PRODUCT_CREATED, product_event_data(product), by)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    by: User | None = None,
) -> Product:
    """Change a product's details (None: keep); publishes product.updated if any changed."""
    locked = _product_lock(product.pk)
    wanted = {"name": name, "description": description, "is_active": is_active}
    changes = {
        field: value
        for field, value in wanted.items()
        if value is not None and getattr(locked, field) != value
    }
    if not changes:
        return locked
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.full_clean()
    locked.save(update_fields=[*changes, "updated_at"])
    _publish(PRODUCT_UPDATED, product_event_data(locked), by)
    return locked


@transaction.atomic
def variation_add(*, product: Product, spec: VariationSpec, by: User | None) -> ProductVariation:
    """Add a variation to a product; publishes product.updated."""
    locked = _product_lock(product.pk)
    variation = _variation_save(product=locked, spec=spec)
    locked.save(update_fields=["updated_at"])
    _publish(PRODUCT_UPDATED, product_event_data(locked), by)
    return variation


@transaction.atomic
def variation_price_change(
    *, variation: ProductVariation, new_price: Decimal, by: User | None
) -> ProductVariation:
    """Set a variation's price (>= 0, two decimals); publishes product.price_changed,
    nothing when the price is the same."""
    product = _product_lock(variation.product_id)
    # Read the price under the product's lock: it is the previous price the event reports.
    variation = ProductVariation.objects.get(pk=variation.pk)
    variation.product = product
    previous_price = variation.price
    variation.price = new_price
    _variation_clean(variation)
    if variation.price == previous_price:
        return variation
    variation.save(update_fields=["price"])
    product.save(update_fields=["updated_at"])
    data = {
        "id": product.pk,
        "variation_id": variation.pk,
        "variation_name": variation.name,
        "previous_price": money_text(previous_price),
        "new_price": money_text(variation.price),
        "changed_by": _user_id(by),
        "changed_at": product.updated_at,
    }
    _publish(PRODUCT_PRICE_CHANGED, data, by)
    return variation


@transaction.atomic
def product_delete(*, product: Product, by: User | None) -> Product:
    """Withdraw a product (soft delete: inactive, orders keep their snapshots);
    publishes product.deleted."""
    locked = _product_lock(product.pk)
    locked.is_active = False
    locked.save(update_fields=["is_active", "updated_at"])
    data = {"id": locked.pk, "deleted_at": locked.updated_at, "deleted_by": _user_id(by)}
    _publish(PRODUCT_DELETED, data, by)
    return locked


def product_event_data(product: Product) -> dict[str, Any]:
    """The data of product.created and product.updated: the whole product, as it is now."""
    return {
        "id": product.pk,
        "name": product.name,
        "description": product.description,
        "is_active": product.is_active,
        "variations": [
            {
                "id": variation.pk,
                "name": variation.name,
                "price": money_text(variation.price),
                "stock": variation.stock,
                "low_stock_threshold": variation.low_stock_threshold,
            }
            for variation in ProductVariation.objects.filter(product=product).order_by("name")
        ],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def _product_lock(product_id: UUID) -> Product:
    return Product.objects.select_for_update(of=("self",)).get(pk=product_id)


def _variation_save(*, product: Product, spec: VariationSpec) -> ProductVariation:
    variation = ProductVariation(
        product=product,
        name=spec.name,
        price=spec.price,
        stock=spec.stock,
        low_stock_threshold=spec.low_stock_threshold,
    )
    _variation_clean(variation)
    variation.save()
    return variation


def _variation_clean(variation: ProductVariation) -> None:
    variation.full_clean()
    errors = {}
    if variation.price > PRICE_MAX:
        errors["price"] = [f"Ensure this value is less than or equal to {PRICE_MAX}."]
    for field in ("stock", "low_stock_threshold"):
        if getattr(variation, field) > STOCK_MAX:
            errors[field] = [f"Ensure this value is less than or equal to {STOCK_MAX}."]
    if errors:
        raise ValidationError(errors)


def _publish(event_type: EventType, data: dict[str, Any], by: User | None) -> None:
    event_publish(
        event_type=event_type.name, version=event_type.version, data=data, user_id=_user_id(by)
    )


def _user_id(user: User | None) -> str | None:
    return str(user.pk) if user is not None else None
