"""The API's request counts, shared by every server process on PostgreSQL.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: counts that a crash may lose are not worth a write-ahead log.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "api_requests",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        prefixes=unlogged,
        if_not_exists=True,
    )
    op.create_index("api_requests_started", "api_requests", ["started"], if_not_exists=True)


def downgrade() -> None:
    op.drop_table("api_requests")
