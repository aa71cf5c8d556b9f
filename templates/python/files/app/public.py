"""The public files: the plugin manifest, the OpenAPI document, the logo and the legal page.
Everything here is served to anyone, so none of it may hold a secret."""

from __future__ import annotations

import html
import json

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from app.settings import CONTACT_EMAIL, NAME_FOR_HUMAN, PROJECT_ROOT

MANIFEST_PATH = PROJECT_ROOT / ".well-known" / "ai-plugin.json"
SPEC_PATH = PROJECT_ROOT / "openapi.yaml"
LOGO_PATH = PROJECT_ROOT / "static" / "logo.png"
VERIFICATION_PLACEHOLDER = "${OPENAI_VERIFICATION_TOKEN}"

router = APIRouter(include_in_schema=False)


def manifest(verification_token: str) -> dict:
    """The manifest, with the verification token (public) filled in from the environment."""
    data = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    tokens = data.get("auth", {}).get("verification_tokens")
    if tokens is not None and verification_token:
        tokens["openai"] = verification_token
    return data


@router.get("/.well-known/ai-plugin.json")
def get_manifest(request: Request) -> JSONResponse:
    return JSONResponse(manifest(request.app.state.settings.verification_token))


@router.get("/openapi.yaml")
def get_spec() -> Response:
    return Response(SPEC_PATH.read_bytes(), media_type="application/yaml")


@router.get("/logo.png")
def get_logo() -> FileResponse:
    return FileResponse(LOGO_PATH, media_type="image/png")


@router.get("/legal")
def get_legal() -> HTMLResponse:
    name = html.escape(NAME_FOR_HUMAN)
    mail = html.escape(CONTACT_EMAIL)
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{name}: legal</title>"
        f"<h1>{name}</h1><p>Terms of use and privacy policy: write them here.</p>"
        f"<p>Contact: <a href=\"mailto:{mail}\">{mail}</a></p></html>"
    )
