"""What the authorization server stores, and every query it makes (auth mode `oauth`).

Codes, access tokens, refresh tokens, client secrets and login sessions are random values
(256 bits from the OS CSPRNG) behind a recognisable prefix (`pac_`, `pat_`, `prt_`, `pcs_`,
`pss_`) so secret scanners find leaked ones. Only their SHA-256 hashes are stored: a copy of the
database yields nothing usable. User passwords are hashed with Argon2id.

A *grant* is one user's consent to one client for some scopes. Its code, access tokens and
refresh tokens all point to it, and revoking the grant (code reuse, refresh reuse,
`python -m app.manage revoke-grants USER`) kills all of them at once.

Every time comes from the caller (`now`), so tests move a fake clock instead of sleeping.

On PostgreSQL, where each lookup is a network round trip, valid access tokens are also kept in
memory for up to 30 seconds (AccessTokenCache). Any change to a grant or an access token row
(a revocation, or an edit by hand) empties that cache in every server process at once: this
process directly, every process through a trigger's NOTIFY (migrations/versions/0001)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Row, Table, Update, bindparam, delete, insert, select, update

from app.db import Database, Listener
from app.settings import CLIENT_ID, Settings, redirect_uri_problem
from app.tables import (
    access_tokens,
    clients,
    codes,
    failures,
    grants,
    refresh_tokens,
    sessions,
    users,
)

CODE_PREFIX = "pac_"
ACCESS_PREFIX = "pat_"
REFRESH_PREFIX = "prt_"
CLIENT_SECRET_PREFIX = "pcs_"  # pragma: allowlist secret
SESSION_PREFIX = "pss_"
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_LENGTH = 10

REVOCATIONS = "oauth_revocations"  # the trigger of migrations/versions/0001 notifies it

# Argon2id (argon2-cffi's default type) with its default, RFC 9106-inspired cost: 64 MiB of
# memory per hash. At most MAX_CONCURRENT_HASHES run at once, so that a burst of logins
# cannot exhaust the server's memory, and MAX_WAITING_HASHES more wait their turn, each in a
# worker thread: the next ones are turned away (Busy) before they take every thread.
_hasher = PasswordHasher()
MAX_CONCURRENT_HASHES = 2
MAX_WAITING_HASHES = 8
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_admitted = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES)


class Busy(Exception):
    """Too many sign-ins are waiting for a password check: try again in a moment."""


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the user does not exist, so a login takes as long either way."""
    return hasher.hash("not a password: only here to spend the same time")


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """SHA-256, hex: enough for random 256-bit values (no slow hash needed, unlike passwords)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def check_user_name(name: str) -> None:
    if not USER_NAME.match(name):
        raise ValueError("a user name is 1 to 64 letters, digits, `_`, `.`, `@` or `-`")


# --- clients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    secret_hash: str  # empty for a public client
    redirect_uris: tuple[str, ...]
    # No secret (RFC 7591 `none`): authenticated by PKCE alone.
    public: bool = False
    # Registered by itself (RFC 7591) or described by its own metadata document, not by the
    # server's owner: its name is its own claim.
    registered: bool = False
    # private_key_jwt (a client metadata document's `jwks_uri`): its key set; else empty.
    jwks_uri: str = ""

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(digest(secret), self.secret_hash)


def get_client(db: Database, settings: Settings, client_id: str) -> Client | None:
    """The client from the environment (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_REDIRECT_URIS),
    or one in the database."""
    main = settings.oauth_client_id.encode()
    if settings.oauth_client_secret and hmac.compare_digest(client_id.encode(), main):
        secret_hash = digest(settings.oauth_client_secret)
        return Client(client_id, "ChatGPT", secret_hash, tuple(settings.oauth_redirect_uris))
    if not CLIENT_ID.match(client_id):
        return None
    with db.begin() as conn:
        row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
    if row is None:
        return None
    uris = tuple(u for u in row.redirect_uris.split("\n") if u)
    return Client(
        row.client_id, row.name, row.secret_hash, uris, bool(row.public), bool(row.registered)
    )


def add_client(
    db: Database, settings: Settings, client_id: str, redirect_uris: list[str], now: float
) -> str:
    """Registers a client and returns its secret (shown once; only its hash is stored)."""
    if not CLIENT_ID.match(client_id):
        raise ValueError("a client id is 1 to 64 letters, digits, `_`, `.` or `-`")
    if client_id == settings.oauth_client_id:
        raise ValueError(f"`{client_id}` is the client configured in .env (OAUTH_CLIENT_ID)")
    if not redirect_uris:
        raise ValueError("give at least one --redirect-uri")
    for uri in redirect_uris:
        if problem := redirect_uri_problem(uri):
            raise ValueError(problem)
    secret = new_secret(CLIENT_SECRET_PREFIX)
    with db.begin() as conn:
        if conn.scalar(select(clients.c.client_id).where(clients.c.client_id == client_id)):
            raise ValueError(f"a client `{client_id}` exists already")
        conn.execute(
            insert(clients).values(
                client_id=client_id,
                name=client_id,
                secret_hash=digest(secret),
                redirect_uris="\n".join(redirect_uris),
                created_at=now,
            )
        )
    return secret


# --- users and login sessions ---------------------------------------------------------------


def create_user(db: Database, name: str, password: str, now: float) -> None:
    check_user_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    with _hashing:
        password_hash = _hasher.hash(password)
    with db.begin() as conn:
        if conn.scalar(select(users.c.name).where(users.c.name == name)):
            raise ValueError(f"a user `{name}` exists already")
        conn.execute(insert(users).values(name=name, password_hash=password_hash, created_at=now))


def check_password(db: Database, name: str, password: str) -> bool:
    """Whether `password` is the user's; raises Busy when too many checks are under way."""
    if not _admitted.acquire(blocking=False):
        raise Busy
    try:
        stored = None
        if USER_NAME.match(name):
            with db.begin() as conn:
                stored = conn.scalar(select(users.c.password_hash).where(users.c.name == name))
        with _hashing:
            return _hasher.verify(stored or _dummy_hash(_hasher), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _admitted.release()


def start_session(db: Database, user: str, now: float, lifetime: float) -> str:
    """A short login session for the authorize flow (login, then consent); returns its cookie."""
    session = new_secret(SESSION_PREFIX)
    with db.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
        row = {"session_hash": digest(session), "user_name": user, "expires_at": now + lifetime}
        conn.execute(insert(sessions), row)
    return session


def session_user(db: Database, session: str | None, now: float) -> str | None:
    if not session or not session.startswith(SESSION_PREFIX):
        return None
    live = (sessions.c.session_hash == digest(session)) & (sessions.c.expires_at > now)
    with db.begin() as conn:
        return conn.scalar(select(sessions.c.user_name).where(live))


def end_session(db: Database, session: str | None) -> None:
    if session:
        with db.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.session_hash == digest(session)))


