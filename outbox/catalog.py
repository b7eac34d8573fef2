"""The event catalog: every event type, declared in code by the app that owns it.

Each app's events.py declares its types with `event_type_declare`. The catalog is the single
source of truth: publishing an undeclared type is an error, `manage.py events catalog`
prints it and `manage.py events asyncapi` turns it into an AsyncAPI 3 document.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from outbox.topics import Topic

PRIORITIES = ("critical", "high", "normal", "low")


class UnknownEventType(LookupError):
    """No event type of that name (and version) is declared."""

    index: int | None = None  # in a batch, which event


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    topic: Topic
    aggregate_type: str
    key_field: str | None  # the field of `data` that is the partition key, None: caller's key
    schema: dict[str, Any] = field(hash=False, compare=False)
    description: str = ""
    priority: str = "normal"

    @property
    def source(self) -> str:
        return self.topic.app

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema)


_catalog: dict[tuple[str, int], EventType] = {}


def event_type_declare(
    *,
    name: str,
    topic: Topic,
    schema: dict[str, Any],
    key_field: str | None,
    aggregate_type: str | None = None,
    version: int = 1,
    description: str = "",
    priority: str = "normal",
) -> EventType:
    """Declare an event type; the schema describes `data` and is checked when declared."""
    if priority not in PRIORITIES:
        raise ValueError(f"{name}: priority must be one of {PRIORITIES}")
    Draft202012Validator.check_schema(schema)
    if key_field is not None and key_field not in schema.get("required", []):
        raise ValueError(f"{name}: key field {key_field!r} must be a required property")
    event_type = EventType(
        name=name,
        version=version,
        topic=topic,
        aggregate_type=aggregate_type or topic.aggregate,
        key_field=key_field,
        schema=schema,
        description=description,
        priority=priority,
    )
    existing = _catalog.setdefault((name, version), event_type)
    # The dataclass's equality leaves the schema out (it is unhashable): compare both.
    if existing is not event_type and (existing != event_type or existing.schema != schema):
        raise ValueError(f"event type {name} v{version} declared twice, differently")
    return existing


def event_type_get(name: str, version: int | None = None) -> EventType:
    """The declared type; without a version, its latest version."""
    if version is not None:
        try:
            return _catalog[(name, version)]
        except KeyError:
            raise UnknownEventType(f"unknown event type {name!r} version {version}") from None
    versions = [event_type for (n, _), event_type in _catalog.items() if n == name]
    if not versions:
        raise UnknownEventType(f"unknown event type {name!r}")
    return max(versions, key=lambda event_type: event_type.version)


_upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upcaster_register(
    name: str, from_version: int
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    """Register a function turning `data` of `name` v`from_version` into v`from_version + 1`."""

    def register(
        func: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        event_type_get(name, from_version + 1)  # the target version must be declared
        _upcasters[(name, from_version)] = func
        return func

    return register


class UnsupportedVersion(LookupError):
    """An event's version cannot be brought to one its handler accepts."""


def data_upcast(
    name: str, version: int, data: dict[str, Any], accepted: frozenset[int]
) -> tuple[int, dict[str, Any]]:
    """Upcast `data` step by step until its version is one of `accepted`."""
    while version not in accepted:
        upcaster = _upcasters.get((name, version))
        if upcaster is None:
            raise UnsupportedVersion(f"{name} v{version} cannot be brought to v{sorted(accepted)}")
        data = upcaster(data)
        version += 1
    return version, data


def event_types() -> list[EventType]:
    return sorted(_catalog.values(), key=lambda t: (t.topic.app, t.name, t.version))
