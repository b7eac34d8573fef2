"""Live push latency: commit of a status change → frame received by WebSocket clients.

    python bench/realtime.py [--clients 200] [--rate 50] [--seconds 20] [--board-share 0.1]

Starts the real path as processes: uvicorn serving config.asgi, a relay and the `realtime`
consumer group, on the embedded (or given) PostgreSQL, Redis and Kafka. A client process
opens N WebSocket clients: a `--board-share` of them on the managers' board `/ws/orders/`
(every order's frames), the others each tracking one order `/ws/orders/{id}/`. Every
client waits for its snapshot. This process then moves orders one status step at a time
through the service layer (`order_status_change`) at a steady rate, noting when each
transaction committed. A frame's latency is its arrival at a client minus the commit of the
transaction that wrote its event; `lost` counts frames some client should have received
and did not. Also reported, per event: commit → relay's Kafka ack (`PublishedEvent`) →
realtime group's batch start (its inbox row's `processed_at`) → frame at the clients.
Last line, JSON:
{"clients": ..., "updates_per_s": ..., "p50_ms": ..., "p99_ms": ..., "lost": ...}
"""

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import PROJECT_DIR, stack_setup

from config import devstack

STEPS = {"waiting": "preparation", "preparation": "ready", "ready": "delivered"}


# --- the client process ------------------------------------------------------------------------


async def _client(
    url: str, *, token: str, origin: str, index: int, frames: list, ready: asyncio.Event
) -> None:
    import websockets

    async with websockets.connect(
        url,
        additional_headers={"Authorization": f"Token {token}"},
        origin=origin,
        max_queue=None,
        open_timeout=60,
    ) as ws:
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "snapshot", snapshot
        ready.set()
        async for text in ws:
            received = time.time()
            frame = json.loads(text)
            if frame["type"] == "event":
                frames.append(
                    (index, frame["aggregate_id"], frame["version"], frame["event_id"], received)
                )


async def _clients_main(targets: list[str], token: str, origin: str, pipe: Any) -> None:
    frames: list = []
    readies = [asyncio.Event() for _ in targets]
    tasks = []
    for index, url in enumerate(targets):
        tasks.append(
            asyncio.create_task(
                _client(
                    url,
                    token=token,
                    origin=origin,
                    index=index,
                    frames=frames,
                    ready=readies[index],
                )
            )
        )
        if index % 50 == 49:  # connect in waves: the handshakes queue less
            await asyncio.gather(*(event.wait() for event in readies[: index + 1]))
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in readies)), 120)
    failed = [task for task in tasks if task.done()]
    pipe.send(("ready", len(targets) - len(failed)))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send(("frames", frames))


def clients_run(targets: list[str], token: str, origin: str, pipe: Any) -> None:
    asyncio.run(_clients_main(targets, token, origin, pipe))


# --- the orchestrating process ----------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def _analyse(
    frames: list, committed: dict, watchers: dict[str, int], board_clients: int
) -> tuple[list[float], int, dict[str, list[float]]]:
    """Latency of every frame a client should have received, how many never came, and
    per event the segments of its path."""
    from outbox.models import InboxEntry, PublishedEvent

    latencies, seen = [], set()
    first_arrival: dict[str, float] = {}  # event id -> first client to get it
    event_key: dict[str, tuple[str, int]] = {}
    for index, order_id, version, event_id, received in frames:
        key = (order_id, version)
        if key not in committed or (index, key) in seen:
            continue
        seen.add((index, key))
        latencies.append((received - committed[key]) * 1000)
        first_arrival[event_id] = min(first_arrival.get(event_id, received), received)
        event_key[event_id] = key
    expected = sum(board_clients + watchers.get(order_id, 0) for order_id, _ in committed)
    lost = expected - len(latencies)

    # Where the time goes, per event: commit → Kafka ack → consumer batch → first client.
    published = {
        str(row.event_id): row.published_at.timestamp()
        for row in PublishedEvent.objects.filter(event_id__in=list(first_arrival))
    }
    claimed = {
        str(row.event_id): row.processed_at.timestamp()
        for row in InboxEntry.objects.filter(group="realtime", event_id__in=list(first_arrival))
    }
    segments: dict[str, list[float]] = {
        "commit → Kafka ack": [], "ack → consumer": [], "consumer → client": []
    }  # fmt: skip
    for event_id, arrival in first_arrival.items():
        if event_id not in published or event_id not in claimed:
            continue
        commit = committed[event_key[event_id]]
        segments["commit → Kafka ack"].append((published[event_id] - commit) * 1000)
        segments["ack → consumer"].append((claimed[event_id] - published[event_id]) * 1000)
        segments["consumer → client"].append((arrival - claimed[event_id]) * 1000)
    return latencies, lost, segments


