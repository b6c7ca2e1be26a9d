"""``/api/v1/conversations/{public_id}`` (a transcript with every interaction and its analysis) and
``/api/v1/rulebook`` (what rulebook is live and whether the files on disk load).

A transcript is personal data: each read is written to the access audit under the conversation's
customer before it is answered. The rulebook's status is what an operator checks after editing a
file: the files and fingerprint of the live version (the same on every process that loaded the
same files), when it went live, and the last reload's problems as ``file``/``line``/``message``
(relative to the rulebook folder, which itself is not shown).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

from aiohttp import web

from bot.api_auth import ApiAuth, record_access, require
from bot.api_customers import jsonable
from bot.api_paging import bad_request, decode_cursor, encode_cursor, query_limit
from bot.knowledge import LiveKnowledge
from bot.problem import Problem, problem_handler
from ticketing.access_audit import AccessAudit
from ticketing.transcripts import Transcripts

__all__ = ["ConversationApi", "RulebookApi", "rulebook_problems"]

_PROBLEM = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)
_MAX_PUBLIC_ID = 40  # conversations.public_id is VARCHAR(40)


class ConversationApi:
    def __init__(self, *, auth: ApiAuth, audit: AccessAudit, transcripts: Transcripts) -> None:
        self._auth = auth
        self._audit = audit
        self._transcripts = transcripts

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/conversations/{public_id}", problem_handler(self.transcript))]

    async def transcript(self, request: web.Request) -> web.Response:
        """One page of interactions, oldest first (``limit`` up to 1000, ``next_cursor``)."""
        principal = await self._auth.principal(request)
        require(principal, "customers:read")
        public_id = request.match_info["public_id"]
        if len(public_id) > _MAX_PUBLIC_ID or "\x00" in public_id or not public_id.isprintable():
            raise bad_request(
                f"public_id is a conversation id of at most {_MAX_PUBLIC_ID} characters (e.g. wc_…)"
            )
        limit = query_limit(request, default=200, maximum=1000)
        after = decode_cursor(request, "after") or 0
        info = await self._transcripts.conversation(public_id)
        if info is None:
            raise Problem(
                404, "Not found",
                f"no conversation {public_id!r}; a customer's are listed by GET /api/v1/customers/{{id}}",
                slug="not-found",
            )  # fmt: skip
        entries = await self._transcripts.page(info.id, after=after, limit=limit + 1)
        await record_access(
            self._audit, request, principal, "conversation.read", customer_id=info.customer_id
        )
        more = len(entries) > limit
        entries = entries[:limit]
        conversation = jsonable(asdict(info))
        del conversation["id"]  # the internal row id; clients use public_id
        return web.json_response({
            "conversation": conversation,
            "interactions": [jsonable(asdict(e)) for e in entries],
            "next_cursor": encode_cursor("after", entries[-1].id) if more else None,
        })  # fmt: skip


class RulebookApi:
    def __init__(self, *, auth: ApiAuth, knowledge: LiveKnowledge) -> None:
        self._auth = auth
        self._knowledge = knowledge

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/rulebook", problem_handler(self.status))]

    async def status(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "rulebook:read")
        live = self._knowledge.current
        errors = rulebook_problems(self._knowledge.last_error, self._knowledge.directory)
        failed_at = self._knowledge.failed_at
        return web.json_response({
            "status": "errors" if errors else "ok",
            "files": list(live.files),
            "fingerprint": live.fingerprint,
            "loaded_at": live.loaded_at.isoformat(),
            "reloads": self._knowledge.reloads,
            "intent_model": {"version": live.model_version, "ready": live.model_ready},
            "errors": errors,
            "failed_at": failed_at.isoformat() if failed_at is not None else None,
        })  # fmt: skip


def rulebook_problems(problems: tuple[str, ...], directory: Path) -> list[dict[str, str | int | None]]:
    """``path:line: message`` lines as objects; paths relative to the rulebook folder, line
    None where the loader knew none (line 0, or a problem without one)."""
    found: list[dict[str, str | int | None]] = []
    for text in problems:
        match = _PROBLEM.match(text)
        if match is None:  # e.g. "<folder>: internal error while loading (...); see the log"
            found.append({"file": None, "line": None, "message": _relative(text, directory).lstrip(": ")})
            continue
        line = int(match["line"])
        found.append(
            {"file": _relative(match["file"], directory), "line": line or None, "message": match["message"]}
        )
    return found


def _relative(text: str, directory: Path) -> str:
    for prefix in (f"{directory.resolve()}/", f"{directory}/", str(directory.resolve()), str(directory)):
        text = text.replace(prefix, "")
    return text or "."
