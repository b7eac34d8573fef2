"""`manage.py consumer_lag [--group G]`: how far each consumer group is behind its topics.

Per partition of each group's topics: the group's committed offset (read with the admin
API: nothing joins the group or commits for it), the end offset (high watermark) and the
lag between them. Without a committed offset the group will start at the beginning, so its
lag is everything still kept (end - low).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbox.groups import consumer_group_get, consumer_groups
from outbox.kafka import admin_client, client_config, committed_offsets

TIMEOUT_S = 15.0
UNDER_REPORTED = "end offset below committed offset: the broker under-reports its high watermark"


@dataclass(frozen=True)
class _Group:
    name: str  # as shown: the declared name, or the raw Kafka group id
    kafka_group_id: str
    topics: list[str]


@dataclass(frozen=True)
class LagRow:
    group: str
    topic: str
    partition: int | None  # None: the topic does not exist
    committed: int | None  # None: the group committed nothing there
    end: int | None
    lag: int | None
    under_reported: bool = False  # end < committed: the lag was clamped at 0


def partition_lag(committed: int | None, low: int, high: int) -> tuple[int, bool]:
    """The lag of one partition, clamped at 0, and whether it had to be clamped."""
    raw = high - committed if committed is not None else high - low
    return max(raw, 0), raw < 0


class Command(BaseCommand):
    help = (
        "Show each consumer group's committed offset, end offset and lag per partition. "
        "Reads offsets only: never joins a group, never commits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--group",
            help="only this group (a declared group name, or a raw Kafka group id)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        groups = self._groups(options["group"])
        if not groups:
            self.stdout.write("no consumer groups declared")
            return
        existing = admin_client().list_topics(timeout=TIMEOUT_S).topics
        consumer = Consumer(
            client_config(**{"group.id": f"consumer-lag-{uuid.uuid4().hex}"})  # never joined
        )
        try:
            rows = [row for group in groups for row in _group_rows(group, existing, consumer)]
        finally:
            consumer.close()
        self._print(rows)

    def _groups(self, name: str | None) -> list[_Group]:
        if name is None:
            return [_Group(g.name, g.kafka_group_id, g.topics) for g in consumer_groups()]
        try:
            group = consumer_group_get(name)
        except LookupError:
            pass
        else:
            return [_Group(group.name, group.kafka_group_id, group.topics)]
        # Not declared here: a raw Kafka group id, with the topics it committed offsets for.
        request = ConsumerGroupTopicPartitions(name)
        future = admin_client().list_consumer_group_offsets([request], request_timeout=TIMEOUT_S)
        answer = future[name].result(timeout=TIMEOUT_S)
        topics = sorted({tp.topic for tp in answer.topic_partitions or [] if tp.offset >= 0})
        if not topics:
            declared = ", ".join(g.name for g in consumer_groups()) or "none"
            raise CommandError(
                f"no consumer group {name!r} is declared (declared: {declared}), and Kafka "
                "has no committed offsets for a group of that id"
            )
        return [_Group(name, name, topics)]

    def _print(self, rows: list[LagRow]) -> None:
        table = [("GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG")]
        for row in rows:
            if row.partition is None:
                table.append((row.group, row.topic, "-", "-", "-", "(missing)"))
                continue
            table.append(
                (
                    row.group,
                    row.topic,
                    str(row.partition),
                    "-" if row.committed is None else str(row.committed),
                    "-" if row.end is None else str(row.end),
                    f"{row.lag}*" if row.under_reported else str(row.lag),
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
        if any(row.under_reported for row in rows):
            self.stdout.write(f"* {UNDER_REPORTED}; lag shown as 0")


def _group_rows(group: _Group, existing: dict[str, Any], consumer: Consumer) -> list[LagRow]:
    rows: list[LagRow] = []
    partitions: list[TopicPartition] = []
    for topic in group.topics:
        metadata = existing.get(topic)
        if metadata is None or metadata.error is not None:
            rows.append(LagRow(group.name, topic, None, None, None, None))
            continue
        partitions += [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
    committed = committed_offsets(group.kafka_group_id, partitions) if partitions else {}
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(partition, timeout=TIMEOUT_S)
        offset = committed.get((partition.topic, partition.partition))
        lag, under_reported = partition_lag(offset, low, high)
        rows.append(
            LagRow(
                group.name, partition.topic, partition.partition, offset, high, lag, under_reported
            )
        )
    return sorted(rows, key=lambda row: (row.topic, -1 if row.partition is None else row.partition))
