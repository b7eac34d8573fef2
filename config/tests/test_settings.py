"""Settings come from the environment, in one place, and refuse unsafe combinations."""

import os
import subprocess
import sys

from config import devstack
from outbox.kafka import client_config


def _load_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **overrides}
    env = {key: value for key, value in env.items() if value != "<unset>"}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=devstack.PROJECT_DIR,
        check=False,
    )


def test_debug_off_refuses_the_default_secret_key():
    result = _load_settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="<unset>")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_debug_on_accepts_the_default_secret_key():
    result = _load_settings(DJANGO_DEBUG="true", DJANGO_SECRET_KEY="<unset>")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_debug_off_starts_with_a_real_secret_key():
    result = _load_settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="a-long-random-production-key")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_missing_service_url_is_a_clear_error():
    result = _load_settings(DATABASE_URL="<unset>")

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_kafka_security_settings_reach_every_client(settings):
    settings.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    settings.KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
    settings.KAFKA_SASL_USERNAME = "app"
    settings.KAFKA_SASL_PASSWORD = "secret"
    settings.KAFKA_SSL_CA_LOCATION = "/etc/ssl/kafka-ca.pem"

    config = client_config(**{"group.id": "g"})

    assert config["bootstrap.servers"] == settings.KAFKA_BOOTSTRAP_SERVERS
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "app"
    assert config["sasl.password"] == "secret"
    assert config["ssl.ca.location"] == "/etc/ssl/kafka-ca.pem"
    assert config["group.id"] == "g"


def test_plaintext_kafka_has_no_sasl_settings():
    config = client_config()

    assert config["security.protocol"] == "PLAINTEXT"
    assert "sasl.mechanism" not in config
