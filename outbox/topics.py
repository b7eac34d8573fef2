"""Topic declarations: one topic per aggregate, `{EVENTS_ENV}.{app}.{aggregate}`.

All events of one aggregate share a topic and a partition key, so they stay in commit order
(a topic per event type would let `order.status.changed` overtake `order.created`). Apps
declare their topics in events.py; `manage.py kafka_topics sync` creates them.
"""

from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType
from django.conf import settings

from outbox.kafka import admin_client

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    app: str
    aggregate: str
    partitions: int = 3
    retention_days: int = 7
    cleanup_policy: str = "delete"

    @property
    def name(self) -> str:
        return f"{settings.EVENTS_ENV}.{self.app}.{self.aggregate}"

    @property
    def config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_days * DAY_MS),
            "cleanup.policy": self.cleanup_policy,
        }


_declared: dict[tuple[str, str], Topic] = {}


def topic_declare(
    *, app: str, aggregate: str, partitions: int = 3, retention_days: int = 7
) -> Topic:
    """Declare an aggregate's topic (once per app and aggregate)."""
    topic = Topic(
        app=app, aggregate=aggregate, partitions=partitions, retention_days=retention_days
    )
    existing = _declared.setdefault((app, aggregate), topic)
    if existing != topic:
        raise ValueError(f"topic {app}.{aggregate} declared twice, differently")
    return topic


def declared_topics() -> list[Topic]:
    return sorted(_declared.values(), key=lambda topic: (topic.app, topic.aggregate))


@dataclass
class TopicsSyncReport:
    created: list[str]
    unchanged: list[str]
    drift: dict[str, list[str]]


def topics_sync(admin: AdminClient | None = None, timeout: float = 15.0) -> TopicsSyncReport:
    """Create every declared topic that is missing; report declared settings that differ."""
    admin = admin or admin_client()
    existing = admin.list_topics(timeout=timeout).topics
    declared = declared_topics()
    missing = [topic for topic in declared if topic.name not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    topic.name,
                    num_partitions=topic.partitions,
                    replication_factor=settings.KAFKA_REPLICATION_FACTOR,
                    config=topic.config,
                )
                for topic in missing
            ],
            operation_timeout=timeout,
        )
        for future in futures.values():
            try:
                future.result()
            except KafkaException as exc:  # another process created it meanwhile: fine
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    present = [topic for topic in declared if topic.name in existing]
    drift = _topics_drift(admin, present, existing, timeout)
    return TopicsSyncReport(
        created=[topic.name for topic in missing],
        unchanged=[topic.name for topic in present if topic.name not in drift],
        drift=drift,
    )


def _topics_drift(
    admin: AdminClient, topics: list[Topic], existing: dict, timeout: float
) -> dict[str, list[str]]:
    if not topics:
        return {}
    drift: dict[str, list[str]] = {}
    resources = [ConfigResource(ResourceType.TOPIC, topic.name) for topic in topics]
    actual_configs = admin.describe_configs(resources, request_timeout=timeout)
    for topic, resource in zip(topics, resources, strict=True):
        differences = []
        actual_partitions = len(existing[topic.name].partitions)
        if actual_partitions != topic.partitions:
            differences.append(
                f"partitions: declared {topic.partitions}, actual {actual_partitions}"
            )
        entries = actual_configs[resource].result(timeout=timeout)
        for key, value in topic.config.items():
            # Kafka reports every config; Tansu only those set at creation. Absent: unknown.
            if key in entries and entries[key].value != value:
                differences.append(f"{key}: declared {value}, actual {entries[key].value}")
        if differences:
            drift[topic.name] = differences
    return drift
