"""Probe authlib behaviours against our server's test expectations (uses proto.py)."""

import base64
import json
import secrets
import time
from urllib.parse import parse_qs, quote, urlsplit

from authlib.oauth2.rfc6749 import grants as g
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, private_key_jwt_sign
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter

from proto import *

srv = build_server()
CLIENTS["c1"] = Client("c1", sha("s3cret"), ["https://app.example/cb"], "read write")
CLIENTS["c2"] = Client("c2", sha("a b+c"), ["https://app.example/cb"], "read", "client_secret_post")
CLIENTS["pub"] = Client("pub", None, ["https://app.example/cb"], "read", "none")
CLIENTS["cpost"] = Client(
    "cpost", sha("pw"), ["https://app.example/cb"], "read", "client_secret_post"
)


def show(label, resp):
    b = resp.body if isinstance(resp.body, str) else resp.body
    h = {k: v for k, v in resp.headers if k in ("WWW-Authenticate", "Location", "Retry-After")}
    print(f"- {label}: {resp.status} {b} {h if h else ''}")


def probe(label, headers=None, server=srv, **params):
    """Sends a token request and prints authlib's answer."""
    show(label, server.token(tok_req(headers, **params)))


def tok_req(headers=None, **p):
    return RawRequest("POST", f"{ISSUER}/oauth/token", {**FORM, **(headers or {})}, form(**p))


def new_rt(cid, scope="read"):
    rt = secrets.token_urlsafe(8)
    TOKENS_BY_RT[rt] = Token(cid, "u1", scope, "at", rt)
    return rt


def authorize(q, user=USERS["u1"]):
    raw = RawRequest("GET", f"{ISSUER}/oauth/authorize?{q}", {})
    try:
        grant = srv.get_consent_grant(raw, end_user=user)
    except OAuth2Error as e:
        return f"raised {e.error} redirect_uri={e.redirect_uri} desc={e.description!r}"
    r = srv.create_authorization_response(grant.request, grant_user=user, grant=grant)
    return r


print("## client authentication")
probe(
    "Basic OK + client_secret in body too",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="refresh_token",
    refresh_token=new_rt("c1"),
    client_id="c1",
    client_secret="s3cret",
)
CLIENTS["c1"].auth_method = "client_secret_post"
probe(
    "WRONG Basic + correct post creds (client allows post)",
    {"Authorization": basic("c1", "nope")},
    grant_type="refresh_token",
    refresh_token=new_rt("c1"),
    client_id="c1",
    client_secret="s3cret",
)
CLIENTS["c1"].auth_method = "client_secret_basic"
# RFC 6749 2.3.1: secret 'a b+c' form-urlencoded is 'a+b%2Bc'
hdr = "Basic " + base64.b64encode(b"c2:a+b%2Bc").decode()
CLIENTS["c2"].auth_method = "client_secret_basic"
probe(
    "Basic with form-urlencoded secret 'a b+c' -> 'a+b%2Bc'",
    {"Authorization": hdr},
    grant_type="refresh_token",
    refresh_token=new_rt("c2"),
)
hdr = "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()
try:
    probe(
        "Basic with non-UTF-8 bytes",
        {"Authorization": hdr},
        grant_type="refresh_token",
        refresh_token="x",
    )
except Exception as e:
    print(f"- Basic with non-UTF-8 bytes: UNCAUGHT {type(e).__name__}: {e}")
probe(
    "Basic garbage 'Basic !!!'",
    {"Authorization": "Basic !!!"},
    grant_type="refresh_token",
    refresh_token="x",
)
probe(
    "post, unknown client_id",
    grant_type="refresh_token",
    refresh_token="x",
    client_id="ghost",
    client_secret="x",
)
probe(
    "post, known client wrong secret",
    grant_type="refresh_token",
    refresh_token="x",
    client_id="cpost",
    client_secret="bad",
)
probe(
    "Basic, unknown client",
    {"Authorization": basic("ghost", "x")},
    grant_type="refresh_token",
    refresh_token="x",
)


