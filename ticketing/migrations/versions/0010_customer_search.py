"""Indexes for the REST API's customer search (``GET /api/v1/customers?q=``)

The search is a case-insensitive *prefix* match on the customer's name, email and claimed
email and on every channel identity's external id and name (``ticketing/customer_records.py``).
Each of those gets an index on ``lower(column)``: on PostgreSQL with ``text_pattern_ops``, so
a range on the ``~>=~``/``~<~`` operators uses it whatever the database's collation and with
a prepared statement's generic plan; on SQLite a plain expression index, whose ``>=``/``<``
compare bytes anyway. Without them a search reads every customer and identity.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: index name → (table, column)
INDEXES = {
    "ix_customers_display_name_lower": ("customers", "display_name"),
    "ix_customers_email_lower": ("customers", "email"),
    "ix_customers_claimed_email_lower": ("customers", "claimed_email"),
    "ix_channel_identities_external_id_lower": ("channel_identities", "external_id"),
    "ix_channel_identities_display_name_lower": ("channel_identities", "display_name"),
}


def upgrade() -> None:
    for name, (table, column) in INDEXES.items():
        op.create_index(
            name, table, [sa.func.lower(sa.column(column)).label(f"{column}_lower")],
            postgresql_ops={f"{column}_lower": "text_pattern_ops"},
        )  # fmt: skip


def downgrade() -> None:
    for name, (table, _column) in INDEXES.items():
        op.drop_index(name, table_name=table)
