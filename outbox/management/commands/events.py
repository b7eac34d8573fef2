"""`manage.py events catalog|asyncapi`: the event catalog, generated from the code."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from outbox.asyncapi import asyncapi_document
from outbox.catalog import event_types


class Command(BaseCommand):
    help = "Print the event catalog, or write it as an AsyncAPI 3 document."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("catalog", help="print every event type")
        asyncapi = actions.add_parser("asyncapi", help="write the AsyncAPI 3 document")
        asyncapi.add_argument("--output", "-o", type=Path, help="file (default: stdout)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "catalog":
            self._catalog()
            return
        document = json.dumps(asyncapi_document(), indent=2)
        if options["output"]:
            options["output"].write_text(document + "\n")
            self.stdout.write(f"wrote {options['output']}")
        else:
            self.stdout.write(document)

    def _catalog(self) -> None:
        rows = [("EVENT TYPE", "V", "TOPIC", "KEY", "AGGREGATE", "PRIORITY")]
        for t in event_types():
            key = f"data.{t.key_field}" if t.key_field else "(publisher's)"
            rows.append((t.name, str(t.version), t.topic.name, key, t.aggregate_type, t.priority))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            )
