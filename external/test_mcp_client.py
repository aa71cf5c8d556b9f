"""The official MCP Python SDK's client against each generated project's /mcp: the tools are
listed and called over Streamable HTTP with the mode's credentials; with oauth the SDK's own
OAuth client finds everything from the 401 (resource metadata, authorization server metadata),
signs in with PKCE and `resource`, and refreshes. Any deviation from what the SDK expects fails."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import mcp_flow
from conftest import target_names

pytestmark = pytest.mark.tool("mcp-sdk")

TODO = {"text": "from the MCP SDK"}


def _names(result) -> list[str]:
    return sorted(t.name for t in result.tools)


@pytest.mark.parametrize("name", [n for n in target_names() if not n.startswith("oauth")])
def test_tools_are_listed_and_called_with_the_modes_credentials(name, target_for, record_property):
    target = target_for(name)

    async def work(client):
        tools = await client.list_tools()
        listed = await client.call_tool("get_todos", {})
        created = await client.call_tool("post_todos", TODO) if "post_todos" in _names(tools) else None
        return tools, listed, created

    (tools, listed, created), _ = asyncio.run(mcp_flow.session(target, work, headers=target.auth_headers()))
    assert not listed.is_error and "items" in listed.structured_content
    by_name = {t.name: t for t in tools.tools}
    assert by_name["get_todos"].annotations.read_only_hint is True
    if target.mode == "none":
        assert "post_todos" not in by_name, "with auth none, write operations are not tools"
        record_property("detail", f"tools: {', '.join(sorted(by_name))} (read-only)")
        return
    assert created is not None and not created.is_error
    # The tool called what the route calls: the REST API lists the item with the same credential.
    items = httpx.get(target.url + "/todos", headers=target.auth_headers(), timeout=10).json()["items"]
    assert created.structured_content in items
    record_property("detail", f"{len(by_name)} tools; post_todos via MCP is listed by GET /todos")


@pytest.mark.parametrize("name", [n for n in target_names() if not n.startswith("oauth") and n != "none"])
def test_missing_credentials_are_refused(name, target_for):
    target = target_for(name)
    # What the SDK meets, seen directly: a 401 (so its exception below is that refusal, not
    # some other failure).
    assert _initialize(target, {}).status_code == 401
    with pytest.raises(Exception):  # the SDK raises on the 401 (it has no OAuth to fall back on)
        asyncio.run(mcp_flow.session(target, lambda client: client.list_tools()))


def _initialize(target, headers: dict) -> httpx.Response:
    return httpx.post(target.url + "/mcp", timeout=10, headers={"Accept": "application/json, text/event-stream", **headers}, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "external", "version": "1"}},
    })


@pytest.mark.parametrize("auth_method", ["none", "client_secret_post"])
@pytest.mark.parametrize("name", [n for n in target_names() if n.startswith("oauth")])
def test_the_sdk_oauth_client_discovers_registers_signs_in_and_refreshes(name, auth_method, target_for, record_property):
    target = target_for(name)
    storage = mcp_flow.Memory()
    provider = mcp_flow.oauth_provider(target, storage, auth_method)
    seen_authorize: list[str] = []
    inner = provider.context.redirect_handler

    async def recording(url: str) -> None:
        seen_authorize.append(url)
        await inner(url)

    provider.context.redirect_handler = recording

    async def work(client):
        tools = await client.list_tools()
        created = await client.call_tool("post_todos", TODO)
        listed = await client.call_tool("get_todos", {})
        return tools, created, listed

    (tools, created, listed), transport = asyncio.run(mcp_flow.session(target, work, auth=provider))
    assert "post_todos" in _names(tools) and not created.is_error
    assert created.structured_content in listed.structured_content["items"]
    # Discovery from the 401: the endpoint's own resource metadata, then the server's; then
    # dynamic registration.
    assert transport.seen[:4] == [
        "POST /mcp", "GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-authorization-server",
        "POST /oauth/register",
    ], transport.seen
    assert storage.client.token_endpoint_auth_method == auth_method
    assert (storage.client.client_secret is None) == (auth_method == "none")
    (url,) = seen_authorize
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    base = mcp_flow.public_base(target)
    assert query["code_challenge_method"] == "S256" and query["resource"] == base + "/mcp"
    tokens = storage.tokens
    assert tokens is not None and tokens.refresh_token
    # A token for /mcp is not one for the REST API, and the REST API's is not one for /mcp.
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    assert httpx.get(target.url + "/todos", headers=bearer, timeout=10).status_code == 401
    refused = _initialize(target, target.auth_headers())
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    with pytest.raises(Exception):
        asyncio.run(mcp_flow.session(target, lambda client: client.list_tools(), headers=target.auth_headers()))

    # Refresh: the SDK finds the access token expired and uses the refresh token.
    again = mcp_flow.oauth_provider(target, storage, auth_method)
    again.context.token_expiry_time = 1.0
    listed_again, transport = asyncio.run(mcp_flow.session(target, lambda client: client.call_tool("get_todos", {}), auth=again))
    assert not listed_again.is_error
    assert "POST /oauth/token" in transport.seen and "GET /.well-known/oauth-protected-resource/mcp" in transport.seen
    assert storage.tokens.access_token != tokens.access_token
    assert storage.tokens.refresh_token != tokens.refresh_token, "refresh tokens rotate"
    record_property("detail", f"401 → RFC 9728 → RFC 8414 → RFC 7591 ({auth_method}) → PKCE S256 + resource → token → tools/call → refresh")


@pytest.mark.parametrize("name", ["service_http"])
def test_the_2026_protocol_is_served_too(name, target_for, record_property):
    """The SDK's default mode negotiates the newest protocol (2026-07-28, no initialize)."""
    target = target_for(name)
    base = mcp_flow.public_base(target)
    transport = mcp_flow.ToLocal(base, target.url)

    async def run():
        async with httpx2.AsyncClient(transport=transport, headers=target.auth_headers(), timeout=30) as http:
            async with Client(streamable_http_client(base + "/mcp", http_client=http)) as client:
                tools = await client.list_tools()
                return tools, client.protocol_version

    tools, version = asyncio.run(run())
    assert "get_todos" in _names(tools)
    assert version == "2026-07-28", version
    record_property("detail", f"negotiated {version}")
