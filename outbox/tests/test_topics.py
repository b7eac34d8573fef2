"""Topic declarations reach the real broker: created, described, and drift reported."""

import uuid

import pytest
from confluent_kafka.admin import ConfigResource, NewTopic, ResourceType
from django.core.management import CommandError, call_command

from outbox.kafka import admin_client
from outbox.topics import DAY_MS, declared_topics, topics_sync


@pytest.fixture
def fresh_env(settings):
    """A topic prefix of this test's own, so topic names start out absent."""
    settings.EVENTS_ENV = f"t{uuid.uuid4().hex[:10]}"
    return settings.EVENTS_ENV


def _config(name: str) -> dict[str, str]:
    resource = ConfigResource(ResourceType.TOPIC, name)
    entries = admin_client().describe_configs([resource])[resource].result(timeout=10)
    return {key: entry.value for key, entry in entries.items()}


def test_every_app_declares_its_aggregate_topics():
    names = {(topic.app, topic.aggregate) for topic in declared_topics()}

    assert {("accounts", "user"), ("orders", "order"), ("payments", "payment")} <= names
    assert ("outbox", "diagnostic") in names


def test_topic_names_are_env_app_aggregate(fresh_env):
    topic = next(t for t in declared_topics() if (t.app, t.aggregate) == ("orders", "order"))

    assert topic.name == f"{fresh_env}.orders.order"


def test_sync_creates_missing_topics_with_partitions_and_retention(fresh_env):
    report = topics_sync()

    assert sorted(report.created) == sorted(topic.name for topic in declared_topics())
    existing = admin_client().list_topics(timeout=10).topics
    payments = f"{fresh_env}.payments.payment"
    assert len(existing[payments].partitions) == 3
    assert _config(payments)["retention.ms"] == str(30 * DAY_MS)
    assert _config(f"{fresh_env}.notifications.notification")["retention.ms"] == str(3 * DAY_MS)
    assert _config(f"{fresh_env}.orders.order")["cleanup.policy"] == "delete"


def test_second_sync_changes_nothing(fresh_env):
    topics_sync()

    report = topics_sync()

    assert report.created == []
    assert report.drift == {}
    assert len(report.unchanged) == len(declared_topics())


def test_sync_reports_drift_without_touching_the_topic(fresh_env):
    name = f"{fresh_env}.orders.order"
    futures = admin_client().create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1, config={"retention.ms": "1000"})]
    )
    futures[name].result(timeout=10)

    report = topics_sync()

    assert name not in report.created
    assert report.drift[name] == [
        "partitions: declared 3, actual 1",
        f"retention.ms: declared {7 * DAY_MS}, actual 1000",
    ]
    assert _config(name)["retention.ms"] == "1000"


def test_command_syncs_lists_and_describes(fresh_env, capsys):
    call_command("kafka_topics", "sync")
    call_command("kafka_topics", "list")
    call_command("kafka_topics", "describe", f"{fresh_env}.payments.payment")

    out = capsys.readouterr().out
    assert f"created  {fresh_env}.accounts.user" in out
    assert f"{fresh_env}.orders.order  partitions=3" in out
    assert "partition 2: leader=" in out
    assert f"retention.ms={30 * DAY_MS}" in out


def test_describe_of_an_unknown_topic_is_an_error_and_creates_nothing(fresh_env):
    name = f"{fresh_env}.no.such"

    with pytest.raises(CommandError, match="not found"):
        call_command("kafka_topics", "describe", name)

    assert name not in admin_client().list_topics(timeout=10).topics
