"""tickets service: queues, agents, SLA timers, follow-ups, CSAT, erasure

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_SEEDED = datetime(2026, 11, 30, tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "agents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("max_open", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("handle", name=op.f("uq_agents_handle")),
    )
    op.create_table(
        "queue_members",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("agent_id", _ID, nullable=False),
        sa.Column("last_assigned_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["queue"], ["queues.name"], name=op.f("fk_queue_members_queue_queues")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_queue_members_agent_id_agents")),
        sa.PrimaryKeyConstraint("queue", "agent_id", name=op.f("pk_queue_members")),
    )
    op.create_table(
        "sla_timers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", _TS, nullable=True),
        sa.Column("remaining_seconds", sa.Float(), nullable=True),
        sa.Column("calendar", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("fired_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_timers_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_timers")),
        sa.UniqueConstraint("ticket_id", "kind", "name", name=op.f("uq_sla_timers_ticket_id_kind_name")),
    )
    op.create_index("ix_sla_timers_state_due_at", "sla_timers", ["state", "due_at"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_ticket_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("intake_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("sla_policy", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("first_reply_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("solved_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("closed_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("csat_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("csat_comment", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_previous_ticket_id"), ["previous_ticket_id"], unique=False
        )
        batch_op.create_index("ix_tickets_assignee_status", ["assignee", "status"], unique=False)
    # Partial: only tickets the intake sweep has not seen yet are in it.
    op.create_index(
        "ix_tickets_intake_pending",
        "tickets",
        ["id"],
        unique=False,
        sqlite_where=sa.text("intake_at IS NULL"),
        postgresql_where=sa.text("intake_at IS NULL"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_ticket_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("csat_ticket_id", _ID, nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", _TS, nullable=True))

    # Tickets opened by the default rulebook go to "support"; it must exist to assign them.
    op.bulk_insert(
        sa.table(
            "queues", sa.column("name", sa.String), sa.column("description", sa.String),
            sa.column("created_at", _TS),
        ),
        [{"name": "support", "description": "first-line support", "created_at": _SEEDED}],
    )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("csat_ticket_id")
        batch_op.drop_column("previous_ticket_id")
    op.drop_index("ix_tickets_intake_pending", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_assignee_status")
        batch_op.drop_index(batch_op.f("ix_tickets_previous_ticket_id"))
        for column in (
            "csat_comment", "csat_score", "closed_at", "solved_at", "first_reply_at", "sla_policy",
            "intake_at", "previous_ticket_id",
        ):  # fmt: skip
            batch_op.drop_column(column)
    op.drop_index("ix_sla_timers_state_due_at", table_name="sla_timers")
    op.drop_table("sla_timers")
    op.drop_table("queue_members")
    op.drop_table("agents")
    op.drop_table("queues")
