"""The web chat connector's view of customers and history, served from ticketing."""

from __future__ import annotations

from bot.attachment_files import WEBCHAT_AREA, AttachmentFiles
from bot.config import WebchatUploads
from connectors.base import BadRequest
from connectors.webchat.translate import served_files
from connectors.webchat.uploads import UploadLimits
from core.contracts import (
    Attachment,
    CustomerView,
    MessageView,
    QuickReply,
    SenderRole,
    SessionView,
    attachments_of,
)
from ticketing.customers import ConversationRef, Customers
from ticketing.history import History
from ticketing.reply_copies import ReplyCopies
from ticketing.time import utcnow

__all__ = ["WebchatBackendImpl", "upload_limits"]

CHANNEL = "webchat"


class WebchatBackendImpl:
    def __init__(
        self, *, customers: Customers, history: History, files: AttachmentFiles, copies: ReplyCopies
    ) -> None:
        self._customers = customers
        self._history = history
        self._files = files
        self._copies = copies

    async def start_session(self) -> SessionView:
        ref = await self._customers.start_session(CHANNEL)
        return SessionView(ref.external_user_id, ref.public_id, CustomerView(None, None))

    async def session(self, visitor_id: str, conversation_id: str) -> SessionView | None:
        ref = await self._owned(visitor_id, conversation_id)
        if ref is None:
            return None
        customer = await self._customers.customer_of(ref.id)
        return SessionView(visitor_id, conversation_id, CustomerView(customer.name, customer.email))

    async def identify(
        self, visitor_id: str, conversation_id: str, *, name: str | None, email: str | None
    ) -> CustomerView:
        ref = await self._owned(visitor_id, conversation_id)
        if ref is None:
            raise BadRequest(401, "unknown_session", "this session no longer exists; start a new one")
        customer = await self._customers.identify(ref, name=name, email=email)
        return CustomerView(customer.name, customer.email)

    async def seen(self, visitor_id: str, conversation_id: str, *, up_to: int) -> None:
        ref = await self._owned(visitor_id, conversation_id)
        if ref is not None:
            await self._copies.seen(ref.id, up_to, now=utcnow())

    async def history(
        self, visitor_id: str, conversation_id: str, *, after: int, limit: int
    ) -> list[MessageView] | None:
        ref = await self._owned(visitor_id, conversation_id)
        if ref is None:
            return None
        stored = await self._history.conversation(ref.id, after=after, limit=limit)
        return [
            MessageView(
                id=m.id,
                direction=m.direction,
                sender_role=SenderRole(m.sender_role),
                sender_name=m.sender_name,
                text=m.text,
                created_at=m.created_at,
                external_message_id=m.external_message_id,
                quick_replies=tuple(QuickReply(q["label"], q["payload"]) for q in m.quick_replies),
                attachments=served_files(m.id, attachments_of(m.attachments)),
            )
            for m in stored
        ]

    async def attachment(
        self, visitor_id: str, conversation_id: str, *, interaction_id: int, index: int
    ) -> tuple[Attachment, bytes] | None:
        ref = await self._owned(visitor_id, conversation_id)
        if ref is None:
            return None
        found = await self._history.conversation(ref.id, after=interaction_id - 1, limit=1)
        if not found or found[0].id != interaction_id:
            return None  # not a message of this conversation
        files = attachments_of(found[0].attachments)
        if not 0 <= index < len(files) or files[index].storage_key is None:
            return None
        data = await self._files.read(str(files[index].storage_key))
        return None if data is None else (files[index], data)

    async def store_upload(self, *, filename: str, data: bytes) -> str:
        return await self._files.put(WEBCHAT_AREA, filename, data)

    async def _owned(self, visitor_id: str, conversation_id: str) -> ConversationRef | None:
        ref = await self._customers.by_public_id(conversation_id)
        if ref is None or ref.channel != CHANNEL or ref.external_user_id != visitor_id:
            return None
        return ref


def upload_limits(uploads: WebchatUploads) -> UploadLimits:
    """``webchat.uploads`` as the connector enforces it."""
    return UploadLimits(
        max_bytes=uploads.max_bytes,
        max_files=uploads.max_files,
        allowed_types=uploads.allowed_types,
        enabled=uploads.enabled,
    )
