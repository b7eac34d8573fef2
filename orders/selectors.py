"""Reads of the orders app that are more than one line; other apps read through these."""

from orders.models import Product


def product_exists(*, name: str) -> bool:
    return Product.objects.filter(name=name).exists()
