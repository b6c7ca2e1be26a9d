"""The Slack projection's batches: audit-trail rows merged into one time-ordered feed.

Pure: the rows come from the backend (ticket events and ticket-linked messages read after the
projection's cursors), the cut decides how far the cursors may move so nothing is skipped.
"""

from __future__ import annotations

from typing import Any

from connectors.slack.views import Feed, FeedItem
from core.contracts import attachments_of

__all__ = ["build_feed"]


def build_feed(
    events: list[dict[str, Any]],
    scanned: list[dict[str, Any]],
    interactions: list[dict[str, Any]],
    *,
    after: tuple[int, int],
    ends: tuple[int, int],
    limit: int,
) -> Feed:
    """One batch from rows read after the cursors ``after`` (event id, interaction id).

    ``events`` are ticket events in id order; ``scanned`` is every interaction's id and time
    (the unfiltered sequence, which is contiguous but for holes), ``interactions`` the
    ticket-linked ones among them. ``ends`` is how far each source may go (up to its first hole
    that may still fill, see ``ticketing/commit_order.py``). Events and messages come in time
    order; when a source was cut at ``limit``, the other is cut at its last timestamp, so the
    next batch cannot hold anything older.
    """
    event_end, scan_end = ends
    items = [_event_item(e) for e in events if e["id"] <= event_end]
    items += [_interaction_item(i) for i in interactions if after[1] < i["id"] <= scan_end]
    items.sort(key=lambda i: (i.created_at, 0 if i.source == "interaction" else 1, i.id))
    horizon = None
    for rows, end in ((events, event_end), (scanned, scan_end)):
        if len(rows) >= limit and rows[-1]["id"] == end:  # cut by the limit, not by a hole
            last = rows[-1]["created_at"]
            horizon = last if horizon is None else min(horizon, last)
    cut = {"event": event_end + 1, "interaction": scan_end + 1}  # the first id not in this batch
    for item in items:
        if horizon is not None and item.created_at > horizon:
            cut[item.source] = min(cut[item.source], item.id)
    kept = [i for i in items if i.id < cut[i.source]]  # each source a run of ids: the cursor is exact
    return Feed(tuple(kept), (cut["event"] - 1, cut["interaction"] - 1))


def _event_item(row: dict[str, Any]) -> FeedItem:
    return FeedItem("event", row["id"], row["ticket_id"], row["kind"], row["created_at"], actor=row["actor"],
                    data=dict(row["data"] or {}))  # fmt: skip


def _interaction_item(row: dict[str, Any]) -> FeedItem:
    return FeedItem("interaction", row["id"], row["ticket_id"], "message", row["created_at"],
                    direction=row["direction"], role=row["sender_role"], name=row["sender_name"],
                    text=row["text"], channel=row["channel"],
                    attachments=attachments_of(row.get("attachments")))  # fmt: skip
