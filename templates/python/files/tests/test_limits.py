"""Rate limits, method lists and collection sizes: what the spec declares, the server does."""

from __future__ import annotations

import secrets

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app import __main__ as entry
from app import items
from app.models import MAX_ITEMS, Item
from app.ratelimit import RequestLimiter
from app.settings import AUTH_MODE, BASE_URL
from tests.spec import SPEC, fill, operations

OPERATIONS = list(operations())
METHOD, PATH, OP = OPERATIONS[0]


def call(client, headers, method=METHOD, path=PATH, op=OP):
    body = {"text": "x"} if "requestBody" in op else None
    return client.request(method, fill(path), json=body, headers=headers)


def test_api_responses_carry_rate_limit_headers(client, auth_headers):
    r = call(client, auth_headers)
    assert int(r.headers["ratelimit-limit"]) == 600
    assert 0 <= int(r.headers["ratelimit-remaining"]) < 600
    assert 1 <= int(r.headers["ratelimit-reset"]) <= 60
    assert "ratelimit-limit" not in client.get("/openapi.yaml").headers


def test_the_reset_is_never_past_the_window():
    # A clock reading where `start + 60 - now` rounds to 60.000000000001.
    now = 8161.962517661547
    assert RequestLimiter(limit=5).hit("address:a", now) == (True, 4, 60)


def test_over_the_limit_answers_429_with_retry_after(make_app, auth_headers_for):
    app = make_app(rate_limit_per_minute=3)
    client = TestClient(app, base_url=BASE_URL)
    headers = auth_headers_for(app, "alice")
    answers = [call(client, headers).status_code for _ in range(4)]
    assert 429 not in answers[:3] and answers[3] == 429
    r = call(client, headers)
    assert r.status_code == 429
    assert r.json() == {"detail": "Too many requests."}
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["ratelimit-remaining"] == "0"
    for method, path, op in OPERATIONS:
        assert "429" in op["responses"], (method, path)


@pytest.mark.skipif(AUTH_MODE == "none", reason="auth mode `none` has no credentials")
def test_each_credential_has_its_own_budget(make_app, auth_headers_for):
    app = make_app(rate_limit_per_minute=2)
    client = TestClient(app, base_url=BASE_URL)
    alice = auth_headers_for(app, "alice")
    for _ in range(3):
        call(client, alice)
    other = {"Authorization": "Bearer someone-else"}
    assert call(client, other).status_code != 429


def test_spellings_of_bearer_get_no_fresh_budget(make_app, auth_headers_for):
    app = make_app(rate_limit_per_minute=3)
    client = TestClient(app, base_url=BASE_URL)
    token = auth_headers_for(app, "alice").get("Authorization", "Bearer anything").split()[-1]
    spellings = [f"{scheme} {token}" for scheme in ("Bearer", "bearer", "BEARER", "Bearer  ")] + [
        f"Bearer {token} "
    ]
    answers = [call(client, {"Authorization": s}).status_code for s in spellings]
    assert 429 not in answers[:3] and answers[3:] == [429, 429]


def test_made_up_tokens_share_the_budget_of_their_address(make_app):
    client = TestClient(make_app(rate_limit_per_minute=3), base_url=BASE_URL)
    made_up = [{"Authorization": f"Bearer pat_{secrets.token_urlsafe(32)}"} for _ in range(5)]
    answers = [call(client, headers).status_code for headers in made_up]
    assert 429 not in answers[:3] and answers[3:] == [429, 429]
    other_address = TestClient(client.app, base_url=BASE_URL, client=("198.51.100.7", 50000))
    assert call(other_address, {}).status_code != 429


def test_an_attacker_cannot_flush_a_callers_counter():
    limiter = RequestLimiter(limit=2, max_keys=10)
    for _ in range(2):
        limiter.hit("credential:alice", now=0.0)
    for i in range(1000):
        limiter.hit(f"address:198.51.100.{i}", now=1.0)
    allowed, _, _ = limiter.hit("credential:alice", now=2.0)
    assert not allowed
    assert len(limiter._addresses) <= 10


def test_405_lists_every_method_of_the_path(client, auth_headers):
    by_path: dict[str, set[str]] = {}
    for method, path, _ in OPERATIONS:
        by_path.setdefault(path, set()).add(method)
    for path, methods in by_path.items():
        unused = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in methods)
        r = client.request(unused, fill(path), headers=auth_headers)
        assert r.status_code == 405
        assert set(r.headers["allow"].split(", ")) == methods


@pytest.mark.skipif(not hasattr(items, "LimitReached"), reason="no operation adds items")
def test_a_collection_holds_at_most_max_items():
    full = {str(i): Item(id=str(i), text="x") for i in range(MAX_ITEMS)}
    with pytest.raises(items.LimitReached):
        items._add(full, Item(id="new", text="one too many"))
    assert items._add(full, Item(id="0", text="replacing is fine")).text == "replacing is fine"


def test_reading_made_up_collections_fills_no_memory():
    store = items.ItemStore()
    assert store.of("alice", "/lists/made-up/todos") == {}
    assert store.collections == {}
    store.of("alice", "/todos", create=True)["1"] = Item(id="1", text="x")
    assert list(store.of("alice", "/todos")) == ["1"]


@pytest.mark.skipif("ItemList" not in SPEC["components"]["schemas"], reason="no list operation")
def test_the_spec_declares_the_collection_size():
    assert SPEC["components"]["schemas"]["ItemList"]["properties"]["items"]["maxItems"] == MAX_ITEMS


def test_idle_connections_outlive_those_of_proxies_and_client_pools(monkeypatch, settings):
    # A proxy (60 s idle at nginx's upstreams and AWS load balancers) or a client pool (5 s at
    # httpx, uvicorn's default too) that reuses a connection the server has just closed gets a
    # reset instead of an answer: the server must be the last to close an idle connection.
    served = []
    monkeypatch.setattr(entry, "load_settings", lambda: settings)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))
    assert entry.main() == 0
    app, options = served[0]
    assert options["timeout_keep_alive"] > 60
    if hasattr(app.state, "db"):
        app.state.db.close()
