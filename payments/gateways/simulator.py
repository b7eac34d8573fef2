"""A payment processor simulator, and the gateway that talks to it.

It behaves like a real card processor: `charge_create` answers at once with a reference, and
the outcome comes later, from a Celery task, as webhooks POSTed to PAYMENTS_WEBHOOK_URL:
`charge.authorized` then `charge.captured`, or `charge.failed`. Each delivery has its own id
and is signed with HMAC-SHA256 over "<timestamp>.<body>" (headers `Simulator-Timestamp` and
`Simulator-Signature: v1=<hex>`), and is retried with backoff until our endpoint answers 2xx
(409 `duplicate_delivery` also means we have it).

Test card tokens choose the outcome:

| token | outcome |
|---|---|
| `tok_visa`, `tok_mastercard` | authorized, then captured |
| `tok_insufficient_funds` | failed: "Insufficient funds" |
| `tok_card_declined` | failed: "Your card was declined" |
| `tok_timeout` | never answers |
| `tok_refund_fails` | captured; its refunds are refused |

The processor's own ledger (which card a charge used, what was refunded) lives in the cache
(Redis), as a real processor's would live in its own database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from payments.gateways.base import (
    ChargeCreated,
    GatewayError,
    GatewayNotification,
    PaymentGateway,
    RefundOutcome,
    WebhookRejected,
)

log = structlog.get_logger(__name__)

TIMESTAMP_HEADER = "Simulator-Timestamp"
SIGNATURE_HEADER = "Simulator-Signature"


@dataclass(frozen=True)
class TestCard:
    payment_method: str
    outcome: str  # "succeed" | "fail" | "silent"
    failure_reason: str = ""
    refund_fails: bool = False


CARDS = {
    "tok_visa": TestCard("card_visa", "succeed"),
    "tok_mastercard": TestCard("card_mastercard", "succeed"),
    "tok_insufficient_funds": TestCard("card_visa", "fail", "Insufficient funds"),
    "tok_card_declined": TestCard("card_visa", "fail", "Your card was declined"),
    "tok_timeout": TestCard("card_visa", "silent"),
    "tok_refund_fails": TestCard("card_visa", "succeed", refund_fails=True),
}
KINDS = {
    "charge.authorized": "authorized",
    "charge.captured": "captured",
    "charge.failed": "failed",
}


class WebhookDeliveryError(Exception):
    """Our endpoint did not take a delivery; the Celery task retries it with backoff."""


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the simulator sends with a webhook body (tests forge them too)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = signature(secret=settings.PAYMENTS_WEBHOOK_SECRET, timestamp=stamp, body=body)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: f"v1={digest}",
    }


def _ledger_key(reference: str) -> str:
    return f"paysim:charge:{reference}"


class SimulatorGateway(PaymentGateway):
    name = "simulator"

    def charge_create(
        self,
        *,
        payment_id: UUID,
        amount: Decimal,
        currency: str,
        card_token: str,
        description: str,
    ) -> ChargeCreated:
        if card_token not in CARDS:
            raise GatewayError(
                "invalid_card_token", f"Unknown card token; test tokens: {', '.join(CARDS)}."
            )
        reference = f"sim_ch_{uuid.uuid4().hex}"
        charge = {"token": card_token, "amount": str(amount), "currency": currency,
                  "refunded": "0.00", "payment_id": str(payment_id)}  # fmt: skip
        cache.set(_ledger_key(reference), charge, timeout=None)
        # The processor starts working once our transaction is committed; a rolled-back
        # payment is a charge nobody settles.
        transaction.on_commit(lambda: _settle_schedule(reference))
        return ChargeCreated(provider_reference=reference)

    def refund_create(
        self, *, provider_reference: str, refund_id: UUID, amount: Decimal, currency: str
    ) -> RefundOutcome:
        charge = cache.get(_ledger_key(provider_reference))
        if charge is None:
            return RefundOutcome(succeeded=False, failure_reason="No such charge")
        if CARDS[charge["token"]].refund_fails:
            return RefundOutcome(succeeded=False, failure_reason="The card issuer refused it")
        provider_refund_id = f"sim_re_{refund_id.hex}"
        if provider_refund_id in charge.get("refund_ids", []):  # a retried request: same answer
            return RefundOutcome(succeeded=True, provider_refund_id=provider_refund_id)
        refunded = Decimal(charge["refunded"]) + amount
        if refunded > Decimal(charge["amount"]) or currency != charge["currency"]:
            return RefundOutcome(succeeded=False, failure_reason="More than was charged")
        charge = {**charge, "refunded": str(refunded),
                  "refund_ids": [*charge.get("refund_ids", []), provider_refund_id]}  # fmt: skip
        cache.set(_ledger_key(provider_reference), charge, timeout=None)
        return RefundOutcome(succeeded=True, provider_refund_id=provider_refund_id)

    def webhook_parse(self, *, headers: Mapping[str, str], body: bytes) -> GatewayNotification:
        stamp, signed = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER, "")
        if not stamp or not stamp.isdigit() or not signed.startswith("v1="):
            raise WebhookRejected("signature_missing", "Timestamp or signature header missing.")
        expected = signature(secret=settings.PAYMENTS_WEBHOOK_SECRET, timestamp=stamp, body=body)
        if not hmac.compare_digest(expected, signed.removeprefix("v1=")):
            raise WebhookRejected("signature_invalid", "The signature does not match the body.")
        if abs(time.time() - int(stamp)) > settings.PAYMENTS_WEBHOOK_TOLERANCE_S:
            raise WebhookRejected("timestamp_outside_window", "The timestamp is too old or new.")
        try:
            payload = json.loads(body)
            kind = KINDS[payload["type"]]
            data = payload["data"]
            return GatewayNotification(
                delivery_id=str(payload["id"]),
                kind=kind,
                provider_reference=str(data["reference"]),
                transaction_id=str(data.get("transaction_id", "")),
                payment_method=str(data.get("payment_method", "")),
                failure_reason=str(data.get("failure_reason", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("malformed_webhook", "The body is not a known webhook.") from exc


# --- the processor's side: runs in a Celery worker -------------------------------------------


def _settle_schedule(reference: str) -> None:
    current_app.send_task(
        "payments.tasks.simulator_charge_settle",
        kwargs={"reference": reference},
        queue=settings.PAYMENTS_SIMULATOR_QUEUE,
        countdown=settings.PAYMENTS_SIMULATOR_DELAY_S,
    )


def charge_settle(*, reference: str) -> list[str]:
    """Decide a charge by its card and deliver the webhooks, in order; returns their types.
    Delivery ids are derived from the reference, so a retried task re-sends the same ids."""
    charge = cache.get(_ledger_key(reference))
    if charge is None:
        log.warning("simulator_charge_unknown", reference=reference)
        return []
    card = CARDS[charge["token"]]
    if card.outcome == "silent":
        return []
    data = {"reference": reference, "amount": charge["amount"], "currency": charge["currency"]}
    if card.outcome == "fail":
        deliveries = [("charge.failed", {**data, "failure_reason": card.failure_reason})]
    else:
        deliveries = [
            ("charge.authorized", {**data, "payment_method": card.payment_method}),
            ("charge.captured", {**data, "payment_method": card.payment_method,
                                 "transaction_id": f"sim_txn_{reference.removeprefix('sim_ch_')}"}),
        ]  # fmt: skip
    for index, (kind, payload) in enumerate(deliveries):
        if index:
            time.sleep(settings.PAYMENTS_SIMULATOR_DELAY_S)
        webhook_deliver(
            {"id": f"evt_{kind.split('.')[1]}_{reference}", "type": kind,
             "created": int(time.time()), "data": payload}
        )  # fmt: skip
    return [kind for kind, _ in deliveries]


def webhook_deliver(event: dict[str, Any]) -> None:
    """POST one signed webhook; anything but 2xx (or 409 for a repeat) is a failed delivery."""
    body = json.dumps(event).encode()
    url = settings.PAYMENTS_WEBHOOK_URL
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"PAYMENTS_WEBHOOK_URL must be http(s), not {url!r}")
    request = urllib.request.Request(url, data=body, headers=signed_headers(body), method="POST")  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        raise WebhookDeliveryError(f"{event['id']}: {exc}") from exc
    log.info("simulator_webhook_delivered", delivery_id=event["id"], status=status)
    if status == 409:  # we already applied it
        return
    if not 200 <= status < 300:
        raise WebhookDeliveryError(f"{event['id']}: HTTP {status}")
