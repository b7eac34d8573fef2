"""`manage.py consume GROUP`: run one consumer group until SIGTERM (`--list` shows them)."""

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from outbox.consumer import GroupConsumer
from outbox.groups import consumer_group_get, consumer_groups


class Command(BaseCommand):
    help = "Apply a consumer group's events. Several processes of a group share its partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("group", nargs="?", help="the consumer group to run")
        parser.add_argument("--list", action="store_true", help="show groups, topics and types")
        parser.add_argument("--max-messages", type=int, help="exit after this many records")
        parser.add_argument("--until-idle", type=float, help="exit after this many idle seconds")
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.OUTBOX_CONSUMER_METRICS_PORT,
            help="serve Prometheus metrics on this port (0: off)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        if not options["group"]:
            raise CommandError("name a group (see `consume --list`)")
        try:
            group = consumer_group_get(options["group"])
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        consumer = GroupConsumer(group)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: consumer.stop())
        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr="0.0.0.0")  # noqa: S104
        self.stdout.write(f"consuming {group.name} from {', '.join(group.topics)}")
        handled = consumer.run(
            max_messages=options["max_messages"], until_idle_s=options["until_idle"]
        )
        self.stdout.write(f"{group.name}: {handled} record(s) handled; stopped")

    def _list(self) -> None:
        for group in consumer_groups():
            self.stdout.write(f"{group.name}  (Kafka group {group.kafka_group_id})")
            self.stdout.write(f"  topics:      {', '.join(group.topics)}")
            self.stdout.write(f"  dead letters: {group.dlq_topic.name}")
            for name, handler in sorted(group.handlers.items()):
                versions = ", ".join(f"v{v}" for v in sorted(handler.versions))
                self.stdout.write(
                    f"  {name} ({versions}) -> {handler.func.__module__}.{handler.func.__name__}"
                )
