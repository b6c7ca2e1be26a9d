"""The outgoing webhooks' event types (docs/webhooks.md): one list for the config's validation
(bot/) and the feed that queues deliveries (ticketing/), which may not import each other's layer."""

from __future__ import annotations

__all__ = ["EVENT_TYPES"]

EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "message.created",
    "csat.received",
    "sla.warning",
    "sla.breached",
    "customer.erased",
)
