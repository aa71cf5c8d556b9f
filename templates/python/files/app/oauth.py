"""The built-in OAuth 2 authorization server (auth mode `oauth`).

    GET  /oauth/authorize                        checks the request, then a login page, then a
    POST /oauth/authorize                        consent page (Allow / Deny); redirects back
    POST /oauth/token                            authorization_code and refresh_token grants
    POST /oauth/revoke                           RFC 7009 revocation
    GET  /.well-known/oauth-authorization-server RFC 8414 metadata
    GET  /.well-known/oauth-protected-resource   RFC 9728 metadata (for MCP clients)

It follows RFC 6749 with the OAuth 2.1 / RFC 9700 hardening: exact redirect URI matching,
`response_type=code` only, mandatory `state`, PKCE S256 enforced whenever a challenge is sent
(ChatGPT's plugins and GPT Actions send none; MCP clients always do), single-use codes bound to
client, redirect URI, scope, user and challenge, refresh token rotation with reuse detection,
hashed secrets, brute-force limits, no caching of anything that carries a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app import oauth_store as store
from app.security import source_address
from app.settings import BASE_URL, NAME_FOR_HUMAN, RESOURCES, SCOPES

router = APIRouter(include_in_schema=False)

VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256 digest, no padding
MAX_STATE = 2048
SECURE_COOKIES = BASE_URL.startswith("https://")
# `__Host-` cookies are Secure, host-only and path `/`: no other site or subdomain can set them.
CSRF_COOKIE = "__Host-oauth_csrf" if SECURE_COOKIES else "oauth_csrf"
SESSION_COOKIE = "__Host-oauth_session" if SECURE_COOKIES else "oauth_session"
SESSION_LIFETIME = 600
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: answered as JSON `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict | None = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={**NO_STORE, **self.headers},
        )


def _now(request: Request) -> float:
    return request.app.state.clock()


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; a repeated parameter is an error (RFC 6749 §3.1, §3.2). Parameters
    sent without a value are treated as omitted."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen:
            raise OAuthError("invalid_request", f"parameter `{key}` is repeated")
        seen[key] = value
    return {k: v for k, v in seen.items() if v != ""}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


# --- pages ----------------------------------------------------------------------------------


def _page(title: str, body: str, status: int = 200, headers: dict | None = None) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}"
        "label,input,button{display:block;width:100%;margin:.4rem 0;font-size:1rem}"
        "input,button{padding:.5rem;box-sizing:border-box}.row{display:flex;gap:.5rem}"
        ".err{color:#a00}</style>"
        f"<h1>{html.escape(NAME_FOR_HUMAN)}</h1>{body}</html>"
    )
    return HTMLResponse(
        doc,
        status_code=status,
        headers={
            "Content-Security-Policy": PAGE_CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """Shown instead of redirecting when the redirect URI cannot be trusted (never a Location)."""
    return _page("Authorization error", f"<h2>Authorization error</h2><p class=err>{html.escape(message)}</p>", status)


def _form(req: "AuthRequest", action_query: str, csrf: str, fields: str) -> str:
    action = html.escape("/oauth/authorize?" + action_query, quote=True)
    token = csrf_token(csrf, req)
    return (
        f"<form method=post action=\"{action}\">"
        f"<input type=hidden name=csrf_token value=\"{token}\">{fields}</form>"
    )


def login_page(req: "AuthRequest", query: str, csrf: str, error: str = "") -> HTMLResponse:
    message = f"<p class=err>{html.escape(error)}</p>" if error else ""
    fields = (
        "<label>User name<input name=username autocomplete=username required maxlength=64></label>"
        "<label>Password<input name=password type=password autocomplete=current-password required"
        " maxlength=1024></label><button type=submit>Sign in</button>"
    )
    body = (
        f"<p>Sign in to let <strong>{html.escape(req.client.name)}</strong> use your account.</p>"
        f"{message}{_form(req, query, csrf, fields)}"
    )
    return _csrf_cookie(_page("Sign in", body), csrf)


def consent_page(req: "AuthRequest", query: str, csrf: str, user: str) -> HTMLResponse:
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in req.scope.split())
    fields = (
        "<div class=row><button type=submit name=decision value=allow>Allow</button>"
        "<button type=submit name=decision value=deny>Deny</button></div>"
    )
    body = (
        f"<p>Signed in as <strong>{html.escape(user)}</strong>.</p>"
        f"<p><strong>{html.escape(req.client.name)}</strong> (client <code>"
        f"{html.escape(req.client.client_id)}</code>) asks for access to your account with these"
        f" scopes:</p><ul>{scopes}</ul>"
        f"<p>Either way you go back to <strong>{html.escape(urlsplit(req.redirect_uri).netloc)}</strong>.</p>"
        f"{_form(req, query, csrf, fields)}"
    )
    return _csrf_cookie(_page("Allow access?", body), csrf)


def _csrf_cookie(response: Response, csrf: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=SESSION_LIFETIME, path="/", secure=SECURE_COOKIES,
        httponly=True, samesite="lax",
    )
    return response


def _csrf_for(request: Request) -> str:
    """The browser's CSRF secret (its cookie), or a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if re.fullmatch(r"[A-Za-z0-9_-]{43}", current) else secrets.token_urlsafe(32)


