"""Customer segments' storage: the features read per customer, the ``segment:<name>`` tags written
back, and ``segment_runs`` (owner), one row per run (docs/segments.md).

The clustering itself is :mod:`nlp.segments` (pure); ``bot/segments.py`` joins the two. Here:

- :meth:`Segments.features` reads every live customer's features (merged shells and erased
  records are left out) with four aggregate statements, each one pass grouped by customer: the
  customers themselves, their conversations, their tickets, and their customer messages of the
  last 90 days. That last one is bounded by *id*: interactions' ids grow with time, so the first
  id of the window is found by a binary search on the primary key (about 25 index probes), and
  only the window's rows are read (``analysis`` JSON: sentiment label, complaint flag). Results
  are streamed and kept in compact arrays (8 bytes a figure). At 1M customers, 3M conversations,
  2M tickets and 10M messages (1.2M in the window) that is four sequential scans and hash
  aggregates, no per-customer statement (docs/segments.md has the measured figures).
- :meth:`Segments.tag` replaces each customer's ``segment:*`` tags by the new one, a batch of
  customers per transaction (rows locked ``FOR UPDATE`` on PostgreSQL, in id order, so an agent's
  edit of the same record waits instead of being lost); a customer whose tag is unchanged is not
  written. The tag follows :mod:`ticketing.customer_edits`' limits: a record already holding
  ``MAX_TAGS`` other tags is skipped (counted).
"""

from __future__ import annotations

import array
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, String, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.customer_edits import MAX_TAGS
from ticketing.models import Base, Conversation, Customer, Id, Interaction, Ticket
from ticketing.time import utcnow

__all__ = [
    "FEATURE_NAMES",
    "TAG_PREFIX",
    "WINDOW_DAYS",
    "CustomerFeatures",
    "SegmentRun",
    "SegmentRunRow",
    "Segments",
    "TagResult",
]

TAG_PREFIX = "segment:"
WINDOW_DAYS = 90
# The same names as nlp.segments.FEATURES (bot/segments.py checks): ticketing may not import nlp.
FEATURE_NAMES = (
    "recency_days",
    "tenure_days",
    "conversations_90d",
    "channels",
    "open_tickets",
    "past_tickets",
    "negative_share",
    "complaints_90d",
    "csat",
)
_RESOLVED = ("solved", "closed")
_STREAM = 10_000


class SegmentRun(Base):
    """One segmentation run: when, how, and the segments it found (the console shows the last)."""

    __tablename__ = "segment_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))  # kmeans | minibatch | rule
    customers: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    silhouette: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[dict[str, Any]] = mapped_column()  # k → silhouette, as tried
    segments: Mapped[list[Any]] = mapped_column()  # [{name, description, size, centroid}], largest first
    tagged: Mapped[int] = mapped_column(Integer)  # customers whose segment tag changed


@dataclass(frozen=True, slots=True)
class SegmentRunRow:
    id: int
    started_at: datetime
    finished_at: datetime
    method: str
    customers: int
    k: int
    silhouette: float | None
    scores: dict[str, float]
    segments: tuple[dict[str, Any], ...]
    tagged: int


@dataclass(frozen=True, slots=True)
class CustomerFeatures:
    """Live customers in id order, one array per :data:`FEATURE_NAMES` column (csat NaN: never rated)."""

    ids: array.array[int]
    columns: dict[str, array.array[float]]


@dataclass(frozen=True, slots=True)
class TagResult:
    changed: int  # customers whose segment tag was written
    skipped: int  # customers at the tag limit, or merged or erased since the features were read


