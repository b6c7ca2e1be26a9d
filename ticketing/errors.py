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
    ├── CustomerNotFound      no customer with that id (or it was merged away / erased)
    │   └── CustomerRetired   it was merged into another (``merged_into``) or erased: no edits
    └── AccountError          accounts, tokens, sessions (ticketing/accounts.py)
        ├── UnknownAccount    no account with that name
        ├── NotPermitted      the account is disabled or its role lacks the permission
        └── LoginRefused      wrong name or password, or locked after failures (retry_after)

Rulebook problems (SLA policies, calendars, escalations) are ``core.yamlfile.RulebookError``
with ``file:line`` messages instead, like every other hand-edited file.
"""

from __future__ import annotations

from core.errors import FrontdeskError

__all__ = [
    "AccountError",
    "CustomerNotFound",
    "CustomerRetired",
    "InvalidTransition",
    "InvalidValue",
    "LoginRefused",
    "NoAgentAvailable",
    "NotPermitted",
    "TicketError",
    "TicketNotFound",
    "UnknownAccount",
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


class CustomerRetired(CustomerNotFound):
    """The record exists but takes no changes: merged into ``merged_into``, or erased (None)."""

    def __init__(self, message: str, *, merged_into: int | None) -> None:
        super().__init__(message)
        self.merged_into = merged_into


class AccountError(TicketError):
    """An account, token or session operation refused; the message says what to do."""


class UnknownAccount(AccountError):
    pass


class NotPermitted(AccountError):
    pass


class LoginRefused(AccountError):
    """A login refused; ``retry_after`` seconds are left of a lock (0 when not locked)."""

    def __init__(self, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
