"""outbox: an index on (channel, external_id), the message id a channel gave our reply

A Telegram button whose payload does not fit in ``callback_data`` is looked up by the message
that carried it, so two replies offering the same label at the same place (a menu sent twice
with different payloads) no longer resolve to the newer one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_channel_external_id", "outbox", ["channel", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_channel_external_id", table_name="outbox")
