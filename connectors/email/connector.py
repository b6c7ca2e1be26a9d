"""The email channel: IMAP in (poller or ``frontdesk email ingest``), SMTP out (aiosmtplib).

Inbound mail goes through :class:`~connectors.email.ingest.Ingestor`; replies leave only
through :meth:`send`, which the outbox calls: composing is pure
(:mod:`connectors.email.compose`), and a failed SMTP transaction raises
:class:`DeliveryError` so the outbox retries with backoff.
"""

from __future__ import annotations

import logging

import aiosmtplib

from connectors.base import DeliveryError
from connectors.email.backend import EmailBackend
from connectors.email.compose import compose
from connectors.email.config import EmailSettings
from connectors.email.imap import ImapPoller
from connectors.email.ingest import Ingestor, IngestResult
from connectors.email.ratelimit import SenderRateLimit
from connectors.email.translate import CHANNEL
from core.contracts import InboundSink, OutboundMessage
from core.loops import BackgroundTask

__all__ = ["EmailConnector"]

_LOGGER = logging.getLogger(__name__)


class EmailConnector:
    name = CHANNEL

    def __init__(self, *, settings: EmailSettings, backend: EmailBackend) -> None:
        self._settings = settings
        self._backend = backend
        self._ingestor = Ingestor(
            threads=backend,
            keeping=backend,
            own_address=settings.address,
            rate_limit=SenderRateLimit(per_hour=settings.max_mails_per_sender_per_hour),
            max_bytes=settings.max_message_bytes,
        )
        self._sink: InboundSink | None = None
        self._polling = BackgroundTask(name="email-imap-poller")
        self.poller: ImapPoller | None = None
        if settings.imap is not None:
            self.poller = ImapPoller(settings=settings.imap, backend=backend, handle=self.ingest)

    # -- Connector protocol -------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        if self.poller is not None and self._settings.poll:
            self._polling.start(self.poller.run_forever())

    async def stop(self) -> None:
        await self._polling.stop()
        self._sink = None

    async def send(self, message: OutboundMessage) -> str | None:
        s = self._settings
        files = []
        for attachment in message.attachments:  # an agent's files (kept by the channel they came from)
            data = await self._backend.read_file(attachment.storage_key) if attachment.storage_key else None
            if data is None:
                _LOGGER.warning("email: a reply's file is no longer stored; sent without it")
                continue
            files.append((attachment, data))
        mail, message_id = compose(
            message, from_address=s.address, from_name=s.display_name, domain=s.domain, files=files
        )
        smtp = s.smtp
        try:
            await aiosmtplib.send(
                mail,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password.get_secret_value() if smtp.password else None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                timeout=smtp.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"the mail server refused the recipient: {_codes(exc)}") from None
        except aiosmtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP {smtp.host}:{smtp.port} failed: {type(exc).__name__}") from None
        except OSError as exc:
            raise DeliveryError(f"SMTP {smtp.host}:{smtp.port} unreachable: {exc.strerror or exc}") from None
        return message_id

    # -- inbound --------------------------------------------------------------------------------

    async def ingest(self, raw: bytes, *, accept_noise: bool = False) -> IngestResult:
        """Process one raw mail exactly as the poller does (used by the poller and the CLI).

        ``accept_noise``: an operator's retry of a set-aside mail; it is not classified or rate
        limited again but handled as a customer's mail.
        """
        if self._sink is None:
            raise RuntimeError("the email connector is not started")
        return await self._ingestor.ingest(raw, self._sink, accept_noise=accept_noise)


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{r.code} {r.message[:80]}" for r in exc.recipients)
