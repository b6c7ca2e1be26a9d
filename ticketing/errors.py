"""Typed errors of the ticketing service.

Every message is written for the operator who caused it (CLI user, agent, admin) and says what
to do; nothing has been written when one is raised, because each operation is one transaction
that the error rolls back. ::

    TicketError
    ├── TicketNotFound        no ticket with that reference
    ├── InvalidTransition     e.g. solved → new, or anything out of closed
    ├── InvalidValue          unknown priority, empty tag, bad rating
    ├── UnknownQueue          the queue is not configured (``frontdesk tickets queues``)
    ├── UnknownAgent          the agent is not configured, or not a member of the queue
    ├── NoAgentAvailable      every available agent of the queue is at their cap
    └── CustomerNotFound      no customer with that id (or it was merged away / erased)

Rulebook problems (SLA policies, calendars, escalations) are ``core.yamlfile.RulebookError``
with ``file:line`` messages instead, like every other hand-edited file.
"""

from __future__ import annotations

from core.errors import FrontdeskError

__all__ = [
    "CustomerNotFound",
    "InvalidTransition",
    "InvalidValue",
    "NoAgentAvailable",
    "TicketError",
    "TicketNotFound",
    "UnknownAgent",
    "UnknownQueue",
]


class TicketError(FrontdeskError):
    """Base of every expected ticketing failure; the message is operator-facing."""


class TicketNotFound(TicketError):
    pass


class InvalidTransition(TicketError):
    pass


class InvalidValue(TicketError):
    pass


class UnknownQueue(TicketError):
    pass


class UnknownAgent(TicketError):
    pass


class NoAgentAvailable(TicketError):
    pass


class CustomerNotFound(TicketError):
    pass
