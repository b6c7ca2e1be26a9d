"""One raw mail → the flow, the same way for the IMAP poller and ``frontdesk email ingest``.

parse (or quarantine) → classify (auto-replies, bounces, lists are set aside, never
answered; an operator can retry them) → per-sender rate limit → thread (ticket reference,
known Message-IDs, References root) → store the raw mail and attachments → the sink, which
commits before returning. A mail over the sender's hourly limit is recorded in its
conversation (and open ticket) without going through the rules: agents see it, the bot does
not answer it, so a loop with an auto-responder ends while a real customer loses nothing.

Errors are split on purpose: a mail that cannot be understood is quarantined (kept, never
dropped) and counts as handled; an outage (database, disk) propagates, so the poller leaves
the mail unflagged and tries again later. Every step is idempotent, so processing the same
mail twice (a crash between fetch and flag) records and answers it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connectors.email.backend import MailKeeping, MailThreads
from connectors.email.classify import classify
from connectors.email.parse import ParsedMail, Unparseable, parse_mail
from connectors.email.ratelimit import SenderRateLimit
from connectors.email.threads import candidate_ids, fallback_thread, ticket_number
from connectors.email.translate import inbound_message
from core.contracts import Attachment, InboundSink, utcnow

__all__ = ["RATE_LIMITED", "IngestResult", "Ingestor"]

_LOGGER = logging.getLogger(__name__)
RATE_LIMITED = "rate-limited"


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: str  # delivered | recorded (stored, not answered) | duplicate | ignored | quarantined
    detail: str = ""
    interaction_id: int | None = None


class Ingestor:
    def __init__(
        self,
        *,
        threads: MailThreads,
        keeping: MailKeeping,
        own_address: str,
        rate_limit: SenderRateLimit,
        max_bytes: int,
    ) -> None:
        self._threads = threads
        self._keeping = keeping
        self._own = own_address.lower()
        self._rate_limit = rate_limit
        self._max_bytes = max_bytes

    async def ingest(self, raw: bytes, sink: InboundSink, *, accept_noise: bool = False) -> IngestResult:
        """Process one raw mail; ``accept_noise`` (an operator's retry of a set-aside mail) skips
        the noise classification and the rate limit: the mail is handled as a customer's."""
        if len(raw) > self._max_bytes:
            return await self._quarantine(raw, f"larger than email.max_message_bytes ({len(raw)} bytes)")
        try:
            mail = parse_mail(raw)
        except Unparseable as exc:
            return await self._quarantine(raw, str(exc))
        except Exception as exc:  # a parser bug must not lose the mail
            _LOGGER.exception("email: parser failed")
            return await self._quarantine(raw, f"parser error ({type(exc).__name__})")
        noise = None if accept_noise else classify(mail, own_address=self._own)
        if noise is not None:
            key = await self._keeping.set_aside(raw, kind=noise)
            _LOGGER.info(
                "email: %s from %s set aside as %s (%s; see `frontdesk email set-aside list`)",
                mail.message_id,
                mail.from_address,
                noise,
                key,
            )
            return IngestResult("ignored", noise)
        limited = not accept_noise and not self._rate_limit.allow(mail.from_address, mail.dedup_key)
        thread = await self._thread(mail)
        attachments = await self._store(mail, raw)
        buttons = await self._threads.buttons_of(mail.in_reply_to) if mail.in_reply_to else ()
        try:
            message = inbound_message(
                mail,
                thread_id=thread,
                attachments=attachments,
                raw_ref=attachments[-1].storage_key,
                received_at=utcnow(),
                buttons=buttons,
            )
        except Exception as exc:
            _LOGGER.exception("email: translation failed")
            return await self._quarantine(raw, f"translation error ({type(exc).__name__})")
        if limited:
            result = await self._keeping.record_unanswered(message, reason=RATE_LIMITED)
            if not result.duplicate:
                _LOGGER.warning(
                    "email: %s exceeds email.max_mails_per_sender_per_hour; %s recorded, not answered",
                    mail.from_address,
                    mail.message_id,
                )
            return IngestResult(
                "duplicate" if result.duplicate else "recorded",
                RATE_LIMITED,
                interaction_id=result.interaction_id,
            )
        result = await sink(message)
        if result.duplicate:
            return self._skipped(mail, result.interaction_id)
        return IngestResult("delivered", thread, interaction_id=result.interaction_id)

    @staticmethod
    def _skipped(mail: ParsedMail, interaction_id: int) -> IngestResult:
        """A mail already processed: what it was, and why it is not processed again."""
        why = (
            f"same Message-ID, sender and content as interaction {interaction_id}"
            if mail.message_id
            else f"same bytes as interaction {interaction_id}"
        )
        _LOGGER.info("email: skipped %s: %s", mail.message_id or f"mail sha256:{mail.sha256[:16]}", why)
        return IngestResult("duplicate", why, interaction_id=interaction_id)

    async def _thread(self, mail: ParsedMail) -> str:
        number = ticket_number(mail.subject)
        if number is not None:
            thread = await self._threads.thread_for_ticket(number)
            if thread is not None:
                return thread
        candidates = candidate_ids(mail)
        if candidates:
            thread = await self._threads.thread_for_message_ids(candidates)
            if thread is not None:
                return thread
        return fallback_thread(mail)

    async def _store(self, mail: ParsedMail, raw: bytes) -> tuple[Attachment, ...]:
        """Attachments first, the raw mail last (``original.eml``: what the customer really sent)."""
        stored = []
        for part in mail.attachments:
            key = await self._keeping.store_file("email/attachments", part.filename, part.data)
            stored.append(Attachment(part.filename, part.content_type, len(part.data), storage_key=key))
        raw_key = await self._keeping.store_file("email/raw", "original.eml", raw)
        stored.append(Attachment("original.eml", "message/rfc822", len(raw), storage_key=raw_key))
        return tuple(stored)

    async def _quarantine(self, raw: bytes, reason: str) -> IngestResult:
        key = await self._keeping.quarantine(raw, reason=reason)
        _LOGGER.warning(
            "email: mail quarantined as %s: %s (see `frontdesk email quarantine list`)", key, reason
        )
        return IngestResult("quarantined", reason)
