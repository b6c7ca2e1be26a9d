"""OutboundMessage ↔ the JSON payload an outbox row carries.

The flow writes a reply's addressing into the outbox before the reply has an id; the
dispatcher turns the stored payload back into an :class:`OutboundMessage` for the connector.
Keeping both directions here means the two can never drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.contracts import InboundMessage, OutboundMessage, QuickReply, SenderRole, attachments_of

__all__ = ["ECHOED_METADATA", "delivery_for", "outbound_from_payload"]

# Inbound metadata a reply needs on its way back (email: the References chain for threading,
# the Reply-To address). Named explicitly so nothing else from a raw payload is carried along.
ECHOED_METADATA = ("references", "reply_to_address")


def delivery_for(
    message: InboundMessage,
    *,
    conversation_id: int,
    conversation_public_id: str,
    sender_role: SenderRole = SenderRole.BOT,
    sender_name: str | None = None,
    quick_replies: tuple[QuickReply, ...] = (),
    ticket: str | None = None,
) -> dict[str, Any]:
    metadata = {key: message.metadata[key] for key in ECHOED_METADATA if key in message.metadata}
    if ticket is not None:
        metadata["ticket"] = ticket  # e.g. "[T-1042]" in an email subject
    return {
        "channel": message.channel,
        "external_user_id": message.external_user_id,
        "external_thread_id": message.external_thread_id,
        "conversation_id": conversation_id,
        "conversation_public_id": conversation_public_id,
        "sender_role": sender_role.value,
        "sender_name": sender_name,
        "subject": message.subject,
        "in_reply_to": message.external_message_id,
        "quick_replies": [{"label": q.label, "payload": q.payload} for q in quick_replies],
        "metadata": metadata,
    }


def outbound_from_payload(payload: dict[str, Any]) -> OutboundMessage:
    extra = {
        **{str(k): str(v) for k, v in (payload.get("metadata") or {}).items()},
        "conversation_public_id": str(payload.get("conversation_public_id", "")),
    }
    kwargs: dict[str, Any] = {}
    if payload.get("created_at"):
        kwargs["created_at"] = datetime.fromisoformat(payload["created_at"])
    return OutboundMessage(
        channel=payload["channel"],
        external_user_id=payload["external_user_id"],
        external_thread_id=payload["external_thread_id"],
        text=payload["text"],
        interaction_id=int(payload["interaction_id"]),
        conversation_id=int(payload["conversation_id"]),
        sender_role=SenderRole(payload.get("sender_role", "bot")),
        sender_name=payload.get("sender_name"),
        subject=payload.get("subject"),
        in_reply_to=payload.get("in_reply_to"),
        quick_replies=tuple(QuickReply(q["label"], q["payload"]) for q in payload.get("quick_replies", ())),
        attachments=attachments_of(payload.get("attachments")),
        metadata=extra,
        **kwargs,
    )
