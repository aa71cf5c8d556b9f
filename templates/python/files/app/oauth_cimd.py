"""Client ID Metadata Documents and `private_key_jwt` (RFC 7523): how ChatGPT and Claude name
themselves without registering. The `client_id` is an https URL; this server fetches the JSON
document there, which lists the client's name, redirect URIs and how it authenticates: `none`
(a public client, PKCE) or `private_key_jwt` (a JWT signed with a key of its `jwks_uri`).

Every fetch is guarded against server-side request forgery: https only, every address the host
resolves to must be public (no private, loopback, link-local or reserved one, unless
OAUTH_CIMD_ALLOW_PRIVATE_HOSTS=true for local development), the connection goes to the address
that was checked, no redirect is followed, at most MAX_BYTES are read within TIMEOUT seconds
(for the whole fetch, however slowly the host answers), at most MAX_FETCHES at once (each holds
a worker thread), and a failure says no more than that it failed (the reason is logged): the
network's own error would tell a caller which ports of which hosts are open.
Certificates are verified against the system's CAs (SSL_CERT_FILE names another bundle).
Documents and key sets are cached as their Cache-Control says (within bounds), at most
CACHE_ENTRIES of them. Written for this project: no library covers the fetch policy."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlalchemy import delete

from app.db import INSERT, Database
from app.oauth_store import Client, digest
from app.settings import BASE_URL, Settings, redirect_uri_problem
from app.tables import assertions

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNING_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
AUTH_METHODS = ("none", "private_key_jwt")
MAX_BYTES = 64 * 1024
TIMEOUT = 5.0
MAX_FETCHES = 4
CACHE_ENTRIES = 1000
CACHE_SECONDS = (60, 24 * 3600, 300)  # least, most, and without Cache-Control
MAX_ASSERTION_LIFETIME = 3600  # seconds an assertion may be valid for (authlib signs for 3600)
log = logging.getLogger(__name__)
_fetches = threading.BoundedSemaphore(MAX_FETCHES)


class FetchError(Exception):
    """A document could not be fetched or is not acceptable; the message says why."""


def is_metadata_url(client_id: str) -> bool:
    """A `client_id` that names a metadata document: https with a path."""
    try:
        parts = urlsplit(client_id)
    except ValueError:  # an IPv6 address left open
        return False
    return parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")


def _public_addresses(host: str, port: int, allow_private: bool) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise FetchError(f"{host} does not resolve") from e
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not allow_private and not ip.is_global:
            log.info("%s resolves to %s: not fetched", host, ip)
            raise FetchError(f"{host} resolves to a non-public address")
    return addresses


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate checked for the host name.
    TIMEOUT bounds each read, and a timer the whole connection: at TIMEOUT it shuts the socket
    down, which ends any read waiting on it (a host may send a byte every few seconds)."""

    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
        self.address = address
        self.deadline: threading.Timer | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), TIMEOUT)
        self.deadline = threading.Timer(TIMEOUT, _shut_down, [sock.dup()])
        self.deadline.start()
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]

    def finish(self) -> None:
        """Closes the connection and stops its timer (close() alone leaves the timer running:
        http.client calls it before the body is read when the host says `Connection: close`)."""
        self.close()
        if self.deadline is not None:
            self.deadline.cancel()
            _shut_down(*self.deadline.args)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError), sock:
        sock.shutdown(socket.SHUT_RDWR)


def fetch_json(url: str, settings: Settings) -> tuple[Any, float]:
    """The JSON at `url` and for how many seconds it may be kept; raises FetchError."""
    if not _fetches.acquire(blocking=False):
        raise FetchError(f"too many documents are being fetched at once; retry in {TIMEOUT:.0f} s")
    try:
        return _fetch_json(url, settings)
    finally:
        _fetches.release()


