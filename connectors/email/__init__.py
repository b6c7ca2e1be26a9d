"""Email channel: IMAP polling in, SMTP out; see docs/email.md.

The connector, and aiosmtplib and aioimaplib with it, is imported on first use: reading config.yaml needs only
:class:`EmailSettings`, and commands such as ``frontdesk tickets`` never start a channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.email.config import EmailSettings

if TYPE_CHECKING:
    from connectors.email.connector import EmailConnector

__all__ = ["EmailConnector", "EmailSettings"]


def __getattr__(name: str) -> Any:
    if name == "EmailConnector":
        from connectors.email.connector import EmailConnector

        return EmailConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
