"""Security every response gets: CORS for the configured origins only, security headers, a
bound on request bodies, JSON errors without stack traces, and request logs that never hold a
credential."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ratelimit import RequestLimiter
from app.settings import BASE_URL, Settings

log = logging.getLogger("app.access")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
if BASE_URL.startswith("https://"):
    SECURITY_HEADERS["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: it encodes whatever the request held, a lone
    surrogate too."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


# Headers ChatGPT sends besides the standard ones.
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "openai-conversation-id",
    "openai-ephemeral-user-id",
]

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization\s*[:=]\s*)\S+(\s+\S+)?"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bp(?:ss|sk|at|rt|cs|ac)_[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?i)((?:access_token|refresh_token|client_secret|code|password)=)[^&\s]+"),
]


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced by [REDACTED]."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "[REDACTED]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every log record through redact(): defence in depth if a credential is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _drop(record: logging.LogRecord) -> bool:
    return False


def install_logging() -> None:
    """Logs go to stderr through a handler of the `app` logger, unless logging was configured
    already (a handler on the root logger). uvicorn's own access log is dropped: it would print
    query strings, and app.access logs every request without them."""
    app_log = logging.getLogger("app")
    if app_log.level == logging.NOTSET:
        app_log.setLevel(logging.INFO)
    if not app_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler.addFilter(RedactingFilter())
        app_log.addHandler(handler)
        # Not on to the root logger too, where a library may put a handler later (the MCP SDK
        # does): each line would print twice.
        app_log.propagate = False
    for name in ("app", "app.access", "uvicorn", "uvicorn.error", "fastapi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    # A library that configures the root logger (the MCP SDK does as its server starts) gets
    # the filter on those handlers: whatever any logger passes on to them is redacted too.
    for root_handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in root_handler.filters):
            root_handler.addFilter(RedactingFilter())
    access = logging.getLogger("uvicorn.access")
    if _drop not in access.filters:
        access.addFilter(_drop)


class NoCorsOnAuthorize(CORSMiddleware):
    """CORS for the configured origins, except on /oauth/authorize: that page is for a browser
    window, never for a script on another site (no CORS headers, not even to listed origins)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/oauth/authorize":
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def source_address(request: Request) -> str:
    """The caller's address, as uvicorn gives it (behind a reverse proxy, the client's only when
    uvicorn trusts the proxy's X-Forwarded-For). IPv6 by /64: one host may hold a whole /64."""
    host = request.client.host if request.client else "unknown"
    if ":" in host:
        with contextlib.suppress(ValueError):
            host = str(ipaddress.ip_network(host + "/64", strict=False))
    return host


TOO_LARGE = "Request body too large."


class BodyLimit:
    """Refuses a request body over `limit` bytes with 413, on every endpoint and before any
    credential is checked, without reading it: at once when its Content-Length says so, else
    as soon as the chunks read so far pass the limit (a chunked upload)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "0")
        if not length.isdigit() or int(length) > self.limit:
            await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def receive_at_most_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, TOO_LARGE)  # answered by FastAPI's handler
            return message

        await self.app(scope, receive_at_most_limit, send)


def limit_request(request: Request, credential: str | None = None, caller: str = "-") -> None:
    """Counts an API request (current_user calls it): against the credential's budget once the
    credential is verified, keyed by its hash (the limiter never holds it), else against the
    caller's address. Over the limit → 429. Public files and the OAuth endpoints (which have
    their own brute-force guard) are not counted. `caller` (never a credential) is logged."""
    request.state.caller = caller
    if credential is not None:
        key = "credential:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    else:
        key = "address:" + source_address(request)
    allowed, remaining, reset = request.app.state.request_limiter.hit(key, time.monotonic())
    request.state.rate_limit = (max(0, remaining), reset)
    if not allowed:
        raise HTTPException(429, "Too many requests.", headers={"Retry-After": str(reset)})


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI keeps them wrapped)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            yield from api_routes(inner.routes)


def install_security(app: FastAPI, settings: Settings) -> None:
    install_logging()
    limiter = RequestLimiter(settings.rate_limit_per_minute)
    app.state.request_limiter = limiter
    # Innermost: its 413s get the headers below and are logged.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        rate_limit = getattr(request.state, "rate_limit", None)  # set by limit_request()
        if rate_limit is not None:
            remaining, reset = rate_limit
            response.headers["RateLimit-Limit"] = str(limiter.limit)
            response.headers["RateLimit-Remaining"] = str(remaining)
            response.headers["RateLimit-Reset"] = str(reset)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "authorization" in request.headers:
            # Responses to credentialed requests hold a user's data: never cache them.
            response.headers["Cache-Control"] = "no-store"
        # The path only: query strings can carry credentials, headers always do.
        log.info(
            "%s %s %s %.1fms caller=%s",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            getattr(request.state, "caller", "-"),
        )
        return response

    # Outermost, so preflight answers come from here: only the listed origins, never `*`, never
    # an echo of an origin that is not listed; none at all on the authorization endpoint.
    app.add_middleware(
        NoCorsOnAuthorize,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )

    @app.exception_handler(405)
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        # Starlette names only the first route that matched the path; list every method served.
        methods = sorted(
            {
                m
                for r in api_routes(app.routes)
                if r.path_regex.match(request.url.path)
                for m in r.methods or ()
            }
        )
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(methods)}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Answered outside the middleware above: the security headers are added here.
        logging.getLogger("app").error(
            "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return JSONResponse(
            {"detail": "Internal server error."}, status_code=500, headers=SECURITY_HEADERS
        )
