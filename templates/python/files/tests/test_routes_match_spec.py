"""The application's routes and the operations of openapi.yaml are the same set."""

from __future__ import annotations

from app.security import api_routes
from tests.spec import operations


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
