"""``/console/improve``: what the bot failed to understand, grouped into topics with a ready
rulebook snippet each, and "what would this rule change do" for a draft of ``rules.yml``.

The missed messages (out of scope, fallback, low confidence, complaints) are read from the
newest stored messages (:mod:`ticketing.missed_messages`) and clustered by
:func:`nlp.clusters.cluster_texts` in a short-lived worker process: scikit-learn stays out of
the service's memory and the CPU work off its event loop. Each topic is offered as a new intent
and as an FAQ, written as YAML by the YAML library (customer text is quoted, never pasted into a
template). A replay runs in a thread against the live pipeline (:mod:`bot.rulebook_replay`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from aiohttp import web

from bot.console.pages import BASE, Pages
from bot.fresh_process import in_fresh_process
from bot.knowledge import LiveKnowledge
from bot.rulebook_replay import replay_draft
from nlp.clusters import TextCluster, cluster_texts, suggested_name
from ticketing.missed_messages import REASONS, CustomerMessage, MissedMessage

__all__ = ["ImprovePages"]

ReadMissed = Callable[..., Awaitable[tuple[list[MissedMessage], int]]]
ReadRecent = Callable[..., Awaitable[list[CustomerMessage]]]
_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
_CLUSTERED = 2000  # the newest missed messages that are clustered (bounded CPU per page)
_REPLAY_SIZES = (100, 500, 1000)


class ImprovePages:
    def __init__(
        self, *, pages: Pages, knowledge: LiveKnowledge, missed: ReadMissed, recent: ReadRecent,
        faq_threshold: float,
    ) -> None:  # fmt: skip
        self._pages = pages
        self._knowledge = knowledge
        self._missed = missed
        self._recent = recent
        self._faq_threshold = faq_threshold

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{BASE}/improve", self.page), web.post(f"{BASE}/improve/replay", self.replay)]

    async def page(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "rulebook:read")
        chosen = request.query.get("range", "7d")
        if chosen not in _RANGES:
            raise self._pages.error(
                request, 400, "Bad range", "range must be 24h, 7d or 30d", principal=principal
            )
        missed, seen = await self._missed(since=datetime.now(UTC) - _RANGES[chosen])
        texts = [m.message.text for m in missed[:_CLUSTERED]]
        clusters = await in_fresh_process(cluster_texts, texts) if texts else []
        reasons = Counter(r for m in missed for r in m.reasons)
        context = {
            "range": chosen, "seen": seen, "missed": len(missed),
            "reasons": [(r, reasons[r]) for r in REASONS], "topics": [_topic(c) for c in clusters],
            "clustered": len(texts), "draft": self._rules_text(), "sizes": _REPLAY_SIZES,
            "size": _REPLAY_SIZES[0], "result": None, "error": None,
        }  # fmt: skip
        return self._pages.render("improve.html", request, context, principal=principal)

    async def replay(self, request: web.Request) -> web.Response:
        form = await self._pages.form(request)
        principal = await self._pages.viewer(
            request, "rulebook:read", csrf=str(form.get("csrf_token", "")) or None
        )
        draft = str(form.get("draft", ""))
        size = int(s) if (s := str(form.get("size", ""))).isdecimal() and int(s) in _REPLAY_SIZES else None
        context: dict[str, Any] = {"draft": draft, "sizes": _REPLAY_SIZES, "size": size or _REPLAY_SIZES[0],
                                   "result": None, "error": None}  # fmt: skip
        if size is None:
            context["error"] = f"replay {', '.join(map(str, _REPLAY_SIZES))} messages; pick one of them"
            return self._pages.render(
                "improve_replay.html", request, context, principal=principal, status=422
            )
        if not draft.strip():
            context["error"] = "paste a draft of rules.yml to replay"
            return self._pages.render(
                "improve_replay.html", request, context, principal=principal, status=422
            )
        messages = await self._recent(limit=size)
        live = self._knowledge.current
        result = await asyncio.to_thread(
            replay_draft, live, self._knowledge.directory, draft, messages, faq_threshold=self._faq_threshold
        )
        context["result"] = result
        status = 422 if result.problems else 200
        return self._pages.render("improve_replay.html", request, context, principal=principal, status=status)

    def _rules_text(self) -> str:
        path = self._knowledge.directory / "rules.yml"
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            return ""


def _topic(cluster: TextCluster) -> dict[str, Any]:
    name = suggested_name(cluster)
    label = " ".join(name.split("_")).capitalize()
    intent = [{"name": name, "label": label, "examples": list(cluster.members[:20])}]
    faq = [{"id": name, "label": label, "questions": list(cluster.examples),
            "answer": "Write the answer here."}]  # fmt: skip
    return {
        "cluster": cluster,
        "name": name,
        "intent_yaml": "# rulebook/intents.yml, under intents: (review the examples)\n" + _dump(intent),
        "faq_yaml": "# rulebook/faq.yml, under faq: (one answer for them all)\n" + _dump(faq),
    }


def _dump(items: list[dict[str, Any]]) -> str:
    text = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100)
    return "".join(f"  {line}\n" for line in text.splitlines())
