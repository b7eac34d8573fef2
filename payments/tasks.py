"""Celery tasks of the payments app: thin, idempotent, calling services."""

from celery import shared_task

from payments.gateways.simulator import WebhookDeliveryError, charge_settle
from payments.idempotency import idempotency_keys_expire
from payments.services import payments_stale_fail


@shared_task(
    autoretry_for=(WebhookDeliveryError,),
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=12,
)
def simulator_charge_settle(*, reference: str) -> list[str]:
    """The simulated processor settles a charge: its webhooks, retried until delivered."""
    return charge_settle(reference=reference)


@shared_task
def payments_stale_fail_task() -> int:
    """Fail payments the gateway left unanswered past PAYMENTS_GATEWAY_TIMEOUT_S (beat)."""
    return payments_stale_fail()


@shared_task
def idempotency_keys_cleanup_task() -> int:
    """Forget Idempotency-Key answers older than PAYMENTS_IDEMPOTENCY_TTL_S (beat: hourly)."""
    return idempotency_keys_expire()
