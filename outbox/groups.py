"""Consumer groups, declared in code: a group is its handlers, and its topics follow from them.

An app registers what it does when another app's event arrives in its handlers.py:

    @handles("user.registered", group="orders")
    def customer_from_user_registered(event: Event) -> None: ...

`manage.py consume GROUP` runs one group; `consume --list` shows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from outbox.catalog import event_type_get
from outbox.topics import Topic, topic_declare


@dataclass(frozen=True)
class Handler:
    event_type: str
    versions: frozenset[int]  # the versions the function accepts; older ones are upcast
    func: Callable[[Any], None]


@dataclass
class ConsumerGroup:
    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)

    @property
    def topics(self) -> list[str]:
        return sorted({event_type_get(name).topic.name for name in self.handlers})

    @property
    def kafka_group_id(self) -> str:
        return f"{settings.EVENTS_ENV}.{self.name}"

    @property
    def dlq_topic(self) -> Topic:
        return topic_declare(app="dlq", aggregate=self.name, partitions=1, retention_days=30)


_groups: dict[str, ConsumerGroup] = {}


def handles(
    event_type: str, *, group: str, versions: Iterable[int] | None = None
) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register the decorated function as `group`'s handler of `event_type`.

    Without `versions` the handler accepts the type's latest declared version; events of
    older versions reach it upcast (see `outbox.catalog.upcaster_register`).
    """

    def register(func: Callable[[Any], None]) -> Callable[[Any], None]:
        accepted = frozenset(versions or [event_type_get(event_type).version])
        consumer_group = _groups.setdefault(group, ConsumerGroup(group))
        if event_type in consumer_group.handlers:
            raise ValueError(f"group {group} already handles {event_type}")
        consumer_group.handlers[event_type] = Handler(event_type, accepted, func)
        consumer_group.dlq_topic  # noqa: B018 - declares the group's dead-letter topic
        return func

    return register


def consumer_groups() -> list[ConsumerGroup]:
    return sorted(_groups.values(), key=lambda group: group.name)


def consumer_group_get(name: str) -> ConsumerGroup:
    try:
        return _groups[name]
    except KeyError:
        known = ", ".join(sorted(_groups)) or "none"
        raise LookupError(f"no consumer group {name!r} (declared: {known})") from None


def groups_handling(event_type: str) -> list[ConsumerGroup]:
    return [group for group in consumer_groups() if event_type in group.handlers]
