"""Liveness and readiness.

Readiness checks PostgreSQL, Redis and Kafka in parallel, each bounded by CHECK_TIMEOUT_S,
so a hung dependency answers 503 in about that time instead of hanging the probe.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connections
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from outbox.kafka import admin_client

CHECK_TIMEOUT_S = 2.0


def check_database() -> None:
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = %s", [int(CHECK_TIMEOUT_S * 1000)])
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()


def check_kafka() -> None:
    metadata = admin_client().list_topics(timeout=CHECK_TIMEOUT_S)
    if not metadata.brokers:
        raise RuntimeError("no brokers in metadata")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "kafka": check_kafka,
}


def run_checks() -> dict[str, dict[str, Any]]:
    """Run every check at once; each gets CHECK_TIMEOUT_S from the common start."""
    results: dict[str, dict[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")
    started = time.monotonic()
    futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
    for name, future in futures.items():
        remaining = max(0.0, CHECK_TIMEOUT_S + 0.1 - (time.monotonic() - started))
        try:
            results[name] = {"ok": True, "latency_ms": future.result(timeout=remaining)}
        except FutureTimeout:
            results[name] = {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_S:.0f}s"}
        except Exception as exc:  # noqa: BLE001 - any failure is a failed check, named
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    pool.shutdown(wait=False, cancel_futures=True)
    return results


def _timed(check: Callable[[], None]) -> float:
    started = time.perf_counter()
    check()
    return round((time.perf_counter() - started) * 1000, 2)


@extend_schema(
    summary="Liveness",
    responses=inline_serializer(
        "Liveness", {"status": serializers.CharField(), "time": serializers.DateTimeField()}
    ),
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def liveness(request: Request) -> Response:
    return Response({"status": "ok", "time": datetime.now(UTC).isoformat()})


@extend_schema(
    summary="Readiness: database, Redis and Kafka answer",
    responses={
        200: inline_serializer(
            "Readiness", {"status": serializers.CharField(), "checks": serializers.DictField()}
        ),
        503: inline_serializer(
            "NotReady",
            {
                "status": serializers.CharField(),
                "failed": serializers.ListField(child=serializers.CharField()),
                "checks": serializers.DictField(),
            },
        ),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def readiness(request: Request) -> Response:
    checks = run_checks()
    failed = [name for name, result in checks.items() if not result["ok"]]
    if failed:
        body = {"status": "unavailable", "failed": failed, "checks": checks}
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ok", "checks": checks})
