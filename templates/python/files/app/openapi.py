"""The OpenAPI document, served at /openapi.yaml: FastAPI builds it from the routes (app.routes),
and this adds, once for every operation, the server URL, the headers every answer carries and
the error answers (400, 401, 403, 404, 413, 422, 429, 500), shared by `$ref`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from app.settings import BASE_URL, CONTACT_EMAIL, DESCRIPTION_FOR_HUMAN, NAME_FOR_HUMAN


def _header(description: str, maximum: int = 2**31 - 1) -> dict[str, Any]:
    schema = {"type": "integer", "format": "int32", "minimum": 0, "maximum": maximum}
    return {"description": description, "schema": schema}


HEADERS = {
    "Access-Control-Allow-Origin": {
        "description": "Present only for the configured origins (ALLOWED_ORIGINS), never `*`.",
        "schema": {"type": "string", "format": "uri", "maxLength": 200},
    },
    "RateLimit-Limit": _header("Requests allowed in the current window."),
    "RateLimit-Remaining": _header("Requests left in the current window."),
    "RateLimit-Reset": _header("Seconds until the window resets."),
    "Retry-After": _header("Seconds to wait.", 86_400),
}
COUNTED = list(HEADERS)[:4]  # on every answer but a 500's, which has only the first

ERROR = {"type": "object", "required": ["detail"]}
SCHEMAS = {
    "Error": {**ERROR, "properties": {"detail": {"type": "string", "maxLength": 1000}}},
    "ValidationError": {
        **ERROR,
        "properties": {"detail": {"type": "array", "maxItems": 100, "items": {"type": "object"}}},
    },
}

# The error answers: status → (component name, description, body schema, headers).
ANSWERS = {
    "400": ("BadRequest", "The request body is not UTF-8 text.", "Error", COUNTED),
    "401": ("Unauthorized", "Missing, invalid or expired credentials.", "Error", COUNTED),
    "403": ("Forbidden", "The token lacks the scope this operation needs.", "Error", COUNTED),
    "404": ("NotFound", "No such item.", "Error", COUNTED),
    "413": ("TooLarge", "The request body is over the server's limit.", "Error", COUNTED),
    "422": ("Invalid", "A parameter or the body (JSON) is not valid.", "ValidationError", COUNTED),
    "429": ("TooManyRequests", "Too many requests.", "Error", list(HEADERS)),
    "500": ("ServerError", "An unexpected error (no details).", "Error", COUNTED[:1]),
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def build(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The document of `routes` (those with `include_in_schema`)."""
    doc = get_openapi(
        title=NAME_FOR_HUMAN,
        version="1.0.0",
        description=DESCRIPTION_FOR_HUMAN,
        routes=routes,
        # `x-internal: false`: the server is meant for the public (OWASP API9 inventory).
        servers=[{"url": BASE_URL, "x-internal": False}],
    )
    doc["info"]["contact"] = {"email": CONTACT_EMAIL}
    used = set()
    for operation in (op for item in doc.get("paths", {}).values() for op in item.values()):
        answers = operation["responses"]
        for answer in answers.values():
            answer["headers"] = {name: _ref("headers", name) for name in COUNTED}
        # A route's own error answers (`responses=`, FastAPI's 422) become the shared ones; any
        # operation may be refused for its rate limit, or fail.
        errors = {"429", "500"} | (ANSWERS.keys() & answers.keys())
        security = operation.get("security", [])
        errors |= {"400", "413"} if "requestBody" in operation else set()
        errors |= {"401"} if security else set()
        errors |= {"403"} if any(s for need in security for s in need.values()) else set()
        answers.update({status: _ref("responses", ANSWERS[status][0]) for status in sorted(errors)})
        used |= errors
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)  # FastAPI's, replaced by the handlers' shape
    schemas.update({ANSWERS[s][2]: SCHEMAS[ANSWERS[s][2]] for s in used})
    components["responses"] = {
        name: {
            "description": description,
            "headers": {h: _ref("headers", h) for h in headers},
            "content": {"application/json": {"schema": _ref("schemas", schema)}},
        }
        for name, description, schema, headers in (ANSWERS[s] for s in sorted(used))
    }
    components["headers"] = HEADERS
    return doc


def document(app: FastAPI) -> dict[str, Any]:
    """The app's document, built once."""
    if app.openapi_schema is None:
        app.openapi_schema = build(app.routes)
    return app.openapi_schema
