"""Kafka client configuration from settings, shared by every producer, consumer and admin."""

import functools
import logging
from typing import Any

from confluent_kafka.admin import AdminClient
from django.conf import settings

logger = logging.getLogger("kafka")


def client_config(**overrides: Any) -> dict[str, Any]:
    """librdkafka settings for bootstrap and security; callers add their role's settings."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "security.protocol": settings.KAFKA_SECURITY_PROTOCOL,
        "logger": logger,
    }
    if settings.KAFKA_SASL_MECHANISM:
        config["sasl.mechanism"] = settings.KAFKA_SASL_MECHANISM
        config["sasl.username"] = settings.KAFKA_SASL_USERNAME
        config["sasl.password"] = settings.KAFKA_SASL_PASSWORD
    if settings.KAFKA_SSL_CA_LOCATION:
        config["ssl.ca.location"] = settings.KAFKA_SSL_CA_LOCATION
    config.update(overrides)
    return config


def admin_client() -> AdminClient:
    """One admin client per process and bootstrap address (librdkafka handles are thread-safe)."""
    return _admin_client(settings.KAFKA_BOOTSTRAP_SERVERS)


@functools.cache
def _admin_client(bootstrap_servers: str) -> AdminClient:
    return AdminClient(client_config(**{"bootstrap.servers": bootstrap_servers}))
