"""Writes of the orders app: keyword-only `<entity>_<action>` functions, each atomic.

Product, cart, inventory and order events are written here once the outbox lands.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from orders.models import Product, ProductVariation


@dataclass(frozen=True)
class VariationSpec:
    name: str
    price: Decimal
    stock: int = 0
    low_stock_threshold: int = 5


@transaction.atomic
def product_create(*, name: str, description: str = "", variations: list[VariationSpec]) -> Product:
    """Create a product with its variations."""
    product = Product(name=name, description=description)
    product.full_clean()
    product.save()
    for spec in variations:
        variation = ProductVariation(
            product=product,
            name=spec.name,
            price=spec.price,
            stock=spec.stock,
            low_stock_threshold=spec.low_stock_threshold,
        )
        variation.full_clean()
        variation.save()
    return product
