"""The OpenAPI document: FastAPI builds it from the routes (app.routes), so adding a route adds
its operation. Served at /openapi.yaml, where the manifest and the GPT editor read it.

What FastAPI cannot know is added here, once for every operation: the server URL, the headers
every answer carries and the error answers (400, 401, 403, 404, 422, 429, 500), shared by `$ref`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from app.settings import BASE_URL, CONTACT_EMAIL, DESCRIPTION_FOR_HUMAN, NAME_FOR_HUMAN


def _count(description: str, maximum: int = 2_147_483_647) -> dict[str, Any]:
    schema = {"type": "integer", "format": "int32", "minimum": 0, "maximum": maximum}
    return {"description": description, "schema": schema}


HEADERS = {
    "Access-Control-Allow-Origin": {
        "description": "Present only for the configured origins (ALLOWED_ORIGINS), never `*`.",
        "schema": {"type": "string", "format": "uri", "maxLength": 200},
    },
    "RateLimit-Limit": _count("Requests allowed in the current window."),
    "RateLimit-Remaining": _count("Requests left in the current window."),
    "RateLimit-Reset": _count("Seconds until the window resets."),
    "Retry-After": _count("Seconds to wait.", 86_400),
}
CORS = ["Access-Control-Allow-Origin"]
COUNTED = [*CORS, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string", "maxLength": 1000}},
    },
    "ValidationError": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "array", "maxItems": 100, "items": {"type": "object"}}},
    },
}

# The error answers: status → (component name, description, body schema, headers).
ANSWERS = {
    "400": ("BadRequest", "The request body is not JSON.", "Error", COUNTED),
    "401": ("Unauthorized", "Missing, invalid or expired credentials.", "Error", COUNTED),
    "403": ("Forbidden", "The token lacks the scope this operation needs.", "Error", COUNTED),
    "404": ("NotFound", "No such item.", "Error", COUNTED),
    "422": ("Invalid", "A parameter or the body is not valid.", "ValidationError", COUNTED),
    "429": ("TooManyRequests", "Too many requests.", "Error", [*COUNTED, "Retry-After"]),
    "500": ("ServerError", "An unexpected error (no details).", "Error", CORS),
}


def _refs(kind: str, names: Sequence[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/{kind}/{name}"} for name in names}


def _answer(name: str, description: str, schema: str, headers: list[str]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _refs("headers", headers),
        "content": {"application/json": {"schema": _refs("schemas", [schema])[schema]}},
    }


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
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            answers = operation["responses"]
            for answer in answers.values():
                answer["headers"] = _refs("headers", COUNTED)
            # A route's own error answers (`responses=`, and FastAPI's 422) become the shared
            # ones; every operation may be refused for its rate limit or fail.
            errors = {"429", "500"} | (ANSWERS.keys() & answers.keys())
            if "requestBody" in operation:
                errors.add("400")
            security = operation.get("security", [])
            if security:
                errors.add("401")
            if any(scopes for requirement in security for scopes in requirement.values()):
                errors.add("403")
            for status in sorted(errors):
                answers[status] = {"$ref": f"#/components/responses/{ANSWERS[status][0]}"}
            used |= errors
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)  # FastAPI's, replaced by ours
    schemas.update({name: SCHEMAS[name] for name in {ANSWERS[s][2] for s in used}})
    components["responses"] = {ANSWERS[s][0]: _answer(*ANSWERS[s]) for s in sorted(used)}
    components["headers"] = HEADERS
    return doc


def document(app: FastAPI) -> dict[str, Any]:
    """The app's document, built once."""
    if app.openapi_schema is None:
        app.openapi_schema = build(app.routes)
    return app.openapi_schema
