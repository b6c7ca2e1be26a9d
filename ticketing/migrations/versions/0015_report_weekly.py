"""report_weekly: the dashboard's rollups per week from Monday 00:00 UTC (issue 25, "any range")

The same counters as report_daily, per (metric, week, channel, queue, key), added to by
ticketing/rollups.py in the transaction that adds to the hours and days, so a week's row is the
sum of its 7 daily rows. Ranges longer than 90 days are charted by week and read these for their
whole weeks (52 rows per counter for a year instead of 365). A separate table, as report_daily
is (see 0013). Filled here from the days already rolled up, so the three grains agree from the
start.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_weekly",
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("week", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "week", "channel", "queue", "key", name=op.f("pk_report_weekly")),
    )
    # covering, in (metric, key) order, as report_daily's: the distributions summed without a sort
    op.create_index(
        "ix_report_weekly_metric_key_week",
        "report_weekly",
        ["metric", "key", "week", "channel", "queue", "value"],
    )
    op.execute(_FILL_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _FILL_SQLITE)


# date_trunc('week', …) is ISO's: the Monday
_FILL_POSTGRESQL = (
    "INSERT INTO report_weekly (metric, week, channel, queue, key, value) "
    "SELECT metric, date_trunc('week', day, 'UTC'), channel, queue, key, sum(value) "
    "FROM report_daily GROUP BY 1, 2, 3, 4, 5"
)
# SQLAlchemy's SQLite DATETIME text, in UTC: 'YYYY-MM-DD HH:MM:SS.ffffff'; six days back, then
# forward to the next Monday ('weekday 1' keeps a Monday): the day's own week's Monday
_FILL_SQLITE = (
    "INSERT INTO report_weekly (metric, week, channel, queue, key, value) "
    "SELECT metric, date(substr(day, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00.000000', "
    "channel, queue, key, sum(value) "
    "FROM report_daily GROUP BY 1, 2, 3, 4, 5"
)


def downgrade() -> None:
    op.drop_table("report_weekly")
