"""report_hourly: the dashboard's hourly rollups (issue 25, "Reports stay fast as data grows")

Counters per (metric, hour, channel, queue, key), added to by ticketing/rollups.py after its
cursors in channel_cursors (channel 'reports'), read and summed by ticketing/reports.py. The
primary key is the upsert's conflict target and the dashboard's index range (metric, then hour).
No cursor rows are made here: the job starts from id 0, so the history is rolled up too, in
bounded batches, once the service runs.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_hourly",
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "hour", "channel", "queue", "key", name=op.f("pk_report_hourly")),
    )


def downgrade() -> None:
    op.drop_table("report_hourly")
    op.execute("DELETE FROM channel_cursors WHERE channel = 'reports'")
