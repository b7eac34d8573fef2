"""Token auth, registration, profile, and the error shape on bad input."""

import uuid

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


# --- registration, profile, verification, tokens --------------------------------------------


def test_register_then_verify_through_the_mailed_link(client, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/accounts/register",
            {"username": "newbie", "password": "Long-enough-7", "email": "newbie@example.com"},
            format="json",
        )

    assert response.status_code == 201
    assert response.json()["role"] == "customer"
    assert response.json()["email_verified"] is False
    assert "password" not in response.json()
    link = mail.outbox[0].body.split("http://127.0.0.1:8000")[1].split()[0]
    verified = client.get(link)
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x", "password": "123", "email": "x@example.com"}, "password"),
        ({"username": "x y", "password": "Long-enough-7", "email": "x@example.com"}, "username"),
        ({"username": "x", "password": "Long-enough-7", "email": "not-an-email"}, "email"),
        ({"username": "x", "password": "Long-enough-7"}, "email"),
        ({"username": ["x"], "password": "Long-enough-7", "email": "x@example.com"}, "username"),
    ],
)
def test_register_bad_input_is_a_400_naming_the_field(client, body, field):
    error = assert_api_error(
        client.post("/api/accounts/register", body, format="json"), 400, "invalid"
    )

    assert field in error["fields"]
    assert not User.objects.filter(username="x").exists()


def test_register_refuses_a_taken_username(client, manager):
    body = {"username": "mona", "password": "Long-enough-7", "email": "other@example.com"}

    error = assert_api_error(
        client.post("/api/accounts/register", body, format="json"), 400, "invalid"
    )

    assert "username" in error["fields"]


def test_a_bad_verification_token_is_a_400(client):
    assert_api_error(client.get("/api/accounts/verify-email?token=nonsense"), 400, "invalid")
    assert_api_error(client.get("/api/accounts/verify-email"), 400, "invalid")


def test_profile_update(client, manager):
    client.force_authenticate(manager)

    response = client.patch(
        "/api/accounts/me", {"first_name": "Mona", "phone": "+44 20 7946 0958"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["first_name"] == "Mona"
    assert_api_error(
        client.patch("/api/accounts/me", {"phone": "call me"}, format="json"), 400, "invalid"
    )


def test_deleting_my_account_ends_my_token(client, manager):
    token = client.post(
        "/api/auth/token", {"username": "mona", "password": "manager-pass"}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.delete("/api/accounts/me").status_code == 204

    assert_api_error(client.get("/api/accounts/me"), 401, "authentication_failed")
    manager.refresh_from_db()
    assert not manager.is_active


def test_revoking_my_token(client, manager):
    token = client.post(
        "/api/auth/token", {"username": "mona", "password": "manager-pass"}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.delete("/api/auth/token").status_code == 204

    assert_api_error(client.get("/api/accounts/me"), 401, "authentication_failed")


# --- managers: users and roles --------------------------------------------------------------


@pytest.fixture
def customer():
    return user_create(username="cleo", password="customer-pass", email="cleo@example.com")


def test_managers_list_users_with_filters(client, manager, customer):
    client.force_authenticate(manager)

    everyone = client.get("/api/accounts/users").json()
    customers = client.get("/api/accounts/users?role=customer").json()
    found = client.get("/api/accounts/users?search=cleo@").json()

    assert everyone["count"] == 2
    assert [u["username"] for u in customers["results"]] == ["cleo"]
    assert [u["username"] for u in found["results"]] == ["cleo"]


def test_customers_cannot_list_users_or_change_roles(client, manager, customer):
    client.force_authenticate(customer)

    assert_api_error(client.get("/api/accounts/users"), 403, "permission_denied")
    assert_api_error(
        client.patch(f"/api/accounts/users/{customer.id}/role", {"role": "manager"}, format="json"),
        403,
        "permission_denied",
    )


def test_managers_change_roles(client, manager, customer):
    client.force_authenticate(manager)

    response = client.patch(
        f"/api/accounts/users/{customer.id}/role", {"role": "inspector"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "inspector"
    assert_api_error(
        client.patch(f"/api/accounts/users/{customer.id}/role", {"role": "king"}, format="json"),
        400,
        "invalid",
    )
    assert_api_error(
        client.patch(
            f"/api/accounts/users/{uuid.uuid4()}/role", {"role": "manager"}, format="json"
        ),
        404,
        "not_found",
    )
