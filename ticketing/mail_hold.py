"""Mails the email channel keeps aside on disk: the quarantine and the set-aside areas.

Quarantined and set-aside mails are kept as ``<id>.eml`` plus a ``<id>.json`` note (reason,
time, size) under ``<files_dir>/email/quarantine/`` and ``<files_dir>/email/set-aside/<kind>/``;
the id is the hash of the raw bytes, so keeping the same mail twice (a re-read after a crash)
stores it once. Open: in files, each machine sees only its own list; a table would let every
process see the same one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ticketing.channel_files import DiskFiles
from ticketing.time import utcnow

__all__ = ["HeldMail", "MailHold", "SetAside", "quarantine_hold", "set_aside_area"]


@dataclass(frozen=True, slots=True)
class HeldMail:
    id: str
    reason: str
    held_at: datetime
    size: int
    path: Path


class MailHold:
    """A directory of kept mails with a note each: the quarantine, or a set-aside area."""

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory

    async def keep(self, raw: bytes, *, reason: str) -> str:
        mail_id = hashlib.sha256(raw).hexdigest()[:24]
        note = {"reason": reason, "held_at": utcnow().isoformat(), "size": len(raw)}
        await asyncio.to_thread(self._write, mail_id, raw, note)
        return mail_id

    def _write(self, mail_id: str, raw: bytes, note: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        eml = self.directory / f"{mail_id}.eml"
        if not eml.exists():
            tmp = eml.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(eml)
        (self.directory / f"{mail_id}.json").write_text(json.dumps(note))

    def entries(self) -> list[HeldMail]:
        held = []
        for note_path in sorted(self.directory.glob("*.json")):
            note = json.loads(note_path.read_text())
            held.append(
                HeldMail(
                    note_path.stem,
                    str(note.get("reason", "")),
                    datetime.fromisoformat(note["held_at"]),
                    int(note.get("size", 0)),
                    note_path.with_suffix(".eml"),
                )
            )
        return sorted(held, key=lambda h: h.held_at)

    def raw(self, mail_id: str) -> bytes:
        if not re.fullmatch(r"[0-9a-f]{24}", mail_id):
            raise KeyError(mail_id)
        path = self.directory / f"{mail_id}.eml"
        if not path.exists():
            raise KeyError(mail_id)
        return path.read_bytes()

    def release(self, mail_id: str) -> None:
        """Processed after all: move it to ``done/`` (kept for the record, out of the list)."""
        done = self.directory / "done"
        done.mkdir(parents=True, exist_ok=True)
        for suffix in (".eml", ".json"):
            path = self.directory / f"{mail_id}{suffix}"
            if path.exists():
                path.replace(done / path.name)


def quarantine_hold(files: DiskFiles) -> MailHold:
    return MailHold(directory=files.root / "email" / "quarantine")


class SetAside:
    """Mails deliberately not processed, one :class:`MailHold` per kind under ``set-aside/``."""

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory

    def kind(self, kind: str) -> MailHold:
        return MailHold(directory=self.directory / kind)

    def entries(self) -> list[HeldMail]:
        kinds = (
            sorted(p.name for p in self.directory.glob("*/") if p.is_dir()) if self.directory.is_dir() else []
        )
        held = [h for kind in kinds for h in self.kind(kind).entries()]
        return sorted(held, key=lambda h: h.held_at)

    def find(self, mail_id: str) -> tuple[str, MailHold]:
        """The kind and hold of a set-aside mail; KeyError if there is none with that id."""
        for entry in self.entries():
            if entry.id == mail_id:
                hold = self.kind(entry.path.parent.name)
                hold.raw(mail_id)  # still there
                return entry.reason, hold
        raise KeyError(mail_id)


def set_aside_area(files: DiskFiles) -> SetAside:
    return SetAside(directory=files.root / "email" / "set-aside")
