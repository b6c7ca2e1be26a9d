"""customers.claimed_email: an address a web chat visitor typed, not yet verified

``/api/v1/identify`` used to set ``customers.email`` (unique, what incoming mail links on) or
move the visitor to the customer who had it, on nothing but the visitor's word. The claim is
now kept apart, not unique, until an agent confirms it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("claimed_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of ``customers`` would drop
    # a table that every other table's foreign keys point at.
    op.drop_column("customers", "claimed_email")
