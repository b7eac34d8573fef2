import uuid

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_user_create_stores_a_hashed_password_and_the_role():
    user = user_create(username="ines", password="s3cret-pass", role=User.Role.INSPECTOR)

    user.refresh_from_db()
    assert isinstance(user.id, uuid.UUID)
    assert user.role == "inspector"
    assert user.password != "s3cret-pass"
    assert user.check_password("s3cret-pass")


def test_user_create_defaults_to_customer():
    user = user_create(username="carla", password="s3cret-pass")

    assert user.role == User.Role.CUSTOMER
    assert not user.is_staff


def test_user_create_rejects_an_unknown_role_and_writes_nothing():
    with pytest.raises(ValidationError):
        user_create(username="mallory", password="s3cret-pass", role="admin")

    assert not User.objects.filter(username="mallory").exists()


def test_superuser_is_staff():
    user = user_create(username="root", password="s3cret-pass", is_superuser=True)

    assert user.is_superuser and user.is_staff
