"""Reads of the orders app that are more than one line; other apps read through these."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from orders.models import Product, ProductVariation


class ProductFilter(django_filters.FilterSet):
    """`is_active`, `name` (contains, any case) and `ordering` (name, created_at; `-` for
    descending)."""

    name = django_filters.CharFilter(lookup_expr="icontains")
    ordering = django_filters.OrderingFilter(fields=("name", "created_at"))

    class Meta:
        model = Product
        fields = ["is_active", "name"]


def product_list(
    *, filters: Mapping[str, Any] | None = None, active_only: bool = False
) -> QuerySet[Product]:
    """Products with their variations, filtered; `active_only` for those who may not see
    withdrawn products. Ties in the ordering are broken by id, so pages are stable."""
    queryset = _products()
    if active_only:
        queryset = queryset.filter(is_active=True)
    product_filter = ProductFilter(dict(filters or {}), queryset)
    if not product_filter.is_valid():
        raise ValidationError(product_filter.errors)
    queryset = product_filter.qs
    ordering = queryset.query.order_by or tuple(Product._meta.ordering)
    return queryset.order_by(*ordering, "id")


def product_get(*, product_id: UUID, active_only: bool = False) -> Product | None:
    """The product with its variations, None if unknown (or withdrawn, with `active_only`)."""
    queryset = _products()
    if active_only:
        queryset = queryset.filter(is_active=True)
    return queryset.filter(pk=product_id).first()


def variation_get(*, product_id: UUID, variation_id: UUID) -> ProductVariation | None:
    """The variation of that product, None if either is unknown."""
    return (
        ProductVariation.objects.select_related("product")
        .filter(pk=variation_id, product_id=product_id)
        .first()
    )


def product_exists(*, name: str) -> bool:
    return Product.objects.filter(name=name).exists()


def _products() -> QuerySet[Product]:
    variations = ProductVariation.objects.order_by("name")
    return Product.objects.prefetch_related(Prefetch("variations", queryset=variations))
