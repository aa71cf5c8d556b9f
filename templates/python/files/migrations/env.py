"""How Alembic reaches the database: the server's own connection when it migrates at start-up
(app.db.migrate), else DATABASE_URL (`alembic upgrade head`, `alembic check`, `alembic revision
--autogenerate -m "..."`)."""

from alembic import context
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection

from app.db import Database
from app.settings import PROJECT_ROOT, Settings
from app.tables import metadata


class DatabaseSetting(BaseSettings):
    """The one setting migrations need, from the environment or `.env` as the server reads it."""

    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")
    database_url: str = Settings.model_fields["database_url"].default


def run(connection: Connection) -> None:
    # Batch mode: SQLite alters a table by copying it, which Alembic does for us.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    db = Database(DatabaseSetting().database_url, upgrade=False)
    with db.engine.begin() as conn:
        run(conn)
    db.close()
