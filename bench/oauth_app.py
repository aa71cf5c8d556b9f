"""bench/oauth.sh's server: the generated application, plus unauthenticated copies of its list
endpoint at /bench/open and of its MCP endpoint at /bench/mcp-open (the same MCP server, its
gate skipped), so that the endpoints compared differ only by the token check. Run from the
generated project's directory (BENCH_PATH = the list endpoint's path)."""

from __future__ import annotations

import os

from fastapi import Request
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from app import items, main
from app.models import ItemList
from app.settings import SCOPES

app = main.app  # as `uvicorn app.main:app` builds it
COLLECTION = os.environ.get("BENCH_PATH", "/todos")


@app.get("/bench/open")
def open_list(request: Request) -> ItemList:
    store: items.ItemStore = request.app.state.store
    with store.lock:
        return ItemList(items=list(store.of("bench", COLLECTION).values()))


class OpenMcp:
    """/mcp's MCP server without its gate: no Origin, credential, audience or scope check (an
    ASGI app, as the generated app's McpEndpoint is)."""

    async def __call__(self, scope, receive, send) -> None:
        scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        scope["user"] = AuthenticatedUser(AccessToken(token="", client_id="", scopes=list(SCOPES), subject="bench"))
        await app.state.mcp.app(scope, receive, send)


app.add_route("/bench/mcp-open", OpenMcp(), include_in_schema=False)
