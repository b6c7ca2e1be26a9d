"""Email channel: IMAP polling in, SMTP out; see docs/email.md."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.email.config import EmailSettings
    from connectors.email.connector import EmailConnector

__all__ = ["EmailConnector", "EmailSettings"]

# Loaded on first use: the package is also imported for its name (``channel_name``), which must
# stay cheap (``frontdesk rules check`` registers every channel's name).
_LAZY = {"EmailSettings": "connectors.email.config", "EmailConnector": "connectors.email.connector"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
