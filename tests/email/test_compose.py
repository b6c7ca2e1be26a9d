"""Outbound mails: threading headers, loop protection, subject handling (pure)."""

from __future__ import annotations

from connectors.email.compose import compose
from connectors.email.threads import format_subject
from core.contracts import OutboundMessage, QuickReply, SenderRole


def outbound(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": "email",
        "external_user_id": "ada@example.com",
        "external_thread_id": "<root@example.com>",
        "text": "Hello Ada,\n\nyour parcel ships today.",
        "interaction_id": 42,
        "conversation_id": 7,
        "subject": "Where is my parcel?",
        "in_reply_to": "<second@example.com>",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def test_reply_threads_under_the_customer_mail() -> None:
    mail, message_id = compose(
        outbound(), from_address="support@acme.example", from_name="Acme", domain="acme.example"
    )
    assert mail["Message-ID"] == message_id and message_id.endswith("@acme.example>")
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"] == "<root@example.com> <second@example.com>"
    assert mail["Subject"] == "Re: Where is my parcel?"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Loop"] == "support@acme.example"


def test_message_id_is_stable_across_retries() -> None:
    first = compose(outbound(), from_address="s@a.example", from_name="A", domain="a.example")[1]
    again = compose(outbound(), from_address="s@a.example", from_name="A", domain="a.example")[1]
    assert first == again


def test_agent_replies_are_not_marked_automatic() -> None:
    mail, _ = compose(
        outbound(sender_role=SenderRole.AGENT), from_address="s@a.example", from_name="A", domain="a.example"
    )
    assert mail["Auto-Submitted"] is None
    assert mail["X-Auto-Response-Suppress"] is None


def test_system_mails_are_marked_auto_generated() -> None:
    """The CSAT question (sender role system) answers no mail: RFC 3834 ``auto-generated``."""
    csat = outbound(sender_role=SenderRole.SYSTEM, text="How did we do on T-1001? Reply 1 to 5.")
    mail, _ = compose(csat, from_address="s@a.example", from_name="A", domain="a.example")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["X-Loop"] == "s@a.example"


def test_bot_replies_suppress_auto_responses() -> None:
    mail, _ = compose(outbound(), from_address="s@a.example", from_name="A", domain="a.example")
    assert mail["X-Auto-Response-Suppress"] == "All"


def test_subject_gets_one_re_and_the_ticket_once() -> None:
    assert format_subject("Re: hello") == "Re: hello"
    assert format_subject("AW: hallo") == "AW: hallo"
    assert format_subject("", ticket=None) == "Re: Your message"
    assert format_subject("hi [T-7]", ticket="T-7") == "Re: hi [T-7]"
    assert format_subject("hi", ticket="T-7") == "Re: hi [T-7]"


def test_quick_replies_are_listed_for_the_customer_to_answer_with() -> None:
    """A mail has no buttons: a clarifying question's choices are listed under the text (in
    both parts, escaped in the HTML one), a rating scale on one line."""
    clarify = outbound(
        text="Did you mean one of these?",
        quick_replies=(
            QuickReply("Where is my order?", "Where is my order?"),
            QuickReply("<b>Returns</b>", "r"),
        ),
    )
    mail, _ = compose(clarify, from_address="s@a.example", from_name="A", domain="a.example")
    plain = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    listed = "You can reply with one of these:\n  * Where is my order?\n  * <b>Returns</b>"
    assert plain.rstrip("\n").endswith("Did you mean one of these?\n\n" + listed)
    rich = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<li>Where is my order?</li><li>&lt;b&gt;Returns&lt;/b&gt;</li>" in rich and "<b>" not in rich
    scale = outbound(
        text="How did we do?", quick_replies=tuple(QuickReply(str(n), str(n)) for n in range(1, 6))
    )
    mail, _ = compose(scale, from_address="s@a.example", from_name="A", domain="a.example")
    assert "How did we do?\n\nReply with one of: 1 / 2 / 3 / 4 / 5" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    plain_only = compose(outbound(), from_address="s@a.example", from_name="A", domain="a.example")[0]
    assert "Reply with" not in plain_only.get_body(("plain",)).get_content()  # type: ignore[union-attr]
