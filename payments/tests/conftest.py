"""Fixtures of the payments tests: a payer, a manager and an order the app has learnt of."""

import io
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from accounts.services import user_create
from payments.gateways import GatewayNotification
from payments.models import Payable
from payments.services import payable_register


@pytest.fixture
def payer(db) -> User:
    return user_create(username=f"payer-{uuid.uuid4().hex[:6]}", password="pw-123456")


@pytest.fixture
def manager(db) -> User:
    return user_create(
        username=f"mgr-{uuid.uuid4().hex[:6]}", password="pw-123456", role=User.Role.MANAGER
    )


def payable_for(user: User, amount: str = "9.00", currency: str = "EUR") -> Payable:
    """An order of `user`, as the payments app records it from order.created."""
    return payable_register(
        payable_type="order",
        payable_id=uuid.uuid4(),
        payer_id=user.pk,
        amount=Decimal(amount),
        currency=currency,
        line_items=[{"description": "Latte (Pumpkin Spice)", "quantity": 2, "unit_price": "4.50"}],
        created_at=timezone.now(),
    )


@pytest.fixture
def payable(payer: User) -> Payable:
    return payable_for(payer)


def notification(kind: str, reference: str, **fields: str) -> GatewayNotification:
    """A verified webhook of the simulator, as the gateway hands it to the services."""
    defaults = {"transaction_id": f"txn-{reference}", "payment_method": "card_visa"}
    return GatewayNotification(
        delivery_id=f"evt_{kind}_{reference}_{uuid.uuid4().hex[:6]}",
        kind=kind,
        provider_reference=reference,
        **({**defaults, **fields} if kind == "captured" else fields),
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