class Stock(g.RefreshTokenGrant):  # default TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    authenticate_refresh_token = RefreshGrant.authenticate_refresh_token
    authenticate_user = RefreshGrant.authenticate_user
    revoke_old_credential = RefreshGrant.revoke_old_credential


s2 = build_server()
s2._token_grants = []
s2.register_grant(Stock)
probe(
    "stock RefreshTokenGrant, client_secret_post client",
    grant_type="refresh_token",
    refresh_token=new_rt("cpost"),
    client_id="cpost",
    client_secret="pw",
    server=s2,
)

print("## token endpoint details")
probe(
    "refresh with invalid token (error_description present?)",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="refresh_token",
    refresh_token="nope",
)
try:
    InvalidRequestError('Repeated parameter "scope".')
except ValueError as e:
    print("- OAuth2Error with double quote in description ->", type(e).__name__, e)


# authorization code helpers
def code_for(
    cid, redirect_uri="https://app.example/cb", challenge=None, method=None, include_redirect=True
):
    q = f"response_type=code&client_id={cid}&state=s&scope=read"
    if include_redirect:
        q += "&redirect_uri=" + quote(redirect_uri, safe="")
    if challenge:
        q += f"&code_challenge={challenge}"
    if method:
        q += f"&code_challenge_method={method}"
    r = authorize(q)
    return parse_qs(urlsplit(r.location).query)["code"][0]


c = code_for("c1", include_redirect=False)
probe(
    "code issued w/o redirect_uri, token request w/o redirect_uri",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code=c,
)
c = code_for("c1")
probe(
    "code issued with redirect_uri, token request omits it",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code=c,
)
v = "a" * 43
c = code_for("c1", challenge=v, method="plain")
probe(
    "PKCE method=plain accepted?",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code=c,
    redirect_uri="https://app.example/cb",
    code_verifier=v,
)
c = code_for("c1", challenge=v)
probe(
    "PKCE no method (defaults to plain)",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code=c,
    redirect_uri="https://app.example/cb",
    code_verifier=v,
)
c = code_for("pub")
probe(
    "public client, no challenge, CodeChallenge(required=False)",
    grant_type="authorization_code",
    code=c,
    client_id="pub",
    redirect_uri="https://app.example/cb",
)
c = code_for("c1")
probe(
    "verifier sent for code without challenge (downgrade)",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code=c,
    redirect_uri="https://app.example/cb",
    code_verifier=v,
)
probe(
    "bad-syntax verifier + unknown code (which error wins?)",
    {"Authorization": basic("c1", "s3cret")},
    grant_type="authorization_code",
    code="zzz",
    redirect_uri="https://app.example/cb",
    code_verifier="short",
)
show(
    "param in query string (our adapter)",
    srv.token(
        RawRequest(
            "POST", f"{ISSUER}/oauth/token?code=x", FORM, form(grant_type="authorization_code")
        )
    ),
)
show(
    "plain-http request URL (app behind TLS proxy)",
    srv.token(
        RawRequest(
            "POST", "http://internal:8000/oauth/token", FORM, form(grant_type="refresh_token")
        )
    ),
)

print("## authorization endpoint")
print(
    "- no state:",
    authorize("response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb").status,
)
print("- unknown client:", authorize("response_type=code&client_id=zz&state=s"))
print(
    "- bad redirect:",
    authorize("response_type=code&client_id=c1&state=s&redirect_uri=https%3A%2F%2Fevil"),
)
print(
    "- response_type=token:",
    authorize(
        "response_type=token&client_id=c1&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
    ),
)


class Iss(IssuerParameter):
    def get_issuer(self):
        return ISSUER


