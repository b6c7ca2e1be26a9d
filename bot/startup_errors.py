"""Why Frontdesk cannot start, said as what to do: the port, the database, the schema.

The database driver and the socket layer report these faults as their own exceptions
(``ConnectionRefusedError``, asyncpg's ``InvalidCatalogNameError`` wrapped by SQLAlchemy, a
bind's ``EADDRINUSE``), which an operator would otherwise meet as a traceback. The functions
here recognise the common ones and return a :class:`StartupError` carrying the fix; anything
they do not recognise is left to the caller, so a real bug still shows its traceback.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator

from core.errors import FrontdeskError, OperatorError
from ticketing.database import database_target

__all__ = [
    "DatabaseMissing",
    "DatabaseUnreachable",
    "PortInUse",
    "SchemaOutOfDate",
    "StartupError",
    "database_fault",
    "listen_fault",
    "opening_database",
]

_CONFIG_FIX = "or correct database.url in config.yaml"


class StartupError(OperatorError):
    """Frontdesk cannot start; the message says what the operator must do."""


class PortInUse(StartupError):
    """Another process listens on the address ``serve`` was given."""


class DatabaseMissing(StartupError):
    """The PostgreSQL server is there but the database in ``database.url`` is not."""


class DatabaseUnreachable(StartupError):
    """No database answers at ``database.url``: the server is down, the URL is wrong, or the
    SQLite file cannot be opened."""


class SchemaOutOfDate(StartupError):
    """The database is older (or newer) than the migrations this Frontdesk ships."""

    def __init__(self, *, current: str | None, needed: str) -> None:
        super().__init__(
            f"the database schema is at revision {current or 'none'}, this Frontdesk needs {needed}",
            fix="run `frontdesk db upgrade`",
        )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``.orig``) and its causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, current.__cause__, current.__context__]


def _reason(exc: BaseException) -> str:
    """The innermost message, first line only (SQLAlchemy appends a "Background" link)."""
    *_, innermost = _chain(exc)
    text = str(innermost).strip() or type(innermost).__name__
    return text.splitlines()[0]


def database_fault(url: str, exc: BaseException) -> StartupError | None:
    """The operator's version of a failure to open ``url``, or ``None`` when it is not one."""
    target = database_target(url)
    if target.path is not None:  # SQLite
        path = target.path
        own_paths = {str(path), *(str(p) for p in path.parents)}
        for cause in _chain(exc):
            opened = isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause)
            if opened or (isinstance(cause, OSError) and str(cause.filename) in own_paths):
                return DatabaseUnreachable(
                    f"cannot open the SQLite database {path}: {_reason(cause)}",
                    fix=f"make sure its folder can be created and written, {_CONFIG_FIX}",
                )
        return None
    host, port, name = target.host, target.port, target.name
    for cause in _chain(exc):
        state = getattr(cause, "sqlstate", None)
        if state == "3D000":  # invalid_catalog_name
            user = f" -U {target.user}" if target.user else ""
            return DatabaseMissing(
                f'the database "{name}" does not exist on {host}:{port}',
                fix=f"create it with `createdb -h {host} -p {port}{user} {name}` "
                "and run `frontdesk db upgrade`, " + _CONFIG_FIX,
            )
        if state in {"28000", "28P01"}:  # invalid authorization / password
            return DatabaseUnreachable(
                f"PostgreSQL at {host}:{port} refused the login: {_reason(cause)}",
                fix=f"check the user and password in database.url ({target.shown})",
            )
        if isinstance(cause, OSError):  # refused, timed out, unknown host
            return DatabaseUnreachable(
                f"cannot reach PostgreSQL at {host}:{port}: {_reason(cause)}",
                fix=f"start the server, {_CONFIG_FIX}",
            )
    return None


@contextlib.contextmanager
def opening_database(url: str) -> Iterator[None]:
    """Turn a recognised failure to open ``url`` into its :class:`StartupError`."""
    try:
        yield
    except FrontdeskError:
        raise
    except Exception as exc:
        fault = database_fault(url, exc)
        if fault is None:
            raise
        raise fault from exc


def listen_fault(host: str, port: int, exc: OSError) -> StartupError | None:
    """The operator's version of a failed bind, or ``None`` when it is not one."""
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(
            f"{where}: the port is in use",
            fix=f"stop the other process (`ss -ltnp 'sport = :{port}'` shows it) "
            "or choose another port with --port or server.port",
        )
    if exc.errno == errno.EACCES:
        return StartupError(
            f"{where}: permission denied", fix="use a port above 1023, or run with the right to bind it"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(
            f"{where}: not an address of this machine",
            fix="use --host or server.host with one of its addresses",
        )
    return None
