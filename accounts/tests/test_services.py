"""Accounts services: the rows they write and the user events with them."""

import time
import uuid

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import (
    token_revoke,
    user_create,
    user_delete,
    user_email_verify,
    user_register,
    user_role_change,
    user_update,
    user_verification_token,
)
from outbox.models import OutboxEvent
from outbox.testing import outbox_events

pytestmark = pytest.mark.django_db


def _events(event_type: str) -> list[dict]:
    return outbox_events(event_type)


def test_user_create_stores_a_hashed_password_and_the_role():
    user = user_create(username="ines", password="s3cret-pass", role=User.Role.INSPECTOR)

    user.refresh_from_db()
    assert isinstance(user.id, uuid.UUID)
    assert user.role == "inspector"
    assert user.check_password("s3cret-pass")
    assert user.password != "s3cret-pass"


def test_user_create_writes_user_registered():
    user = user_create(
        username="carla", password="s3cret-pass", email="Carla@Example.com",
        first_name="Carla", last_name="Diaz", phone="+33 6 12 34 56 78",
    )  # fmt: skip

    (event,) = _events("user.registered")
    assert event["aggregate_id"] == str(user.id)
    assert event["data"] == {
        "id": str(user.id), "username": "carla", "email": "Carla@example.com",
        "first_name": "Carla", "last_name": "Diaz", "phone": "+33 6 12 34 56 78",
        "role": "customer", "source": "admin", "created_at": event["data"]["created_at"],
    }  # fmt: skip


def test_user_create_rejects_an_unknown_role_and_writes_nothing():
    with pytest.raises(ValidationError):
        user_create(username="mallory", password="s3cret-pass", role="admin")

    assert not User.objects.filter(username="mallory").exists()
    assert not OutboxEvent.objects.exists()


def test_superuser_is_staff():
    assert user_create(username="root", password="s3cret-pass", is_superuser=True).is_staff


def test_register_refuses_a_weak_password_and_a_taken_email(django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError):
        user_register(username="weak", password="123", email="weak@example.com")
    user_register(username="ana", password="Long-enough-7", email="ana@example.com")

    with pytest.raises(ValidationError) as raised:
        user_register(username="ana2", password="Long-enough-7", email="ANA@example.com")

    assert "email" in raised.value.message_dict
    assert [e["data"]["username"] for e in _events("user.registered")] == ["ana"]


def test_register_mails_a_link_that_verifies_the_address(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = user_register(username="bo", password="Long-enough-7", email="bo@example.com")

    (message,) = mail.outbox
    assert message.to == ["bo@example.com"]
    token = message.body.split("token=")[1].split()[0]
    verified = user_email_verify(token=token)
    assert verified.email_verified_at is not None
    (event,) = _events("user.verified")
    assert event["data"]["id"] == str(user.id)

    user_email_verify(token=token)  # a second click changes nothing

    assert len(_events("user.verified")) == 1


def test_a_tampered_or_expired_link_is_refused(settings):
    user = user_create(username="cy", password="s3cret-pass", email="cy@example.com")
    token = user_verification_token(user=user)

    with pytest.raises(ValidationError, match="not valid"):
        user_email_verify(token=token[:-2] + "xx")
    settings.ACCOUNTS_EMAIL_VERIFY_MAX_AGE_S = 0
    time.sleep(1.1)
    with pytest.raises(ValidationError, match="expired"):
        user_email_verify(token=token)
    assert not _events("user.verified")


def test_a_link_for_an_old_address_is_refused():
    user = user_create(username="dee", password="s3cret-pass", email="old@example.com")
    token = user_verification_token(user=user)
    user_update(user=user, email="new@example.com")

    with pytest.raises(ValidationError, match="no longer matches"):
        user_email_verify(token=token)


def test_update_writes_user_updated_only_when_something_changed():
    user = user_create(username="eve", password="s3cret-pass", email="eve@example.com")

    user_update(user=user, first_name="Eve")
    user_update(user=user, first_name="Eve")

    (event,) = _events("user.updated")
    assert event["data"]["first_name"] == "Eve"
    assert event["data"]["updated_at"]


def test_changing_the_email_requires_verifying_it_again():
    user = user_create(username="fay", password="s3cret-pass", email="fay@example.com")
    user_email_verify(token=user_verification_token(user=user))

    user = user_update(user=user, email="fay@new.example.com")

    assert user.email_verified_at is None


def test_role_change_is_a_user_update_and_the_admin_follows_the_role():
    user = user_create(username="gil", password="s3cret-pass")

    user = user_role_change(user=user, role=User.Role.MANAGER)
    assert user.is_staff
    user = user_role_change(user=user, role=User.Role.CUSTOMER)

    assert not user.is_staff
    assert [e["data"]["role"] for e in _events("user.updated")] == ["manager", "customer"]


def test_delete_deactivates_revokes_tokens_and_writes_user_deleted_once():
    user = user_create(username="hal", password="s3cret-pass")
    Token.objects.create(user=user)

    user_delete(user=user)
    user_delete(user=user)

    user.refresh_from_db()
    assert not user.is_active
    assert not Token.objects.filter(user=user).exists()
    (event,) = _events("user.deleted")
    assert event["data"]["id"] == str(user.id)


def test_token_revoke():
    user = user_create(username="ida", password="s3cret-pass")
    Token.objects.create(user=user)

    token_revoke(user=user)

    assert not Token.objects.filter(user=user).exists()
