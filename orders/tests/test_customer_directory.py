"""The customer directory, fed by user events through the real relay, broker and consumer."""

import json
import uuid

import pytest
from confluent_kafka import Producer
from django.db import transaction

from accounts.events import USER_TOPIC
from accounts.services import user_create, user_delete, user_update
from orders.directory import CustomerNotAllowed, customer_may_order
from orders.models import Customer
from outbox.consumer import GroupConsumer
from outbox.groups import consumer_group_get
from outbox.kafka import client_config
from outbox.relay import OutboxRelay

pytestmark = pytest.mark.django_db(transaction=True)


def _consume() -> int:
    return GroupConsumer(consumer_group_get("orders")).run(until_idle_s=1.5)


def _user_event(event_type: str, data: dict) -> bytes:
    envelope = {
        "event_id": str(uuid.uuid4()), "event_type": event_type, "version": 1,
        "timestamp": "2026-01-01T00:00:00Z", "source": "accounts", "aggregate_type": "user",
        "aggregate_id": data["id"], "correlation_id": "c", "causation_id": None,
        "user_id": None, "priority": "normal", "data": data,
    }  # fmt: skip
    return json.dumps(envelope).encode()


def _produce(values: list[bytes], key: str) -> None:
    producer = Producer(client_config())
    for value in values:
        producer.produce(USER_TOPIC.name, value=value, key=key)
    producer.flush(10)


def _profile(user_id: str, **changes) -> dict:
    return {
        "id": user_id, "username": "ana", "email": "ana@example.com", "first_name": "Ana",
        "last_name": "Lopez", "phone": "", "role": "customer", **changes,
    }  # fmt: skip


def test_a_registered_user_becomes_a_customer_who_may_order(fresh_topics):
    with transaction.atomic():
        user = user_create(username="ana", password="s3cret-pass", email="ana@example.com")
    OutboxRelay().drain()

    _consume()

    customer = customer_may_order(user_id=user.id)
    assert (customer.username, customer.email, customer.is_active) == (
        "ana",
        "ana@example.com",
        True,
    )


def test_profile_changes_and_deletion_follow_the_user(fresh_topics):
    with transaction.atomic():
        user = user_create(username="bo", password="s3cret-pass")
    with transaction.atomic():
        user_update(user=user, first_name="Bo", role="manager")
    with transaction.atomic():
        user_delete(user=user)
    OutboxRelay().drain()

    _consume()

    customer = Customer.objects.get(user_id=user.id)
    assert (customer.first_name, customer.role, customer.is_active) == ("Bo", "manager", False)
    assert customer.deleted_at is not None
    with pytest.raises(CustomerNotAllowed, match="deactivated"):
        customer_may_order(user_id=user.id)


def test_an_unknown_user_may_not_order():
    with pytest.raises(CustomerNotAllowed, match="not known"):
        customer_may_order(user_id=uuid.uuid4())


def test_a_duplicate_registration_is_skipped(fresh_topics):
    user_id = str(uuid.uuid4())
    first = _user_event(
        "user.registered",
        {**_profile(user_id), "source": "api", "created_at": "2026-01-01T10:00:00Z"},
    )
    again = _user_event(
        "user.registered",
        {
            **_profile(user_id, username="imposter"),
            "source": "api",
            "created_at": "2026-01-01T10:05:00Z",
        },
    )
    _produce([first, first, again], key=user_id)

    _consume()

    assert Customer.objects.get(user_id=user_id).username == "ana"


def test_an_older_update_is_ignored(fresh_topics):
    user_id = str(uuid.uuid4())
    registered = _user_event(
        "user.registered",
        {**_profile(user_id), "source": "api", "created_at": "2026-01-01T10:00:00Z"},
    )
    newer = _user_event(
        "user.updated",
        {**_profile(user_id, email="new@example.com"), "updated_at": "2026-01-01T12:00:00Z"},
    )
    older = _user_event(
        "user.updated",
        {**_profile(user_id, email="old@example.com"), "updated_at": "2026-01-01T11:00:00Z"},
    )
    _produce([registered, newer, older], key=user_id)

    _consume()

    assert Customer.objects.get(user_id=user_id).email == "new@example.com"


def test_a_deletion_seen_before_the_registration_keeps_the_user_out(fresh_topics):
    user_id = str(uuid.uuid4())
    deleted = _user_event("user.deleted", {"id": user_id, "deleted_at": "2026-01-02T00:00:00Z"})
    registered = _user_event(
        "user.registered",
        {**_profile(user_id), "source": "api", "created_at": "2026-01-01T10:00:00Z"},
    )
    _produce([deleted, registered], key=user_id)

    _consume()

    assert Customer.objects.get(user_id=user_id).is_active is False