def csrf_token(csrf: str, req: "AuthRequest") -> str:
    """A form's CSRF token: the browser's secret bound to this authorization request, so that it
    serves no other request; the secret changes at sign-in."""
    fields = [req.client.client_id, req.redirect_uri, req.state, req.scope, req.challenge, req.resource]
    bound = "\n".join(f or "" for f in fields)
    return hmac.new(csrf.encode(), bound.encode("utf-8", "surrogatepass"), "sha256").hexdigest()


# --- the authorization request --------------------------------------------------------------


@dataclass(frozen=True)
class AuthRequest:
    client: store.Client
    redirect_uri: str
    state: str
    scope: str
    challenge: str | None
    resource: str | None


def this_server(resource: str) -> bool:
    """Whether an RFC 8707 resource is one this server serves (settings.RESOURCES)."""
    return resource in RESOURCES


def redirect_to_client(redirect_uri: str, params: dict[str, str], status: int) -> RedirectResponse:
    """An authorization response, success or error. It names the issuer (RFC 9207), so that a
    client using several authorization servers can tell which one answered (mix-up attacks)."""
    separator = "&" if "?" in redirect_uri else "?"
    query = urlencode({**params, "iss": BASE_URL})
    return RedirectResponse(redirect_uri + separator + query, status_code=status, headers=NO_STORE)


def check_authorization_request(request: Request, status: int) -> AuthRequest | Response:
    """C1–C5, C10: everything is checked before a page is shown. Until the client and the
    redirect URI are known to be good, errors are a page (400) and never a redirect; after
    that, errors go back to the client with `error` and the unchanged `state`."""
    db, settings = request.app.state.db, request.app.state.settings
    try:
        params = _single(request.query_params.multi_items())
    except OAuthError as e:
        return error_page(e.description)
    client_id = params.get("client_id", "")
    client = store.get_client(db, settings, client_id) if client_id else None
    if client is None:
        return error_page("Unknown client (`client_id`).")
    if not client.redirect_uris:
        return error_page(
            "No redirect URI is configured for this client yet. Set OAUTH_REDIRECT_URIS in the "
            "server's .env to the callback URL ChatGPT shows (for example "
            "https://chat.openai.com/aip/<plugin or g- id>/oauth/callback) and restart the server."
        )
    redirect_uri = params.get("redirect_uri", "")
    # Exact string comparison, nothing normalised (C1).
    if not any(hmac.compare_digest(redirect_uri.encode(), u.encode()) for u in client.redirect_uris):
        return error_page("The redirect URI (`redirect_uri`) is not registered for this client.")
    state = params.get("state")
    if state is None:
        return error_page("The request has no `state`: it is required.")
    if len(state) > MAX_STATE:
        return error_page("The `state` is too long.")

    def fail(error: str, description: str) -> Response:
        return redirect_to_client(
            redirect_uri, {"error": error, "error_description": description, "state": state}, status
        )

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "only response_type=code is supported")
    wanted = params.get("scope", " ".join(SCOPES)).split()
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        return fail("invalid_scope", "unknown scope: " + " ".join(unknown)[:200])
    scope = " ".join(s for s in SCOPES if s in wanted)
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None and method is not None:
        return fail("invalid_request", "code_challenge_method without code_challenge")
    if challenge is not None:
        if method != "S256":
            return fail("invalid_request", "code_challenge_method must be S256")
        if not CHALLENGE.match(challenge):
            return fail("invalid_request", "code_challenge must be 43 base64url characters")
    resource = params.get("resource")
    if resource is not None and not this_server(resource):
        return fail("invalid_target", "the resource must be this server")
    return AuthRequest(client, redirect_uri, state, scope, challenge, resource)


