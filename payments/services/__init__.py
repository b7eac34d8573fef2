"""Writes of the payments app: keyword-only `<entity>_<action>` functions, each atomic,
each writing its outbox events in the same transaction."""

from payments.services.errors import DuplicateDelivery, PaymentError, RefundError
from payments.services.payables import payable_cancel, payable_register
from payments.services.payments import (
    payment_notification_apply,
    payment_start,
    payments_stale_fail,
)
from payments.services.refunds import refund_create

__all__ = [
    "DuplicateDelivery",
    "PaymentError",
    "RefundError",
    "payable_cancel",
    "payable_register",
    "payment_notification_apply",
    "payment_start",
    "payments_stale_fail",
    "refund_create",
]
