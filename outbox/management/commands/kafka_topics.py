"""`manage.py kafka_topics sync|list|describe TOPIC`: the topics, without Kafka's shell scripts."""

from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType
from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbox.kafka import admin_client, client_config
from outbox.topics import declared_topics, topics_sync

TIMEOUT_S = 15.0


class Command(BaseCommand):
    help = "Create declared Kafka topics and report drift (sync), list or describe topics."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("sync", help="create missing declared topics, report config drift")
        actions.add_parser("list", help="list the broker's topics")
        describe = actions.add_parser("describe", help="partitions, offsets and config of a topic")
        describe.add_argument("topic")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "sync":
            self._sync()
        elif action == "list":
            self._list()
        else:
            self._describe(options["topic"])

    def _sync(self) -> None:
        report = topics_sync(timeout=TIMEOUT_S)
        for name in report.created:
            self.stdout.write(f"created  {name}")
        for name in report.unchanged:
            self.stdout.write(f"ok       {name}")
        for name, differences in report.drift.items():
            self.stdout.write(self.style.WARNING(f"drift    {name}: {'; '.join(differences)}"))
        self.stdout.write(
            f"{len(report.created)} created, {len(report.unchanged)} unchanged, "
            f"{len(report.drift)} with drift"
        )

    def _list(self) -> None:
        declared = {topic.name for topic in declared_topics()}
        topics = admin_client().list_topics(timeout=TIMEOUT_S).topics
        for name in sorted(topics):
            marker = "" if name in declared else "  (not declared)"
            self.stdout.write(f"{name}  partitions={len(topics[name].partitions)}{marker}")

    def _describe(self, name: str) -> None:
        admin = admin_client()
        # Ask for all topics: a metadata request naming a missing topic may auto-create it.
        metadata = admin.list_topics(timeout=TIMEOUT_S).topics.get(name)
        if metadata is None or metadata.error is not None:
            raise CommandError(f"topic {name} not found")
        consumer = Consumer(client_config(**{"group.id": "kafka-topics-describe"}))
        try:
            self.stdout.write(f"topic {name}")
            for partition_id in sorted(metadata.partitions):
                partition = metadata.partitions[partition_id]
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(name, partition_id), timeout=TIMEOUT_S
                )
                self.stdout.write(
                    f"  partition {partition_id}: leader={partition.leader} "
                    f"replicas={partition.replicas} isr={partition.isrs} offsets={low}..{high}"
                )
        finally:
            consumer.close()
        resource = ConfigResource(ResourceType.TOPIC, name)
        entries = admin.describe_configs([resource])[resource].result(timeout=TIMEOUT_S)
        self.stdout.write("  config:")
        for key in sorted(entries):
            self.stdout.write(f"    {key}={entries[key].value}")
