"""Prototype: authlib's generic AuthorizationServer on in-memory dicts.

Run: bash bench/authlib.sh (a venv with the pinned authlib, then probes.py and proto.py).
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    JsonPayload,
    JsonRequest,
    OAuth2Error,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge

ISSUER = "https://auth.example.com"

# --------------------------------------------------------------------------
# storage (plain dicts) + model objects authlib wants (duck-typed mixins)
# --------------------------------------------------------------------------
CLIENTS, CODES, TOKENS_BY_RT, USERS = {}, {}, {}, {"u1": {"id": "u1"}}


def sha(s):
    return hashlib.sha256(s.encode()).digest()


@dataclass
class Client(ClientMixin):
    client_id: str
    secret_hash: bytes | None
    redirect_uris: list
    scope: str
    auth_method: str = "client_secret_basic"

    # --- adapter: ClientMixin methods authlib calls ---
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def check_redirect_uri(self, uri):
        return uri in self.redirect_uris

    def check_response_type(self, rt):
        return rt == "code"

    def check_grant_type(self, gt):
        return gt in ("authorization_code", "refresh_token")

    def check_client_secret(self, s):
        return self.secret_hash is not None and hmac.compare_digest(sha(s), self.secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.auth_method

    def get_allowed_scope(self, scope):
        if not scope:
            return self.scope
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class Token(TokenMixin):
    client_id: str
    user_id: str
    scope: str
    access_token: str
    refresh_token: str | None
    used: bool = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope


# --------------------------------------------------------------------------
# ADAPTER (framework glue authlib requires)            -- start line count
# --------------------------------------------------------------------------
@dataclass
class RawRequest:  # what FastAPI would hand us
    method: str
    url: str
    headers: dict
    body: bytes = b""


@dataclass
class Response:  # what we hand back to FastAPI
    status: int
    body: str
    headers: list

    @property
    def location(self):
        return dict(self.headers).get("Location")

    @location.setter
    def location(self, v):
        self.headers = [(k, v if k == "Location" else x) for k, x in self.headers]


class Req(OAuth2Request):
    def __init__(self, raw, params):
        super().__init__(raw.method, raw.url, headers=raw.headers)
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def form(self):
        return self._params

    @property
    def args(self):
        return {}


def parse_params(raw):
    """Our policy, not authlib's: body-only, no repeats, empty == omitted, JSON ok."""
    if raw.method == "POST" and urlsplit(raw.url).query:
        raise InvalidRequestError("Parameters must be sent in the request body.")
    ctype = raw.headers.get("Content-Type", "").split(";")[0].strip()
    if ctype == "application/json":
        obj = json.loads(raw.body or b"{}")
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise InvalidRequestError("Body must be a JSON object of strings.")
        pairs = list(obj.items())
    else:
        src = raw.body.decode() if raw.method == "POST" else urlsplit(raw.url).query
        pairs = parse_qsl(src, keep_blank_values=True)
    out = {}
    for k, v in pairs:
        if k in out:
            raise InvalidRequestError(f"Repeated parameter {k}.")
        out[k] = v
    return {k: v for k, v in out.items() if v != ""}


class JsonBody(JsonPayload):
    def __init__(self, data):
        self._data = data

    @property
    def data(self):
        return self._data


