"""accounts, api_tokens, web_sessions, access_audit; agents.account_id

Accounts with roles (admin, agent, viewer) sign in to the API; API tokens and browser sessions
are stored as SHA-256 digests; the access audit records who exported, erased, merged or read
whose data. A Slack agent links to the account whose permissions it acts with.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", UTCDateTime()),
        sa.Column("slack_user_id", sa.String(32)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("slack_user_id", name="uq_accounts_slack_user_id"),
    )
    for table, secret in (("api_tokens", "token_hash"), ("web_sessions", "session_hash")):
        extra = (
            [sa.Column("name", sa.String(200)), sa.Column("scopes", Json, nullable=False),
             sa.Column("revoked_at", UTCDateTime()), sa.Column("last_used_at", UTCDateTime())]
            if table == "api_tokens"
            else [sa.Column("csrf_token", sa.String(64), nullable=False)]
        )  # fmt: skip
        op.create_table(
            table,
            sa.Column("id", Id, primary_key=True),
            sa.Column("account_id", Id, nullable=False),
            sa.Column(secret, sa.String(64), nullable=False),
            *extra,
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("expires_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=f"fk_{table}_account_id_accounts"),
            sa.UniqueConstraint(secret, name=f"uq_{table}_{secret}"),
        )
        op.create_index(f"ix_{table}_account_id", table, ["account_id"])
    op.create_table(
        "access_audit",
        sa.Column("id", Id, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("account_id", Id),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("customer_id", Id),
        sa.Column("ticket_id", Id),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_audit"),
    )
    for column in ("at", "account_id", "customer_id"):
        op.create_index(f"ix_access_audit_{column}", "access_audit", [column])
    # A plain ADD COLUMN without a constraint: a batch copy of ``agents`` (SQLite) would drop the
    # table queue_members points at. Accounts are never deleted, only disabled.
    op.add_column("agents", sa.Column("account_id", Id, nullable=True))


def downgrade() -> None:
    op.drop_column("agents", "account_id")
    op.drop_table("access_audit")
    op.drop_table("web_sessions")
    op.drop_table("api_tokens")
    op.drop_table("accounts")
