"""Client ID Metadata Documents: public clients (like Claude's) and `private_key_jwt` clients
(like ChatGPT's), the document's checks, and the fetch's guard against request forgery. The
documents are served by a stand-in for the network (FakeWeb), except in the fetch tests."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
import uuid
from ipaddress import ip_address

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app import oauth_cimd
from app.settings import BASE_URL, MCP_URL
from tests.oauth_helpers import browser, consent, login, make_user, pkce_pair, redirect_query

CLAUDE = "https://claude.example/oauth/mcp-oauth-client-metadata"
CHATGPT = "https://chatgpt.example/oauth/app-1/client.json"
JWKS = "https://chatgpt.example/oauth/jwks.json"
CALLBACK = "https://chatgpt.example/connector/oauth/app-1"
TOKEN_URL = f"{BASE_URL}/oauth/token"


class FakeWeb:
    """oauth_cimd.fetch_json's stand-in: URL -> JSON, and how often each was fetched."""

    def __init__(self) -> None:
        self.pages: dict[str, object] = {}
        self.fetched: list[str] = []

    def __call__(self, url: str, settings) -> tuple[object, float]:
        self.fetched.append(url)
        if url not in self.pages:
            raise oauth_cimd.FetchError(f"{url} answered 404")
        return self.pages[url], 300.0


@pytest.fixture
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def web(monkeypatch, key):
    fake = FakeWeb()
    monkeypatch.setattr(oauth_cimd, "fetch_json", fake)
    monkeypatch.setattr(oauth_cimd, "_documents", oauth_cimd._Cache())
    monkeypatch.setattr(oauth_cimd, "_key_sets", oauth_cimd._Cache())
    fake.pages[CLAUDE] = {
        "client_id": CLAUDE,
        "client_name": "Claude",
        "redirect_uris": ["https://claude.example/api/mcp/auth_callback"],
        "token_endpoint_auth_method": "none",
    }
    fake.pages[CHATGPT] = {
        "client_id": CHATGPT,
        "client_name": "ChatGPT",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": JWKS,
    }
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    fake.pages[JWKS] = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    return fake


def assertion(key, client_id: str = CHATGPT, **claims) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 60,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )


def code_for(app, client_id: str, redirect_uri: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": MCP_URL,
    }
    make_user(app)
    b = browser(app)
    assert login(b, params).status_code == 303
    return redirect_query(consent(b, params))["code"], verifier


def signed(client_assertion: str) -> dict[str, str]:
    """The token request's client authentication with an assertion (RFC 7523)."""
    return {
        "client_assertion_type": oauth_cimd.ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }


def exchange(client, code: str, verifier: str, redirect_uri: str, **auth):
    return client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "resource": MCP_URL,
            **auth,
        },
    )


def test_the_metadata_advertises_documents_and_private_key_jwt(client):
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["client_id_metadata_document_supported"] is True
    assert {"none", "private_key_jwt"} <= set(meta["token_endpoint_auth_methods_supported"])
    assert "RS256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    for what in ("methods", "signing_alg_values"):  # RFC 8414 asks for both with private_key_jwt
        token_endpoint = meta[f"token_endpoint_auth_{what}_supported"]
        assert meta[f"revocation_endpoint_auth_{what}_supported"] == token_endpoint


def test_a_public_document_client_signs_in_with_pkce(app, client, web):
    redirect = web.pages[CLAUDE]["redirect_uris"][0]
    code, verifier = code_for(app, CLAUDE, redirect)
    r = exchange(client, code, verifier, redirect, client_id=CLAUDE)
    assert r.status_code == 200, r.text
    assert web.fetched.count(CLAUDE) == 1, "the document is cached"


def test_a_private_key_jwt_client_signs_in_and_each_assertion_works_once(app, client, web, key):
    code, verifier = code_for(app, CHATGPT, CALLBACK)
    auth = signed(assertion(key))
    r = exchange(client, code, verifier, CALLBACK, **auth)
    assert r.status_code == 200, r.text
    refreshed = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"], **auth},
    )
    assert refreshed.status_code == 401 and "used already" in refreshed.json()["error_description"]
    fresh = {**auth, "client_assertion": assertion(key)}
    refreshed = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"], **fresh},
    )
    assert refreshed.status_code == 200, refreshed.text


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere.example/token"},
        {"iss": "https://chatgpt.example/oauth/other/client.json"},
        {"sub": "someone"},
        {"exp": int(time.time()) + 7200},
        {"exp": int(time.time()) - 120},
        {"jti": None},
    ],
)
def test_a_bad_assertion_is_refused(app, client, web, key, claims):
    code, verifier = code_for(app, CHATGPT, CALLBACK)
    r = exchange(client, code, verifier, CALLBACK, **signed(assertion(key, **claims)))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_an_assertion_signed_by_another_key_or_none_at_all_is_refused(app, client, web):
    code, verifier = code_for(app, CHATGPT, CALLBACK)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = exchange(client, code, verifier, CALLBACK, **signed(assertion(other)))
    assert r.status_code == 401
    # No proof at all: a client with a key set is not a public client.
    r = exchange(client, code, verifier, CALLBACK, client_id=CHATGPT)
    assert r.status_code == 401


