"""conversations.dialog: slots, the question the bot is waiting on, the last acknowledgement

Rule forms (``ask:``) keep the values a customer gave and the question the bot asked; the
acknowledgement switch (``settings.acknowledge``) remembers when the customer was last told
their message joined a ticket. Read with the conversation state on every message, so it lives
on the conversation row, like the counters of 0004.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("dialog", _JSON, nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0004.
    op.drop_column("conversations", "dialog")