# --- grants, codes and tokens ---------------------------------------------------------------


def create_grant(
    db: Database, client_id: str, user: str, scope: str, now: float, resource: str | None = None
) -> str:
    """A grant; `resource` is the RFC 8707 resource the authorization request named, if any."""
    grant_id = secrets.token_hex(16)
    with db.begin() as conn:
        conn.execute(
            insert(grants).values(
                id=grant_id,
                client_id=client_id,
                user_name=user,
                scope=scope,
                created_at=now,
                resource=resource,
            )
        )
    return grant_id


def issue_code(
    db: Database,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    user: str,
    challenge: str | None,
    now: float,
    lifetime: int,
    resource: str | None = None,
) -> str:
    """A new grant and its authorization code, bound to the client, the redirect URI, the scope,
    the user, the PKCE challenge and the resource."""
    grant_id = create_grant(db, client_id, user, scope, now, resource)
    code = new_secret(CODE_PREFIX)
    with db.begin() as conn:
        conn.execute(
            insert(codes).values(
                code_hash=digest(code),
                grant_id=grant_id,
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                user_name=user,
                challenge=challenge,
                expires_at=now + lifetime,
            )
        )
    return code


# The statements every token request runs are built once, with parameters (bindparam): the
# request pays only for running them.
_FIND_CODE = (
    select(codes, grants.c.revoked_at, grants.c.resource)
    .join(grants, grants.c.id == codes.c.grant_id)
    .where(codes.c.code_hash == bindparam("hash"))
)
_FIND_REFRESH_TOKEN = (
    select(refresh_tokens, grants.c.user_name, grants.c.revoked_at, grants.c.resource)
    .join(grants, grants.c.id == refresh_tokens.c.grant_id)
    .where(refresh_tokens.c.token_hash == bindparam("hash"))
)


