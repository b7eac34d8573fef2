"""Payment gateways: the configured one is `gateway_get()` (setting PAYMENTS_GATEWAY, a
dotted path to a `PaymentGateway` class). Adding a processor means adding a module here."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from payments.gateways.base import (
    ChargeCreated,
    GatewayError,
    GatewayNotification,
    PaymentGateway,
    RefundOutcome,
    WebhookRejected,
)

__all__ = [
    "ChargeCreated",
    "GatewayError",
    "GatewayNotification",
    "PaymentGateway",
    "RefundOutcome",
    "WebhookRejected",
    "gateway_get",
]


@cache
def _gateway(path: str) -> PaymentGateway:
    return import_string(path)()


def gateway_get() -> PaymentGateway:
    return _gateway(settings.PAYMENTS_GATEWAY)
