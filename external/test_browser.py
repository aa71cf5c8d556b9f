"""A real browser through the OAuth pages: headless Chromium (Debian's `chromium`) driven by
playwright-core (browser.mjs). Screenshots of the login and consent pages go to
target/screenshots/ at the repository root."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import target_names
from support import CI, REDIRECT_URI, REPO, HERE, free_port, query_of, run

pytestmark = pytest.mark.tool("chromium")

OAUTH_TARGETS = [n for n in target_names() if n.startswith("oauth")]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "target" / "screenshots"


def _tools():
    node = shutil.which("node")
    missing = [what for what, ok in [("node", node), (CHROMIUM, Path(CHROMIUM).exists()),
                                    ("playwright-core", (HERE / "node_modules" / "playwright-core").exists())] if not ok]
    if missing:
        message = f"missing for the browser test: {', '.join(missing)} (scripts/external.sh installs them)"
        pytest.fail(message) if CI else pytest.skip(message)
    return node


@pytest.mark.parametrize("name", OAUTH_TARGETS)
def test_browser_signs_in_allows_and_cannot_frame_consent(name, target_for, record_property):
    node = _tools()
    target = target_for(name)
    env = target.project.env
    state = "browser-" + secrets.token_urlsafe(16) + " /+=&"
    authorize_url = target.url + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": env["OAUTH_CLIENT_ID"], "redirect_uri": REDIRECT_URI,
        "scope": "read write", "state": state,
    })
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "authorizeUrl": authorize_url, "username": target.user, "password": target.password,
        "redirectUri": REDIRECT_URI, "framerOrigin": f"http://127.0.0.1:{free_port()}",
        "screenshotDir": str(SCREENSHOTS), "prefix": name,
    }
    done = run([node, str(HERE / "browser.mjs"), json.dumps(payload)], timeout=180, cwd=HERE,
               env={**os.environ, "CHROMIUM": CHROMIUM})
    assert done.returncode == 0, f"browser.mjs failed:\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result["error"]

    # Signed in, pressed Allow, landed on the redirect URI with a code and the unchanged state.
    assert result["loginStatus"] == 200
    assert result["finalUrl"].startswith(REDIRECT_URI), result["finalUrl"]
    landed = query_of(result["finalUrl"])
    assert landed.get("code"), result["finalUrl"]
    assert landed.get("state") == state, "the state came back changed"
    assert not result["blockedOffMachine"], f"the pages asked for off-machine resources: {result['blockedOffMachine']}"

    # The consent page cannot be framed: Chromium refused it while the control frame loaded.
    headers = {k.lower(): v for k, v in result["consentHeaders"].items()}
    assert headers.get("x-frame-options", "").upper() == "DENY", headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers
    assert result.get("framedBodyWasConsent"), f"the frame did not receive the consent page: the check proves less: {result}"
    assert result["controlFrameText"] == "framed fine", "the control frame did not load: the check proves nothing"
    assert result["consentFrameButtons"] == 0, "the consent page's buttons were shown inside a frame"
    assert result["consentFrameUrl"] in (None, "chrome-error://chromewebdata/", "about:blank") or result["consoleRefusals"], result

    for shot in (result["login"], result["consent"]):
        assert Path(shot).stat().st_size > 1000, shot
    record_property("detail", (
        f"code + unchanged state at the redirect URI; consent frame refused ({result['consentFrameUrl']}); "
        f"screenshots {Path(result['login']).relative_to(REPO)}, {Path(result['consent']).relative_to(REPO)}"
    ))


@pytest.mark.parametrize("name", OAUTH_TARGETS)
def test_browser_signs_in_an_mcp_client_that_registered_itself(name, target_for, record_property):
    """An MCP client as Claude connects: dynamic registration (public client), the pages in
    Chromium with PKCE and `resource`, the code exchanged, and the token used at /mcp."""
    import base64
    import hashlib

    import httpx

    import mcp_flow

    node = _tools()
    target = target_for(name)
    callback = "https://claude.ai/api/mcp/auth_callback"
    registered = httpx.post(target.url + "/oauth/register", timeout=10, json={
        "client_name": "Claude (browser test)", "redirect_uris": [callback], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
    })
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    resource = mcp_flow.public_base(target) + "/mcp"
    state = "mcp-" + secrets.token_urlsafe(16)
    authorize_url = target.url + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": callback, "scope": "read write offline_access",
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource,
    })
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "authorizeUrl": authorize_url, "username": target.user, "password": target.password,
        "redirectUri": callback, "framerOrigin": f"http://127.0.0.1:{free_port()}",
        "screenshotDir": str(SCREENSHOTS), "prefix": name + "-mcp",
    }
    done = run([node, str(HERE / "browser.mjs"), json.dumps(payload)], timeout=180, cwd=HERE,
               env={**os.environ, "CHROMIUM": CHROMIUM})
    assert done.returncode == 0, f"browser.mjs failed:\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result["error"]
    landed = query_of(result["finalUrl"])
    assert result["finalUrl"].startswith(callback) and landed.get("state") == state, result["finalUrl"]
    tokens = httpx.post(target.url + "/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": landed["code"], "redirect_uri": callback,
        "client_id": client_id, "code_verifier": verifier, "resource": resource,
    })
    assert tokens.status_code == 200, tokens.text
    listed = httpx.post(target.url + "/mcp", timeout=10, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={
        "Authorization": f"Bearer {tokens.json()['access_token']}", "Accept": "application/json, text/event-stream",
    })
    assert listed.status_code == 200 and listed.json()["result"]["tools"], listed.text
    record_property("detail", f"registered {client_id[:8]}…, signed in and allowed in Chromium, PKCE + resource, tools/list")
