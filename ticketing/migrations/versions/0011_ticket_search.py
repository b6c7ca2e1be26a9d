"""ticket list indexes and full-text search (REST API v1)

The API lists tickets newest first (id order) filtered by status, queue, priority, assignee,
customer, tag and update time: one (column, id) index per filter, so a page is an index range.
Search (ticketing/ticket_search.py): PostgreSQL gets expression GIN indexes on the ticket
subject and the inbound messages, and a GIN index on the tags; SQLite gets FTS5 tables with
external content, filled in bulk by ticketing/search_index.py after its cursors (rows in
channel_cursors), with triggers that keep added rows in step with updates (an erasure).

Note for later migrations on SQLite: a batch ``ALTER`` of ``tickets`` or ``interactions``
(table copied and renamed) drops their triggers; create them again (``_sqlite_triggers``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_tickets_status_id", ["status", "id"]),
    ("ix_tickets_queue_id", ["queue", "id"]),
    ("ix_tickets_priority_id", ["priority", "id"]),
    ("ix_tickets_assignee_id", ["assignee", "id"]),
    ("ix_tickets_updated_at", ["updated_at"]),
)

_POSTGRES = (
    "CREATE INDEX ix_tickets_tags ON tickets USING gin (tags jsonb_path_ops)",
    "CREATE INDEX ix_tickets_subject_search ON tickets USING gin (to_tsvector('simple'::regconfig, subject))"
    " WHERE subject <> '[erased]'",
    "CREATE INDEX ix_interactions_search ON interactions USING gin (to_tsvector('simple'::regconfig, text))"
    " WHERE direction = 'in' AND ticket_id IS NOT NULL AND text <> '[erased]'",
    # Word frequencies for the planner (PostgreSQL keeps none for a partial index's expression):
    # the search picks its plan by how common the words are (ticketing/ticket_search.py).
    "CREATE STATISTICS st_interactions_search ON (to_tsvector('simple'::regconfig, text)) FROM interactions",
    "CREATE STATISTICS st_tickets_subject_search ON (to_tsvector('simple'::regconfig, subject)) FROM tickets",
)

# Indexed: every ticket subject, every inbound message; never erased text. New rows are added in
# bulk by ticketing/search_index.py up to its cursors (channel_cursors, channel 'search'); the
# triggers only keep the rows already added in step with an update or delete (an erasure). With
# external content FTS5 needs the old values to delete, and they must match what was added.
_ADDED = "(SELECT json_extract(value, '$.id') FROM channel_cursors WHERE channel = 'search' AND name = '{}')"
_INTERACTION_OLD = (
    f"old.direction = 'in' AND old.text <> '[erased]' AND old.id <= {_ADDED.format('interactions')}"
)
_INTERACTION_NEW = (
    f"new.direction = 'in' AND new.text <> '[erased]' AND new.id <= {_ADDED.format('interactions')}"
)
_TICKET_OLD = f"old.subject <> '[erased]' AND old.id <= {_ADDED.format('tickets')}"
_TICKET_NEW = f"new.subject <> '[erased]' AND new.id <= {_ADDED.format('tickets')}"


_CURSORS = (
    "INSERT INTO channel_cursors(channel, name, value, updated_at) SELECT 'search', 'tickets',"
    " json_object('id', coalesce(max(id), 0)), strftime('%Y-%m-%d %H:%M:%f', 'now') FROM tickets",
    "INSERT INTO channel_cursors(channel, name, value, updated_at) SELECT 'search', 'interactions',"
    " json_object('id', coalesce(max(id), 0)), strftime('%Y-%m-%d %H:%M:%f', 'now') FROM interactions",
)


def _sqlite_triggers(table: str, fts: str, col: str, old: str, new: str) -> list[str]:
    add = f"INSERT INTO {fts}(rowid, {col}) SELECT new.id, new.{col} WHERE {new};"
    drop = f"INSERT INTO {fts}({fts}, rowid, {col}) SELECT 'delete', old.id, old.{col} WHERE {old};"
    return [
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {col} ON {table} BEGIN {drop} {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {drop} END",
    ]


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "tickets", columns)
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES:
            op.execute(statement)
        return
    op.execute("CREATE VIRTUAL TABLE tickets_fts USING fts5(subject, content='tickets', content_rowid='id')")
    op.execute(
        "CREATE VIRTUAL TABLE interactions_fts USING fts5(text, content='interactions', content_rowid='id')"
    )
    op.execute(
        "INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets WHERE subject <> '[erased]'"
    )
    op.execute(
        "INSERT INTO interactions_fts(rowid, text) SELECT id, text FROM interactions"
        " WHERE direction = 'in' AND text <> '[erased]'"
    )
    for statement in _CURSORS:  # everything so far is added: the cursors start here
        op.execute(statement)
    for statement in (
        *_sqlite_triggers("tickets", "tickets_fts", "subject", _TICKET_OLD, _TICKET_NEW),
        *_sqlite_triggers("interactions", "interactions_fts", "text", _INTERACTION_OLD, _INTERACTION_NEW),
    ):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("st_interactions_search", "st_tickets_subject_search"):
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
        for name in ("ix_interactions_search", "ix_tickets_subject_search", "ix_tickets_tags"):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        for fts in ("tickets_fts", "interactions_fts"):
            for kind in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{kind}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
        op.execute("DELETE FROM channel_cursors WHERE channel = 'search'")
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="tickets")