class Segments:
    def __init__(self, *, engine: AsyncEngine, batch: int = 1000) -> None:
        self._engine = engine
        self._batch = batch
        self._postgres = engine.dialect.name == "postgresql"

    async def features(self, *, now: datetime | None = None) -> CustomerFeatures:
        """Every live customer's features at ``now`` (see the module docstring for the cost)."""
        now = now or utcnow()
        since = now - timedelta(days=WINDOW_DAYS)
        ids: array.array[int] = array.array("q")
        cols = {name: array.array("d") for name in FEATURE_NAMES}
        index: dict[int, int] = {}
        async with self._engine.connect() as conn:
            live = select(Customer.id, Customer.created_at).where(
                Customer.merged_into_id.is_(None), Customer.erased_at.is_(None)
            )
            async for cid, created in _rows(conn, live.order_by(Customer.id)):
                index[cid] = len(ids)
                ids.append(cid)
                tenure = _days(now, created)
                for name, value in zip(
                    FEATURE_NAMES, (tenure, tenure, 0, 0, 0, 0, 0, 0, math.nan), strict=True
                ):
                    cols[name].append(value)
            recent = func.sum(case((Conversation.last_message_at >= since, 1), else_=0))
            talks = select(
                Conversation.customer_id, func.max(Conversation.last_message_at), recent,
                func.count(func.distinct(Conversation.channel)),
            ).group_by(Conversation.customer_id)  # fmt: skip
            async for cid, last, in_window, channels in _rows(conn, talks):
                if (i := index.get(cid)) is not None and last is not None:
                    cols["recency_days"][i] = _days(now, last)
                    cols["conversations_90d"][i] = float(in_window or 0)
                    cols["channels"][i] = float(channels or 0)
            resolved = Ticket.status.in_(_RESOLVED)
            tickets = select(
                Ticket.customer_id, func.sum(case((resolved, 0), else_=1)),
                func.sum(case((resolved, 1), else_=0)), func.avg(Ticket.csat_score),
            ).group_by(Ticket.customer_id)  # fmt: skip
            async for cid, open_, past, csat in _rows(conn, tickets):
                if (i := index.get(cid)) is not None:
                    cols["open_tickets"][i] = float(open_ or 0)
                    cols["past_tickets"][i] = float(past or 0)
                    cols["csat"][i] = math.nan if csat is None else float(csat)
            first = await _first_id_since(conn, since)
            if first is not None:
                label = Interaction.analysis[("sentiment", "label")].as_string()
                complaint = Interaction.analysis[("complaint", "is")].as_boolean()
                messages = select(
                    Interaction.customer_id,
                    func.count(),
                    func.sum(case((label == "negative", 1), else_=0)),
                    func.sum(case((complaint.is_(True), 1), else_=0)),
                ).where(
                    Interaction.id >= first, Interaction.direction == "in", Interaction.created_at >= since
                )
                async for cid, count, negative, complaints in _rows(
                    conn, messages.group_by(Interaction.customer_id)
                ):
                    if (i := index.get(cid)) is not None and count:
                        cols["negative_share"][i] = float(negative or 0) / float(count)
                        cols["complaints_90d"][i] = float(complaints or 0)
        return CustomerFeatures(ids, cols)

    async def tag(self, assignment: Mapping[int, str]) -> TagResult:
        """Give each customer of ``assignment`` the tag ``segment:<name>`` instead of its old ones."""
        wanted = sorted(assignment)
        changed = skipped = 0
        write = (
            update(Customer)
            .where(Customer.id == bindparam("b_id"))
            .values(tags=bindparam("b_tags"), updated_at=bindparam("b_now"))
        )
        for start in range(0, len(wanted), self._batch):
            chunk = wanted[start : start + self._batch]
            async with self._engine.begin() as conn:
                read = (
                    select(Customer.id, Customer.tags)
                    .where(
                        Customer.id.in_(chunk),
                        Customer.merged_into_id.is_(None),
                        Customer.erased_at.is_(None),
                    )
                    .order_by(Customer.id)
                )
                if self._postgres:
                    read = read.with_for_update()
                now = utcnow()
                rows = []
                fetched = (await conn.execute(read)).all()
                skipped += len(chunk) - len(fetched)
                for cid, tags in fetched:
                    old = [t for t in (tags or []) if isinstance(t, str)]
                    kept = [t for t in old if not t.startswith(TAG_PREFIX)]
                    new = [*kept, TAG_PREFIX + assignment[cid]]
                    if new == old:
                        continue
                    if len(new) > MAX_TAGS:
                        skipped += 1
                        continue
                    rows.append({"b_id": cid, "b_tags": new, "b_now": now})
                if rows:
                    await conn.execute(write, rows)
                    changed += len(rows)
        return TagResult(changed, skipped)

    async def record(
        self, *, started_at: datetime, method: str, customers: int, k: int, silhouette: float | None,
        scores: Mapping[int, float], segments: Sequence[Mapping[str, Any]], tagged: int,
    ) -> SegmentRunRow:  # fmt: skip
        """Store one run's summary; returns it as stored."""
        values = {
            "started_at": started_at, "finished_at": utcnow(), "method": method, "customers": customers,
            "k": k, "silhouette": silhouette, "scores": {str(key): v for key, v in sorted(scores.items())},
            "segments": [dict(s) for s in segments], "tagged": tagged,
        }  # fmt: skip
        async with self._engine.begin() as conn:
            inserted = await conn.execute(insert(SegmentRun).returning(SegmentRun.id), values)
            return _row({"id": int(inserted.scalar_one()), **values})

    async def latest(self) -> SegmentRunRow | None:
        """The newest run, or None before the first."""
        async with self._engine.connect() as conn:
            stmt = select(SegmentRun.__table__).order_by(SegmentRun.id.desc()).limit(1)
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _row(dict(row))


