"""What the payments services refuse, with the HTTP status the API answers each with."""


class PaymentError(Exception):
    """A payment that can't be started; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = {field: [message]} if field else {}


class RefundError(PaymentError):
    """A refund that can't be asked for (nothing captured, more than is left): a conflict
    with the payment's state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409, code, message)


class DuplicateDelivery(Exception):
    """A webhook delivery id that was applied before."""
