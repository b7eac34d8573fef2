"""Helpers shared by the test suites."""

from typing import Any

from django.http import HttpResponse


def assert_api_error(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    """Assert the project's error shape and answer its `error` object."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["fields"], dict)
    return error
