"""bench/oauth.sh's server: the generated application, plus an unauthenticated copy of its list
endpoint at /bench/open, so that the two endpoints compared differ only by the token check.
Run from the generated project's directory (BENCH_PATH = the list endpoint's path)."""

from __future__ import annotations

import os

from fastapi import Request

from app import routes
from app.main import create_app

app = create_app()
COLLECTION = os.environ.get("BENCH_PATH", "/todos")


@app.get("/bench/open", response_model=routes.ItemList)
def open_list(request: Request) -> routes.ItemList:
    return routes._item_list(request.app.state.store.list("bench", COLLECTION))
