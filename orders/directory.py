"""The customer directory: the orders app's Customer table, written only from user events.

Seed 000's idempotency rules: a duplicate `user.registered` is skipped; a `user.updated`
older than the stored `updated_at` is ignored; `user.deleted` deactivates (order history
stays visible to managers). Events may arrive out of order across redeliveries, so each rule
also holds when the "later" event came first.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from orders.models import Customer

logger = logging.getLogger(__name__)

_PROFILE = ("username", "email", "first_name", "last_name", "phone", "role")


class CustomerNotAllowed(Exception):
    """The customer may not order (unknown to the shop, or deactivated)."""


def _time(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a date-time: {value!r}")
    return parsed


@transaction.atomic
def customer_register(*, data: dict[str, Any]) -> Customer:
    """From `user.registered`: create the customer, unless it is known already."""
    customer, created = Customer.objects.select_for_update().get_or_create(
        user_id=uuid.UUID(data["id"]),
        defaults={**{f: data[f] for f in _PROFILE}, "updated_at": _time(data["created_at"])},
    )
    if not created:
        logger.info("customer %s already known: user.registered skipped", customer.user_id)
    return customer


@transaction.atomic
def customer_update(*, data: dict[str, Any]) -> Customer:
    """From `user.updated`: apply it only if newer than what is stored."""
    updated_at = _time(data["updated_at"])
    profile = {f: data[f] for f in _PROFILE}
    customer, created = Customer.objects.select_for_update().get_or_create(
        user_id=uuid.UUID(data["id"]), defaults={**profile, "updated_at": updated_at}
    )
    if created:
        return customer
    if updated_at <= customer.updated_at:
        logger.info("customer %s: older user.updated ignored", customer.user_id)
        return customer
    for field, value in profile.items():
        setattr(customer, field, value)
    customer.updated_at = updated_at
    customer.save()
    return customer


@transaction.atomic
def customer_deactivate(*, data: dict[str, Any]) -> Customer:
    """From `user.deleted`: deactivate; a tombstone if the user was never seen, so that a
    late `user.registered` cannot bring them back."""
    deleted_at = _time(data["deleted_at"])
    customer, created = Customer.objects.select_for_update().get_or_create(
        user_id=uuid.UUID(data["id"]),
        defaults={"is_active": False, "deleted_at": deleted_at, "updated_at": deleted_at},
    )
    if not created and customer.is_active:
        customer.is_active = False
        customer.deleted_at = deleted_at
        customer.save(update_fields=["is_active", "deleted_at"])
    return customer


def customer_may_order(*, user_id: uuid.UUID) -> Customer:
    """The customer, if they may order; CustomerNotAllowed (with the reason) otherwise."""
    customer = Customer.objects.filter(user_id=user_id).first()
    if customer is None:
        raise CustomerNotAllowed("Your account is not known to the shop yet; try again shortly.")
    if not customer.is_active:
        raise CustomerNotAllowed("This account is deactivated.")
    return customer
