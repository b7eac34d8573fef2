"""Liveness and readiness against the real PostgreSQL, Redis and Kafka."""

import pytest
from rest_framework.test import APIClient

from config import devstack


@pytest.fixture
def client():
    return APIClient()


def test_liveness_answers_ok(client):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_readiness_checks_database_redis_and_kafka(client):
    response = client.get("/api/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "kafka"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readiness_names_redis_when_it_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{devstack.free_port()}/0"

    response = client.get("/api/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert "Connection" in body["checks"]["redis"]["error"]


@pytest.mark.django_db
def test_readiness_names_kafka_when_it_is_down(client, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{devstack.free_port()}"

    response = client.get("/api/health/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["kafka"]
