"""The ``email:`` section of config.yaml: the support address, IMAP in, SMTP out.

Passwords are ``SecretStr`` (write ``${IMAP_PASSWORD}`` in the file); they never appear in
reprs, logs or validation errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["EmailSettings", "ImapSettings", "SmtpSettings"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImapSettings(_Model):
    host: str
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "none"] = "tls"  # aioimaplib has no STARTTLS
    username: str
    password: SecretStr
    mailbox: str = "INBOX"
    # Seconds between checks when the server has no IDLE, and the longest IDLE before re-issuing it.
    poll_interval: float = Field(60.0, gt=0, le=3600)
    use_idle: bool = True


class SmtpSettings(_Model):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(30.0, gt=0, le=600)


class EmailSettings(_Model):
    address: str  # the support address customers write to; replies come from it
    display_name: str = "Frontdesk Support"
    imap: ImapSettings | None = None  # none: inbound only through `frontdesk email ingest`
    smtp: SmtpSettings
    # Raw mails in quarantine and attachments go under <files_dir>/email/...
    files_dir: Path = Path("var")
    poll: bool = True  # false: do not start the IMAP poller in this process
    max_mails_per_sender_per_hour: int = Field(20, ge=1, le=10_000)
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024)

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        value = value.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise ValueError("must be a plain address like support@example.com")
        return value

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]