class Server(AuthorizationServer):
    def query_client(self, client_id):
        return CLIENTS.get(client_id)

    def save_token(self, token, request):
        old = request.refresh_token  # refresh keeps the ORIGINAL scope
        t = Token(
            request.client.client_id,
            request.user["id"],
            old.scope if old else token.get("scope", ""),
            token["access_token"],
            token.get("refresh_token"),
        )
        if t.refresh_token:
            TOKENS_BY_RT[t.refresh_token] = t

    def create_oauth2_request(self, raw):
        if isinstance(raw, OAuth2Request):
            return raw
        return Req(raw, parse_params(raw))

    def create_json_request(self, raw):
        r = JsonRequest(raw.method, raw.url, raw.headers)
        r.payload = JsonBody(json.loads(raw.body or b"{}"))
        return r

    def handle_response(self, status, body, headers):
        return Response(status, json.dumps(body) if isinstance(body, dict) else body, headers)

    def send_signal(self, name, *args, **kwargs):
        pass

    # authlib calls create_oauth2_request OUTSIDE its try/except
    # (authorization_server.py:397), so our own parse errors need this wrapper.
    def token(self, raw):
        try:
            req = self.create_oauth2_request(raw)
        except OAuth2Error as e:
            return self.handle_error_response(None, e)
        return self.create_token_response(req)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        d = request.payload.data
        CODES[code] = Code(
            code,
            request.client.client_id,
            request.payload.redirect_uri or self.redirect_uri,
            request.scope,
            request.user["id"],
            d.get("code_challenge"),
            d.get("code_challenge_method"),
        )

    def query_authorization_code(self, code, client):
        c = CODES.get(code)
        return c if c and c.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code):
        CODES.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return USERS.get(authorization_code.user_id)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token):
        t = TOKENS_BY_RT.get(refresh_token)
        return t if t and not t.used else None

    def authenticate_user(self, refresh_token):
        return USERS.get(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token):
        refresh_token.used = True


def build_server():
    srv = Server()
    gen = BearerTokenGenerator(
        lambda **kw: secrets.token_urlsafe(32), lambda **kw: secrets.token_urlsafe(32), 3600
    )
    srv.register_token_generator("default", gen)
    srv.register_grant(CodeGrant, [CodeChallenge(required=False)])
    srv.register_grant(RefreshGrant)
    return srv


# --------------------------------------------------------------------------
# ADAPTER                                               -- end line count
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Minimal hand-written refresh_token handler (same policy, same storage)
# --------------------------------------------------------------------------
HDRS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def err(code, desc, status=400, extra=()):
    return Response(
        status, json.dumps({"error": code, "error_description": desc}), HDRS + list(extra)
    )


