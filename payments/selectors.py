"""Reads of the payments app that are more than one line; other apps read through these."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.permissions import user_is_manager
from payments.models import Payable, Payment


class PaymentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Payment.Status.choices)
    payable_type = django_filters.ChoiceFilter(
        field_name="payable__payable_type", choices=Payable.Type.choices
    )
    payable_id = django_filters.UUIDFilter(field_name="payable_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(fields=["created_at", "amount"])

    class Meta:
        model = Payment
        fields: list[str] = []


def _visible(user: Any) -> QuerySet[Payment]:
    payments = Payment.objects.select_related("payable", "invoice").prefetch_related("refunds")
    return payments if user_is_manager(user) else payments.filter(payer_id=user.pk)


def payment_list(*, user: Any, filters: Mapping[str, Any]) -> QuerySet[Payment]:
    """A payer's own payments, or all of them for managers; filtered, newest first."""
    payment_filter = PaymentFilter(filters, queryset=_visible(user).order_by("-created_at", "id"))
    if not payment_filter.is_valid():
        raise ValidationError(payment_filter.errors)
    return payment_filter.qs


def payment_get(*, user: Any, payment_id: UUID) -> Payment | None:
    """The payment if the user may see it (their own, or any for managers)."""
    return _visible(user).filter(pk=payment_id).first()


def payable_get(*, user: Any, payable_id: UUID) -> Payable | None:
    """What is owed for an order or appointment, if the user may see it."""
    payables = Payable.objects.filter(pk=payable_id)
    if not user_is_manager(user):
        payables = payables.filter(payer_id=user.pk)
    return payables.first()
