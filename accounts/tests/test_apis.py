"""Token auth and the error shape on bad input."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_create
from config.testing import assert_api_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def manager():
    return user_create(username="mona", password="manager-pass", role=User.Role.MANAGER)


def test_token_is_obtained_with_username_and_password_and_authenticates(client, manager):
    response = client.post(
        "/api/auth/token", {"username": "mona", "password": "manager-pass"}, format="json"
    )

    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/accounts/me")
    assert me.status_code == 200
    assert me.json()["username"] == "mona"
    assert me.json()["role"] == "manager"
    assert me.json()["id"] == str(manager.id)


def test_wrong_password_is_a_400_in_the_error_shape(client, manager):
    response = client.post(
        "/api/auth/token", {"username": "mona", "password": "wrong"}, format="json"
    )

    error = assert_api_error(response, 400, "invalid")
    assert "Unable to log in" in error["message"]


def test_missing_fields_are_named(client):
    response = client.post("/api/auth/token", {}, format="json")

    error = assert_api_error(response, 400, "invalid")
    assert set(error["fields"]) == {"username", "password"}


def test_malformed_json_is_a_400_parse_error(client):
    response = client.post(
        "/api/auth/token", data='{"username": "mona"', content_type="application/json"
    )

    assert_api_error(response, 400, "parse_error")


def test_unauthenticated_request_is_a_401(client):
    assert_api_error(client.get("/api/accounts/me"), 401, "not_authenticated")


def test_bad_token_is_a_401(client):
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_api_error(client.get("/api/accounts/me"), 401, "authentication_failed")


def test_wrong_content_type_is_a_415(client):
    response = client.post("/api/auth/token", data="mona:pass", content_type="text/plain")

    assert_api_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_a_405(client, manager):
    client.force_authenticate(manager)

    assert_api_error(client.post("/api/accounts/me", {}, format="json"), 405, "method_not_allowed")


def test_unknown_api_path_is_a_json_404(client):
    assert_api_error(client.get("/api/no/such/thing"), 404, "not_found")


def test_unknown_api_path_is_a_json_404_with_debug_on(client, settings):
    settings.DEBUG = True

    assert_api_error(client.get("/api/no/such/thing"), 404, "not_found")
