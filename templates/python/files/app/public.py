"""The public files: the OpenAPI document and the legal page. Everything here is served to
anyone, so none of it may hold a secret."""

from __future__ import annotations

import html

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.openapi import document
from app.settings import CONTACT_EMAIL, NAME_FOR_HUMAN

router = APIRouter(include_in_schema=False)


@router.get("/openapi.yaml")
def get_spec(request: Request) -> Response:
    text = yaml.safe_dump(document(request.app), sort_keys=False, allow_unicode=True)
    return Response(text, media_type="application/yaml")


@router.get("/legal")
def get_legal() -> HTMLResponse:
    name = html.escape(NAME_FOR_HUMAN)
    mail = html.escape(CONTACT_EMAIL)
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{name}: legal</title>"
        f"<h1>{name}</h1><p>Terms of use and privacy policy: write them here.</p>"
        f'<p>Contact: <a href="mailto:{mail}">{mail}</a></p></html>'
    )