def _fetch_json(url: str, settings: Settings) -> tuple[Any, float]:
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise FetchError(f"{url} is not a URL") from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise FetchError("only https URLs without user info are fetched")
    address = _public_addresses(parts.hostname, port, settings.oauth_cimd_allow_private_hosts)[0]
    conn = _PinnedHTTPS(parts.hostname, address, port)
    try:
        conn.request(
            "GET",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            headers={"Accept": "application/json"},
        )
        response = conn.getresponse()
        if response.status != 200:
            raise FetchError(f"{url} answered {response.status} (redirects are not followed)")
        body = response.read(MAX_BYTES + 1)
        if response.length and len(body) <= MAX_BYTES:  # short of its Content-Length: time up
            raise http.client.IncompleteRead(body, response.length)
    except (OSError, http.client.HTTPException) as e:
        log.info("fetching %s failed: %s", url, e)
        raise FetchError(f"{url} could not be fetched") from None
    finally:
        conn.finish()
    if len(body) > MAX_BYTES:
        raise FetchError(f"{url} is larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError as e:
        raise FetchError(f"{url} is not JSON") from e
    return data, _lifetime(response.getheader("cache-control", ""))


def _lifetime(cache_control: str) -> float:
    least, most, default = CACHE_SECONDS
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return least
    for d in directives:
        if d.startswith("max-age=") and d[8:].isdigit():
            return float(min(max(int(d[8:]), least), most))
    return float(default)


class _Cache:
    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, url: str, settings: Settings) -> Any:
        now = time.time()
        with self.lock:
            hit = self.entries.get(url)
            if hit is not None and hit[0] > now:
                self.entries.move_to_end(url)
                return hit[1]
        data, seconds = fetch_json(url, settings)
        with self.lock:
            self.entries[url] = (now + seconds, data)
            self.entries.move_to_end(url)
            while len(self.entries) > CACHE_ENTRIES:
                self.entries.popitem(last=False)
        return data


_documents = _Cache()
_key_sets = _Cache()


def client(settings: Settings, client_id: str) -> Client:
    """The client a metadata document describes; raises FetchError saying what is wrong."""
    document = _documents.get(client_id, settings)
    if not isinstance(document, dict) or document.get("client_id") != client_id:
        raise FetchError("the document's client_id must be its own URL")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise FetchError("the document lists no redirect_uris")
    problems = [p for p in map(redirect_uri_problem, uris) if p]
    if problems:
        raise FetchError(problems[0])
    method = document.get("token_endpoint_auth_method") or "none"
    if method not in AUTH_METHODS:
        raise FetchError(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    jwks_uri = document.get("jwks_uri")
    if method == "private_key_jwt" and not (
        isinstance(jwks_uri, str) and jwks_uri.startswith("https://")
    ):
        raise FetchError("private_key_jwt needs an https jwks_uri")
    name = document.get("client_name")
    host = urlsplit(client_id).hostname or client_id
    return Client(
        client_id=client_id,
        name=" ".join(name.split())[:100] if isinstance(name, str) and name.strip() else host,
        secret_hash="",
        redirect_uris=tuple(uris),
        public=method == "none",
        registered=True,
        jwks_uri=str(jwks_uri) if method == "private_key_jwt" else "",
    )


def check_assertion(db: Database, settings: Settings, client: Client, assertion: str) -> None:
    """RFC 7523 client authentication: the JWT is signed by a key of the client's `jwks_uri`,
    names the client as `iss` and `sub`, this server's token endpoint (or issuer) as `aud`,
    expires within MAX_ASSERTION_LIFETIME, and its `jti` is used once. Raises ValueError."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as e:
        raise ValueError("the client assertion is not a JWT") from e
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise ValueError(
            f"the assertion must be signed with one of {', '.join(SIGNING_ALGORITHMS)}"
        )
    try:
        key_set = _key_sets.get(client.jwks_uri, settings)
        if not isinstance(key_set, dict):
            raise FetchError("it is not a JSON object")
        keys = jwt.PyJWKSet.from_dict(key_set)
    except (jwt.PyJWTError, FetchError) as e:
        raise ValueError(f"the client's key set is not usable: {e}") from e
    candidates = [k for k in keys.keys if header.get("kid") in (None, k.key_id)]
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[header["alg"]],
                audience=[f"{BASE_URL}/oauth/token", BASE_URL],
                issuer=client.client_id,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
                leeway=30,
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as e:
            raise ValueError(f"the client assertion is not valid: {e}") from e
    if claims is None:
        raise ValueError("no key of the client's key set verifies the assertion")
    if claims["sub"] != client.client_id:
        raise ValueError("the assertion's sub must be the client_id")
    now = time.time()  # as PyJWT checks `exp`
    if claims["exp"] > now + MAX_ASSERTION_LIFETIME:
        raise ValueError(f"the assertion may be valid for at most {MAX_ASSERTION_LIFETIME} seconds")
    jti_hash = digest(client.client_id + " " + str(claims["jti"]))
    with db.begin() as conn:
        first_use = (
            INSERT[conn.dialect.name](assertions)
            .values(jti_hash=jti_hash, expires_at=float(claims["exp"]) + 60)
            .on_conflict_do_nothing()
            .returning(assertions.c.jti_hash)  # a row only when this insert made it
        )
        conn.execute(delete(assertions).where(assertions.c.expires_at <= now))
        if conn.execute(first_use).first() is None:
            raise ValueError("this assertion was used already")
