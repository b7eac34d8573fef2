"""The interface every payment gateway implements; the rest of the app knows only this.

A gateway takes a charge (`charge_create`) and answers with its reference at once; the outcome
arrives later as signed webhooks, which the gateway itself verifies and translates
(`webhook_parse`) into `GatewayNotification`s. Refunds are answered synchronously.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from uuid import UUID


class GatewayError(Exception):
    """The gateway refused a request outright (bad card token, unknown currency...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WebhookRejected(Exception):
    """A webhook that must not be applied: bad signature, stale timestamp, malformed body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChargeCreated:
    provider_reference: str


@dataclass(frozen=True)
class RefundOutcome:
    succeeded: bool
    provider_refund_id: str = ""
    failure_reason: str = ""


@dataclass(frozen=True)
class GatewayNotification:
    """One verified webhook, in the app's terms."""

    delivery_id: str
    kind: Literal["authorized", "captured", "failed"]
    provider_reference: str
    transaction_id: str = ""
    payment_method: str = ""
    failure_reason: str = ""


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def charge_create(
        self,
        *,
        payment_id: UUID,
        amount: Decimal,
        currency: str,
        card_token: str,
        description: str,
    ) -> ChargeCreated:
        """Start a charge; called inside the payment's transaction with `payment_id` as the
        gateway's own idempotency key, so a retried call cannot charge twice. Raises
        GatewayError when the gateway refuses it outright."""

    @abstractmethod
    def refund_create(
        self, *, provider_reference: str, refund_id: UUID, amount: Decimal, currency: str
    ) -> RefundOutcome:
        """Give back `amount` of a captured charge. `refund_id` is the gateway's idempotency
        key: asking again with the same id gives the same answer and refunds nothing more."""

    @abstractmethod
    def webhook_parse(self, *, headers: Mapping[str, str], body: bytes) -> GatewayNotification:
        """Verify a webhook (signature, timestamp) and translate it; raises WebhookRejected."""
