"""Slack ``mrkdwn`` text: escaping what others wrote, and staying within a block's limits."""

from __future__ import annotations

__all__ = ["MAX_TEXT", "clip", "escape"]

MAX_TEXT = 2900  # a section's text may have 3000 characters


def escape(text: str) -> str:
    """``&``, ``<``, ``>`` escaped: the text can neither mention ``@channel`` nor forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
