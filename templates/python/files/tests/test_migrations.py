"""The migrations (migrations/versions/) make exactly the tables of app/tables.py, through the
`alembic` command a developer runs: after a change to a table this fails until `alembic revision
--autogenerate -m "..."` has written the migration for it."""

from __future__ import annotations

import os
import subprocess
import sys

from app.settings import PROJECT_ROOT


def alembic(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_migrations_make_the_tables_of_app_tables(database_url):
    upgraded = alembic("upgrade", "head", database_url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    checked = alembic("check", database_url=database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