def hand_refresh(raw):
    try:
        p = parse_params(raw)
    except OAuth2Error as e:
        return err(e.error, e.description)
    # client auth: basic xor post
    auth = raw.headers.get("Authorization")
    if auth and "client_secret" in p:
        return err("invalid_request", "Multiple client authentication methods.")
    if auth:
        try:
            scheme, b64 = auth.split(" ", 1)
            cid, _, csec = base64.b64decode(b64, validate=True).decode().partition(":")
            from urllib.parse import unquote_plus

            cid, csec = unquote_plus(cid), unquote_plus(csec)
        except Exception:
            return err("invalid_client", "Bad Basic.", 401, [("WWW-Authenticate", "Basic")])
    else:
        cid, csec = p.get("client_id"), p.get("client_secret")
    client = CLIENTS.get(cid)
    want = client.secret_hash if client and client.secret_hash else b"\0" * 32
    ok = hmac.compare_digest(sha(csec or ""), want) and client is not None
    if not ok:
        return err(
            "invalid_client",
            "Client authentication failed.",
            401,
            [("WWW-Authenticate", "Basic")] if auth else [],
        )
    if p.get("grant_type") != "refresh_token":
        return err("unsupported_grant_type", "Unsupported grant_type.")
    rt = p.get("refresh_token")
    if rt is None:
        return err("invalid_request", "Missing refresh_token.")
    old = TOKENS_BY_RT.get(rt)
    if old is None or old.client_id != cid:
        return err("invalid_grant", "Invalid refresh token.")
    if old.used:
        return err("invalid_grant", "Refresh token reused.")  # + revoke grant
    scope = p.get("scope") or old.scope
    if not set(scope.split()) <= set(old.scope.split()):
        return err("invalid_scope", "Scope may only narrow.")
    old.used = True
    new = Token(cid, old.user_id, old.scope, secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    TOKENS_BY_RT[new.refresh_token] = new
    body = {
        "token_type": "Bearer",
        "access_token": new.access_token,
        "expires_in": 3600,
        "refresh_token": new.refresh_token,
        "scope": scope,
    }
    return Response(200, json.dumps(body), HDRS)


# --------------------------------------------------------------------------
# demo + benchmark
# --------------------------------------------------------------------------
def basic(cid, sec):
    return "Basic " + base64.b64encode(f"{cid}:{sec}".encode()).decode()


def form(**kw):
    from urllib.parse import urlencode

    return urlencode(kw).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def main():
    srv = build_server()
    CLIENTS["c1"] = Client("c1", sha("s3cret"), ["https://app.example/cb"], "read write")

    # --- authorization endpoint (consent already given by user u1) ---
    verifier = secrets.token_urlsafe(48)
    q = (
        "response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
        f"&state=xyz&scope=read+write&code_challenge={create_s256_code_challenge(verifier)}"
        "&code_challenge_method=S256"
    )
    raw = RawRequest("GET", f"{ISSUER}/oauth/authorize?{q}", {})
    grant = srv.get_consent_grant(raw, end_user=USERS["u1"])
    resp = srv.create_authorization_response(grant.request, grant_user=USERS["u1"], grant=grant)
    code = parse_qs(urlsplit(resp.location).query)["code"][0]
    print("authorize ->", resp.status, resp.location[:60], "...")

    # --- code exchange ---
    raw = RawRequest(
        "POST",
        f"{ISSUER}/oauth/token",
        {**FORM, "Authorization": basic("c1", "s3cret")},
        form(
            grant_type="authorization_code",
            code=code,
            redirect_uri="https://app.example/cb",
            code_verifier=verifier,
        ),
    )
    resp = srv.token(raw)
    tok = json.loads(resp.body)
    print("code exchange ->", resp.status, sorted(tok), dict(resp.headers)["Cache-Control"])

    # --- one refresh ---
    raw = RawRequest(
        "POST",
        f"{ISSUER}/oauth/token",
        {**FORM, "Authorization": basic("c1", "s3cret")},
        form(grant_type="refresh_token", refresh_token=tok["refresh_token"], scope="read"),
    )
    resp = srv.token(raw)
    tok2 = json.loads(resp.body)
    print(
        "refresh ->",
        resp.status,
        tok2["scope"],
        "rotated:",
        not hmac.compare_digest(tok2["refresh_token"], tok["refresh_token"]),
    )
    resp = srv.token(raw)
    print("reuse of old RT ->", resp.status, resp.body)

    # --- benchmark: 2,000 refreshes each way, each request using the previous RT ---
    N = 2000

    def run(handler, rt):
        t0 = time.perf_counter()
        for _ in range(N):
            r = handler(
                RawRequest(
                    "POST",
                    f"{ISSUER}/oauth/token",
                    {**FORM, "Authorization": basic("c1", "s3cret")},
                    form(grant_type="refresh_token", refresh_token=rt),
                )
            )
            assert r.status == 200, r.body
            rt = json.loads(r.body)["refresh_token"]
        return (time.perf_counter() - t0) / N * 1e6, rt

    def null_handler(raw):  # harness cost only: build request + json
        return Response(200, json.dumps({"refresh_token": "x"}), HDRS)

    rt = tok2["refresh_token"]
    results = {"authlib": [], "hand": [], "harness": []}
    for _ in range(5):  # interleave, take best
        us, rt = run(srv.token, rt)
        results["authlib"].append(us)
        us, rt = run(hand_refresh, rt)
        results["hand"].append(us)
        us, _ = run(null_handler, "x")
        results["harness"].append(us)
    for k, v in results.items():
        print(f"{k:8s} µs/request: best {min(v):6.1f}  median {sorted(v)[2]:6.1f}")
    print(f"authlib overhead ≈ {min(results['authlib']) - min(results['hand']):.1f} µs/request")


if __name__ == "__main__":
    main()
