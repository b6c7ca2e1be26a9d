"""Full-text search of tickets: their subject and what the customer wrote on them.

The index is the database's own on PostgreSQL and a bulk-filled FTS5 table on SQLite, so
storing a message does no search work in the turn batch (migration 0011):

* PostgreSQL: expression GIN indexes on ``to_tsvector('simple', …)`` of ``tickets.subject``
  and of ``interactions.text`` (partial: inbound messages linked to a ticket). There is no
  copy of the text to keep in step: an erased message or subject is no longer indexed under its
  words the moment the erasure commits.
* SQLite: two FTS5 tables with external content (``tickets_fts`` over ``tickets.subject``,
  ``interactions_fts`` over inbound ``interactions.text``), filled in rounds by
  :mod:`ticketing.search_index` (a new message is found within about a second); update and
  delete triggers drop the old words of rows already added, so an erasure removes them at once.

On both, erased text (``[erased]``) is not indexed.

Both use a language-neutral tokenizer (``simple`` / ``unicode61``: lower-cased words, no
stemming), since customers write in any language. A query matches the tickets whose subject,
or one of whose customer messages, contains every word (whole words: no prefixes, which would
make a common prefix cost a walk over many words' lists on every test).

The indexes are declared here and in the migration, not in :mod:`ticketing.models`, because
SQLAlchemy's metadata cannot express either engine's kind; :func:`include_name` keeps Alembic's
model comparison off them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, column, exists, func, literal_column, or_, select, table, union
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from ticketing.customer_admin import ERASED
from ticketing.errors import InvalidValue
from ticketing.models import Interaction, Ticket

__all__ = ["MAX_TERMS", "UNCOMPARED", "WINDOW", "Tier", "include_name", "parse_terms", "search_conditions"]

MAX_TERMS = 16
#: Tickets a search of several common words on PostgreSQL tests one by one before it collects;
#: SQLite's first window of a common search (docs/performance.md).
WINDOW = 2000
_PG_WORK_MEM = "32MB"
#: Matches below which SQLite collects a search's every match at once.
_FTS_FEW = 2000
#: Search objects outside the models' metadata: PostgreSQL's indexes, SQLite's FTS5 tables
#: (and the shadow tables FTS5 makes for each).
UNCOMPARED = frozenset({"ix_tickets_tags", "ix_tickets_subject_search", "ix_interactions_search"})
_FTS_TABLES = ("tickets_fts", "interactions_fts")
_WORD = re.compile(r"[^\W_]+")
_ERASED: ColumnElement[Any] = literal_column(f"'{ERASED}'")  # never indexed
_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


@dataclass(frozen=True, slots=True)
class Tier:
    """One condition of a search, and whether it is a collected set of ticket ids.

    A collected set must drive the page: sorted itself, then each ticket fetched. Left to the
    planner, PostgreSQL walked the primary key backwards from the newest ticket, testing each
    against the set, because it expected thousands of matches where an order number has one.
    """

    condition: ColumnElement[bool]
    collected: bool


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's ``include_name`` hook: leave the search objects out of model comparisons."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(_FTS_TABLES)
    return name not in UNCOMPARED


def parse_terms(query: str) -> list[str]:
    """The words of a search, lower-cased.

    Raises:
        InvalidValue: no word in it, or more than :data:`MAX_TERMS` words.
    """
    terms = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    if not terms:
        raise InvalidValue("q needs at least one word (letters or digits); for example q=refund")
    if len(terms) > MAX_TERMS:
        raise InvalidValue(f"q has {len(terms)} words; search with at most {MAX_TERMS}")
    return terms


async def search_conditions(
    conn: AsyncConnection,
    terms: list[str],
    *,
    limit: int,
    before: int | None = None,
    common_after: int | None = None,
    window: int = WINDOW,
) -> list[Tier]:
    """Conditions on ``tickets`` for "matches every term", tried in order until the page is full:
    each one covers tickets older than the one before, so their rows, newest first, follow on.

    Rare words: the set of matching tickets, collected through the index at once. Common ones:
    collecting every match would read most of the index for a page that fills after a few
    tickets, so

    * PostgreSQL tests each ticket as the newest-first scan reaches it. The cut at
      sqrt(limit * messages): collecting costs about one row read per matching message, M;
      scanning about one message test per (messages / M) messages per result. For several words
      the planner multiplies the words' frequencies as if independent, and words that go
      together ("broken zipper") are far more common than that; only a bound is known, the
      rarest word's. So several common words are scanned through the newest ``window`` tickets
      only (a bounded cost, where words that never meet would be scanned through every ticket),
      then collected among the older ones.
    * SQLite tests a ticket with an FTS5 lookup per message, far dearer than a scan step on
      PostgreSQL, so it collects window by window instead (:func:`_fts_tiers`); it counts the
      matches exactly, so "rare" is known.

    ``common_after`` replaces the cut between rare and common (tests force each plan);
    figures in docs/performance.md.
    """
    dialect = conn.dialect.name
    if dialect != "postgresql":
        return await _fts_tiers(
            conn, terms, before, _FTS_FEW if common_after is None else common_after, window
        )
    cut = common_after
    if cut is None:
        total = (await conn.execute(select(func.max(Interaction.id)))).scalar() or 0
        cut = max(1000, math.isqrt((limit + 1) * int(total)))
    # A search's bitmaps stay exact: a lossy one re-reads every row of its pages.
    await conn.exec_driver_sql(f"SET LOCAL work_mem = '{_PG_WORK_MEM}'")
    rarest = min([await _pg_estimate(conn, [term]) for term in terms])
    if rarest < cut:
        return [Tier(Ticket.id.in_(_pg_set(terms)), True)]
    if len(terms) == 1:
        return [Tier(_pg_scan(terms), False)]
    floor = await _top(conn, before) - window
    return [
        Tier(and_(Ticket.id >= floor, _pg_scan(terms)), False),
        Tier(and_(Ticket.id < floor, Ticket.id.in_(_pg_set(terms))), True),
    ]


async def _fts_tiers(
    conn: AsyncConnection, terms: list[str], before: int | None, few: int, window: int
) -> list[Tier]:
    """SQLite: collect all matches of a rare search; a common one, collected window by window of
    the newest tickets (``window``, then 20 times as many, then the rest)."""
    if await _fts_count(conn, terms, few) < few:
        return [Tier(Ticket.id.in_(_fts_set(terms)), True)]
    top = await _top(conn, before)
    bounds = [top, top - window, top - 20 * window]
    tiers = [
        Tier(and_(Ticket.id >= low, Ticket.id < high, Ticket.id.in_(_fts_set(terms, (low, high)))), True)
        for high, low in itertools.pairwise(bounds)
    ]
    return [*tiers, Tier(and_(Ticket.id < bounds[-1], Ticket.id.in_(_fts_set(terms))), True)]


async def _top(conn: AsyncConnection, before: int | None) -> int:
    """One past the newest ticket a page may show."""
    if before is not None:
        return before
    return 1 + int((await conn.execute(select(func.max(Ticket.id)))).scalar() or 0)


def _tsquery(terms: list[str]) -> ColumnElement[Any]:
    return func.to_tsquery(_CONFIG, " & ".join(terms))


def _pg_messages(terms: list[str]) -> list[ColumnElement[bool]]:
    # Literals, not bound values: the planner must see the partial index's predicate.
    return [
        Interaction.direction == literal_column("'in'"),
        Interaction.ticket_id.is_not(None),
        Interaction.text != _ERASED,
        _matches(Interaction.text, _tsquery(terms)),
    ]


def _pg_subject(terms: list[str]) -> ColumnElement[bool]:
    return and_(Ticket.subject != _ERASED, _matches(Ticket.subject, _tsquery(terms)))


def _pg_set(terms: list[str]) -> Select[Any]:
    subject = select(Ticket.id).where(_pg_subject(terms))
    messages = select(Interaction.ticket_id).where(*_pg_messages(terms))
    return select(union(subject, messages).subquery().c[0])


def _pg_scan(terms: list[str]) -> ColumnElement[bool]:
    # OFFSET 0 keeps PostgreSQL from turning the test into a hashed set of every match, which
    # is the collecting this plan is here to avoid.
    tested: Select[Any] = select(literal_column("1")).where(
        Interaction.ticket_id == Ticket.id, *_pg_messages(terms)
    )
    return or_(exists(tested.offset(0)), _pg_subject(terms))


async def _pg_estimate(conn: AsyncConnection, terms: list[str]) -> int:
    """The planner's estimate of the matching messages (from the index's statistics): free,
    where counting a common word would cost what the search is trying to avoid."""
    stmt = select(Interaction.id).where(*_pg_messages(terms))
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}")).scalar()
    data: Any = json.loads(plan) if isinstance(plan, str) else plan
    return int(data[0]["Plan"]["Plan Rows"])


def _fts_match(terms: list[str]) -> str:
    return " AND ".join(f'"{w}"' for w in terms)  # words are letters and digits only


def _fts_set(terms: list[str], window: tuple[int, int] | None = None) -> Select[Any]:
    """Ids of the matching tickets, or of those in ``window`` ([floor, ceiling) of ticket ids)."""
    match = _fts_match(terms)
    tickets_fts, interactions_fts = (table(n, column("rowid")) for n in _FTS_TABLES)
    subject = select(tickets_fts.c.rowid).where(literal_column("tickets_fts").op("MATCH")(match))
    hits = select(interactions_fts.c.rowid).where(literal_column("interactions_fts").op("MATCH")(match))
    linked: ColumnElement[bool] = Interaction.ticket_id.is_not(None)
    if window is not None:
        floor, ceiling = window
        linked = and_(Interaction.ticket_id >= floor, Interaction.ticket_id < ceiling)
        subject = subject.where(tickets_fts.c.rowid >= floor, tickets_fts.c.rowid < ceiling)
        # No message of these tickets is older than their oldest: FTS5 seeks there in its lists.
        oldest = select(func.min(Interaction.id)).where(linked).scalar_subquery()
        hits = hits.where(interactions_fts.c.rowid >= oldest)
    messages = select(Interaction.ticket_id).where(Interaction.id.in_(hits), linked)
    return select(union(subject, messages).subquery().c[0])


async def _fts_count(conn: AsyncConnection, terms: list[str], cut: int) -> int:
    """Matching messages, counted up to ``cut`` (FTS5 walks its list of matches: cheap)."""
    interactions_fts = table("interactions_fts", column("rowid"))
    hits = (
        select(interactions_fts.c.rowid)
        .where(literal_column("interactions_fts").op("MATCH")(_fts_match(terms)))
        .limit(cut)
        .subquery()
    )
    return int((await conn.execute(select(func.count()).select_from(hits))).scalar_one())


def _matches(text: Any, tsquery: Any) -> ColumnElement[bool]:
    return func.to_tsvector(_CONFIG, text).op("@@")(tsquery)
