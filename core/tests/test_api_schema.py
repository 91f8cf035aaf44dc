"""The API is documented: OpenAPI 3 at /api/schema/ (no generation warnings) and Swagger UI at /api/docs/."""

import pytest
from django.core.management import call_command
from django.test import Client

from core.registry import registry
from core.testing import BACKEND, build_test_tree, make_user

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for config in registry.all():
        if config.serializer is not None:
            assert f"/api/{config.app_label}/" in text
    assert "/api/auth/token/" in text


def test_schema_and_docs_are_served_without_a_cdn(settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, unit_a, *_ = build_test_tree()
    client = Client()
    assert client.get("/api/schema/").status_code in (401, 403)  # the API map is for signed-in users
    client.force_login(make_user("reader", unit_a, ["auditor"]), backend=BACKEND)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger" in body.lower()
    assert "cdn" not in body.lower() and "unpkg" not in body.lower() and "jsdelivr" not in body.lower()
