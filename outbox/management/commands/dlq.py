"""`manage.py dlq list|show|replay|discard|resolve`: the dead-letter review desk in a shell."""

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbox.dead_letters import (
    DeadLetterReplayError,
    dead_letter_discard,
    dead_letter_replay,
    dead_letter_resolve,
)
from outbox.models import DeadLetter

LIST_COLUMNS = ("id", "group", "event type", "status", "error class", "created")


class Command(BaseCommand):
    help = "List and show dead letters; replay one to its group, discard it or mark it resolved."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="dead letters, oldest first")
        listing.add_argument("--group", help="only this consumer group's")
        listing.add_argument("--status", choices=DeadLetter.Status.values, help="only these")
        show = actions.add_parser("show", help="every field, the value, headers and traceback")
        show.add_argument("id", type=int)
        replay = actions.add_parser("replay", help="apply the event to its group again")
        replay.add_argument("id", type=int)
        replay.add_argument("--by", help="who replays it (default: your OS user)")
        discard = actions.add_parser("discard", help="close it unapplied, saying why")
        discard.add_argument("id", type=int)
        discard.add_argument("--reason", required=True, help="why it will never be applied")
        discard.add_argument("--by", help="who discards it (default: your OS user)")
        resolve = actions.add_parser("resolve", help="close it: fixed by other means")
        resolve.add_argument("id", type=int)
        resolve.add_argument("--by", help="who resolved it (default: your OS user)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            self._list(group=options["group"], status=options["status"])
            return
        dead_letter = _dead_letter_get(options["id"])
        if action == "show":
            self._show(dead_letter)
            return
        by = options["by"] or _os_user()
        try:
            if action == "replay":
                applied = dead_letter_replay(dead_letter=dead_letter, by=by)
                outcome = "applied" if applied else "already applied before: a duplicate, skipped"
                self.stdout.write(f"dead letter {dead_letter.pk} replayed to {dead_letter.group}")
                self.stdout.write(f"  {outcome}")
            elif action == "discard":
                dead_letter_discard(dead_letter=dead_letter, by=by, reason=options["reason"])
                self.stdout.write(f"dead letter {dead_letter.pk} discarded")
            else:
                dead_letter_resolve(dead_letter=dead_letter, by=by)
                self.stdout.write(f"dead letter {dead_letter.pk} marked resolved")
        except (DeadLetterReplayError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _list(self, *, group: str | None, status: str | None) -> None:
        dead_letters = DeadLetter.objects.order_by("id")
        if group:
            dead_letters = dead_letters.filter(group=group)
        if status:
            dead_letters = dead_letters.filter(status=status)
        rows = [
            (
                str(dead_letter.pk),
                dead_letter.group,
                dead_letter.event_type or "(undecodable)",
                dead_letter.status,
                dead_letter.error_class,
                dead_letter.created_at.isoformat(timespec="seconds"),
            )
            for dead_letter in dead_letters.only(
                "id", "group", "event_type", "status", "error_class", "created_at"
            )
        ]
        if not rows:
            self.stdout.write("no dead letters")
            return
        widths = [max(len(row[i]) for row in [LIST_COLUMNS, *rows]) for i in range(6)]
        for row in [LIST_COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            )

    def _show(self, dead_letter: DeadLetter) -> None:
        for field in DeadLetter._meta.fields:
            if field.name not in ("value", "headers", "traceback"):
                self.stdout.write(f"{field.name}: {getattr(dead_letter, field.name)}")
        self.stdout.write("value:")
        self.stdout.write(_value_text(bytes(dead_letter.value)))
        self.stdout.write("headers:")
        for name, value in dead_letter.headers:
            self.stdout.write(f"  {name}: {value}")
        if not dead_letter.headers:
            self.stdout.write("  (none)")
        self.stdout.write("traceback:")
        self.stdout.write(dead_letter.traceback or "  (none)")


def _dead_letter_get(pk: int) -> DeadLetter:
    try:
        return DeadLetter.objects.get(pk=pk)
    except DeadLetter.DoesNotExist:
        raise CommandError(f"no dead letter with id {pk}") from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError) as exc:  # no login name nor passwd entry (some containers)
        raise CommandError("cannot tell who you are: pass --by NAME") from exc


def _value_text(value: bytes) -> str:
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except ValueError:
        return f"(not JSON) {value.decode(errors='replace')}"
