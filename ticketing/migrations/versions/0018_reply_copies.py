"""reply_copies: agents' web chat replies waiting to be copied by email if the visitor misses them

Each agent reply on a web chat conversation gets a row, written with the reply. The widget marks
the rows of the replies it showed as ``seen``; a job queues an email copy of the rest that are
``webchat.email_replies.after_seconds`` old, to the address the visitor left
(``ticketing/reply_copies.py``, ``bot/reply_copy_job.py``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reply_copies",
        sa.Column("interaction_id", _ID, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("done_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"], ["interactions.id"], name=op.f("fk_reply_copies_interaction_id_interactions")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_reply_copies_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_reply_copies")),
    )
    op.create_index(op.f("ix_reply_copies_state_created_at"), "reply_copies", ["state", "created_at"])
    op.create_index(
        op.f("ix_reply_copies_conversation_id_state"), "reply_copies", ["conversation_id", "state"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reply_copies_conversation_id_state"), table_name="reply_copies")
    op.drop_index(op.f("ix_reply_copies_state_created_at"), table_name="reply_copies")
    op.drop_table("reply_copies")
