"""The example handlers behave as the spec says, on the caller's own data."""

from __future__ import annotations

import pytest

from app.settings import AUTH_MODE
from tests.spec import fill, operations, success_status

OPERATIONS = list(operations())
WITH_BODY = [o for o in OPERATIONS if "requestBody" in o[2]]
CREATES = [(m, p, o) for m, p, o in OPERATIONS if m == "POST" and not p.endswith("}")]


def _list_op(path: str):
    return next((o for m, p, o in OPERATIONS if m == "GET" and p == path), None)


@pytest.mark.parametrize("method,path,op", WITH_BODY, ids=[o[2]["operationId"] for o in WITH_BODY])
@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": 5}, {"text": "x", "extra": 1}, {"text": "x" * 1001}]
)
def test_invalid_bodies_get_422(client, auth_headers, method, path, op, body):
    r = client.request(method, fill(path), json=body, headers=auth_headers)
    assert r.status_code == 422
    assert "422" in op["responses"]


@pytest.mark.parametrize("method,path,op", CREATES, ids=[o[2]["operationId"] for o in CREATES])
def test_created_items_are_listed_for_their_owner_only(
    client, auth_headers, other_user_headers, method, path, op
):
    r = client.post(fill(path), json={"text": "buy milk"}, headers=auth_headers)
    assert r.status_code == success_status(op) == 201
    item = r.json()
    assert item["text"] == "buy milk" and item["id"]
    listing = _list_op(path)
    if listing is None:
        pytest.skip(f"the spec has no GET {path} to list with")
    mine = client.get(fill(path), headers=auth_headers).json()["items"]
    assert item in mine
    theirs = client.get(fill(path), headers=other_user_headers).json()["items"]
    if AUTH_MODE in ("user_http", "oauth"):
        assert item not in theirs, "another user must not see this user's items"
    else:
        assert item in theirs, "this auth mode has one shared identity"


def test_unknown_routes_are_404_json(client, auth_headers):
    r = client.get("/no-such-route", headers=auth_headers)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