def _processes_start(
    port: int, env: dict[str, str], logs_dir: Path, web_workers: int
) -> dict[str, Any]:
    """uvicorn, a relay and the realtime group, as `make run` starts them."""
    commands = {
        "web": [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host",
                "127.0.0.1", "--port", str(port), "--lifespan", "off", "--no-access-log",
                "--workers", str(web_workers)],
        "relay": [sys.executable, "manage.py", "relay", "--metrics-port", "0"],
        "consume": [sys.executable, "manage.py", "consume", "realtime", "--metrics-port", "0"],
    }  # fmt: skip
    processes = {}
    for name, command in commands.items():
        with open(logs_dir / f"{name}.log", "wb") as log:
            processes[name] = subprocess.Popen(
                command,
                env={**env, "LOG_LEVEL": "INFO"} if name == "consume" else env,  # "assigned"
                cwd=PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    return processes


def _processes_stop(processes: dict[str, Any]) -> None:
    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _status_changes(
    orders: list, manager: Any, rate: float, updates: int
) -> tuple[dict[tuple[str, int], float], float]:
    """Move orders one step each, round robin, at a steady rate through the service layer;
    answer when each (order, version) committed, and the rate achieved."""
    from orders.services import order_status_change

    committed: dict[tuple[str, int], float] = {}
    status = {str(order.id): order.status for order in orders}
    order_ids = [str(order.id) for order in orders]
    started = time.perf_counter()
    for k in range(updates):
        delay = started + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        order_id = order_ids[k % len(order_ids)]
        new_status = STEPS[status[order_id]]
        changed = order_status_change(order_id=order_id, new_status=new_status, by=manager)
        at = time.time()  # the transaction has committed
        status[order_id] = new_status
        first = changed.version - (1 if new_status == "delivered" else 0)  # + order.delivered
        for version in range(first, changed.version + 1):
            committed[(order_id, version)] = at
    return committed, updates / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="status changes per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--board-share", type=float, default=0.1)
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn processes")
    options = parser.parse_args()
    stack_setup("benchrealtime")

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from accounts.services import user_create
    from orders.models import Customer
    from orders.services import (
        VariationSpec,
        cart_checkout,
        cart_item_set,
        order_payment_complete,
        product_create,
    )
    from outbox.topics import topics_sync

    topics_sync()
    updates = int(options.rate * options.seconds)
    board_clients = round(options.clients * options.board_share)
    tracking_clients = options.clients - board_clients
    order_count = max(tracking_clients, math.ceil(updates / len(STEPS)), 1)

    suffix = uuid.uuid4().hex[:8]
    manager = user_create(username=f"bench-m-{suffix}", password="x", role=User.Role.MANAGER)
    customer = user_create(username=f"bench-c-{suffix}", password="x")
    Customer.objects.create(user_id=customer.pk, username=customer.username,
                            updated_at=timezone.now())  # fmt: skip
    token = Token.objects.create(user=manager).key
    variation = product_create(
        name=f"Bench latte {suffix}",
        variations=[VariationSpec(name="Classic", price=Decimal("3.90"), stock=order_count)],
    ).variations.get()
    orders = []
    for _ in range(order_count):
        cart_item_set(customer_id=customer.pk, variation_id=variation.id, quantity=1)
        order = cart_checkout(customer_id=customer.pk)
        orders.append(order_payment_complete(order_id=order.id, payment_id=str(uuid.uuid4())))
    print(f"{order_count} orders waiting; starting web, relay, consume realtime", flush=True)

    port = devstack.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OUTBOX_RELAY_METRICS_PORT": "0"}
    logs_dir = PROJECT_DIR / ".devstack" / f"bench-realtime-{suffix}"
    logs_dir.mkdir(parents=True, exist_ok=True)
    processes = _processes_start(port, env, logs_dir, options.web_workers)
    try:
        devstack.wait_until(lambda: devstack.http_ok(f"{base}/api/health"), 60, "uvicorn")
        devstack.wait_until(
            lambda: "assigned" in (logs_dir / "consume.log").read_text(), 90, "the consumer"
        )
        time.sleep(3)  # the setup's order events are pushed (to nobody) first

        ws_base = base.replace("http", "ws")
        targets = [f"{ws_base}/ws/orders/" for _ in range(board_clients)]
        targets += [f"{ws_base}/ws/orders/{orders[i % order_count].id}/"
                    for i in range(tracking_clients)]  # fmt: skip
        watchers: dict[str, int] = {}
        for url in targets[board_clients:]:
            order_id = url.rstrip("/").rsplit("/", 1)[1]
            watchers[order_id] = watchers.get(order_id, 0) + 1
        parent_pipe, child_pipe = get_context("spawn").Pipe()
        client_process = get_context("spawn").Process(
            target=clients_run, args=(targets, token, base, child_pipe), daemon=True
        )
        client_process.start()
        kind, connected = parent_pipe.recv()
        assert kind == "ready"
        print(f"{connected} clients connected and have their snapshot", flush=True)

        committed, achieved = _status_changes(orders, manager, options.rate, updates)
        time.sleep(3)  # stragglers
        parent_pipe.send("stop")
        kind, frames = parent_pipe.recv()
        client_process.join(10)
    finally:
        _processes_stop(processes)

    latencies, lost, segments = _analyse(frames, committed, watchers, board_clients)
    connection.close()
    for name, values in segments.items():
        if values:
            print(f"  {name:<20} p50 {statistics.median(values):6.1f} ms   "
                  f"p99 {_percentile(values, 0.99):6.1f} ms", flush=True)  # fmt: skip
    expected = len(latencies) + lost
    print(
        f"{len(latencies)} frames of {expected} expected; {len(committed)} events from "
        f"{updates} status changes at {achieved:.1f}/s; fetch wait "
        f"{settings.KAFKA_FETCH_WAIT_MAX_MS} ms; logs in {logs_dir}",
        flush=True,
    )
    print(
        json.dumps(
            {
                "clients": options.clients,
                "updates_per_s": round(achieved, 1),
                "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
                "p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
                "lost": lost,
                "board_clients": board_clients,
                "tracking_clients": tracking_clients,
                "frames": len(latencies),
                "max_ms": round(max(latencies), 1) if latencies else None,
            }
        )
    )


if __name__ == "__main__":
    main()
