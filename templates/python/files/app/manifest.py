"""The ChatGPT plugin manifest and the logo it names: public, so neither may hold a secret."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from app.deps import SettingsDep
from app.settings import BASE_URL, GENERATED_BASE_URL, PROJECT_ROOT

MANIFEST_PATH = PROJECT_ROOT / ".well-known" / "ai-plugin.json"
LOGO_PATH = PROJECT_ROOT / "static" / "logo.png"
VERIFICATION_PLACEHOLDER = "${OPENAI_VERIFICATION_TOKEN}"

router = APIRouter(include_in_schema=False)


@router.get("/.well-known/ai-plugin.json")
def get_manifest(settings: SettingsDep) -> JSONResponse:
    # The file as generated, with the base URL from PUBLIC_BASE_URL and the verification token
    # (public) from the environment.
    text = MANIFEST_PATH.read_text(encoding="utf-8").replace(GENERATED_BASE_URL, BASE_URL)
    manifest: dict[str, Any] = json.loads(text)
    tokens = manifest.get("auth", {}).get("verification_tokens")
    if tokens is not None and settings.openai_verification_token:
        tokens["openai"] = settings.openai_verification_token
    return JSONResponse(manifest)


@router.get("/logo.png")
def get_logo() -> FileResponse:
    return FileResponse(LOGO_PATH, media_type="image/png")
