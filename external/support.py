"""Shared pieces of the external suite: generated projects, their servers on 127.0.0.1, and a
browserless OAuth login that answers the generated login and consent pages.

Nothing here knows the generated code: it speaks HTTP to a server started with `python -m app`
and reads the project's `.env`, as a developer following the generated README would."""

from __future__ import annotations

import html.parser
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The redirect URI the oauth project is generated with (a ChatGPT plugin callback).
REDIRECT_URI = "https://chat.openai.com/aip/plugin-00000000-0000-0000-0000-000000000000/oauth/callback"
START_TIMEOUT = 30.0  # seconds a server has to answer after `python -m app`


def projects_dir() -> Path:
    value = os.environ.get("EXTERNAL_PROJECTS")
    if not value:
        raise RuntimeError("EXTERNAL_PROJECTS is not set: run the suite with scripts/external.sh")
    return Path(value)


def offered_modes() -> list[str]:
    """The auth modes the python stack offers (scripts/external.sh reads `plugsmith list`)."""
    value = os.environ.get("EXTERNAL_MODES")
    if not value:
        raise RuntimeError("EXTERNAL_MODES is not set: run the suite with scripts/external.sh")
    return [m for m in value.split(",") if m]


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Project:
    mode: str  # the auth mode it was generated with
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")

    @property
    def env(self) -> dict[str, str]:
        return read_env(self.path / ".env")

    def manage(self, *args: str, stdin: str | None = None, extra_env: dict | None = None) -> str:
        env = {**os.environ, **(extra_env or {})}
        done = subprocess.run(
            [self.python, "-m", "app.manage", *args],
            cwd=self.path, input=stdin, capture_output=True, text=True, timeout=60, env=env,
        )
        if done.returncode != 0:
            raise AssertionError(f"app.manage {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


@dataclass
class Server:
    """`python -m app` of one project on 127.0.0.1:<free port>."""

    project: Project
    name: str
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"server-{self.name}.log"
        env = {**os.environ, **self.extra_env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        env.pop("PYTHONPATH", None)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [self.project.python, "-m", "app"], cwd=self.project.path, env=env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.name} exited at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/openapi.yaml", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server {self.name} did not answer within {START_TIMEOUT}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass
class Target:
    """A running server of one mode, with what a client needs to call it."""

    name: str  # e.g. "service_http", "oauth-postgres"
    mode: str
    server: Server
    token: str | None = None  # a valid bearer token for the API (None for mode none)
    user: str | None = None  # oauth: a user and password that can sign in
    password: str | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def project(self) -> Project:
        return self.server.project

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


# --- answering the generated login and consent pages without a browser ----------------------


class _Forms(html.parser.HTMLParser):
    """Every <form> of a page: action, method, inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "inputs": {}, "buttons": []})
        elif self.forms and tag == "input":
            if a.get("type", "text") in ("submit",):
                self.forms[-1]["buttons"].append((a.get("name", ""), a.get("value", "")))
            elif "name" in a:
                self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "button":
            self.forms[-1]["buttons"].append((a.get("name", ""), a.get("value", "")))


def forms_of(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


class CookieJar:
    """Cookies by name, sent whatever their `Secure` flag: the generated pages set `__Host-`
    (Secure) cookies because its base URL is https, while the suite speaks http to 127.0.0.1,
    where a browser also treats the origin as secure."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def update(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            lowered = header.lower()
            if "max-age=0" in lowered or "expires=thu, 01 jan 1970" in lowered or value in ('""', ""):
                self.values.pop(name.strip(), None)
            else:
                self.values[name.strip()] = value

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.values.items())} if self.values else {}


def _location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), f"expected a redirect, got {response.status_code}: {response.text[:300]}"
    return response.headers["location"]


def answer_pages(authorize_url: str, local_base: str, user: str, password: str, decision: str = "allow",
                 timeout: float = 20) -> str:
    """Follows the authorize URL as a person would: sign in, then press Allow (or Deny).
    Returns the final redirect to the client's redirect URI. `authorize_url` may name the
    server's public base URL; requests go to `local_base` instead."""
    parts = urlsplit(authorize_url)
    url = local_base + parts.path + ("?" + parts.query if parts.query else "")
    jar = CookieJar()
    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        response = http.get(url, headers=jar.header())
        jar.update(response)
        assert response.status_code == 200, f"authorize page: {response.status_code} {response.text[:300]}"
        for _ in range(4):  # login page, consent page; bounded
            forms = [f for f in forms_of(response.text) if f["method"] == "post"]
            assert len(forms) == 1, f"expected one POST form, page was:\n{response.text[:800]}"
            form = forms[0]
            data = dict(form["inputs"])
            if "password" in data:
                data["username"], data["password"] = user, password
            else:
                chosen = [b for b in form["buttons"] if b[1].lower() == decision or b[0].lower() == decision]
                assert chosen, f"no {decision} button on the consent page: {form['buttons']}"
                name, value = chosen[0]
                if name:
                    data[name] = value
            post = http.post(urljoin(url, form["action"]), data=data, headers=jar.header())
            jar.update(post)
            location = _location(post) if post.status_code in (302, 303) else None
            if location is None:
                raise AssertionError(f"form POST answered {post.status_code}:\n{post.text[:800]}")
            if not location.startswith("/") and urlsplit(location).netloc != urlsplit(local_base).netloc:
                return location  # back to the client
            response = http.get(urljoin(url, location), headers=jar.header())
            jar.update(response)
            url = urljoin(url, location)
            assert response.status_code == 200, f"{location}: {response.status_code} {response.text[:300]}"
        raise AssertionError("the pages never redirected back to the client")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def new_user(project: Project, extra_env: dict | None = None) -> tuple[str, str]:
    user = "ext" + secrets.token_hex(4)
    password = "pw-" + secrets.token_urlsafe(18)
    project.manage("create-user", user, stdin=password + "\n", extra_env=extra_env)
    return user, password


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
