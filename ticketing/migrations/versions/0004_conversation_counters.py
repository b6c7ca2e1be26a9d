"""conversations: the counters the rules read on every message, kept with the conversation

Turns, automated replies, rule fires and the three most recent rules were counted from the
conversation's interactions on every batch, a cost that grew with the conversation's length.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("turns", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "conversations", sa.Column("automated_replies", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("conversations", sa.Column("rule_fires", _JSON, nullable=True))
    op.add_column("conversations", sa.Column("recent_rules", _JSON, nullable=True))
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "UPDATE conversations SET"
            " turns = (SELECT count(*) FROM interactions i"
            "  WHERE i.conversation_id = conversations.id AND i.direction = 'in'),"
            " automated_replies = (SELECT count(*) FROM interactions i"
            "  WHERE i.conversation_id = conversations.id AND i.direction = 'out' AND i.sender_role = 'bot')"
        )
    )
    rows = conn.execute(
        sa.text(
            "SELECT conversation_id, rule FROM interactions"
            " WHERE direction = 'out' AND rule IS NOT NULL ORDER BY conversation_id, id"
        )
    )
    state: dict[int, tuple[dict[str, int], list[str]]] = {}
    for conversation_id, rule in rows:
        fires, recent = state.setdefault(int(conversation_id), ({}, []))
        for name in str(rule).split("+"):  # a reply made by several rules names them all
            fires[name] = fires.get(name, 0) + 1
        recent[:] = [*recent, str(rule)][-3:]
    table = sa.table(
        "conversations", sa.column("id", sa.Integer()), sa.column("rule_fires", _JSON),
        sa.column("recent_rules", _JSON),
    )  # fmt: skip
    changes: list[dict[str, Any]] = [
        {"b_id": cid, "b_fires": fires, "b_recent": recent} for cid, (fires, recent) in state.items()
    ]
    if changes:
        conn.execute(
            table.update()
            .where(table.c.id == sa.bindparam("b_id"))
            .values(rule_fires=sa.bindparam("b_fires"), recent_rules=sa.bindparam("b_recent")),
            changes,
        )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table would trip the
    # foreign keys that point at conversations.
    for column in ("recent_rules", "rule_fires", "automated_replies", "turns"):
        op.drop_column("conversations", column)
