"""The composition root: ``build_app(settings)`` builds and wires every part, once.

Nothing else constructs its own collaborators. Construction is synchronous and connects to
nothing (config and rulebook errors surface here, before any socket opens); resources are
opened and closed as one pair in :meth:`App.running`, which the aiohttp application runs as
its cleanup context and ``frontdesk chat`` enters directly. Tests call the same builder.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.analysis_workers import AnalysisWorkers, worker_count
from bot.api_auth import ApiAuth, TokenBuckets
from bot.api_conversations import ConversationApi, RulebookApi
from bot.api_customers import CustomerApi
from bot.api_spec import load_spec, spec_routes
from bot.api_tickets import TicketRoutes
from bot.api_webhooks import WebhookRoutes
from bot.attachment_files import attachment_files
from bot.auth_routes import AuthRoutes
from bot.channel_wiring import ChannelParts, optional_channels
from bot.config import Settings
from bot.console import Console
from bot.flow import ConversationFlow
from bot.http import CorsPolicy, cors_middleware, edge_middleware, quiet_client_errors
from bot.knowledge import LiveKnowledge
from bot.metrics import LATE_AFTER, Metrics, ScrapeSources, metrics_handler, webhook_middleware, webhook_paths
from bot.outbox import OutboxDispatcher
from bot.reply_copy_job import ReplyCopyJob
from bot.segments import SegmentJob, run_segments
from bot.startup_errors import SchemaOutOfDate, StartupError, database_fault
from bot.ticket_rules import TicketRuleRunner
from bot.webchat_backend import WebchatBackendImpl, upload_limits
from bot.webhooks import WebhookDispatcher, WebhookProducer, sync_config
from bot.widget_config import WidgetConfig
from connectors.base import Connector
from connectors.webchat import WebchatConnector
from connectors.webchat.tokens import SessionTokens
from nlp import ModelStore
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts
from ticketing.api_tokens import ApiTokens
from ticketing.channel_state import ChannelState
from ticketing.customer_admin import CustomerAdmin
from ticketing.customer_edits import CustomerEdits
from ticketing.customer_records import CustomerRecords
from ticketing.customers import Customers
from ticketing.database import create_engine, current_revision, dispose, head_revision, is_sqlite
from ticketing.event_feed import TicketEventFeed
from ticketing.history import History
from ticketing.live_fanout import LocalFanout, PostgresFanout
from ticketing.missed_messages import missed_messages, recent_customer_messages
from ticketing.outbox import OutboxStore
from ticketing.reply_copies import ReplyCopies
from ticketing.reports import dashboard
from ticketing.rollups import ReportRollups
from ticketing.search_index import SearchIndex
from ticketing.segments import Segments
from ticketing.service import TicketingService
from ticketing.ticket_queries import TicketQueries
from ticketing.transcripts import Transcripts
from ticketing.turns import Turns
from ticketing.wal import WalCheckpointer
from ticketing.webhook_feed import WebhookFeed
from ticketing.webhooks import Subscriptions, WebhookDeliveries

__all__ = ["App", "AppOverrides", "build_app"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppOverrides:
    """Test seams: extra connectors (e.g. a loopback channel) and a faster outbox sweep."""

    connectors: Mapping[str, Connector] = field(default_factory=dict)
    outbox_sweep_interval: float = 1.0
    webhook_sweep_interval: float = 1.0


class App:
    def __init__(self, settings: Settings, overrides: AppOverrides) -> None:
        self.settings = settings
        self.engine = create_engine(
            settings.database_url, pool_size=settings.database.pool_size, echo=settings.database.echo
        )
        self.knowledge = LiveKnowledge(
            directory=settings.rulebook_dir,
            faq_threshold=settings.bot.faq_threshold,
            models=ModelStore(settings.resolve(settings.nlu.models)),
            languages=settings.nlu.languages,
        )
        # SQLite: the log is checkpointed beside the writers (ticketing/wal.py); before any connection.
        self.checkpoints = WalCheckpointer(self.engine) if is_sqlite(self.engine) else None
        self.customers = Customers(engine=self.engine)
        self.turns = Turns(engine=self.engine, ticket_config=lambda: self.ticketing.config())
        self.history = History(engine=self.engine)
        self.channel_state = ChannelState(engine=self.engine)  # pollers' cursors and their lock
        self.outbox_store = OutboxStore(engine=self.engine)
        self.fanout: LocalFanout | PostgresFanout = (
            LocalFanout() if is_sqlite(self.engine) else PostgresFanout(engine=self.engine)
        )
        self.analysis = AnalysisWorkers(
            workers=worker_count(settings.nlu.analysis_workers),
            current=lambda: self.knowledge.current.analyzer,
        )
        self.metrics = Metrics()  # this app's registry; /metrics serves it (docs/operations.md)
        self.connectors: dict[str, Connector] = {}
        self.webchat: WebchatConnector | None = None
        if settings.webchat.enabled:
            self.webchat = WebchatConnector(
                backend=WebchatBackendImpl(
                    customers=self.customers,
                    history=self.history,
                    files=attachment_files(settings),
                    copies=ReplyCopies(engine=self.engine),
                ),
                tokens=SessionTokens(
                    secret=_session_secret(settings), ttl_seconds=settings.webchat.session_ttl_days * 86400
                ),
                max_message_chars=settings.webchat.max_message_chars,
                fanout=self.fanout,
                uploads=upload_limits(settings.webchat.uploads),
                body_timeout=settings.server.body_timeout_seconds,
                widget_config=WidgetConfig.of(settings, self.knowledge, lambda: self.ticketing.config()),
            )
            self.connectors[self.webchat.name] = self.webchat
        self.connectors.update(overrides.connectors)
        self.dispatcher = OutboxDispatcher(
            store=self.outbox_store,
            connectors=self.connectors,
            sweep_interval=overrides.outbox_sweep_interval,
            metrics=self.metrics,
        )
        self.flow = ConversationFlow(
            customers=self.customers,
            turns=self.turns,
            history=self.history,
            knowledge=lambda: self.knowledge.current,
            wake_outbox=self.dispatcher.wake,
            bot_name=settings.bot.bot_name,
            analysis=self.analysis,
            metrics=self.metrics,
            ticket_config=lambda: self.ticketing.config(),
        )
        # Tickets, SLA clocks and escalations (docs/ticketing.md); its scheduler starts in running().
        self.ticketing = TicketingService(
            engine=self.engine, settings=settings.tickets, rulebook_dir=settings.rulebook_dir,
            wake_outbox=self.dispatcher.wake,
        )  # fmt: skip
        # SQLite: new messages and tickets reach the search index in bulk rounds (ticketing/search_index.py).
        self.search_index = SearchIndex(engine=self.engine)
        # The console's reports: hourly rollups tailing the messages and the audit trail (leader only).
        self.report_rollups = ReportRollups(engine=self.engine)
        # Customer segments (docs/segments.md): recomputed every segments.interval_hours, leader only.
        self.segments = SegmentJob(
            engine=self.engine, interval_hours=settings.segments.interval_hours,
            enabled=settings.segments.enabled,
        )  # fmt: skip
        # Email copies of agents' web chat replies a visitor did not see (docs/webchat-api.md).
        self.reply_copies = ReplyCopyJob.of(
            settings, engine=self.engine, knowledge=lambda: self.knowledge.current, wake=self.dispatcher.wake
        )
        self.ticket_rules = TicketRuleRunner(
            events=TicketEventFeed(engine=self.engine),
            knowledge=lambda: self.knowledge.current,
            wake_outbox=self.dispatcher.wake,
            bot_name=settings.bot.bot_name,
            ticket_config=lambda: self.ticketing.config(),
        )
        # Accounts, API tokens, console sessions and the access audit (docs/accounts.md).
        api = settings.api
        self.accounts = Accounts(
            engine=self.engine, max_failures=api.lockout_failures, lock_minutes=api.lockout_minutes
        )
        self.api_tokens = ApiTokens(engine=self.engine)
        self.access_audit = AccessAudit(engine=self.engine)
        self.api_auth = ApiAuth(
            tokens=self.api_tokens, limits=TokenBuckets(per_minute=api.requests_per_minute, burst=api.burst)
        )
        # Outgoing webhooks (docs/webhooks.md): queued from the durable records, sent beside.
        self.webhook_subscriptions = Subscriptions(engine=self.engine)
        self.webhook_deliveries = WebhookDeliveries(engine=self.engine)
        self.webhooks = WebhookDispatcher(
            deliveries=self.webhook_deliveries, subscriptions=self.webhook_subscriptions,
            settings=settings.webhooks, metrics=self.metrics, sweep_interval=overrides.webhook_sweep_interval,
        )  # fmt: skip
        self.webhook_producer = WebhookProducer(
            feed=WebhookFeed(engine=self.engine), subscriptions=self.webhook_subscriptions,
            wake_dispatcher=self.webhooks.wake, interval=settings.webhooks.poll_interval,
        )  # fmt: skip
        self.openapi = load_spec()  # bot/openapi/*.yaml merged; a clash fails here, at build
        self.web = self._web_app()
        # Optional channels (Telegram, email, Slack): connectors from their config sections, built
        # on this app's collaborators; webhook routes.
        parts = ChannelParts(
            customers=self.customers, turns=self.turns, history=self.history, state=self.channel_state,
            ticketing=self.ticketing, wake_outbox=self.dispatcher.wake, accounts=self.accounts,
            macros=lambda: self.knowledge.current.ruleset.macros, access_audit=self.access_audit,
        )  # fmt: skip
        channels = optional_channels(settings, parts=parts)
        for connector, routes in channels:
            self.connectors.setdefault(connector.name, connector)  # a test override wins
            self.web.add_routes(routes)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[App]:
        """Open the database, start the outbox and the connectors; close all in reverse order."""
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(_bounded, "database", lambda: dispose(self.engine))
            await self._check_schema()
            if self.checkpoints is not None:
                await self.checkpoints.start()
                stack.push_async_callback(_bounded, "checkpoints", self.checkpoints.stop)
            stack.push_async_callback(_bounded, "turns", self.turns.close)
            stack.push_async_callback(_bounded, "sessions", self.customers.close)
            await self.fanout.start()
            stack.push_async_callback(_bounded, "fanout", self.fanout.stop)
            await stack.enter_async_context(
                self.knowledge.running(wait_for_model=self.settings.nlu.wait_for_model_seconds)
            )
            await self.analysis.start()
            stack.push_async_callback(_bounded, "analysis workers", self.analysis.stop)
            await self.dispatcher.start()
            stack.push_async_callback(_bounded, "dispatcher", self.dispatcher.stop)
            await self.ticketing.start()
            stack.push_async_callback(_bounded, "ticketing", self.ticketing.stop)
            await self.search_index.start()
            stack.push_async_callback(_bounded, "search index", self.search_index.stop)
            await self.report_rollups.start()
            stack.push_async_callback(_bounded, "report rollups", self.report_rollups.stop)
            await self.segments.start()
            stack.push_async_callback(_bounded, "segments", self.segments.stop)
            stack.push_async_callback(_bounded, "console segment run", self.console.segments.stop)
            if self.settings.tickets.scheduler:  # ticket-event rules run beside the SLA sweeps
                await self.ticket_rules.start()
                stack.push_async_callback(_bounded, "ticket_rules", self.ticket_rules.stop)
                await self.reply_copies.start()
                stack.push_async_callback(_bounded, "reply copies", self.reply_copies.stop)
                await sync_config(self.webhook_subscriptions, self.settings.webhooks)
                await self.webhooks.start()
                stack.push_async_callback(_bounded, "webhooks", self.webhooks.stop)
                await self.webhook_producer.start()
                stack.push_async_callback(_bounded, "webhook producer", self.webhook_producer.stop)
            for connector in self.connectors.values():
                await connector.start(self.flow.handle)
                stack.push_async_callback(_bounded, connector.name, connector.stop)
            _LOGGER.info(
                "Frontdesk ready: channels %s, database %s",
                ", ".join(self.connectors),
                self.engine.url.render_as_string(hide_password=True),
            )
            yield self

    async def _check_schema(self) -> None:
        try:
            current = await current_revision(self.engine)
        except Exception as exc:
            shown = self.engine.url.render_as_string(hide_password=True)
            raise database_fault(self.settings.database_url, exc) or StartupError(
                f"cannot open the database {shown}: {str(exc).splitlines()[0]}",
                fix="check database.url in config.yaml",
            ) from exc
        if current != head_revision():
            raise SchemaOutOfDate(current=current, needed=head_revision())

    def _web_app(self) -> web.Application:
        server = self.settings.server
        widget = CorsPolicy(
            "webchat.allowed_origins", frozenset(self.settings.webchat.allowed_origins), "GET, POST, OPTIONS"
        )
        api_methods = "GET, POST, PATCH, DELETE, OPTIONS"
        api = CorsPolicy("api.allowed_origins", frozenset(self.settings.api.allowed_origins), api_methods)
        widget_paths = frozenset(self.webchat.api_paths()) if self.webchat is not None else frozenset()
        middlewares = [
            edge_middleware(
                server.body_timeout_seconds,
                widget_paths=widget_paths,
                streamed=self.webchat.streamed_bodies() if self.webchat is not None else {},
            ),
            cors_middleware(widget_paths=widget_paths, widget=widget, api=api),
        ]
        hooks = webhook_paths(self.settings)
        if hooks:  # outermost, so it counts the status the webhook's sender finally got
            middlewares.insert(0, webhook_middleware(self.metrics, hooks))
        app = web.Application(client_max_size=server.max_body_bytes, middlewares=middlewares)
        quiet_client_errors()  # a client's malformed request is one WARNING line, not a traceback
        app.router.add_get("/healthz", self._health)
        if server.metrics and server.metrics_token is not None:  # config requires the token
            sources = ScrapeSources(
                outbox=self.outbox_store.backlog,
                timers=lambda: self.ticketing.timer_backlog(late_after=LATE_AFTER),
                workers=self._worker_health,
            )
            token = server.metrics_token.get_secret_value()
            app.router.add_get("/metrics", metrics_handler(self.metrics, sources, token=token))
        if self.webchat is not None:
            app.add_routes(self.webchat.routes())
        logins = TokenBuckets(per_minute=self.settings.api.logins_per_ip_per_minute,
                              burst=self.settings.api.logins_per_ip_per_minute)  # fmt: skip
        auth_routes = AuthRoutes(
            auth=self.api_auth, accounts=self.accounts, tokens=self.api_tokens, audit=self.access_audit,
            logins=logins, session_hours=self.settings.api.session_hours,
            secure_cookies=not server.insecure_cookies,
        )  # fmt: skip
        app.add_routes(auth_routes.routes())
        # REST API v1: customers, conversations, the rulebook's status (docs/api.md).
        records, edits = CustomerRecords(engine=self.engine), CustomerEdits(engine=self.engine)
        admin = CustomerAdmin(engine=self.engine, files=attachment_files(self.settings))
        customer_api = CustomerApi(
            auth=self.api_auth, audit=self.access_audit, records=records, edits=edits, admin=admin
        )
        app.add_routes(customer_api.routes())
        conversation_api = ConversationApi(
            auth=self.api_auth, audit=self.access_audit, transcripts=Transcripts(engine=self.engine)
        )
        app.add_routes(conversation_api.routes())
        app.add_routes(RulebookApi(auth=self.api_auth, knowledge=self.knowledge).routes())
        # REST API v1: tickets.
        ticket_routes = TicketRoutes(
            auth=self.api_auth, desk=self.ticketing.desk, queries=TicketQueries(engine=self.engine),
            audit=self.access_audit,
        )  # fmt: skip
        app.add_routes(ticket_routes.routes())
        app.add_routes(WebhookRoutes(auth=self.api_auth, subscriptions=self.webhook_subscriptions,
                                     deliveries=self.webhook_deliveries).routes())  # fmt: skip
        app.add_routes(spec_routes(self.openapi))
        segments = Segments(engine=self.engine)
        # The console (docs/console.md): the same accounts, session and services as the API.
        self.console = Console(
            auth=self.api_auth, accounts=self.accounts, tokens=self.api_tokens, logins=logins,
            desk=self.ticketing.desk, queries=TicketQueries(engine=self.engine),
            transcripts=Transcripts(engine=self.engine), audit=self.access_audit,
            records=records, edits=edits, admin=admin, knowledge=self.knowledge,
            missed=functools.partial(missed_messages, self.engine),
            recent=functools.partial(recent_customer_messages, self.engine),
            faq_threshold=self.settings.bot.faq_threshold,
            latest_segments=segments.latest, run_segments=functools.partial(run_segments, segments),
            dashboard=functools.partial(dashboard, self.engine),
            session_hours=self.settings.api.session_hours, secure_cookies=not server.insecure_cookies,
        )  # fmt: skip
        self.console.install(app)

        async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
            async with self.running():
                yield

        app.cleanup_ctx.append(lifecycle)
        return app

    async def _health(self, request: web.Request) -> web.Response:
        body: dict[str, object] = {"status": "ok"}
        try:
            body["outbox_pending"] = await self.outbox_store.pending_count()
            body["database"] = "ok"
        except Exception:
            _LOGGER.exception("health check: database unavailable")
            body.update(status="degraded", database="unavailable")
        body["analysis_workers"] = self._worker_health()
        current = self.knowledge.current
        body["rulebook"] = {
            "loaded_at": current.loaded_at.isoformat(),
            "errors": list(self.knowledge.last_error),
            "intent_model": current.model_version,
            "intent_model_ready": current.model_ready,
        }
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    def _worker_health(self) -> dict[str, int]:
        return {
            "wanted": self.analysis.wanted,
            "ready": self.analysis.ready_workers,
            "warm": self.analysis.warm_workers,  # holding the current rulebook's pipeline
        }


_STOP_TIMEOUT = 15.0


async def _bounded(name: str, stop: Callable[[], Awaitable[None]]) -> None:
    """Stop one part, but never wait forever: a stuck part is logged and left behind so the
    rest still shuts down (the process is exiting anyway)."""
    try:
        await asyncio.wait_for(stop(), _STOP_TIMEOUT)
    except TimeoutError:
        _LOGGER.error("shutdown: %s did not stop within %.0fs; continuing without it", name, _STOP_TIMEOUT)


def build_app(settings: Settings, *, overrides: AppOverrides | None = None) -> App:
    return App(settings, overrides or AppOverrides())


def _session_secret(settings: Settings) -> bytes:
    """The configured key, or one generated on first start and kept next to the data."""
    configured = settings.webchat.secret_key
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    path = settings.resolve(Path("var/webchat-secret.key"))
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    path.touch(mode=0o600)
    path.write_bytes(key)
    _LOGGER.warning("generated a web chat secret key in %s; set FRONTDESK_SECRET_KEY in production", path)
    return key
