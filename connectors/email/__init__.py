"""Email channel: IMAP polling in, SMTP out; see docs/email.md."""

from connectors.email.config import EmailSettings
from connectors.email.connector import EmailConnector

__all__ = ["EmailConnector", "EmailSettings"]
