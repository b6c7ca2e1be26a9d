"""The ``webchat.widget:`` section of config.yaml: how the embedded widget looks and greets.

Every key is optional; a ``data-`` attribute on the script tag (``data-color``, ``data-position``,
``data-title``, ``data-avatar``, ``data-launcher-text``) overrides the key of the same meaning on
that page. ``title`` and ``launcher_text`` may be split by language like the rulebook's texts
(``{en: Chat with us, de: Schreiben Sie uns}``). See docs/configuration.md and docs/webchat-api.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.language_codes import language_problem

__all__ = ["WidgetSettings", "localized_text"]

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
# A plain text (every language) or one per language code.
LocalizedLabel = Label | dict[str, Label]


class WidgetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    color: str = "#2457d6"  # the bubble, the header, the customer's messages
    position: Literal["right", "left"] = "right"  # the corner the bubble sits in
    title: LocalizedLabel | None = None  # None: the widget's own "Chat with us", translated
    avatar_url: str | None = None  # an https:// (or site-relative /) image shown in the header
    launcher_text: LocalizedLabel | None = None  # a label next to the closed bubble
    pre_chat_form: Literal["off", "optional", "required"] = "off"  # name and email first
    email_capture: bool = True  # offer "leave your email" while the team is away
    # The calendars.yml calendar that says whether the team is in. None: the one of the SLA policy
    # a new web chat ticket gets (sla.yml); without either the widget shows no away banner.
    calendar: str | None = Field(None, pattern=r"^[a-z0-9_][a-z0-9_-]*$", max_length=64)

    @field_validator("pre_chat_form", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML reads a bare `off` (and `no`, `false`) as false: that is the mode "off" here.
        return "off" if value is False else value

    @field_validator("color")
    @classmethod
    def _hex_color(cls, value: str) -> str:
        if not _COLOR.match(value):
            raise ValueError(f"color must be a hex colour like '#2457d6' or '#25d', got {value!r}")
        return value.lower()

    @field_validator("avatar_url")
    @classmethod
    def _image_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not (value.startswith(("https://", "/")) and not value.startswith("//")) or len(value) > 2000:
            raise ValueError(
                "avatar_url must be an https:// address or a path on this server starting with '/', "
                f"got {value[:80]!r}"
            )
        return value

    @field_validator("title", "launcher_text")
    @classmethod
    def _languages(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            if not value:
                raise ValueError("no language given (write a text, or en: ..., de: ...)")
            for code in value:
                if (why := language_problem(code)) is not None:
                    raise ValueError(why)
        return value


def localized_text(value: str | Mapping[str, str] | None, languages: tuple[str, ...]) -> str | None:
    """``value`` in the first of ``languages`` it has (``de-AT`` also finds ``de``), else in its
    first language; a plain text is the same in every language."""
    if value is None or isinstance(value, str):
        return value
    for code in languages:
        for candidate in (code, code.split("-")[0]):
            if candidate in value:
                return value[candidate]
    return next(iter(value.values()))
