"""Reads of the orders app that are more than one line; other apps read through these."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.permissions import user_is_manager
from orders.models import Cart, Order, Product, ProductVariation


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


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(fields=["created_at", "total_amount"])

    class Meta:
        model = Order
        fields: list[str] = []


def order_list(*, user: Any, filters: Mapping[str, Any]) -> QuerySet[Order]:
    """A customer's own orders, or every order for managers; filtered, newest first.
    Invalid filters are a ValidationError (the API's 400)."""
    orders = Order.objects.prefetch_related("items").order_by("-created_at", "id")
    if not user_is_manager(user):
        orders = orders.filter(customer_id=user.pk)
    filterset = OrderFilter(filters, queryset=orders)
    if not filterset.is_valid():
        raise ValidationError(
            {
                field: [e["message"] for e in errors]
                for field, errors in filterset.errors.get_json_data().items()
            }
        )
    return filterset.qs


def order_get(*, user: Any, order_id: UUID) -> Order | None:
    """The order if the user may see it (their own, or any for managers)."""
    orders = Order.objects.prefetch_related("items").filter(pk=order_id)
    if not user_is_manager(user):
        orders = orders.filter(customer_id=user.pk)
    return orders.first()


def cart_open_get(*, customer_id: UUID) -> Cart | None:
    return Cart.objects.filter(customer_id=customer_id, status=Cart.Status.OPEN).first()


def order_live_get(*, order_id: UUID) -> Order | None:
    """The order with its items, for a live page's snapshot."""
    return Order.objects.prefetch_related("items").filter(pk=order_id).first()


# The board shows every open order, and those closed within this window.
BOARD_CLOSED_WITHIN = timedelta(hours=12)
BOARD_MAX_ORDERS = 500


def orders_board_list() -> list[Order]:
    """The managers' live board: open orders, and orders delivered or cancelled lately;
    newest first, at most BOARD_MAX_ORDERS."""
    closed = (Order.Status.DELIVERED, Order.Status.CANCELLED)
    recent = timezone.now() - BOARD_CLOSED_WITHIN
    orders = (
        Order.objects.prefetch_related("items")
        .filter(~Q(status__in=closed) | Q(updated_at__gte=recent))
        .order_by("-created_at", "id")
    )
    return list(orders[:BOARD_MAX_ORDERS])
