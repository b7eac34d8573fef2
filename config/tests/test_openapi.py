"""The OpenAPI document: generated without warnings, every component named once."""

import pytest
import yaml
from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    path = tmp_path / "schema.yml"

    call_command("spectacular", "--fail-on-warn", "--file", str(path))

    schema = yaml.safe_load(path.read_text())
    assert schema["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("path", "method", "component"),
    [
        ("/api/events/{event_id}", "get", "EventStatus"),
        ("/api/accounts/me", "get", "User"),
        ("/api/auth/token", "post", "AuthToken"),
    ],
)
def test_each_endpoint_documents_its_own_response(tmp_path, path, method, component):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())

    response = schema["paths"][path][method]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"]

    assert ref == f"#/components/schemas/{component}"


def test_event_status_documents_the_consumer_groups(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    components = yaml.safe_load(out.read_text())["components"]["schemas"]

    consumers = components["EventStatus"]["properties"]["consumers"]
    assert consumers["type"] == "array"
