"""The manifest, the spec, the logo and the legal page are served, valid and consistent."""

from __future__ import annotations

import json
import re

import yaml

from app.public import MANIFEST_PATH, VERIFICATION_PLACEHOLDER
from app.settings import AUTH_MODE, BASE_URL
from tests.spec import SPEC, operations


def test_manifest_is_served_and_follows_the_plugin_rules(client):
    r = client.get("/.well-known/ai-plugin.json")
    assert r.status_code == 200
    m = r.json()
    assert m["schema_version"] == "v1"
    assert re.fullmatch(r"[A-Za-z0-9_]{1,50}", m["name_for_model"])
    assert 1 <= len(m["name_for_human"]) <= 20
    assert 1 <= len(m["description_for_human"]) <= 100
    assert 1 <= len(m["description_for_model"]) <= 8000
    assert m["auth"]["type"] == AUTH_MODE
    assert m["api"] == {
        "type": "openapi",
        "url": f"{BASE_URL}/openapi.yaml",
        "is_user_authenticated": AUTH_MODE in ("user_http", "oauth"),
    }
    assert m["logo_url"] == f"{BASE_URL}/logo.png"
    assert "@" in m["contact_email"]
    assert m["legal_info_url"].startswith(("https://", "http://localhost", "http://127.0.0.1"))


def test_manifest_file_and_served_manifest_agree(client):
    on_disk = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert client.get("/.well-known/ai-plugin.json").json() == on_disk


def test_verification_token_is_filled_from_the_environment(make_app):
    from fastapi.testclient import TestClient

    served = TestClient(make_app(verification_token="0123abcd")).get(
        "/.well-known/ai-plugin.json"
    ).json()
    tokens = served["auth"].get("verification_tokens")
    if AUTH_MODE in ("service_http", "oauth"):
        assert tokens == {"openai": "0123abcd"}
        on_disk = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
        assert on_disk["auth"]["verification_tokens"]["openai"] == VERIFICATION_PLACEHOLDER
    else:
        assert tokens is None


def test_spec_is_served_and_is_openapi_3(client):
    r = client.get("/openapi.yaml")
    assert r.status_code == 200
    served = yaml.safe_load(r.text)
    assert served == SPEC
    assert str(SPEC["openapi"]).startswith("3.")
    assert SPEC["servers"][0]["url"] == BASE_URL


def test_every_operation_has_an_id_a_short_summary_and_a_consequential_flag():
    ids = set()
    for method, path, op in operations():
        assert op["operationId"] not in ids, op["operationId"]
        ids.add(op["operationId"])
        assert 1 <= len(op["summary"]) <= 200, (method, path)
        assert isinstance(op["x-openai-isConsequential"], bool), (method, path)
        if AUTH_MODE != "none":
            assert "401" in op["responses"], (method, path)
    assert ids, "the spec has operations"


def test_authenticated_modes_declare_their_security_scheme():
    schemes = SPEC.get("components", {}).get("securitySchemes", {})
    if AUTH_MODE in ("service_http", "user_http"):
        assert schemes == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        assert SPEC["security"] == [{"bearerAuth": []}]
    elif AUTH_MODE == "none":
        assert not schemes and "security" not in SPEC


def test_logo_and_legal_page_are_served(client):
    logo = client.get("/logo.png")
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG")
    legal = client.get("/legal")
    assert legal.status_code == 200
    assert "text/html" in legal.headers["content-type"]
