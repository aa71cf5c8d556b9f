#!/usr/bin/env python3
"""A small bounded HTTP load client for bench/oauth.sh (standard library only).

    oauth_load.py --port P --path /todos [--token T] [--requests N] [--concurrency C]
    oauth_load.py --port P --path /todos --tokens TOKEN_FILE ...
    oauth_load.py --port P --refresh TOKEN_FILE --client-id ID --client-secret S ...
    oauth_load.py --port P --path /mcp --post-json BODY [--token T] ...
    oauth_load.py --port P --sign-in USER:PASSWORD --requests N     # DCR + authorize + token

Each worker thread keeps one HTTP/1.1 keep-alive connection to 127.0.0.1 and sends its share of
the requests. With --tokens, every request carries another access token of TOKEN_FILE (one
per line, used once each: none can be in the server's token cache). With --refresh, each worker
walks its own chain of refresh tokens (one per line of TOKEN_FILE) through POST /oauth/token, as
ChatGPT does when an access token expires. With --post-json, each request POSTs BODY (an MCP
JSON-RPC message) as an MCP client does. With --sign-in, each "request" is a whole first
connection of an MCP client: dynamic registration, the authorize request, login, consent and
the code exchange, timed end to end. Prints one JSON line: requests, seconds, requests/s,
p50 and p99 latency in ms, and non-2xx count."""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

CALLBACK = "http://127.0.0.1:53682/callback"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def sign_in(conn: http.client.HTTPConnection, base: str, user: str, password: str) -> int:
    """An MCP client's first connection: register (public client), authorize with PKCE and
    `resource`, sign in, allow, exchange the code. Returns the token endpoint's status."""

    def send(method: str, url: str, body: str | None = None, headers: dict | None = None, cookies: dict | None = None):
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, url, body, h)
        r = conn.getresponse()
        data = r.read().decode()
        for header, value in r.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                if cookies is not None:
                    cookies[name] = rest.split(";", 1)[0]
        return r.status, r.getheader("location"), data

    status, _, data = send("POST", "/oauth/register", json.dumps({
        "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none", "client_name": "bench",
    }), {"Content-Type": "application/json"})
    client_id = json.loads(data)["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "state": "bench",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": f"{base}/mcp",
    })
    cookies: dict[str, str] = {}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    _, _, page = send("GET", f"/oauth/authorize?{query}", cookies=cookies)
    csrf = re.search(r'name=csrf_token value="([^"]+)"', page).group(1)
    login = urlencode({"csrf_token": csrf, "username": user, "password": password})
    _, location, _ = send("POST", f"/oauth/authorize?{query}", login, form, cookies)
    _, _, page = send("GET", location, cookies=cookies)
    csrf = re.search(r'name=csrf_token value="([^"]+)"', page).group(1)
    _, location, _ = send("POST", f"/oauth/authorize?{query}", urlencode({"csrf_token": csrf, "decision": "allow"}), form, cookies)
    code = parse_qs(urlsplit(location).query)["code"][0]
    status, _, _ = send("POST", "/oauth/token", urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": client_id,
        "code_verifier": verifier, "resource": f"{base}/mcp",
    }), form)
    return status



def worker(
    args, n: int, refresh_token: str | None, access_tokens: list[str] | None,
    latencies: list[float], errors: list[int],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    for i in range(n):
        if args.sign_in:
            user, _, password = args.sign_in.partition(":")
            started = time.perf_counter()
            status = sign_in(conn, args.base_url, user, password)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
            continue
        if args.post_json:
            started = time.perf_counter()
            conn.request("POST", args.path, args.post_json, {**MCP_HEADERS, **headers})
            response = conn.getresponse()
            data = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or b'"isError":true' in data:
                errors.append(response.status)
            continue
        if access_tokens is not None:
            headers = {"Authorization": f"Bearer {access_tokens[i]}"}
        if refresh_token is not None:
            body = urlencode({
                "grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": args.client_id, "client_secret": args.client_secret,
            })
            started = time.perf_counter()
            conn.request("POST", "/oauth/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            data = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status == 200:
                refresh_token = json.loads(data)["refresh_token"]
            else:
                errors.append(response.status)
                return
        else:
            started = time.perf_counter()
            conn.request("GET", args.path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if not 200 <= response.status < 300:
                errors.append(response.status)
    conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--token")
    parser.add_argument("--tokens", help="file with one access token per request")
    parser.add_argument("--refresh", help="file with one refresh token per worker")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--post-json", help="POST this body (an MCP JSON-RPC message) instead of GET")
    parser.add_argument("--sign-in", metavar="USER:PASSWORD", help="time whole MCP client sign-ins")
    parser.add_argument("--base-url", default="http://localhost:8000", help="the server's public base URL")
    args = parser.parse_args()

    chains = open(args.refresh).read().split() if args.refresh else [None] * args.concurrency
    per = args.requests // args.concurrency
    access = open(args.tokens).read().split() if args.tokens else None
    if access is not None and len(access) < per * args.concurrency:
        parser.error(f"--tokens: {len(access)} tokens for {per * args.concurrency} requests")
    if args.warmup and not args.refresh and not args.sign_in and access is None:
        worker(args, args.warmup, None, None, [], [])
    latencies: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(
            target=worker,
            args=(args, per, chains[i], access[i * per:(i + 1) * per] if access else None, latencies, errors),
        )
        for i in range(args.concurrency)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    print(json.dumps({
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "errors": len(errors),
    }))


if __name__ == "__main__":
    main()
