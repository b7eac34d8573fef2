"""Kafka client configuration from settings, shared by every producer, consumer and admin."""

import functools
import logging
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
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


def committed_offsets(
    group_id: str, partitions: list[TopicPartition], timeout: float = 15.0
) -> dict[tuple[str, int], int]:
    """The group's committed offsets of these partitions (those with none are left out).
    Read with the admin API (OffsetFetch): nothing joins the group or commits for it."""
    request = ConsumerGroupTopicPartitions(
        group_id, [TopicPartition(p.topic, p.partition) for p in partitions]
    )
    future = admin_client().list_consumer_group_offsets([request], request_timeout=timeout)
    answer = future[group_id].result(timeout=timeout)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in answer.topic_partitions
        if tp.error is None and tp.offset >= 0
    }
