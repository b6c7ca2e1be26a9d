"""The Telegram channel: webhook or long polling in, Bot API ``sendMessage`` out.

Inbound updates pass the edge checks (webhook secret compared in constant time, updates from
bots dropped) before translation; files are downloaded and stored, a ``/start`` deep link is
verified and links the chat to an existing customer, and the message goes to the flow. Replies
leave only through :meth:`send`, which the outbox calls, never from the sink's result (the
customer would get them twice).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import logging

from aiohttp import web
from telegram import Bot, ReplyParameters, Update
from telegram.error import BadRequest as TelegramBadRequest
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from connectors.base import BadRequest, DeliveryError
from connectors.telegram.backend import TelegramBackend
from connectors.telegram.config import TelegramSettings
from connectors.telegram.deeplink import deep_link_key, read_parameter
from connectors.telegram.polling import ALLOWED_UPDATES, poll_forever, retry_after_seconds
from connectors.telegram.redact import TokenRedactor
from connectors.telegram.translate import (
    CHANNEL,
    FileRef,
    TelegramInbound,
    inbound_message,
    keyboard_for,
    outbound_chunks,
    parse_update,
)
from connectors.telegram.update_shape import UpdateShapeError, check_update
from core.contracts import Attachment, InboundSink, OutboundMessage
from core.log_context import safe_url
from core.loops import BackgroundTask

__all__ = ["TelegramConnector"]

_LOGGER = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_PHOTO_MAX_BYTES = 10 * 1024 * 1024  # sendPhoto's limit; larger images go as documents


class TelegramConnector:
    name = CHANNEL

    def __init__(self, *, settings: TelegramSettings, backend: TelegramBackend) -> None:
        self._settings = settings
        self._backend = backend
        token = settings.token.get_secret_value()
        self._bot = Bot(
            token,
            base_url=settings.api_base_url,
            base_file_url=settings.file_base_url,
            request=HTTPXRequest(connection_pool_size=32),
            get_updates_request=HTTPXRequest(read_timeout=10.0),
        )
        self._redactor = TokenRedactor(token)
        self._link_key = deep_link_key(
            link_secret=settings.link_secret.get_secret_value() if settings.link_secret else None,
            bot_token=token,
        )
        self._sink: InboundSink | None = None
        self._polling = BackgroundTask(name="telegram-polling")

    # -- Connector protocol -------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._redactor.install()
        self._sink = sink
        try:
            await self._bot.initialize()
        except InvalidToken:
            raise RuntimeError("Telegram rejected the bot token; check telegram.token") from None
        except TelegramError as exc:  # unreachable now: sending retries through the outbox
            _LOGGER.warning("telegram: Bot API unreachable at start (%s); continuing", type(exc).__name__)
        if self._settings.mode == "polling":
            self._polling.start(
                poll_forever(
                    bot=self._bot,
                    backend=self._backend,
                    handle=self.process_update,
                    poll_seconds=self._settings.poll_timeout,
                )
            )
        elif self._settings.webhook_url:
            secret = self._settings.webhook_secret
            await self._bot.set_webhook(
                self._settings.webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=ALLOWED_UPDATES,
            )
            _LOGGER.info("telegram: webhook registered at %s", safe_url(self._settings.webhook_url))

    async def stop(self) -> None:
        await self._polling.stop()
        with contextlib.suppress(TelegramError, RuntimeError):
            await self._bot.shutdown()
        self._sink = None
        self._redactor.remove()

    async def send(self, message: OutboundMessage) -> str | None:
        chunks = outbound_chunks(message)
        reply_to = message.in_reply_to
        sent_id: str | None = None
        for index, (chunk, entities) in enumerate(chunks):
            last = index == len(chunks) - 1
            try:
                sent = await self._bot.send_message(
                    chat_id=int(message.external_thread_id),
                    text=chunk,
                    entities=entities or None,
                    reply_markup=keyboard_for(message.quick_replies) if last else None,
                    reply_parameters=(
                        ReplyParameters(int(reply_to), allow_sending_without_reply=True)
                        if index == 0 and reply_to and reply_to.isdigit()
                        else None
                    ),
                )
            except TelegramError as exc:
                raise _delivery_error(exc, "message") from None
            sent_id = str(sent.message_id)
        for attachment in message.attachments:  # an agent's files, after the text naming the agent
            sent_id = await self._send_file(int(message.external_thread_id), attachment) or sent_id
        return sent_id

    async def _send_file(self, chat_id: int, attachment: Attachment) -> str | None:
        """One file of a reply: a photo Telegram can show inline, anything else as a document."""
        data = await self._backend.read_attachment(attachment.storage_key) if attachment.storage_key else None
        if data is None:  # erased or deleted meanwhile: the text went, this file cannot
            _LOGGER.warning("telegram: a reply's file is no longer stored; sent without it")
            return None
        photo = attachment.content_type in _PHOTO_TYPES and len(data) <= _PHOTO_MAX_BYTES
        try:
            if photo:
                sent = await self._bot.send_photo(chat_id=chat_id, photo=data, filename=attachment.filename)
            else:
                sent = await self._bot.send_document(
                    chat_id=chat_id, document=data, filename=attachment.filename
                )
        except TelegramError as exc:
            raise _delivery_error(exc, "file") from None
        return str(sent.message_id)

    def is_from_self(self, raw: object) -> bool:
        if isinstance(raw, TelegramInbound):
            return raw.from_bot or raw.user_id == self._settings.bot_id
        return False

    # -- webhook ------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self._settings.webhook_path, self._webhook)]

    async def _webhook(self, request: web.Request) -> web.Response:
        expected = self._settings.webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if expected is None or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise BadRequest(401, "invalid_secret", f"missing or wrong {SECRET_HEADER} header")
        try:
            data = check_update(json.loads(await request.read()))
        except UpdateShapeError as exc:
            raise BadRequest(400, "invalid_update", f"body is not a Telegram Update: {exc}") from None
        except (ValueError, RecursionError):  # not JSON (or hostile JSON)
            raise BadRequest(
                400, "invalid_update", "body is not JSON; Telegram posts an Update object"
            ) from None
        try:
            update = Update.de_json(data, self._bot)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # OverflowError: a date past what the platform's time_t holds (found by the fuzzer)
            raise BadRequest(
                400, "invalid_update", f"body is not a Telegram Update ({type(exc).__name__})"
            ) from None
        if self._sink is None:
            raise web.HTTPServiceUnavailable(text="Telegram channel is starting; retry")
        await self.process_update(update)  # an exception here → 500, and Telegram retries
        return web.json_response({"ok": True})

    # -- shared by both modes -------------------------------------------------------------------

    async def process_update(self, update: Update) -> None:
        """Translate one update and hand it to the flow; returns once it is committed."""
        sink = self._sink
        if sink is None:
            raise RuntimeError("telegram connector is not started")
        parsed = parse_update(update)
        if parsed is None or self.is_from_self(parsed):
            return
        if parsed.kind == "start" and parsed.start_parameter:
            await self._link(parsed)
        if parsed.button_index is not None:
            parsed = await self._long_payload(parsed)
        attachments = tuple([await self._download(f) for f in parsed.files])
        await sink(inbound_message(parsed, attachments=attachments))
        if parsed.callback_query_id is not None:
            with contextlib.suppress(TelegramError):  # only stops the button's spinner
                await self._bot.answer_callback_query(parsed.callback_query_id)

    async def _long_payload(self, parsed: TelegramInbound) -> TelegramInbound:
        """The pressed button's payload, which travelled as its index; the label if our reply
        is no longer found (the customer still gets an answer to what the button said)."""
        assert parsed.button_index is not None
        payload = await self._backend.button_payload(
            user_id=str(parsed.user_id),
            chat_id=str(parsed.chat_id),
            message_id=str(parsed.message_id),
            index=parsed.button_index,
            label=parsed.text,
        )
        return parsed if payload is None else dataclasses.replace(parsed, text=payload)

    async def _link(self, parsed: TelegramInbound) -> None:
        assert parsed.start_parameter is not None
        customer_id = read_parameter(parsed.start_parameter, key=self._link_key)
        if customer_id is None:
            _LOGGER.info(
                "telegram: /start with an unknown or unsigned parameter from user %d", parsed.user_id
            )
            return
        linked = await self._backend.link_customer(
            external_user_id=str(parsed.user_id),
            external_thread_id=str(parsed.chat_id),
            customer_id=customer_id,
        )
        _LOGGER.info(
            "telegram: user %d %s customer %d",
            parsed.user_id,
            "linked to" if linked else "could not be linked to",
            customer_id,
        )

    async def _download(self, ref: FileRef) -> Attachment:
        limit = self._settings.max_attachment_bytes
        if ref.size is not None and ref.size > limit:
            return Attachment(ref.filename, ref.content_type, ref.size)
        try:
            file = await self._bot.get_file(ref.file_id)
            data = bytes(await file.download_as_bytearray())
        except TelegramBadRequest as exc:
            # Telegram refuses this file for good (an unknown file_id, a file over its 20 MB
            # limit): a 500 would only make it resend the update until it drops the message.
            # The message is kept, with the attachment named but not stored.
            _LOGGER.warning("telegram: Telegram refused a file (%s); the message is kept without it", exc)
            return Attachment(ref.filename, ref.content_type, ref.size or 0)
        if len(data) > limit:
            return Attachment(ref.filename, ref.content_type, len(data))
        key = await self._backend.store_attachment(
            filename=ref.filename, content_type=ref.content_type, data=data
        )
        return Attachment(ref.filename, ref.content_type, len(data), storage_key=key)


def _delivery_error(exc: TelegramError, what: str) -> DeliveryError:
    """What the outbox is told when the Bot API refused a message or a file (retry or not)."""
    if isinstance(exc, RetryAfter):
        return DeliveryError("Telegram rate limit", retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        return DeliveryError("the customer blocked the bot or left the chat")
    if isinstance(exc, TelegramBadRequest):
        return DeliveryError(f"Telegram refused the {what}: {exc.message}")
    return DeliveryError(f"Telegram Bot API unavailable ({type(exc).__name__})")
