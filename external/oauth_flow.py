"""authlib's OAuth 2 client against a generated authorization server.

The server's metadata names its public base URL (e.g. http://localhost:8000); the client talks
to 127.0.0.1:<port> instead, so endpoints are rewritten onto the local address. The redirect
URI stays the configured https one: the pages' final redirect is read, never followed."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlsplit

import httpx
import httpx2  # authlib's client is built on httpx2 when it is installed (the MCP SDK needs it)
from authlib.integrations.httpx_client import OAuth2Client

from support import REDIRECT_URI, Target, answer_pages


def metadata(target: Target) -> dict:
    response = httpx.get(target.url + "/.well-known/oauth-authorization-server", timeout=10)
    response.raise_for_status()
    return response.json()


def local(target: Target, url: str) -> str:
    parts = urlsplit(url)
    return target.url + parts.path + ("?" + parts.query if parts.query else "")


class JsonBodyTransport(httpx2.BaseTransport):
    """Re-encodes each token request that authlib built (client credentials included) as a JSON
    object, as ChatGPT does when the manifest says `authorization_content_type:
    application/json`. Everything else passes unchanged."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()
        self.sent_json = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path == "/oauth/token" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = request.read().decode()
            fields = dict(parse_qsl(body, keep_blank_values=True))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")}
            request = httpx2.Request("POST", request.url, headers=headers, json=fields)
            self.sent_json += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def client(target: Target, auth_method: str = "client_secret_post", json_body: bool = False,
           **kwargs) -> OAuth2Client:
    env = target.project.env
    transport = JsonBodyTransport() if json_body else None
    if transport:
        kwargs["transport"] = transport
    oauth = OAuth2Client(
        client_id=env["OAUTH_CLIENT_ID"],
        client_secret=env["OAUTH_CLIENT_SECRET"],
        scope=kwargs.pop("scope", "read write"),
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method=auth_method,
        timeout=20,
        **kwargs,
    )
    oauth.json_transport = transport
    return oauth


def authorize(target: Target, oauth: OAuth2Client, state: str | None = None, **params) -> tuple[str, str]:
    """Runs the pages as a user; returns (redirect back to the client, the state sent)."""
    meta = metadata(target)
    state = state or "st-" + secrets.token_urlsafe(24)
    url, state = oauth.create_authorization_url(meta["authorization_endpoint"], state=state, **params)
    redirect = answer_pages(url, target.url, target.user, target.password)
    return redirect, state


def token_by_code_flow(target: Target, auth_method: str = "client_secret_post", json_body: bool = False) -> dict:
    oauth = client(target, auth_method, json_body)
    redirect, state = authorize(target, oauth)
    meta = metadata(target)
    token = oauth.fetch_token(local(target, meta["token_endpoint"]), authorization_response=redirect, state=state)
    return dict(token)
