"""Dynamic client registration (RFC 7591) at POST /oauth/register: how MCP clients (Claude,
Claude Code, the MCP Inspector, the SDKs) introduce themselves to this authorization server.

Anyone may register, so a registration gives nothing by itself: the client still needs a user
to sign in and allow it on the consent page, which names it as unverified and shows where it
sends the user back. Redirect URIs must be https, or http on a loopback address (any port comes
back, RFC 8252 §7.3); `token_endpoint_auth_method` `none` makes a public client, whose codes
need PKCE. Optional fields sent as null or empty count as absent. A registration that no user
has allowed within OAUTH_UNUSED_CLIENT_LIFETIME is deleted (`purge_unused`, at start-up and by
`python -m app.manage purge`)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.deps import Db, Now, SettingsDep
from app.oauth import NO_STORE, OAuthError
from app.oauth_store import CLIENT_SECRET_PREFIX, digest, new_secret
from app.security import limit_request
from app.settings import Settings, redirect_uri_problem
from app.tables import clients, grants

router = APIRouter(include_in_schema=False)

AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 100
# Registered clients no user has allowed yet, at most (anyone may register: about 20 KB each).
MAX_UNUSED_CLIENTS = 10_000


def _optional(data: dict[str, Any], name: str, kind: type) -> Any:
    """A field, or None when absent, null or empty (clients send all three)."""
    value = data.get(name)
    if value is None or value == "" or value == []:
        return None
    if not isinstance(value, kind):
        raise OAuthError("invalid_client_metadata", f"`{name}` must be a {kind.__name__}")
    return value


def check_metadata(body: bytes) -> dict[str, Any]:
    """The client's metadata, checked; raises OAuthError saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # the last: nested too deep
        raise OAuthError("invalid_client_metadata", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise OAuthError("invalid_client_metadata", "the body must be a JSON object")
    uris = data.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise OAuthError("invalid_redirect_uri", "`redirect_uris` must list at least one URI")
    if len(uris) > MAX_REDIRECT_URIS or any(len(u) > MAX_URI_LENGTH for u in uris):
        raise OAuthError(
            "invalid_redirect_uri",
            f"at most {MAX_REDIRECT_URIS} redirect URIs of {MAX_URI_LENGTH} characters",
        )
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise OAuthError("invalid_redirect_uri", problem)
    # RFC 7591 §2: a client that names no method authenticates with client_secret_basic.
    method = _optional(data, "token_endpoint_auth_method", str) or "client_secret_basic"
    if method not in AUTH_METHODS:
        raise OAuthError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}",
        )
    grant_types = _optional(data, "grant_types", list) or ["authorization_code"]
    if "authorization_code" not in grant_types or not set(grant_types) <= set(GRANT_TYPES):
        raise OAuthError(
            "invalid_client_metadata",
            "grant_types: authorization_code, and refresh_token if wanted",
        )
    response_types = _optional(data, "response_types", list) or ["code"]
    if response_types != ["code"]:
        raise OAuthError("invalid_client_metadata", 'response_types must be ["code"]')
    name = " ".join((_optional(data, "client_name", str) or "MCP client").split())[:MAX_NAME_LENGTH]
    return {
        "client_name": name,
        "redirect_uris": list(dict.fromkeys(uris)),
        "token_endpoint_auth_method": method,
        # What the server does: it issues a refresh token with every code (RFC 7591 §3.2.1
        # lets it answer other values than the ones asked for).
        "grant_types": list(GRANT_TYPES),
        "response_types": ["code"],
    }


def register(
    db: Database, settings: Settings, metadata: dict[str, Any], now: float
) -> dict[str, Any]:
    """Stores a client (its secret as a hash only) and returns the RFC 7591 answer."""
    client_id = "mcp_" + secrets.token_urlsafe(18)
    public = metadata["token_endpoint_auth_method"] == "none"
    secret = None if public else new_secret(CLIENT_SECRET_PREFIX)
    with db.begin() as conn:
        conn.execute(
            insert(clients).values(
                client_id=client_id,
                name=metadata["client_name"],
                secret_hash="" if secret is None else digest(secret),
                redirect_uris="\n".join(metadata["redirect_uris"]),
                created_at=now,
                public=int(public),
                registered=1,
            )
        )
    purge_unused(db, settings, now)
    answer = {"client_id": client_id, "client_id_issued_at": int(now), **metadata}
    if secret is not None:
        answer |= {"client_secret": secret, "client_secret_expires_at": 0}
    return answer


def purge_unused(db: Database, settings: Settings, now: float) -> int:
    """Deletes registered clients that no user allowed within the configured time, and the
    oldest of them beyond MAX_UNUSED_CLIENTS (a client whose registration is gone gets 401
    `invalid_client`, and registers again). Each registration runs it."""
    unused = (clients.c.registered == 1) & clients.c.client_id.not_in(select(grants.c.client_id))
    newest = select(clients.c.client_id).where(unused).order_by(clients.c.created_at.desc())
    expired = clients.c.created_at <= now - settings.oauth_unused_client_lifetime
    beyond = clients.c.client_id.not_in(newest.limit(MAX_UNUSED_CLIENTS))
    with db.begin() as conn:
        return max(conn.execute(delete(clients).where(unused & (expired | beyond))).rowcount, 0)


@router.post("/oauth/register")
async def register_client(
    request: Request, db: Db, settings: SettingsDep, now: Now
) -> JSONResponse:
    # Counted like an API call without credentials: against the caller's address.
    limit_request(request)
    body = await request.body()
    try:
        metadata = check_metadata(body)
    except OAuthError as e:
        return e.response
    answer = await run_in_threadpool(register, db, settings, metadata, now)
    return JSONResponse(answer, status_code=201, headers=NO_STORE)
