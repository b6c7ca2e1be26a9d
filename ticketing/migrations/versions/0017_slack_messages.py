"""slack_messages: where the Slack messages showing a customer are, and those to delete (issue 27)

Every Slack message or file the projection posts about a ticket (the card, thread lines, the
customer's files, alerts) is recorded by channel and ``ts`` (a file's id), never its text, so
erasing the customer can delete it; erasing turns the rows into pending deletions that a job
drains (``ticketing/slack_messages.py``, ``connectors/slack/erasure.py``). Messages posted
before this revision were not recorded: erasing a customer does not find those.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("ticket_id", _ID, nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_slack_messages_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint("channel_id", "ts", name=op.f("uq_slack_messages_channel_id_ts")),
    )
    op.create_index(op.f("ix_slack_messages_ticket_id"), "slack_messages", ["ticket_id"])
    op.create_index(
        op.f("ix_slack_messages_state_next_attempt_at"), "slack_messages", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_messages_state_next_attempt_at"), table_name="slack_messages")
    op.drop_index(op.f("ix_slack_messages_ticket_id"), table_name="slack_messages")
    op.drop_table("slack_messages")
