"""No value from `.env` appears in a served file or a file git tracks; `.env` itself is private
and ignored."""

from __future__ import annotations

import stat
import subprocess
import time

import pytest
from dotenv import dotenv_values

from app.settings import AUTH_MODE, PROJECT_ROOT

ENV_FILE = PROJECT_ROOT / ".env"
PUBLIC_URLS = ["/.well-known/ai-plugin.json", "/openapi.yaml", "/logo.png", "/legal"]
# Settings, not secrets: short or well-known values that may appear anywhere.
NOT_SECRET = {
    "ALLOWED_ORIGINS", "HOST", "PORT", "DATABASE_URL", "OPENAI_VERIFICATION_TOKEN",
    "OAUTH_CLIENT_ID", "OAUTH_REDIRECT_URIS",
}


def secret_values(settings) -> list[str]:
    """The secrets of this checkout's `.env` (when there is one) and of the test settings."""
    values = [settings.service_token, settings.oauth_client_secret]
    if ENV_FILE.exists():
        values += [v for k, v in dotenv_values(ENV_FILE).items() if k not in NOT_SECRET and v]
    return [v for v in values if v and len(v) >= 16]


def tracked_files() -> list:
    """Files git tracks; without a repository, every file that .gitignore would not exclude."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT, capture_output=True, check=True,
        ).stdout
        return [PROJECT_ROOT / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", "venv", "data", "__pycache__", ".pytest_cache", ".git"}
        return [
            p for p in PROJECT_ROOT.rglob("*")
            if p.is_file()
            and not skip.intersection(p.relative_to(PROJECT_ROOT).parts)
            and (not p.name.startswith(".env") or p.name == ".env.example")
        ]


def test_no_secret_in_served_files(client, settings):
    secrets = secret_values(settings)
    assert secrets
    for url in PUBLIC_URLS:
        body = client.get(url).content
        for s in secrets:
            assert s.encode() not in body, f"a secret is served at {url}"


def test_no_secret_in_files_git_would_commit(settings):
    secrets = secret_values(settings)
    files = tracked_files()
    assert files and not any(p.name == ".env" for p in files), ".env must never be committed"
    for path in files:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for s in secrets:
            assert s.encode() not in data, f"a secret from .env is in {path.relative_to(PROJECT_ROOT)}"


def test_env_file_is_ignored_and_private():
    ignore = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignore and "!.env.example" in ignore
    if ENV_FILE.exists():
        assert stat.S_IMODE(ENV_FILE.stat().st_mode) & 0o077 == 0, ".env must be readable by its owner only"
    else:
        pytest.skip("no .env in this checkout (a fresh clone): nothing more to check")


@pytest.mark.skipif(AUTH_MODE not in ("user_http", "oauth"), reason="no database in this auth mode")
def test_the_sqlite_database_is_private(tmp_path):
    from app.db import Database

    path = tmp_path / "data" / "app.db"
    db = Database(f"sqlite:///{path}", "CREATE TABLE t (x TEXT)")
    with db.connect() as conn:
        conn.execute("INSERT INTO t VALUES (?)", (str(time.time()),))
    db.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():  # the database and its WAL files
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
