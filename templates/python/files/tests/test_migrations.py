"""The migrations (migrations/versions/) make exactly the tables of app/tables.py, through the
`alembic` command a developer runs: after a change to a table this fails until `alembic revision
--autogenerate -m "..."` has written the migration for it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from sqlalchemy import inspect

from app import db
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


YOURS = """
import sqlalchemy as sa
from alembic import op

revision = "yours"
down_revision = "0001"


def upgrade() -> None:
    op.create_table("yours", sa.Column("id", sa.Integer, primary_key=True))
"""


def test_the_server_applies_a_migration_of_yours_beside_the_projects(
    tmp_path, monkeypatch, database_url
):
    # `plugsmith update` may add a migration after the same one as a migration of yours: two
    # heads. The server applies both (run `alembic merge heads` before the next `revision`).
    shutil.copytree(PROJECT_ROOT / "migrations", tmp_path / "migrations")
    shutil.copy(PROJECT_ROOT / "alembic.ini", tmp_path)
    (tmp_path / "migrations" / "versions" / "yours.py").write_text(YOURS)
    monkeypatch.setattr(db, "PROJECT_ROOT", tmp_path)
    database = db.Database(database_url)
    with database.begin() as conn:
        tables = set(inspect(conn).get_table_names())
    database.close()
    assert {"yours", "api_requests"} <= tables
