#!/usr/bin/env python3
"""A small bounded HTTP load client for bench/oauth.sh (standard library only).

    oauth_load.py --port P --path /todos [--token T] [--requests N] [--concurrency C]
    oauth_load.py --port P --path /todos --tokens TOKEN_FILE ...
    oauth_load.py --port P --refresh TOKEN_FILE --client-id ID --client-secret S ...

Each worker thread keeps one HTTP/1.1 keep-alive connection to 127.0.0.1 and sends its share of
the requests. With --tokens, every request carries another access token of TOKEN_FILE (one
per line, used once each: none can be in the server's token cache). With --refresh, each worker
walks its own chain of refresh tokens (one per line of TOKEN_FILE) through POST /oauth/token, as
ChatGPT does when an access token expires. Prints one JSON line: requests, seconds, requests/s,
p50 and p99 latency in ms, and non-2xx count."""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlencode


def worker(
    args, n: int, refresh_token: str | None, access_tokens: list[str] | None,
    latencies: list[float], errors: list[int],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    for i in range(n):
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
    args = parser.parse_args()

    chains = open(args.refresh).read().split() if args.refresh else [None] * args.concurrency
    per = args.requests // args.concurrency
    access = open(args.tokens).read().split() if args.tokens else None
    if access is not None and len(access) < per * args.concurrency:
        parser.error(f"--tokens: {len(access)} tokens for {per * args.concurrency} requests")
    if args.warmup and not args.refresh and access is None:
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
