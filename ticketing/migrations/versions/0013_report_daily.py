"""report_daily: the dashboard's rollups per UTC day (issue 25, "per hour and day")

The same counters as report_hourly, per (metric, day, channel, queue, key), added to by
ticketing/rollups.py in the transaction that adds to the hours, so a day's row is the sum of its
24 hourly rows. A dashboard over whole days reads these (365 rows per counter for a year instead
of 8,784). A separate table rather than a grain column in report_hourly's key: no rebuild of the
existing table (SQLite changes a primary key only by copying the table), and the hourly reads and
upserts stay as they are. Filled here from the hours already rolled up, so both grains agree
from the start.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_daily",
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "day", "channel", "queue", "key", name=op.f("pk_report_daily")),
    )
    # covering, in (metric, key) order: the distributions are summed without sorting the range's rows
    op.create_index(
        "ix_report_daily_metric_key_day",
        "report_daily",
        ["metric", "key", "day", "channel", "queue", "value"],
    )
    op.execute(_FILL_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _FILL_SQLITE)


_FILL_POSTGRESQL = (
    "INSERT INTO report_daily (metric, day, channel, queue, key, value) "
    "SELECT metric, date_trunc('day', hour, 'UTC'), channel, queue, key, sum(value) "
    "FROM report_hourly GROUP BY 1, 2, 3, 4, 5"
)
# SQLAlchemy's SQLite DATETIME text, in UTC: 'YYYY-MM-DD HH:MM:SS.ffffff'
_FILL_SQLITE = (
    "INSERT INTO report_daily (metric, day, channel, queue, key, value) "
    "SELECT metric, substr(hour, 1, 10) || ' 00:00:00.000000', channel, queue, key, sum(value) "
    "FROM report_hourly GROUP BY 1, 2, 3, 4, 5"
)


def downgrade() -> None:
    op.drop_table("report_daily")
