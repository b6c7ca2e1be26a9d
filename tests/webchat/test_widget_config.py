"""``GET /api/v1/widget``: branding, greeting, availability, forms; languages; CORS; no database.

The app is the real one (tests/webchat/widget_setup.py); :class:`WidgetConfig` is also driven
directly with a fixed clock against the real example rulebook, for exact "back at" instants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from bot.config import ConfigError, settings_from_text
from bot.knowledge import Knowledge
from bot.widget_config import WidgetConfig
from connectors.webchat.config import WidgetSettings
from connectors.webchat.widget_route import parse_languages
from core import log_context
from tests.conftest import ROOT
from tests.webchat.helpers import start_session
from tests.webchat.widget_setup import WidgetApp, back_at, widget_app
from ticketing.sla_config import load_sla_config

__all__ = ["widget_app"]  # the fixture, imported for pytest

BRANDED = """
color: "#AA3300"
position: left
title: {en: Talk to Acme, de: Sprechen Sie mit Acme}
avatar_url: https://cdn.example.com/acme.png
launcher_text: Questions?
pre_chat_form: required
email_capture: false
"""


async def test_greeting_in_the_visitors_language_with_its_quick_replies(widget_app: WidgetApp) -> None:
    _app, client = await widget_app()
    resp = await client.get("/api/v1/widget?lang=de-DE,en")
    assert resp.status == 200
    body = await resp.json()
    assert body["language"] == "de" and body["language_matched"] is True
    assert body["welcome"]["text"].startswith("Hallo!")
    labels = [q["label"] for q in body["welcome"]["quick_replies"]]
    assert labels == ["Wo ist meine Bestellung?", "Wann haben Sie geöffnet?", "Mit einem Menschen sprechen"]
    assert all(q["payload"] == q["label"] for q in body["welcome"]["quick_replies"])
    assert resp.headers["Cache-Control"] == "public, max-age=60"


async def test_an_unknown_language_falls_back_to_the_rulebooks_default(widget_app: WidgetApp) -> None:
    _app, client = await widget_app()
    for query in ("?lang=ja", "?lang=", ""):
        body = await (await client.get(f"/api/v1/widget{query}")).json()
        assert body["language"] == "en"
        assert body["language_matched"] is False
        assert body["welcome"]["text"].startswith("Hi!")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?lang=<script>", "lang must be language tags separated by commas, like de-DE,en; got '<script>'"),
        ("?lang=de_DE", "got 'de_DE'"),
        ("?lang=" + ",".join(["en"] * 9), "lang lists at most 8 languages, got 9"),
    ],
)
async def test_a_malformed_lang_is_a_clear_400(widget_app: WidgetApp, query: str, says: str) -> None:
    _app, client = await widget_app()
    resp = await client.get(f"/api/v1/widget{query}", headers={"Origin": "https://shop.example.com"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_query" and says in error["message"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # the widget can read why


async def test_cors_like_the_other_widget_endpoints(widget_app: WidgetApp) -> None:
    _app, client = await widget_app()
    origin = {"Origin": "https://shop.example.com"}
    resp = await client.get("/api/v1/widget?lang=en", headers=origin)
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    preflight = await client.options(
        "/api/v1/widget", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status in (200, 204)
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


async def test_branding_and_forms_from_config(widget_app: WidgetApp) -> None:
    _app, client = await widget_app(widget=BRANDED)
    body = await (await client.get("/api/v1/widget?lang=de")).json()
    assert body["branding"] == {
        "color": "#aa3300",
        "position": "left",
        "title": "Sprechen Sie mit Acme",
        "avatar_url": "https://cdn.example.com/acme.png",
        "launcher_text": "Questions?",
    }
    assert body["pre_chat_form"] == "required" and body["email_capture"] is False
    english = await (await client.get("/api/v1/widget?lang=fr,en")).json()
    assert english["branding"]["title"] == "Talk to Acme"


async def test_defaults_without_a_widget_section(widget_app: WidgetApp) -> None:
    _app, client = await widget_app()
    body = await (await client.get("/api/v1/widget")).json()
    assert body["branding"]["color"] == "#2457d6" and body["branding"]["position"] == "right"
    assert body["branding"]["title"] is None  # the widget's own, translated
    assert body["pre_chat_form"] == "off" and body["email_capture"] is True


async def test_team_in_says_how_soon_it_aims_to_reply(widget_app: WidgetApp) -> None:
    _app, client = await widget_app(team_in=True)
    body = await (await client.get("/api/v1/widget")).json()
    assert body["availability"] == {"open": True, "opens_at": None, "reply_within_seconds": 7200}


async def test_team_away_says_when_it_is_back(widget_app: WidgetApp) -> None:
    _app, client = await widget_app(team_in=False)
    body = await (await client.get("/api/v1/widget")).json()
    availability = body["availability"]
    assert availability["open"] is False
    assert datetime.fromisoformat(availability["opens_at"]) == back_at()
    assert availability["reply_within_seconds"] == 7200


async def test_answers_without_the_database(widget_app: WidgetApp) -> None:
    """Asked on every page load: it must not need (or wait for) the database at all."""
    app, client = await widget_app(team_in=False)
    await client.get("/api/v1/widget")  # anything loaded lazily, loaded
    visitor = await start_session(client)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if log_context.request_id.get(None) is not None:  # a request's, not a background task's
            statements.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        for lang in ("en", "de-DE,en", "fr"):
            assert (await client.get(f"/api/v1/widget?lang={lang}")).status == 200
        quiet = list(statements)
        await client.get("/api/v1/messages", headers=visitor.auth)  # the control: a request that queries
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    assert quiet == []
    assert statements, "the listener saw no query at all: it would not notice one either"


def test_back_at_the_next_opening_in_the_calendars_zone() -> None:
    """The example shop (Europe/Berlin, Mon-Fri 09:00-18:00, Sat 10:00-16:00): on Saturday
    evening it is back on Monday at 09:00 Berlin time; on a Tuesday noon it is open."""
    knowledge = Knowledge.load(ROOT / "rulebook", faq_threshold=0.8)
    sla = load_sla_config(ROOT / "rulebook")
    saturday_evening = datetime(2026, 6, 6, 18, 0, tzinfo=UTC)
    source = WidgetConfig(
        settings=WidgetSettings(),
        knowledge=lambda: knowledge,
        sla=lambda: sla,
        clock=lambda: saturday_evening,
    )
    availability = source(("en",))["availability"]
    assert availability == {
        "open": False,
        "opens_at": "2026-06-08T07:00:00+00:00",
        "reply_within_seconds": 14400,
    }
    tuesday = datetime(2026, 6, 9, 10, 0, tzinfo=UTC)
    source = WidgetConfig(
        settings=WidgetSettings(), knowledge=lambda: knowledge, sla=lambda: sla, clock=lambda: tuesday
    )
    assert source(("en",))["availability"]["open"] is True


def test_an_unknown_calendar_shows_no_banner(caplog: pytest.LogCaptureFixture) -> None:
    knowledge = Knowledge.load(ROOT / "rulebook", faq_threshold=0.8)
    sla = load_sla_config(ROOT / "rulebook")
    source = WidgetConfig(
        settings=WidgetSettings(calendar="office"), knowledge=lambda: knowledge, sla=lambda: sla
    )
    assert source(())["availability"] is None
    assert "webchat.widget.calendar 'office' is not in calendars.yml" in caplog.text


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("color: blue", "webchat.widget.color: Value error, color must be a hex colour like '#2457d6'"),
        ("position: top", "webchat.widget.position: unknown value 'top'; expected one of: right, left"),
        ("avatar_url: http://cdn.example.com/a.png", "avatar_url must be an https:// address or a path"),
        ("title: {dk: Hej}", "unknown language code 'dk' (did you mean 'da'?)"),
        (
            "pre_chat_form: always",
            "pre_chat_form: unknown value 'always'; expected one of: off, optional, required",
        ),
        ("colour: '#fff'", "webchat.widget.colour: unknown key 'colour' (did you mean 'color'?)"),
    ],
)
def test_config_errors_name_the_line_and_the_fix(line: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_text(f"webchat:\n  widget:\n    {line}\n")
    assert "config.yaml:3: " in str(caught.value) and says in str(caught.value)


def test_pre_chat_form_off_is_yamls_false() -> None:
    settings = settings_from_text("webchat:\n  widget:\n    pre_chat_form: off\n", base_dir=Path("."))
    assert settings.webchat.widget.pre_chat_form == "off"


def test_languages_are_normalised_as_browsers_send_them() -> None:
    assert parse_languages("de-de, en-US,en ,de-DE") == ("de-DE", "en-US", "en")
    assert parse_languages("zh-Hant-TW,pt-br") == ("zh", "pt-BR")  # only a region right after
    assert parse_languages(None) == parse_languages("  ") == ()
