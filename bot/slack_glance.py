"""Ticketing's values → the Slack connector's, for the customer at a glance and agents' edits.

Kept out of ``bot/slack_backend.py`` so the adapter stays a list of thin methods: this module
only copies fields across the boundary (``connectors`` never imports ``ticketing``).
"""

from __future__ import annotations

from connectors.slack.glance import CustomerFacts, IdentityLine, PastTicket
from connectors.slack.views import TicketEdit
from ticketing.customer_glance import CustomerGlance
from ticketing.tickets import TicketChange

__all__ = ["customer_facts", "ticket_change"]


def customer_facts(glance: CustomerGlance, *, number: int, name: str) -> CustomerFacts:
    """The connector's :class:`CustomerFacts` of ticket ``number``'s customer, called ``name``."""
    return CustomerFacts(
        number=number, name=name, email=glance.email, claimed_email=glance.claimed_email,
        phone=glance.phone, erased=glance.erased,
        identities=tuple(IdentityLine(i.channel, i.external_id, i.display_name) for i in glance.identities),
        past_tickets=tuple(
            PastTicket(t.number, t.subject, t.status, t.csat_score) for t in glance.past_tickets
        ),
        past_total=glance.past_total, last_csat=glance.last_csat, messages=glance.messages,
        negative=glance.negative, complaints=glance.complaints, tags=glance.tags,
        attributes=dict(glance.attributes),
    )  # fmt: skip


def ticket_change(edit: TicketEdit) -> TicketChange:
    return TicketChange(
        status=edit.status, priority=edit.priority, queue=edit.queue, set_assignee=edit.set_assignee,
        assignee=edit.assignee, add_tags=edit.add_tags, remove_tags=edit.remove_tags,
    )  # fmt: skip
