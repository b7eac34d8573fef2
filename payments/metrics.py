"""Prometheus metrics of the payments app (served by the web process's /metrics)."""

from prometheus_client import Counter

payment_webhooks_total = Counter(
    "payment_webhooks_total",
    "Gateway webhooks received, by outcome (applied, or the refusal's error code).",
    ["gateway", "outcome"],
)
