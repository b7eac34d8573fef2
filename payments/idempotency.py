"""`Idempotency-Key` for unsafe requests, the way payment APIs do it.

The same key and body replay the stored answer (header `Idempotent-Replayed: true`) without
running the request again; the same key with another body is 409 `idempotency_key_reused`.
The key row is inserted first, in the request's own transaction, so a concurrent request with
the same key waits on the unique index until the first one commits, then replays it. A
request that fails rolls its key back: nothing is stored, and a retry runs again.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ApiError
from payments.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255


def _request_hash(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(request: Request, run: Callable[[], Response]) -> Response:
    """Answer `request` by `run()` in one durable transaction, honouring its key."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic(durable=True):
            return run()
    if not 1 <= len(key) <= KEY_MAX_LENGTH:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="idempotency_key_invalid",
            message=f"{HEADER} must be 1 to {KEY_MAX_LENGTH} characters.",
        )
    request_hash = _request_hash(request)
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user_id=request.user.pk, key=key, request_hash=request_hash,
                    created_at=timezone.now(),
                )  # fmt: skip
        except IntegrityError:  # the key was used, and that request has committed
            stored = IdempotencyKey.objects.get(user_id=request.user.pk, key=key)
            if stored.request_hash != request_hash:
                raise ApiError(
                    status_code=status.HTTP_409_CONFLICT,
                    code="idempotency_key_reused",
                    message=f"This {HEADER} was used with a different request.",
                ) from None
            return Response(
                stored.response_body,
                status=stored.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        response = run()
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
        return response


def idempotency_keys_expire() -> int:
    """Forget answers older than PAYMENTS_IDEMPOTENCY_TTL_S."""
    cutoff = timezone.now() - timedelta(seconds=settings.PAYMENTS_IDEMPOTENCY_TTL_S)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
