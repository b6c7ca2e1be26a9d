"""The Slack channel for agents: events, card actions and ``/ticket`` in; cards and threads out.

Requests reach :class:`slack_bolt.async_app.AsyncApp` either on Frontdesk's own web server
(HTTP mode: every request's signature and timestamp are verified by bolt before any listener
runs; a forged or stale request gets 401) or over Socket Mode. Listeners run before the
response (``process_before_response``), so Slack gets 200 only once the change is committed; a
failure answers 500 and Slack's retry (same ``event_id``/``action_ts``) is deduplicated in the
database: the idempotency key is recorded in the transaction of the change it stands for.
Outbound, the :class:`~connectors.slack.projection.Projection` posts and updates cards and
threads; :class:`~connectors.slack.erasure.SlackErasure` deletes an erased customer's messages.
Customers who write in shared channels or DMs (``customer_channels``,
``customer_dms``) are :class:`~connectors.slack.customers.CustomerSide`'s: their messages go to
the flow's sink, and :meth:`SlackConnector.send` posts replies in their threads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from connectors.base import BadRequest, DeliveryError
from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import SlackBackend
from connectors.slack.card_menus import MENU_ACTIONS, CardMenus
from connectors.slack.commands import CommandRunner
from connectors.slack.config import SlackSettings
from connectors.slack.customers import CustomerSide
from connectors.slack.erasure import SlackErasure
from connectors.slack.files import AgentFiles, ThreadFiles
from connectors.slack.identity import AgentDirectory
from connectors.slack.projection import Projection
from connectors.slack.shape import shape_problem
from connectors.slack.translate import (
    CHANNEL,
    ThreadMessage,
    is_from_self,
    parse_action,
    parse_thread_message,
)
from connectors.slack.views import ActionRefused, AgentRef
from core.contracts import InboundSink, OutboundMessage

__all__ = ["SlackConnector"]

_LOGGER = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


class SlackConnector:
    name = CHANNEL

    def __init__(self, *, settings: SlackSettings, backend: SlackBackend) -> None:
        self._settings = settings
        self._backend = backend
        client = AsyncWebClient(token=settings.bot_token.get_secret_value(), base_url=settings.api_base_url)
        self._api = SlackApi(client=client, retry_max_seconds=settings.retry_max_seconds)
        self._directory = AgentDirectory(settings=settings, api=self._api, agents=backend)
        files = settings.files  # files both ways (connectors/slack/files.py)
        self._agent_files = AgentFiles(
            settings=files, api=self._api, store=backend, token=settings.bot_token.get_secret_value()
        )
        self.projection = Projection(
            settings=settings, api=self._api, feed=backend, cards=backend, copies=backend,
            directory=self._directory,
            files=ThreadFiles(settings=files, api=self._api, store=backend, copies=backend),
        )  # fmt: skip
        # An erased customer's messages out of Slack (connectors/slack/erasure.py).
        self.erasure = SlackErasure(
            api=self._api, copies=backend, feed=backend, poll_interval=settings.poll_interval
        )
        self._commands = CommandRunner(
            tickets=backend, actions=backend, directory=self._directory, macros=backend,
            console_url=settings.console_url,
        )  # fmt: skip
        self._customers = CustomerSide(
            settings=settings, api=self._api, directory=self._directory, profiles=backend,
            files=self._agent_files, store=backend,
        )  # fmt: skip
        http = settings.mode == "http"
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
        self._verifier = SignatureVerifier(secret) if http else None  # HTTP mode needs a secret
        self._bolt = AsyncApp(
            client=client,
            signing_secret=secret,
            process_before_response=True,
            request_verification_enabled=http,
            logger=logging.getLogger("connectors.slack.bolt"),
        )
        self._bolt.event("message")(self._on_message)
        self._bolt.event("app_home_opened")(self._on_home)
        self._menus = CardMenus(
            api=self._api, actions=backend, tickets=backend, directory=self._directory,
            ephemeral=self._ephemeral, console_url=settings.console_url,
        )  # fmt: skip
        self._bolt.action(re.compile(r"^ticket_"))(self._on_action)
        self._bolt.command(settings.slash_command)(self._on_command)
        self._socket: Any = None

    # -- Connector protocol -------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        # Agents' messages do not go to the customer flow (``sink``): they are ticket actions.
        # Customers' messages (shared channels, DMs: connectors/slack/customers.py) do.
        self._customers.attach(sink)
        await self.projection.start()
        await self.erasure.start()
        if self._settings.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert self._settings.app_token is not None  # checked by SlackSettings
            self._socket = AsyncSocketModeHandler(self._bolt, self._settings.app_token.get_secret_value())
            await self._socket.connect_async()
            _LOGGER.info("slack: connected in Socket Mode")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.projection.stop()
        await self.erasure.stop()
        self._customers.detach()

    async def send(self, message: OutboundMessage) -> str | None:
        if not self._customers.enabled:
            raise DeliveryError("no Slack customer channels or DMs are configured (slack.customer_channels)")
        return await self._customers.send(message)  # into the customer's thread

    # -- HTTP mode ----------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self._settings.path, self._http)]

    async def _http(self, request: web.Request) -> web.Response:
        """Verify first, parse after: bolt parses the body before it checks the signature, so
        unsigned garbage (bad JSON, a non-object payload, invalid UTF-8, a timestamp that is
        not a number) used to fail inside it with a 500."""
        try:
            text = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:  # Slack signs UTF-8 text: this cannot be one of its requests
            raise BadRequest(
                401, "invalid_signature", "request body is not valid UTF-8, so Slack did not sign it"
            ) from None
        self._verify(text, request.headers)
        headers: dict[str, str | Sequence[str]] = {
            k.lower(): request.headers.getall(k) for k in request.headers
        }
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=headers)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            raise BadRequest(
                400, "invalid_body", "request body is not a Slack event or interaction"
            ) from None
        problem = shape_problem(bolt_request.body)
        if problem is not None:  # bolt would fail on it inside its middleware, with a 500
            raise BadRequest(
                400, "invalid_body", f"request body is not a Slack event or interaction: {problem}"
            )
        return await to_aiohttp_response(await self._bolt.async_dispatch(bolt_request))

    def _verify(self, body: str, headers: Mapping[str, str]) -> None:
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        well_formed = (
            timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature.isascii()
        )
        verifier = self._verifier
        if not (
            verifier
            and well_formed
            and verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        ):
            raise BadRequest(
                401,
                "invalid_signature",
                f"missing, stale or wrong {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}: "
                "requests must be signed with the app's signing secret",
            )

    # -- listeners ----------------------------------------------------------------------------

    async def _on_message(self, body: dict[str, Any], context: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if is_from_self(event, bot_user_id=context.get("bot_user_id"), bot_id=context.get("bot_id")):
            return
        if self._customers.wants(event):  # a customer's channel or DM: never an agent action
            await self._customers.receive(body)
            return
        message = parse_thread_message(body)
        if message is None:
            return
        number = await self._backend.ticket_for_thread(message.channel, message.thread_ts)
        if number is None:
            return  # a thread that is not a ticket's
        verdict = await self._directory.resolve(message.user)
        if verdict.agent is None:
            await self._ephemeral(message.channel, message.user, verdict.reason, thread_ts=message.thread_ts)
            return
        key = f"event:{message.event_id}"
        try:
            if message.is_note:
                done = await self._backend.note(number, message.text, agent=verdict.agent, key=key)
            elif message.macro is not None:  # `macro: NAME` (connectors/slack/macros.py)
                done = await self._backend.apply_macro(number, message.macro, agent=verdict.agent, key=key)
            else:
                done = await self._reply(number, message, agent=verdict.agent, key=key)
        except ActionRefused as exc:
            await self._ephemeral(message.channel, message.user, str(exc), thread_ts=message.thread_ts)
            return
        if done:
            self.projection.wake()
            await self._react(message.channel, message.ts, "memo" if message.is_note else "outbox_tray")

    async def _reply(self, number: int, message: ThreadMessage, *, agent: AgentRef, key: str) -> bool:
        """The agent's reply with the files posted with it; each file that may not go to the
        customer (too large, a refused type) is named to the agent, ephemerally."""
        attachments, refused = await self._agent_files.take(message.files)
        for why in refused:
            text = f":no_entry: Not sent to the customer: {why}."
            await self._ephemeral(message.channel, message.user, text, thread_ts=message.thread_ts)
        if not message.text and not attachments:
            return False
        return await self._backend.reply(number, message.text, agent=agent, key=key, attachments=attachments)

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = parse_action(body)
        if action is None:
            return
        verdict = await self._directory.resolve(action.user)
        if verdict.agent is None:
            await self._ephemeral(action.channel, action.user, verdict.reason)
            return
        if action.action in MENU_ACTIONS:  # overflow, queue and assignee menus, Customer button
            if await self._menus.handle(action, verdict.agent):
                self.projection.wake()
            return
        if action.action == "priority" and action.priority is None:
            return
        escalate = self._settings.escalate
        escalating = action.action == "escalate"
        try:
            done = await self._backend.card_action(
                action.number, action.action, agent=verdict.agent, key=action.key,
                priority=escalate.priority if escalating else action.priority,
                queue=escalate.queue if escalating else None,
            )  # fmt: skip
        except ActionRefused as exc:  # nothing written, the key neither: a retry is refused again
            await self._ephemeral(action.channel, action.user, str(exc))
            return
        if done:  # False: Slack retried a press that is already done
            self.projection.wake()

    async def _on_command(self, ack: Any, command: dict[str, Any]) -> None:
        user = str(command.get("user_id", ""))
        trigger = command.get("trigger_id")  # one per invocation: a retry of it carries the same
        key = f"command:{user}:{trigger}" if trigger else ""
        text = await self._commands.answer(user, str(command.get("text", "")), key=key)
        self.projection.wake()
        await ack(text=text, response_type="ephemeral")  # only the agent who asked sees it

    async def _on_home(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        view = await self._commands.home(user)
        try:
            await self._api.call("views.publish", retry=False, user_id=user, view=view)
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.warning("slack: App Home not published: %s", exc)

    # -- small helpers ------------------------------------------------------------------------

    async def _ephemeral(
        self, channel: str | None, user: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        if channel is None:
            return
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            await self._api.call(
                "chat.postEphemeral", retry=False, channel=channel, user=user, text=text, **extra
            )
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.warning("slack: ephemeral answer not shown: %s", exc)

    async def _react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self._api.call("reactions.add", retry=False, channel=channel, timestamp=ts, name=name)
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.info("slack: reaction not added: %s", exc)