async def _rows(conn: AsyncConnection, stmt: Any) -> Any:
    """The rows of ``stmt``, fetched in slices (a server-side cursor on PostgreSQL)."""
    result = await conn.stream(stmt.execution_options(yield_per=_STREAM))
    async for part in result.partitions(_STREAM):
        for row in part:
            yield tuple(row)


async def _first_id_since(conn: AsyncConnection, since: datetime) -> int | None:
    """An interaction id below which no row was written at or after ``since``, by a binary search
    on the primary key (a few dozen index probes instead of a scan of the history). Ids follow the
    time a row was *written* (an inbound's ``processed_at``, an outbound's ``created_at``), not the
    ``created_at`` of an inbound message, which is when it was sent (an email's date may be old);
    a row is written after it was sent, so every message sent in the window is at or above the
    id found. A day of margin absorbs PostgreSQL's out-of-order commits."""
    low, high = (await conn.execute(select(func.min(Interaction.id), func.max(Interaction.id)))).one()
    if high is None:
        return None
    written = func.coalesce(Interaction.processed_at, Interaction.created_at)
    at = select(written).where(Interaction.id >= bindparam("b_id")).order_by(Interaction.id).limit(1)
    bound = since - timedelta(days=1)
    low, high = int(low), int(high) + 1
    while low < high:
        middle = (low + high) // 2
        if (await conn.execute(at, {"b_id": middle})).scalar_one() < bound:
            low = middle + 1
        else:
            high = middle
    return low


def _days(now: datetime, then: datetime) -> float:
    """Whole days (a few seconds apart is the same behaviour, and equal rows cluster as one)."""
    return float(max(0, (now - then).days))


def _row(values: Mapping[str, Any]) -> SegmentRunRow:
    return SegmentRunRow(
        id=int(values["id"]), started_at=values["started_at"], finished_at=values["finished_at"],
        method=str(values["method"]), customers=int(values["customers"]), k=int(values["k"]),
        silhouette=None if values["silhouette"] is None else float(values["silhouette"]),
        scores={str(k): float(v) for k, v in (values["scores"] or {}).items()},
        segments=tuple(values["segments"] or ()), tagged=int(values["tagged"]),
    )  # fmt: skip