@router.get("/oauth/authorize")
def authorize(request: Request) -> Response:
    req = check_authorization_request(request, 302)
    if not isinstance(req, AuthRequest):
        return req
    query, csrf = request.url.query, _csrf_for(request)
    user = store.session_user(request.app.state.db, request.cookies.get(SESSION_COOKIE), _now(request))
    if user is None:
        return login_page(req, query, csrf)
    return consent_page(req, query, csrf, user)


@router.post("/oauth/authorize")
async def authorize_post(request: Request) -> Response:
    body = await request.body()  # at most MAX_BODY_BYTES (app.security)
    return await run_in_threadpool(_authorize_post, request, body)


def _authorize_post(request: Request, body: bytes) -> Response:
    req = check_authorization_request(request, 303)
    if not isinstance(req, AuthRequest):
        return req
    db, now, query = request.app.state.db, _now(request), request.url.query
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "expected a form")
        form = _single(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (OAuthError, UnicodeDecodeError, ValueError):
        return error_page("The form could not be read.")
    cookie_csrf = request.cookies.get(CSRF_COOKIE, "")
    sent_csrf = form.get("csrf_token", "")
    if not cookie_csrf or not hmac.compare_digest(csrf_token(cookie_csrf, req).encode(), sent_csrf.encode()):
        return error_page("The form expired or did not come from this site (CSRF check). Start again.", 403)
    csrf = _csrf_for(request)

    if "decision" not in form:
        # The login form.
        username, password = form.get("username", ""), form.get("password", "")
        limiter, address = request.app.state.login_limiter, source_address(request)
        wait = limiter.attempt(address, username.lower(), now)
        if wait is not None:
            return _page(
                "Too many attempts",
                "<p class=err>Too many failed sign-ins. Try again later.</p>",
                429,
                {"Retry-After": str(wait)},
            )
        if not store.check_password(db, username, password):
            return login_page(req, query, csrf, "Wrong user name or password.")
        limiter.succeeded(address, username.lower(), now)
        session = store.start_session(db, username, now, SESSION_LIFETIME)
        # 303: the browser follows with a GET and never re-posts the password.
        response = RedirectResponse("/oauth/authorize?" + query, status_code=303, headers=NO_STORE)
        response.set_cookie(
            SESSION_COOKIE, session, max_age=SESSION_LIFETIME, path="/", secure=SECURE_COOKIES,
            httponly=True, samesite="lax",
        )
        return _csrf_cookie(response, secrets.token_urlsafe(32))  # a new CSRF secret once signed in

    # The consent form.
    session = request.cookies.get(SESSION_COOKIE)
    user = store.session_user(db, session, now)
    if user is None:
        return login_page(req, query, csrf, "Your sign-in expired. Sign in again.")
    store.end_session(db, session)
    if form["decision"] != "allow":
        response = redirect_to_client(
            req.redirect_uri,
            {"error": "access_denied", "error_description": "the user denied access", "state": req.state},
            303,
        )
    else:
        code = store.issue_code(
            db, client_id=req.client.client_id, redirect_uri=req.redirect_uri, scope=req.scope,
            user=user, challenge=req.challenge, now=now, lifetime=request.app.state.settings.code_lifetime,
            resource=req.resource,
        )
        response = redirect_to_client(req.redirect_uri, {"code": code, "state": req.state}, 303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=SECURE_COOKIES, httponly=True, samesite="lax")
    return response


# --- the token and revocation endpoints -----------------------------------------------------


class _Pairs(list):
    """A JSON object as its (key, value) pairs, so that a repeated key can be seen."""


def _body_params(request: Request, body: bytes) -> dict[str, str]:
    """The parameters of a token or revocation request: in the body only (never the query
    string, where they would be logged), as a form or, for ChatGPT plugins whose manifest says
    so, as JSON."""
    if request.url.query:
        raise OAuthError("invalid_request", "parameters belong in the request body, not the URL")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            return _single(parse_qsl(text, keep_blank_values=True, max_num_fields=30))
        if content_type == "application/json":
            pairs = json.loads(text, object_pairs_hook=_Pairs)
            if not isinstance(pairs, _Pairs) or not all(isinstance(v, str) for _, v in pairs):
                raise OAuthError("invalid_request", "the JSON body must be an object of strings")
            return _single(pairs)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: deeply nested JSON
        raise OAuthError("invalid_request", "the request body could not be read") from e
    raise OAuthError(
        "invalid_request", "send application/x-www-form-urlencoded or application/json"
    )


def authenticate_client(request: Request, params: dict[str, str]) -> store.Client:
    """client_secret_basic or client_secret_post, never both; the secret is compared as a
    SHA-256 digest in constant time. Too many failures from an address, or from an address for
    this client, → 429 (for that address only)."""
    db, settings, now = request.app.state.db, request.app.state.settings, _now(request)
    header = request.headers.get("authorization")
    basic = header is not None
    if basic:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError("invalid_request", "use HTTP Basic or client_secret in the body")
        if "client_secret" in params:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        try:
            client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        except ValueError:
            sep = ""
        if not sep:
            raise OAuthError(
                "invalid_client", "malformed Basic credentials", 401, {"WWW-Authenticate": 'Basic realm="oauth"'}
            )
        if params.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
    else:
        client_id, secret = params.get("client_id", ""), params.get("client_secret", "")

    limiter, address = request.app.state.token_limiter, source_address(request)
    wait = limiter.attempt(address, client_id, now)
    if wait is not None:
        raise OAuthError(
            "invalid_client", "too many failed attempts; retry later", 429, {"Retry-After": str(wait)}
        )
    client = store.get_client(db, settings, client_id) if client_id else None
    # Compare even for an unknown client, so the time taken does not say whether it exists.
    good = (client or store.Client("", "", store.digest("unknown"), ())).secret_matches(secret)
    if client is None or not secret or not good:
        headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if basic else {}
        raise OAuthError("invalid_client", "client authentication failed", 401, headers)
    limiter.succeeded(address, client_id, now)
    return client


def _check_resource(p: dict[str, str], granted: str | None) -> None:
    """RFC 8707: a `resource` sent here must be the one the authorization request named, or
    this server when it named none."""
    wanted = p.get("resource")
    if wanted is not None and (wanted != granted if granted is not None else not this_server(wanted)):
        raise OAuthError("invalid_target", "the resource differs from the one the grant is for")


def _code_grant(request: Request, client: store.Client, p: dict[str, str]) -> dict:
    db, settings, now = request.app.state.db, request.app.state.settings, _now(request)
    if "code" not in p or "redirect_uri" not in p:
        raise OAuthError("invalid_request", "code and redirect_uri are required")
    verifier = p.get("code_verifier")
    if verifier is not None and not VERIFIER.match(verifier):
        raise OAuthError("invalid_request", "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
    code = store.find_code(db, p["code"])
    # Binding checks first: a replay with wrong parameters learns nothing and revokes nothing.
    if code is None or code.client_id != client.client_id:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if not hmac.compare_digest(code.redirect_uri.encode(), p["redirect_uri"].encode()):
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    _check_resource(p, code.resource)
    if code.challenge is not None:
        if verifier is None or not hmac.compare_digest(s256(verifier), code.challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    elif verifier is not None:
        # PKCE downgrade: a verifier for a code issued without a challenge.
        raise OAuthError("invalid_grant", "this code was issued without a code_challenge")
    if code.grant_revoked and not code.used:
        raise OAuthError("invalid_grant", "the grant was revoked")
    if code.used or not store.consume_code(db, code.code_hash, now):
        # RFC 6749 §4.1.2: a code used twice was stolen; revoke what it gave.
        store.revoke_grant(db, code.grant_id, now)
        raise OAuthError("invalid_grant", "authorization code already used; its tokens are revoked")
    if code.expires_at <= now:
        raise OAuthError("invalid_grant", "authorization code expired")
    # Should a concurrent second redemption revoke the grant meanwhile, these tokens are dead
    # from the start: every check joins the grant.
    return store.issue_tokens(
        db, settings, grant_id=code.grant_id, client_id=client.client_id, user=code.user,
        scope=code.scope, now=now,
    )


def _refresh_grant(request: Request, client: store.Client, p: dict[str, str]) -> dict:
    db, settings, now = request.app.state.db, request.app.state.settings, _now(request)
    if "refresh_token" not in p:
        raise OAuthError("invalid_request", "refresh_token is required")
    token = store.find_refresh_token(db, p["refresh_token"])
    if token is None or token.client_id != client.client_id or token.grant_revoked:
        raise OAuthError("invalid_grant", "unknown or revoked refresh token")
    _check_resource(p, token.resource)
    if token.used:
        # An old refresh token came back: someone holds a copy. Revoke the whole grant.
        store.revoke_grant(db, token.grant_id, now)
        raise OAuthError("invalid_grant", "refresh token already used; the grant is revoked")
    if token.expires_at <= now:
        raise OAuthError("invalid_grant", "refresh token expired")
    granted = token.scope.split()
    wanted = p.get("scope", token.scope).split()
    if not wanted or any(s not in granted for s in wanted):
        # The scope never grows on refresh.
        raise OAuthError("invalid_scope", "the scope may only narrow on refresh")
    if not store.consume_refresh_token(db, token.token_hash, now):
        store.revoke_grant(db, token.grant_id, now)
        raise OAuthError("invalid_grant", "refresh token already used; the grant is revoked")
    scope = " ".join(s for s in granted if s in wanted)
    return store.issue_tokens(
        db, settings, grant_id=token.grant_id, client_id=client.client_id, user=token.user,
        scope=scope, refresh_scope=token.scope, refresh_expires_at=token.expires_at, now=now,
    )


@router.post("/oauth/token")
async def token(request: Request) -> Response:
    body = await request.body()  # at most MAX_BODY_BYTES (app.security)
    return await run_in_threadpool(_token, request, body)


def _token(request: Request, body: bytes) -> Response:
    try:
        params = _body_params(request, body)
        client = authenticate_client(request, params)
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            result = _code_grant(request, client, params)
        elif grant_type == "refresh_token":
            result = _refresh_grant(request, client, params)
        elif grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError("unsupported_grant_type", "use authorization_code or refresh_token")
    except OAuthError as e:
        return e.response()
    return JSONResponse(result, headers=NO_STORE)


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    body = await request.body()  # at most MAX_BODY_BYTES (app.security)
    return await run_in_threadpool(_revoke, request, body)


def _revoke(request: Request, body: bytes) -> Response:
    try:
        params = _body_params(request, body)
        client = authenticate_client(request, params)
        if "token" not in params:
            raise OAuthError("invalid_request", "token is required")
    except OAuthError as e:
        return e.response()
    # RFC 7009 §2.2: 200 whether or not the token existed.
    store.revoke_token(request.app.state.db, params["token"], client.client_id, _now(request))
    return Response(status_code=200, headers=NO_STORE)


@router.get("/.well-known/oauth-protected-resource")
def resource_metadata() -> JSONResponse:
    """RFC 9728 protected resource metadata: this API, and who issues its tokens (MCP clients
    read it from the 401's `WWW-Authenticate`)."""
    return JSONResponse(
        {
            "resource": BASE_URL,
            "authorization_servers": [BASE_URL],
            "scopes_supported": list(SCOPES),
            "bearer_methods_supported": ["header"],
        }
    )


@router.get("/.well-known/oauth-authorization-server")
def metadata() -> JSONResponse:
    """RFC 8414 authorization server metadata."""
    methods = ["client_secret_basic", "client_secret_post"]
    return JSONResponse(
        {
            "issuer": BASE_URL,
            "authorization_endpoint": f"{BASE_URL}/oauth/authorize",
            "token_endpoint": f"{BASE_URL}/oauth/token",
            "revocation_endpoint": f"{BASE_URL}/oauth/revoke",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
    )
