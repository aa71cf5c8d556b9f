"""bench/oauth.sh's server: the generated application, plus unauthenticated copies of its list
endpoint at /bench/open and of its MCP endpoint at /bench/mcp-open (the same MCP server, its
gate skipped), so that the endpoints compared differ only by the token check. Run from the
generated project's directory (BENCH_PATH = the list endpoint's path)."""

from __future__ import annotations

import os

from fastapi import APIRouter
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from app import main
from app.deps import Store
from app.models import ItemList
from app.settings import SCOPES

app = main.app  # as `uvicorn app.main:app` builds it
COLLECTION = os.environ.get("BENCH_PATH", "/todos")


def _paths(route: object) -> list[str]:
    inner = getattr(route, "original_router", None)
    return [getattr(r, "path", "") for r in getattr(inner, "routes", [])]


bench = APIRouter()


@bench.get("/bench/open")
def open_list(_store: Store) -> ItemList:
    """The list endpoint's work, on the same dependency for the store, without the caller's."""
    with _store.lock:
        return ItemList(items=list(_store.of("bench", COLLECTION).values()))


# FastAPI matches an included router's routes when a request comes (its routes are not copied
# into the app's): /bench/open is included as the API's routes are, and placed before them, so
# that it pays the same matching as /todos, or less. Defined on the app itself it would skip
# that work, and the token check would be charged for it.
app.include_router(bench)
api = next(i for i, r in enumerate(app.router.routes) if COLLECTION in _paths(r))
app.router.routes.insert(api, app.router.routes.pop())


class OpenMcp:
    """/mcp's MCP server without its gate: no Origin, credential, audience or scope check (an
    ASGI app, as the generated app's McpEndpoint is)."""

    async def __call__(self, scope, receive, send) -> None:
        scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        scope["user"] = AuthenticatedUser(AccessToken(token="", client_id="", scopes=list(SCOPES), subject="bench"))
        await app.state.mcp.app(scope, receive, send)


app.add_route("/bench/mcp-open", OpenMcp(), include_in_schema=False)
