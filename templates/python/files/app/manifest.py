"""The ChatGPT plugin manifest and the logo it names: public, so neither may hold a secret."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from app.deps import SettingsDep
from app.public import served
from app.settings import PROJECT_ROOT

MANIFEST_PATH = PROJECT_ROOT / ".well-known" / "ai-plugin.json"
LOGO_PATH = PROJECT_ROOT / "static" / "logo.png"
VERIFICATION_PLACEHOLDER = "${OPENAI_VERIFICATION_TOKEN}"

router = APIRouter(include_in_schema=False)


def manifest(verification_token: str) -> dict[str, Any]:
    """The manifest, with the verification token (public) filled in from the environment and the
    base URL from PUBLIC_BASE_URL."""
    data: dict[str, Any] = json.loads(served(MANIFEST_PATH.read_text(encoding="utf-8")))
    tokens = data.get("auth", {}).get("verification_tokens")
    if tokens is not None and verification_token:
        tokens["openai"] = verification_token
    return data


@router.get("/.well-known/ai-plugin.json")
def get_manifest(settings: SettingsDep) -> JSONResponse:
    return JSONResponse(manifest(settings.openai_verification_token))


@router.get("/logo.png")
def get_logo() -> FileResponse:
    return FileResponse(LOGO_PATH, media_type="image/png")
