"""The application's routes and the operations of openapi.yaml are the same set."""

from __future__ import annotations

from fastapi.routing import APIRoute

from tests.spec import operations


def api_routes(routes):
    """Every APIRoute, looking inside included routers (FastAPI keeps them wrapped)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes"):
            yield from api_routes(inner.routes)


def test_routes_and_spec_agree(app):
    served = {
        (method, route.path, route.operation_id)
        for route in api_routes(app.routes)
        if route.include_in_schema
        for method in route.methods
    }
    declared = {(method, path, op["operationId"]) for method, path, op in operations()}
    assert declared, "the spec has operations"
    assert served == declared
