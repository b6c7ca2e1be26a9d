"""ix_tickets_status_queue_channel_created_at: the dashboard's backlog from the index alone (issue 25)

The console's backlog (``ticketing.reports._backlog``) counts the open tickets by queue, status
and age, filtered by channel. Through ``ix_tickets_status_id`` it read every open ticket's row
for its queue, channel and creation time: on the benchmark's desk of 1,000,000 tickets (about
120,000 open) that one read was most of a dashboard page on SQLite. This index holds all four
columns, so the read walks the index only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ix_tickets_status_queue_channel_created_at"


def upgrade() -> None:
    op.create_index(NAME, "tickets", ["status", "queue", "channel", "created_at"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="tickets")
