"""Load: a bounded run (EXTERNAL_LOAD_SECONDS, default 10, at most 30) of authenticated API
requests over 32 concurrent connections (asyncio + httpx). In oauth mode refresh tokens rotate
at the same time: each one is redeemed exactly once, two concurrent redemptions of one token let
exactly one through, and a redeemed token never works again. Zero 5xx anywhere."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import httpx
import yaml
import pytest

from conftest import target_names
from oauth_flow import token_by_code_flow

pytestmark = pytest.mark.tool("load")

SECONDS = min(float(os.environ.get("EXTERNAL_LOAD_SECONDS", "10")), 30.0)
CONNECTIONS = 32
ROTATORS = 4
MAX_REQUESTS = 200_000  # a second bound besides time


class Tally:
    def __init__(self) -> None:
        self.status: Counter = Counter()
        self.unexpected: list[str] = []
        self.requests = 0

    def see(self, what: str, response: httpx.Response, expected: int) -> None:
        self.requests += 1
        self.status[response.status_code] += 1
        if response.status_code != expected and len(self.unexpected) < 20:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:200]}")


async def api_worker(
    http: httpx.AsyncClient, base: str, headers: dict, deadline: float, tally: Tally, writes: bool
):
    """Lists /todos; where the spec has them (not in auth mode `none`), also creates and deletes."""
    while time.monotonic() < deadline and tally.requests < MAX_REQUESTS:
        if writes:
            created = await http.post(base + "/todos", json={"text": "load test"}, headers=headers)
            tally.see("POST /todos", created, 201)
        listed = await http.get(base + "/todos", headers=headers)
        tally.see("GET /todos", listed, 200)
        if writes and created.status_code == 201:
            deleted = await http.delete(f"{base}/todos/{created.json()['id']}", headers=headers)
            tally.see("DELETE /todos/{id}", deleted, 204)


class Rotation:
    def __init__(self) -> None:
        self.redeemed: list[str] = []  # refresh tokens redeemed successfully, in order
        self.failures: list[str] = []
        self.races = 0
        self.race_failures: list[str] = []


def _refresh_body(env: dict, refresh_token: str) -> dict:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": env["OAUTH_CLIENT_ID"], "client_secret": env["OAUTH_CLIENT_SECRET"]}


async def rotator(http, target, env, deadline, tally: Tally, rotation: Rotation):
    token = await asyncio.to_thread(token_by_code_flow, target)
    refresh = token["refresh_token"]
    while time.monotonic() < deadline and tally.requests < MAX_REQUESTS:
        response = await http.post(target.url + "/oauth/token", data=_refresh_body(env, refresh))
        tally.see("POST /oauth/token (refresh)", response, 200)
        if response.status_code != 200:
            rotation.failures.append(f"fresh refresh token refused: {response.status_code} {response.text[:200]}")
            return
        rotation.redeemed.append(refresh)
        token = response.json()
        assert token["refresh_token"] != refresh
        refresh = token["refresh_token"]
        api = await http.get(target.url + "/todos", headers={"Authorization": f"Bearer {token['access_token']}"})
        tally.see("GET /todos (rotated token)", api, 200)


async def racer(http, target, env, deadline, tally: Tally, rotation: Rotation):
    """Two concurrent redemptions of one refresh token: exactly one succeeds."""
    for _ in range(3):  # bounded: three races per run
        if time.monotonic() >= deadline:
            return
        token = await asyncio.to_thread(token_by_code_flow, target)
        body = _refresh_body(env, token["refresh_token"])
        first, second = await asyncio.gather(
            http.post(target.url + "/oauth/token", data=body), http.post(target.url + "/oauth/token", data=body)
        )
        for r in (first, second):
            tally.requests += 1
            tally.status[r.status_code] += 1
        codes = sorted([first.status_code, second.status_code])
        rotation.races += 1
        if codes != [200, 400]:
            rotation.race_failures.append(f"two concurrent redemptions answered {codes}: {first.text[:150]} | {second.text[:150]}")
        loser = first if first.status_code != 200 else second
        if loser.status_code == 400 and loser.json().get("error") != "invalid_grant":
            rotation.race_failures.append(f"the second redemption answered {loser.text[:200]}")


async def run_load(target) -> tuple[Tally, Rotation, float]:
    tally, rotation = Tally(), Rotation()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    started = time.monotonic()
    deadline = started + SECONDS
    async with httpx.AsyncClient(limits=limits, timeout=30) as http, httpx.AsyncClient(timeout=30) as oauth_http:
        spec = yaml.safe_load((await http.get(target.url + "/openapi.yaml")).text)
        writes = "post" in spec["paths"].get("/todos", {})
        jobs = [
            api_worker(http, target.url, target.auth_headers(), deadline, tally, writes)
            for _ in range(CONNECTIONS)
        ]
        if target.mode == "oauth":
            env = target.project.env
            jobs += [rotator(oauth_http, target, env, deadline, tally, rotation) for _ in range(ROTATORS)]
            jobs.append(racer(oauth_http, target, env, deadline, tally, rotation))
        await asyncio.wait_for(asyncio.gather(*jobs), timeout=SECONDS + 120)
        if target.mode == "oauth":
            # Each redeemed refresh token is dead now (sampled: replay revokes its grant).
            env = target.project.env
            for refresh in rotation.redeemed[:: max(1, len(rotation.redeemed) // 10)][:10]:
                again = await oauth_http.post(target.url + "/oauth/token", data=_refresh_body(env, refresh))
                tally.requests += 1
                tally.status[again.status_code] += 1
                if again.status_code != 400 or again.json().get("error") != "invalid_grant":
                    rotation.failures.append(f"a redeemed refresh token answered {again.status_code} {again.text[:200]}")
    return tally, rotation, time.monotonic() - started


@pytest.mark.parametrize("name", target_names())
def test_load(name, target_for, record_property):
    target = target_for(name)
    tally, rotation, elapsed = asyncio.run(run_load(target))
    server_errors = sum(n for code, n in tally.status.items() if code >= 500)
    detail = (f"{tally.requests} requests in {elapsed:.1f}s ({tally.requests / elapsed:.0f}/s), "
              f"{CONNECTIONS} connections, statuses {dict(sorted(tally.status.items()))}")
    if target.mode == "oauth":
        detail += (f"; {len(rotation.redeemed)} refresh tokens redeemed once each by {ROTATORS} rotators, "
                   f"{rotation.races} concurrent double redemptions")
    record_property("detail", detail)
    assert server_errors == 0, f"{server_errors} server errors: {tally.unexpected}"
    assert not tally.unexpected, "unexpected answers:\n" + "\n".join(tally.unexpected)
    assert tally.requests > 0
    if target.mode == "oauth":
        assert len(set(rotation.redeemed)) == len(rotation.redeemed), "a refresh token was redeemed twice"
        assert rotation.redeemed, "no refresh token rotated during the run"
        assert not rotation.failures, "\n".join(rotation.failures)
        assert rotation.races > 0 and not rotation.race_failures, "\n".join(rotation.race_failures)
    assert target.server.process.poll() is None, "the server died under load"
