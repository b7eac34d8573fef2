"""Who and what caused the events being written now: correlation, causation, user, trace.

A request's middleware or a consumer's handler sets the context; `event_publish` reads it,
so services never pass these through their signatures. Values are bound into structlog's
context too, so every log line of the request or event carries them.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import structlog

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACESTATE_MAX = 512


@dataclass(frozen=True)
class EventContext:
    correlation_id: str | None = None
    causation_id: uuid.UUID | None = None
    user_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    request: Any = None  # the HttpRequest; its user is known only after DRF authenticates


_current: ContextVar[EventContext] = ContextVar("event_context", default=EventContext())  # noqa: B039


def event_context_current() -> EventContext:
    return _current.get()


@contextlib.contextmanager
def event_context(**changes: Any) -> Iterator[EventContext]:
    """Run a block with some context values changed (the others are inherited)."""
    context = replace(_current.get(), **changes)
    token = _current.set(context)
    log_values = {
        key: str(value)
        for key, value in changes.items()
        if key in ("correlation_id", "causation_id") and value is not None
    }
    with structlog.contextvars.bound_contextvars(**log_values):
        try:
            yield context
        finally:
            _current.reset(token)


def correlation_id_clean(value: str | None) -> str:
    """The caller's correlation id when it is safe to log and forward; a new one otherwise."""
    if value and _CORRELATION_ID.match(value):
        return value
    return str(uuid.uuid4())


def traceparent_clean(value: str | None) -> str | None:
    return value if value and _TRACEPARENT.match(value) else None


def tracestate_clean(value: str | None) -> str | None:
    return value if value and len(value) <= _TRACESTATE_MAX and value.isprintable() else None


def context_user_id(context: EventContext) -> str | None:
    if context.user_id:
        return context.user_id
    user = getattr(context.request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.pk)
    return None
