"""The root of every exception Frontdesk raises on purpose, and the operator-facing split.

``except FrontdeskError`` catches anything of ours and nothing of a library's. Below it, an
:class:`OperatorError` is a fault the person running Frontdesk can fix (a config typo, a port in
use, a database that does not exist): it carries the fix, and ``frontdesk`` prints it as one
line instead of a traceback. Everything else is internal: a caller handles it, or it is a bug.
Classes keep their own module (and a builtin base such as ``ValueError`` where callers catch
that), so they derive from the root rather than live here::

    FrontdeskError
    ├── OperatorError                 the message says what to do (.fix)
    │   ├── SourceError               file:line problems in config.yaml or the rulebook
    │   │   ├── ConfigError           (bot.config)
    │   │   └── RulebookError         (core.yamlfile)
    │   ├── StartupError              cannot start (bot.startup_errors)
    │   │   ├── PortInUse
    │   │   ├── DatabaseMissing       createdb NAME
    │   │   ├── DatabaseUnreachable   the server is down or the URL is wrong
    │   │   └── SchemaOutOfDate       frontdesk db upgrade
    │   └── BackupError               a backup or restore refused (ticketing.backup)
    ├── TicketError                   a refused ticket operation, said to the agent (ticketing.errors)
    │   └── TicketNotFound, InvalidTransition, InvalidValue, UnknownQueue, UnknownAgent,
    │       NoAgentAvailable, CustomerNotFound (CustomerRetired: merged or erased),
    │       AccountError: UnknownAccount, NotPermitted, LoginRefused, CredentialRefused
    ├── ConversationGone              the customer was erased; start a new session (core.contracts)
    ├── CalendarProblem               (ticketing.business_hours; also a ValueError)
    ├── DatasetError, TrainingError, InvalidPatternError, ModelStoreError      (nlp)
    ├── BadRequest, DeliveryError, InvalidToken, Unparseable, ImapError,
    │   SlackRefused, SlackUnavailable, ActionRefused                          (connectors)
    └── AnalysisStuck, _Superseded, Problem (an API problem+json answer)         (bot)
"""

from __future__ import annotations

__all__ = ["FrontdeskError", "OperatorError"]


class FrontdeskError(Exception):
    """Raised by Frontdesk on purpose; anything else escaping is a library's error or a bug."""


class OperatorError(FrontdeskError):
    """A fault the operator can fix; ``str()`` is ``what — fix``, one line for the terminal."""

    def __init__(self, what: str, *, fix: str = "") -> None:
        super().__init__(f"{what} — {fix}" if fix else what)
        self.what = what
        self.fix = fix
