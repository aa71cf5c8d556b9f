"""Security every response gets: CORS for the configured origins only, security headers,
JSON errors without stack traces, and request logs that never hold a credential."""

from __future__ import annotations

import logging
import re
import time

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from app.settings import BASE_URL, Settings

log = logging.getLogger("app.access")

# Headers ChatGPT sends besides the standard ones.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "openai-conversation-id", "openai-ephemeral-user-id"]

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


def install_logging_filter() -> None:
    for name in ("app", "app.access", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class NoCorsOnAuthorize(CORSMiddleware):
    """CORS for the configured origins, except on /oauth/authorize: that page is for a browser
    window, never for a script on another site (no CORS headers, not even to listed origins)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/oauth/authorize":
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def install_security(app: FastAPI, settings: Settings) -> None:
    install_logging_filter()
    https = BASE_URL.startswith("https://")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if "authorization" in request.headers:
            # Responses to credentialed requests hold a user's data: never cache them.
            headers["Cache-Control"] = "no-store"
        # The path only: query strings can carry credentials, headers always do.
        log.info(
            "%s %s %s %.1fms",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
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

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("app").error(
            "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return JSONResponse({"detail": "Internal server error."}, status_code=500)
