"""The project's OpenAPI document, built from the routes once for the tests."""

from __future__ import annotations

from app.openapi import build
from app.routes import router

SPEC = build(router.routes)
METHODS = ("get", "post", "put", "patch", "delete")


def operations():
    """(method, path, operation) for every operation of the spec."""
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def success_status(operation: dict) -> int:
    return min(int(code) for code in operation["responses"] if code.startswith("2"))


def fill(path: str, value: str = "item1") -> str:
    """The path with every `{param}` set to `value`."""
    parts = [value if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)
