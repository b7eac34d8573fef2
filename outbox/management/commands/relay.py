"""`manage.py relay`: publish committed outbox rows to Kafka until SIGTERM."""

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import start_http_server

from outbox.relay import OutboxRelay, RelayConfig


class Command(BaseCommand):
    help = "Publish outbox rows to Kafka. Several may run; SIGTERM finishes the batch and exits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.OUTBOX_RELAY_METRICS_PORT,
            help="serve Prometheus metrics on this port (0: off)",
        )
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument(
            "--once", action="store_true", help="send what is sendable now, then exit"
        )

    def handle(
        self, *args: Any, metrics_port: int, batch_size: int | None, once: bool, **options: Any
    ) -> None:
        relay = OutboxRelay(RelayConfig.from_settings(batch_size=batch_size))
        if once:
            self.stdout.write(f"relay: {relay.drain()} row(s) sent or attempted")
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: relay.stop())
        if metrics_port:
            start_http_server(metrics_port, addr="0.0.0.0")  # noqa: S104 - scraped by Prometheus
            self.stdout.write(f"relay metrics on :{metrics_port}/metrics")
        relay.run()
