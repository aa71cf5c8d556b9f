"""The official MCP Python SDK's client (`mcp`) against a generated MCP endpoint.

The server's public base URL (e.g. http://localhost:8000) names where clients find it; the
client reaches 127.0.0.1:<port> instead, through a transport that sends every request for the
public base to the local address, so URLs in headers and metadata stay as the server wrote them."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from support import Target, answer_pages, query_of

# A loopback callback, as desktop and CLI MCP clients use; never listened on: the pages' final
# redirect is read, not followed.
CALLBACK = "http://127.0.0.1:53682/callback"


class ToLocal(httpx2.AsyncBaseTransport):
    """Sends requests for the server's public base URL to where it listens."""

    def __init__(self, public: str, local: str) -> None:
        self.public = urlsplit(public)
        self.local = urlsplit(local)
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen: list[str] = []  # "METHOD path" of every request, for the tests to read

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if (request.url.scheme, request.url.netloc.decode()) == (self.public.scheme, self.public.netloc):
            request.url = request.url.copy_with(scheme=self.local.scheme, netloc=self.local.netloc.encode())
        self.seen.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Memory:
    """The SDK's TokenStorage, in memory; `client` is the registration the server gave us."""

    def __init__(self, client: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client = client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def public_base(target: Target) -> str:
    return target.project.env.get("PUBLIC_BASE_URL") or _generated_base(target)


def _generated_base(target: Target) -> str:
    # The base URL the project was generated with, as its plugsmith.toml records it.
    for line in (target.project.path / "plugsmith.toml").read_text().splitlines():
        if line.startswith("base_url"):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("plugsmith.toml names no base_url")


async def session(target: Target, work, auth: httpx2.Auth | None = None, headers: dict | None = None) -> tuple[Any, ToLocal]:
    """Runs `work(client)` with an MCP client session on the target's /mcp; returns its result
    and the transport (which saw every request)."""
    base = public_base(target)
    transport = ToLocal(base, target.url)
    async with httpx2.AsyncClient(transport=transport, auth=auth, headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(base + "/mcp", http_client=http), mode="legacy") as client:
            return await work(client), transport


def oauth_provider(target: Target, storage: Memory, auth_method: str = "none", scope: str = "read write") -> OAuthClientProvider:
    """The SDK's OAuth client: it registers itself (RFC 7591) unless `storage` holds a client,
    and the user signs in and presses Allow on the generated pages (headlessly) when the SDK
    sends them there."""
    code: asyncio.Future[AuthorizationCodeResult] | None = None

    async def redirect_handler(authorization_url: str) -> None:
        nonlocal code
        code = asyncio.get_running_loop().create_future()
        back = await asyncio.to_thread(answer_pages, authorization_url, target.url, target.user, target.password)
        q = query_of(back)
        code.set_result(AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss")))

    async def callback_handler() -> AuthorizationCodeResult:
        assert code is not None, "the SDK asked for the callback before sending the user anywhere"
        return await code

    return OAuthClientProvider(
        server_url=public_base(target) + "/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="external suite", redirect_uris=[CALLBACK], scope=scope,
            grant_types=["authorization_code", "refresh_token"], response_types=["code"],
            token_endpoint_auth_method=auth_method,
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