def _use_once(table: Table, hash_column: str) -> Update:
    """Marks a code or refresh token (`hash`) used at `now`, unless it was: the row count says
    whether this caller was the one."""
    unused = table.c[hash_column] == bindparam("hash"), table.c.used_at.is_(None)
    return update(table).where(*unused).values(used_at=bindparam("now"))


_USE_CODE = _use_once(codes, "code_hash")
_USE_REFRESH_TOKEN = _use_once(refresh_tokens, "token_hash")


def find_code(db: Database, code: str) -> Row[Any] | None:
    """The code's row, with its grant's `revoked_at` and `resource`; None when unknown."""
    if not code.startswith(CODE_PREFIX):
        return None
    with db.begin() as conn:
        return conn.execute(_FIND_CODE, {"hash": digest(code)}).first()


def consume_code(db: Database, code_hash: str, now: float) -> bool:
    """Marks the code used; True for exactly one caller however many race (one atomic UPDATE)."""
    with db.begin() as conn:
        return conn.execute(_USE_CODE, {"hash": code_hash, "now": now}).rowcount == 1


def revoke_grant(db: Database, grant_id: str, now: float) -> None:
    """Revokes the grant: its access and refresh tokens stop working at once."""
    _revoke(db, grants, grants.c.id == grant_id, now)


def revoke_user_grants(db: Database, user: str, now: float) -> int:
    return _revoke(db, grants, grants.c.user_name == user, now)


def _revoke(db: Database, table: Table, which: ColumnElement[bool], now: float) -> int:
    """Revokes the grants or access tokens `which` picks, unless they were; returns how many."""
    with db.begin() as conn:
        live = which & table.c.revoked_at.is_(None)
        revoked = conn.execute(update(table).where(live).values(revoked_at=now)).rowcount
    if revoked:
        _changed(db)
    return revoked


def issue_tokens(
    db: Database,
    settings: Settings,
    *,
    grant_id: str,
    client_id: str,
    user: str,
    scope: str,
    refresh_scope: str | None = None,
    refresh_expires_at: float | None = None,
    now: float,
) -> dict[str, Any]:
    """A new access token and refresh token for the grant; the token response's body.

    The refresh token keeps the grant's scope and its absolute expiry (rotation never extends
    it); the access token may carry a narrower scope."""
    access = new_secret(ACCESS_PREFIX)
    refresh = new_secret(REFRESH_PREFIX)
    if refresh_expires_at is None:
        refresh_expires_at = now + settings.oauth_refresh_token_lifetime
    with db.begin() as conn:
        conn.execute(
            insert(access_tokens),
            {
                "token_hash": digest(access),
                "grant_id": grant_id,
                "client_id": client_id,
                "user_name": user,
                "scope": scope,
                "expires_at": now + settings.oauth_access_token_lifetime,
            },
        )
        conn.execute(
            insert(refresh_tokens),
            {
                "token_hash": digest(refresh),
                "grant_id": grant_id,
                "client_id": client_id,
                "scope": refresh_scope or scope,
                "expires_at": refresh_expires_at,
            },
        )
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": settings.oauth_access_token_lifetime,
        "refresh_token": refresh,
        "scope": scope,
    }


@dataclass(frozen=True)
class AccessToken:
    user: str
    scopes: frozenset[str]
    client_id: str
    # The RFC 8707 resource the grant is for; None when the client named none (a GPT Action).
    resource: str | None = None
    grant_id: str = ""