@pytest.mark.parametrize("key_set", [[], "keys", {"keys": "none"}])
def test_a_key_set_of_the_wrong_shape_is_refused(app, client, web, key, key_set):
    web.pages[JWKS] = key_set
    code, verifier = code_for(app, CHATGPT, CALLBACK)
    r = exchange(client, code, verifier, CALLBACK, **signed(assertion(key)))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_redirect_uris_come_only_from_the_document(app, web):
    params = {
        "response_type": "code",
        "client_id": CHATGPT,
        "redirect_uri": "https://chatgpt.example/other",
        "state": "s",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
    }
    r = browser(app).get("/oauth/authorize", params=params)
    assert r.status_code == 400 and "not registered" in r.text


@pytest.mark.parametrize(
    "document",
    [
        {
            "client_id": "https://claude.example/other",
            "redirect_uris": ["https://claude.example/cb"],
        },
        {"client_id": CLAUDE, "redirect_uris": []},
        {"client_id": CLAUDE, "redirect_uris": ["http://claude.example/cb"]},
        {
            "client_id": CLAUDE,
            "redirect_uris": ["https://claude.example/cb"],
            "token_endpoint_auth_method": "client_secret_post",
        },
        {
            "client_id": CLAUDE,
            "redirect_uris": ["https://claude.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
        },
        ["not", "an", "object"],
    ],
)
def test_an_unfit_document_is_an_error_page(app, web, document):
    web.pages[CLAUDE] = document
    params = {
        "response_type": "code",
        "client_id": CLAUDE,
        "redirect_uri": "https://claude.example/cb",
        "state": "s",
    }
    r = browser(app).get("/oauth/authorize", params=params)
    assert r.status_code == 400 and "metadata document" in r.text


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/client.json",
        "https://localhost/client.json",
        "https://[::1]/client.json",
        "https://10.0.0.1/client.json",
        "https://169.254.169.254/latest/meta-data",
        "http://example.com/client.json",
        "https://user@example.com/client.json",
    ],
)
def test_fetches_never_reach_private_addresses_or_leave_https(settings, url):
    with pytest.raises(oauth_cimd.FetchError):
        oauth_cimd.fetch_json(url, settings)


@pytest.fixture
def local(settings):
    """Settings that let fetches reach this computer (OAUTH_CIMD_ALLOW_PRIVATE_HOSTS)."""
    return settings.model_copy(update={"oauth_cimd_allow_private_hosts": True})


@pytest.fixture
def slow_host(tmp_path, key, monkeypatch):
    """An https host on 127.0.0.1 (its certificate trusted through SSL_CERT_FILE) that answers
    200 with a body of 60,000 bytes, sent a byte every 0.1 s (for 5 s at most): every read gets
    a byte well within any read timeout."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        try:
            with tls.wrap_socket(conn, server_side=True) as stream:
                stream.recv(65536)
                # `Connection: close`: http.client closes its side before reading the body.
                head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 60000\r\n\r\n"
                stream.sendall(head)
                for _ in range(50):
                    if stop.wait(0.1):
                        return
                    stream.sendall(b" ")
        except OSError:
            return

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}/client.json"
    stop.set()
    server.close()


def test_the_development_setting_allows_loopback_fetches(local):
    # The address is allowed now; nothing listens on port 9, so the fetch itself fails, saying
    # no more than that: the network's error would tell which ports of which hosts are open.
    url = "https://127.0.0.1:9/client.json"
    with pytest.raises(oauth_cimd.FetchError) as e:
        oauth_cimd.fetch_json(url, local)
    assert str(e.value) == f"{url} could not be fetched"


def test_a_fetch_ends_in_time_however_slowly_the_host_answers(local, slow_host, monkeypatch):
    monkeypatch.setattr(oauth_cimd, "TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(oauth_cimd.FetchError) as e:
        oauth_cimd.fetch_json(slow_host, local)
    assert time.monotonic() - started < 2.5, "the time limit is for the whole fetch"
    assert str(e.value) == f"{slow_host} could not be fetched"


def test_only_a_few_fetches_wait_for_hosts_at_once(local, slow_host, monkeypatch):
    # Each fetch holds a worker thread: a crowd of requests naming slow hosts must not take them
    # all (the server would stop answering anyone).
    monkeypatch.setattr(oauth_cimd, "TIMEOUT", 2.0)

    failed: list[str] = []

    def wait() -> None:  # an assertion in a thread would not fail the test: collect instead
        try:
            oauth_cimd.fetch_json(slow_host, local)
        except oauth_cimd.FetchError as e:
            failed.append(str(e))

    waiting = [threading.Thread(target=wait) for _ in range(oauth_cimd.MAX_FETCHES)]
    for thread in waiting:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    with pytest.raises(oauth_cimd.FetchError, match="retry"):
        oauth_cimd.fetch_json(slow_host, local)
    assert time.monotonic() - started < 0.5
    for thread in waiting:
        thread.join()
    assert failed == [f"{slow_host} could not be fetched"] * oauth_cimd.MAX_FETCHES


@pytest.mark.parametrize(
    "header,seconds",
    [
        ("", 300),
        ("max-age=600", 600),
        ("public, max-age=5", 60),
        ("max-age=999999", 86400),
        ("no-store", 60),
    ],
)
def test_documents_are_cached_as_their_headers_say_within_bounds(header, seconds):
    assert oauth_cimd._lifetime(header) == seconds


def test_only_https_urls_with_a_path_are_metadata_documents():
    assert oauth_cimd.is_metadata_url(CLAUDE)
    for other in (
        "chatgpt",
        "https://claude.example",
        "https://claude.example/",
        "http://claude.example/x",
    ):
        assert not oauth_cimd.is_metadata_url(other)
