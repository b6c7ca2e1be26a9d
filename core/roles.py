"""Roles and what each may do: the one policy every surface (CLI, HTTP, Slack) checks.

Pure data, so the CLI, the HTTP layer and the Slack backend cannot disagree: a surface asks
:func:`allows` and never compares role names itself. A permission is ``area:verb``; an API
token carries a subset of its account's permissions (its *scopes*).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "PERMISSIONS",
    "Role",
    "allows",
    "parse_scopes",
    "permissions_of",
]


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


_ALL = frozenset(Role)
_STAFF = frozenset({Role.ADMIN, Role.AGENT})
_ADMIN = frozenset({Role.ADMIN})

#: permission → the roles that hold it. Erasing personal data and reading the access audit are
#: an admin's: both are about everyone's data, not one ticket's.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "tickets:read": _ALL,
    "tickets:write": _STAFF,
    "customers:read": _ALL,
    "customers:write": _STAFF,
    "customers:erase": _ADMIN,
    "accounts:admin": _ADMIN,
    "audit:read": _ADMIN,
    "rulebook:read": _ALL,
    "reports:read": _ALL,
    "webhooks:admin": _ADMIN,
}


def permissions_of(role: Role) -> frozenset[str]:
    """Every permission ``role`` holds."""
    return frozenset(p for p, roles in PERMISSIONS.items() if role in roles)


def allows(role: Role, permission: str) -> bool:
    """Whether ``role`` holds ``permission``; an unknown permission is nobody's."""
    return role in PERMISSIONS.get(permission, frozenset())


def parse_scopes(text: str | Iterable[str], role: Role) -> frozenset[str]:
    """Scopes for a token of an account with ``role``: known permissions the role holds.

    Raises:
        ValueError: with the offending names, for an unknown scope or one the role lacks.
    """
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not names:
        raise ValueError(f"no scopes given; choose from {', '.join(sorted(permissions_of(role)))}")
    unknown = sorted(n for n in names if n not in PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(PERMISSIONS))}")
    beyond = sorted(n for n in names if not allows(role, n))
    if beyond:
        raise ValueError(f"a {role} account does not hold {', '.join(beyond)}, so its token cannot")
    return frozenset(names)
