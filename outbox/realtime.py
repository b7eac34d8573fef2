"""Live updates over WebSockets: events that reached Kafka, pushed through the channel layer.

Two halves, used by every app that pushes live updates (orders today, appointments next):

- `event_push()` runs in the `realtime` consumer group's handlers. It sends a frame to
  channel-layer groups once per event id: the id is claimed in Redis (`SET NX EX`, one hour,
  seed 000's cache) before the send, so a redelivered event is not pushed twice. Pushes never
  come from request code: only events that reached Kafka are pushed.
- `LiveConsumer` is the base of the WebSocket endpoints. It joins its groups *before* it
  reads the snapshot from the database, sends the snapshot, then the live frames newer than
  it (by the aggregate's version), so there is no gap between the two and no stale frame.
  It sends heartbeats, re-joins its groups with each one (a lost membership heals within a
  heartbeat), and closes a client that does not keep up instead of buffering for it
  without bound.

The channel layer is at-most-once (Channels' channel layer spec): a frame can be lost (a
full channel, a restart). Frames carry `event_id` and the aggregate's `version`, so clients
drop duplicates and notice gaps; a client that sees a gap reconnects for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from prometheus_client import Counter

logger = logging.getLogger(__name__)

SUBPROTOCOL = "realtime"
# Close codes (4000-4999 are the application's): the client stops retrying on 4401/4403/4404.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4429  # frames piled up unsent: reconnect for a fresh snapshot

realtime_pushes_total = Counter(
    "realtime_pushes_total",
    "Events pushed to channel-layer groups (duplicate: pushed before, not sent again).",
    ["event_type", "outcome"],
)


# --- the push side (the realtime consumer group) ---------------------------------------------


class _LayerLoop:
    """One event loop in a daemon thread for this process's channel-layer sends.

    channels-redis keeps its Redis connections per event loop; async_to_sync would run each
    push in a new loop and reconnect every time. Created on first use, after any fork.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="channel-layer", daemon=True
                ).start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)


_layer_loop = _LayerLoop()


def _pushed_key(event_id: UUID | str) -> str:
    return f"realtime:pushed:{event_id}"


def event_push(
    *, event_id: UUID | str, event_type: str, groups: Sequence[str], frame: dict[str, Any]
) -> bool:
    """Send `frame` to `groups` unless this event id was pushed within the dedupe window
    (REALTIME_DEDUPE_TTL_S); answer whether it was sent. A failed send releases the id and
    raises, so the consumer's retry may push it."""
    key = _pushed_key(event_id)
    if not cache.add(key, 1, timeout=settings.REALTIME_DEDUPE_TTL_S):
        realtime_pushes_total.labels(event_type, "duplicate").inc()
        logger.info("event %s was pushed before; not again", event_id)
        return False
    message = {
        "type": "realtime.frame",
        "frame": json.dumps(frame, cls=DjangoJSONEncoder),  # encoded once for every socket
        "aggregate_id": str(frame["aggregate_id"]),
        "version": frame["version"],
    }
    layer = get_channel_layer()

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group in groups))

    try:
        _layer_loop.run(send_all(), timeout=10.0)
    except Exception:
        cache.delete(key)
        raise
    realtime_pushes_total.labels(event_type, "pushed").inc()
    return True


# --- the WebSocket side ------------------------------------------------------------------------


class LiveRefused(Exception):
    """The socket may not watch this: closed with `code` after the handshake (so clients see
    the code; a refused handshake is only an HTTP 403 to them)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LiveConsumer(AsyncWebsocketConsumer):
    """Base of the live endpoints. Subclasses answer which groups a user may join
    (`live_groups`, or raise LiveRefused) and read the snapshot (`live_snapshot`, sync: it
    runs in a thread with a database connection).

    Frames, JSON text:
    - `{"type": "snapshot", ..., "versions": {aggregate_id: version}}` first, on every
      (re)connect;
    - `{"type": "event", "event_id", "event_type", "aggregate_id", "version", "state",
      "data", "at"}` for each live event newer than the snapshot;
    - `{"type": "heartbeat", "at"}` every REALTIME_HEARTBEAT_S.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups: list[str] = []
        self.snapshot_versions: dict[str, int] = {}
        self._outgoing: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # --- for subclasses ---

    async def live_groups(self, user: Any) -> list[str]:
        raise NotImplementedError

    def live_snapshot(self, user: Any) -> tuple[dict[str, Any], dict[str, int]]:
        """The snapshot frame and the version of each aggregate in it."""
        raise NotImplementedError

    # --- connection ---

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            groups = await self.live_groups(user)
        except LiveRefused as refused:
            await self.close(code=refused.code)
            return
        # Join first, then read: an event committed after the read is pushed to a group we
        # are already in. Frames that arrive meanwhile wait in the channel layer's buffer
        # (a consumer handles one message at a time) and are compared with the snapshot.
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups = groups
        snapshot, self.snapshot_versions = await database_sync_to_async(self.live_snapshot)(user)
        self._outgoing = asyncio.Queue(maxsize=settings.REALTIME_SEND_QUEUE_MAX)
        self._outgoing.put_nowait(json.dumps(snapshot, cls=DjangoJSONEncoder))
        self._tasks = [
            asyncio.create_task(self._write()),
            asyncio.create_task(self._heartbeat()),
        ]

    async def disconnect(self, code: int) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            # A writer that failed because the client went away is no news here.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""

    # --- frames ---

    async def realtime_frame(self, message: dict[str, Any]) -> None:
        """A live frame from the channel layer: drop it when the snapshot already has it."""
        if self._outgoing is None:
            return  # refused, or not connected yet
        known = self.snapshot_versions.get(message["aggregate_id"])
        if known is not None and message["version"] <= known:
            return
        self._enqueue(message["frame"])

    def _enqueue(self, text: str) -> None:
        assert self._outgoing is not None
        try:
            self._outgoing.put_nowait(text)
        except asyncio.QueueFull:
            # The client does not read as fast as we write: free what it holds rather than
            # grow without bound. It reconnects and starts again from a snapshot.
            logger.warning(
                "closing a slow WebSocket client (%s frames unsent)", self._outgoing.qsize()
            )
            self._outgoing = None
            for task in self._tasks:
                task.cancel()
            asyncio.get_running_loop().create_task(self.close(code=CLOSE_TOO_SLOW))

    async def _write(self) -> None:
        while self._outgoing is not None:
            queue = self._outgoing
            text = await queue.get()
            await self.send(text_data=text)

    async def _heartbeat(self) -> None:
        interval = settings.REALTIME_HEARTBEAT_S
        while True:
            await asyncio.sleep(interval)
            # Re-joining heals a membership the layer lost (cheap when it is intact).
            for group in self.groups:
                await self.channel_layer.group_add(group, self.channel_name)
            if self._outgoing is None:
                return
            self._enqueue(json.dumps({"type": "heartbeat", "at": time.time()}))