def check_access_token(db: Database, token: str, now: float) -> AccessToken | None:
    """The live access token's user and scopes, or None (unknown, expired or revoked)."""
    return cached_access_token(db, token, now) or lookup_access_token(db, token, now)


def cached_access_token(db: Database, token: str, now: float) -> AccessToken | None:
    """The token from the cache alone, None when it is not there: cheap enough to ask on the
    event loop before lookup_access_token() goes to the database in a thread."""
    if not token.startswith(ACCESS_PREFIX):
        return None
    return token_cache(db).get(digest(token), now)


# Asked on every API call (unless the cache answers): built once.
_LIVE_ACCESS_TOKEN = (
    select(
        access_tokens.c.user_name,
        access_tokens.c.scope,
        access_tokens.c.client_id,
        access_tokens.c.expires_at,
        access_tokens.c.grant_id,
        grants.c.resource,
    )
    .join(grants, grants.c.id == access_tokens.c.grant_id)
    .where(
        access_tokens.c.token_hash == bindparam("token_hash"),
        access_tokens.c.revoked_at.is_(None),
        grants.c.revoked_at.is_(None),
    )
)


def lookup_access_token(db: Database, token: str, now: float) -> AccessToken | None:
    """check_access_token() from the database, whose answer the cache keeps."""
    if not token.startswith(ACCESS_PREFIX):
        return None
    token_hash = digest(token)
    cache = token_cache(db)
    generation = cache.generation()
    with db.begin() as conn:
        row = conn.execute(_LIVE_ACCESS_TOKEN, {"token_hash": token_hash}).first()
    if row is None or row.expires_at <= now:
        return None
    scopes = frozenset(row.scope.split())
    found = AccessToken(row.user_name, scopes, row.client_id, row.resource, row.grant_id)
    cache.put(token_hash, found, row.expires_at, generation)
    return found


# --- the access token cache -----------------------------------------------------------------


