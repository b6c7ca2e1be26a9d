"""Slack users → Frontdesk agents, and who may act on tickets at all.

The Slack user id itself is always the first candidate (``slack:U123``): an account linked to it
with ``frontdesk accounts link-slack`` names the agent, and that account's role decides what the
user may do (bot/slack_backend.py). A user may act when they are mapped explicitly
(``agents: {U123: alice}``), listed in ``allowed_users``, or a member of ``allowed_usergroup``.
Users who are not mapped explicitly are matched to an agent by their Slack e-mail (agent handle
= the address or its local part).
Lookups are cached for ``ttl`` seconds so a burst of clicks costs one API call.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import AgentLookup
from connectors.slack.config import SlackSettings
from connectors.slack.views import AgentRef

__all__ = ["AgentDirectory", "Verdict"]

_LOGGER = logging.getLogger(__name__)

NOT_ALLOWED = "You're not allowed to act on Frontdesk tickets. Ask an admin to add you as an agent."
NOT_LINKED = (
    "You're allowed to act on tickets, but no Frontdesk agent matches your Slack account; "
    "ask an admin to run frontdesk accounts link-slack ACCOUNT YOUR_USER_ID, map your user id in "
    "slack.agents or add an agent with your e-mail as handle."
)


@dataclass(frozen=True, slots=True)
class Verdict:
    agent: AgentRef | None
    reason: str = ""


class AgentDirectory:
    def __init__(
        self, *, settings: SlackSettings, api: SlackApi, agents: AgentLookup, ttl: float = 60.0
    ) -> None:
        self._settings = settings
        self._api = api
        self._agents = agents
        self._ttl = ttl
        self._group: tuple[float, frozenset[str]] | None = None
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._users: dict[str, str] = {handle: user for user, handle in settings.agents.items()}

    @property
    def users(self) -> dict[str, str]:
        """Agent handle → Slack user id, for mentions (explicit mappings and users seen acting)."""
        return dict(self._users)

    async def resolve(self, user_id: str) -> Verdict:
        allowed = self._settings.may_act(user_id)
        if allowed is None:
            allowed = user_id in await self._group_members()
        if not allowed:
            return Verdict(None, NOT_ALLOWED)
        candidates: tuple[str, ...] = ()
        if user_id in self._settings.agents:
            candidates = (self._settings.agents[user_id],)
        elif self._settings.match_by_email:
            email = await self._email(user_id)
            if email:
                candidates = (email, email.lower(), email.split("@", 1)[0])
        agent = await self._agents.find_agent((f"slack:{user_id}", *candidates))
        if agent is None:
            return Verdict(None, NOT_LINKED)
        self._users.setdefault(agent.handle, user_id)
        return Verdict(agent)

    async def allowed(self, user_id: str) -> bool:
        """Whether the user may act on tickets (an agent), without looking for their agent."""
        allowed = self._settings.may_act(user_id)
        return user_id in await self._group_members() if allowed is None else allowed

    async def _group_members(self) -> frozenset[str]:
        group = self._settings.allowed_usergroup
        if group is None:
            return frozenset()
        if self._group is not None and time.monotonic() - self._group[0] < self._ttl:
            return self._group[1]
        try:
            data = await self._api.call("usergroups.users.list", retry=False, usergroup=group)
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.warning("slack: cannot read user group %s (%s)", group, exc)
            return self._group[1] if self._group else frozenset()
        members = frozenset(str(u) for u in data.get("users") or ())
        self._group = (time.monotonic(), members)
        return members

    async def _email(self, user_id: str) -> str | None:
        cached = self._emails.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            data = await self._api.call("users.info", retry=False, user=user_id)
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.warning("slack: cannot read user %s (%s)", user_id, exc)
            return None
        email = ((data.get("user") or {}).get("profile") or {}).get("email")
        value = email if isinstance(email, str) and email else None
        self._emails[user_id] = (time.monotonic(), value)
        return value

    async def user_for(self, handle: str) -> str | None:
        """The Slack user id to mention for an agent handle, if it can be known."""
        if handle in self._users:
            return self._users[handle]
        if not (self._settings.match_by_email and "@" in handle):
            return None
        cached = self._emails.get("by-email:" + handle)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            data = await self._api.call("users.lookupByEmail", retry=False, email=handle)
            user = (data.get("user") or {}).get("id")
        except (SlackRefused, SlackUnavailable):
            user = None
        value = user if isinstance(user, str) else None
        self._emails["by-email:" + handle] = (time.monotonic(), value)
        if value is not None:
            self._users[handle] = value
        return value
