"""segment_runs: one row per customer segmentation run (issue 25, "Segments")

What each run of bot/segments.py found: when, the method (kmeans, minibatch, or rule for too few
customers), k with its silhouette and the score of every k tried, and the segments (name,
description, size, centroid) largest first, as JSON; how many customers' segment tag changed. The
tags themselves live in customers.tags (segment:<name>), where rules, SLA policies and the API
already read tags. Owner: ticketing/segments.py. Nothing to fill: the first run writes the first row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "segment_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("silhouette", sa.Float(), nullable=True),
        sa.Column("scores", _JSON, nullable=False),
        sa.Column("segments", _JSON, nullable=False),
        sa.Column("tagged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_runs")),
    )


def downgrade() -> None:
    op.drop_table("segment_runs")
