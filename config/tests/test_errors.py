"""The error shape for requests Django itself refuses before a view sees them."""

import pytest
from rest_framework.test import APIClient

from config.testing import assert_api_error

pytestmark = pytest.mark.django_db


def test_a_body_over_the_upload_limit_is_413_not_500(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"username": "' + b"x" * 2048 + b'"}'

    response = APIClient().post("/api/accounts/register", body, content_type="application/json")

    assert_api_error(response, 413, "request_too_large")