class AccessTokenCache:
    """Valid access tokens by hash, so that most API calls need no database round trip.

    - An entry lives until its token expires or for MAX_AGE seconds, whichever comes first, and
      at most MAX_ENTRIES are kept (the least recently used go first). Unknown or invalid
      tokens are never cached: a wrong token always costs a lookup.
    - Any change to a grant or an access token empties the cache of every process: this
      process's at once (_changed). On PostgreSQL every process's on the trigger's NOTIFY: the
      cache answers and stores only while `healthy()` (its Listener) vouches that no
      notification is missed, and starts empty on each new LISTEN connection. On SQLite,
      whenever `version()` (the database's data_version) moved: any commit by any connection,
      of any process, empties it before its next answer. MAX_AGE is a last bound for anything
      that would still slip through.
    - A lookup that read the database before a change must not store its now stale answer
      after it: put() takes the generation() read before the lookup and stores nothing if the
      cache was emptied since."""

    MAX_AGE = 30.0
    MAX_ENTRIES = 10_000

    def __init__(
        self,
        healthy: Callable[[], bool],
        monotonic: Callable[[], float] = time.monotonic,
        version: Callable[[], int] | None = None,
    ) -> None:
        self.healthy = healthy
        self._monotonic = monotonic
        self._version = version
        self._seen: int | None = None
        self._entries: OrderedDict[str, tuple[AccessToken, float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    def _catch_up(self) -> None:
        # With the lock held: a new version means a commit since the last look.
        if self._version is not None and (seen := self._version()) != self._seen:
            self._seen = seen
            self._entries.clear()
            self._generation += 1

    def reset(self) -> None:
        """Forgets every token."""
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def generation(self) -> int | None:
        with self._lock:
            self._catch_up()
            return self._generation if self.healthy() else None

    def get(self, token_hash: str, now: float) -> AccessToken | None:
        if not self.healthy():
            return None
        with self._lock:
            self._catch_up()
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            token, expires_at, stale_at = entry
            if expires_at <= now or stale_at <= self._monotonic():
                del self._entries[token_hash]
                return None
            self._entries.move_to_end(token_hash)
            return token

    def put(
        self, token_hash: str, token: AccessToken, expires_at: float, generation: int | None
    ) -> None:
        with self._lock:
            self._catch_up()
            if generation is None or generation != self._generation or not self.healthy():
                return
            self._entries[token_hash] = (token, expires_at, self._monotonic() + self.MAX_AGE)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.MAX_ENTRIES:
                self._entries.popitem(last=False)

    def size(self) -> int:
        """How many tokens it holds (a method, not __len__: an empty cache is still a cache)."""
        return len(self._entries)


_caches: weakref.WeakKeyDictionary[Database, tuple[AccessTokenCache, Listener | None]] = (
    weakref.WeakKeyDictionary()
)
_caches_lock = threading.Lock()


def token_cache(db: Database) -> AccessTokenCache:
    """The database's access token cache: on PostgreSQL listening for changes from its first
    use, on SQLite asking the database's data_version before each answer."""
    found = _caches.get(db)
    if found is None:
        with _caches_lock:
            found = _caches.get(db)
            if found is None and not db.postgres:
                cache = AccessTokenCache(lambda: True, version=db.data_version)
                found = _caches[db] = (cache, None)
            if found is None:
                listener = db.listener(REVOCATIONS)
                cache = AccessTokenCache(listener.healthy)

                def on_notify(payload: str | None) -> None:
                    # None: a new connection, anything may have changed. Another schema's
                    # tables (another deployment on this database) are not ours.
                    if payload is None or payload == listener.schema:
                        cache.reset()

                listener.start(on_notify)
                found = _caches[db] = (cache, listener)
    return found[0]


def token_listener(db: Database) -> Listener | None:
    """The Listener behind token_cache(db), once there is one (the tests ask it)."""
    found = _caches.get(db)
    return found[1] if found else None


def _changed(db: Database) -> None:
    """After a revocation has committed: this process answers from the database again at
    once (the trigger's NOTIFY tells the others, and this one too, moments later)."""
    found = _caches.get(db)
    if found is not None:
        found[0].reset()


def find_refresh_token(db: Database, token: str) -> Row[Any] | None:
    """The refresh token's row, with its grant's `user_name`, `revoked_at` and `resource`; None
    when unknown."""
    if not token.startswith(REFRESH_PREFIX):
        return None
    with db.begin() as conn:
        return conn.execute(_FIND_REFRESH_TOKEN, {"hash": digest(token)}).first()


def consume_refresh_token(db: Database, token_hash: str, now: float) -> bool:
    """Marks the refresh token used (rotation); True for exactly one caller."""
    with db.begin() as conn:
        return conn.execute(_USE_REFRESH_TOKEN, {"hash": token_hash, "now": now}).rowcount == 1


def revoke_token(db: Database, token: str, client_id: str, now: float) -> None:
    """RFC 7009: revokes an access token, or a refresh token and with it its whole grant, when it
    belongs to `client_id`; anything else is silently ignored."""
    refresh = find_refresh_token(db, token)
    if refresh is not None:
        if refresh.client_id == client_id:
            revoke_grant(db, refresh.grant_id, now)
        return
    if token.startswith(ACCESS_PREFIX):
        t = access_tokens.c
        mine = (t.token_hash == digest(token)) & (t.client_id == client_id)
        _revoke(db, access_tokens, mine, now)


def purge_expired(db: Database, settings: Settings, now: float) -> int:
    """Deletes what can no longer be used; returns how many rows went. Codes and grants stay as
    long as a refresh token of theirs could live, so that a late replay is still caught."""
    keep = now - settings.oauth_refresh_token_lifetime - settings.oauth_code_lifetime
    statements = [
        delete(access_tokens).where(access_tokens.c.expires_at <= now),
        delete(refresh_tokens).where(refresh_tokens.c.expires_at <= now),
        delete(sessions).where(sessions.c.expires_at <= now),
        delete(codes).where(codes.c.expires_at <= keep),
        delete(grants).where(grants.c.created_at <= keep),
        delete(failures).where(failures.c.started <= keep),  # the guard's, of windows long over
    ]
    with db.begin() as conn:
        return sum(max(conn.execute(statement).rowcount, 0) for statement in statements)