srv.register_extension(Iss())
r = authorize("response_type=code&client_id=c1&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb")
print("- RFC 9207 success redirect:", r.location)
raw = RawRequest(
    "GET",
    f"{ISSUER}/oauth/authorize?response_type=code&client_id=c1&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
    {},
)
grant = srv.get_consent_grant(raw, end_user=USERS["u1"])
print(
    "- RFC 9207 access_denied redirect:",
    srv.create_authorization_response(grant.request, grant_user=None, grant=grant).location,
)

print("## revocation")


class Revoke(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, t, hint):
        return TOKENS_BY_RT.get(t)

    def revoke_token(self, token, request):
        token.used = True


srv.register_endpoint(Revoke)
rv = lambda hdrs, **p: srv.create_endpoint_response(
    "revocation", RawRequest("POST", f"{ISSUER}/oauth/revoke", {**FORM, **hdrs}, form(**p))
)
show("unknown token", rv({"Authorization": basic("c1", "s3cret")}, token="nope"))
show("other client's token", rv({"Authorization": basic("c1", "s3cret")}, token=new_rt("c2")))
show(
    "token_type_hint=foo",
    rv({"Authorization": basic("c1", "s3cret")}, token="nope", token_type_hint="foo"),
)

print("## registration")


class Reg(ClientRegistrationEndpoint):
    def authenticate_token(self, request):
        return True  # open registration

    def get_server_metadata(self):
        return {
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ]
        }

    def save_client(self, info, meta, request):
        return meta


srv.register_endpoint(Reg)


def reg(body):
    try:
        r = srv.create_endpoint_response(
            "client_registration",
            RawRequest(
                "POST",
                f"{ISSUER}/oauth/register",
                {"Content-Type": "application/json"},
                json.dumps(body).encode(),
            ),
        )
        return f"{r.status} {r.body[:160]}"
    except Exception as e:
        return f"UNCAUGHT {type(e).__name__}: {e}"


print(
    "- public client:",
    reg({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"}),
)
print("- http non-loopback:", reg({"redirect_uris": ["http://a.example/cb"]}))
print("- javascript://:", reg({"redirect_uris": ["javascript://a.example/%0aalert(1)"]}))
print("- fragment:", reg({"redirect_uris": ["https://a.example/cb#x"]}))
for k in ("contacts", "jwks", "token_endpoint_auth_method", "client_uri", "grant_types", "scope"):
    print(f"- {k}: null ->", reg({"redirect_uris": ["https://a.example/cb"], k: None}))
print("- logo_uri: '' ->", reg({"redirect_uris": ["https://a.example/cb"], "logo_uri": ""}))

print("## private_key_jwt (RFC 7523)")
from joserfc.jwk import RSAKey

key = RSAKey.generate_key(2048)


class PKJ(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"
    SEEN = set()

    def get_audiences(self):
        return [f"{ISSUER}/oauth/token", ISSUER]

    def resolve_client_public_key(self, client):
        return key.as_dict(private=False)  # would GET jwks_uri

    def validate_jti(self, claims, jti):
        if jti in self.SEEN:
            return False
        self.SEEN.add(jti)
        return True


srv.register_client_auth_method("private_key_jwt", PKJ())
RefreshGrant.TOKEN_ENDPOINT_AUTH_METHODS = RefreshGrant.TOKEN_ENDPOINT_AUTH_METHODS + [
    "private_key_jwt"
]
CLIENTS["jwtc"] = Client("jwtc", None, ["https://app.example/cb"], "read", "private_key_jwt")
for label, aud, exp in (
    ("aud=issuer, exp=+60s", ISSUER, 60),
    ("aud=issuer, exp=+30 days", ISSUER, 30 * 86400),
):
    a = private_key_jwt_sign(key, "jwtc", aud, claims={"exp": int(time.time()) + exp})
    req = lambda: tok_req(
        grant_type="refresh_token",
        refresh_token=new_rt("jwtc"),
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=a,
    )
    show(label, srv.token(req()))
    show(label + " replayed", srv.token(req()))
