"""Versioned storage of trained intent models, keyed by the hash of their training data.

Layout under the store root (``models/`` by default)::

    <version>/model.pkl    the pickled IntentModel
    <version>/meta.json    version, labels, threshold, training facts (readable without unpickling)
    current                the version the server should serve (one line)

A version directory is written under a temporary name and renamed into place, so a crash
mid-save never leaves a half model that a later load would pick up. Because the key is the
training-data hash, "do I need to retrain?" is one ``exists`` check, and two processes that
train the same data produce the same directory.

Models are pickles: load only from a directory you control (the store never fetches).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from core.errors import FrontdeskError
from nlp.intent import IntentConfig
from nlp.intent_model import IntentModel
from nlp.training import Progress, train, training_hash
from nlp.types import TrainingExample

__all__ = ["ModelStore", "ModelStoreError"]

_LOGGER = logging.getLogger(__name__)
_MODEL = "model.pkl"
_META = "meta.json"
_CURRENT = "current"


class ModelStoreError(FrontdeskError, RuntimeError):
    """A stored model is missing or cannot be read; the message says which and why."""


class ModelStore:
    """Saves and loads :class:`IntentModel` versions under ``root``.

    Args:
        root: directory for model versions; created on first save.
        keep: how many versions to keep when pruning after a save (the current one always stays).
    """

    def __init__(self, root: Path | str, *, keep: int = 3) -> None:
        self.root = Path(root)
        self.keep = keep

    def version_for(
        self,
        examples: Sequence[TrainingExample],
        *,
        config: IntentConfig | None = None,
        oos_label: str | None = None,
    ) -> str:
        """The version key these examples would train to (cheap: a hash)."""
        return training_hash(examples, config=config, oos_label=oos_label)

    def exists(self, version: str) -> bool:
        return (self.root / version / _MODEL).is_file()

    def versions(self) -> list[str]:
        """Stored versions, newest first."""
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.iterdir() if (p / _MODEL).is_file()]
        return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]

    def current_version(self) -> str | None:
        try:
            version = (self.root / _CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return version or None

    def load(self, version: str) -> IntentModel:
        """Load one version.

        Raises:
            ModelStoreError: missing or unreadable (e.g. written by an incompatible release).
        """
        path = self.root / version / _MODEL
        try:
            with path.open("rb") as fh:
                model = pickle.load(fh)  # noqa: S301 - our own store, see module docstring
        except FileNotFoundError:
            raise ModelStoreError(f"{path}: no such model; run 'frontdesk nlu train'") from None
        except (OSError, pickle.UnpicklingError, AttributeError, ImportError, EOFError) as exc:
            raise ModelStoreError(f"{path}: cannot load model ({exc}); retrain it") from None
        if not isinstance(model, IntentModel):
            raise ModelStoreError(f"{path}: not an intent model; retrain it")
        return model

    def load_or_none(self, version: str | None) -> IntentModel | None:
        """Like :meth:`load`, but ``None`` (logged) instead of an error; for the server."""
        if not version or not self.exists(version):
            return None
        try:
            return self.load(version)
        except ModelStoreError as exc:
            _LOGGER.warning("%s", exc)
            return None

    def load_current(self) -> IntentModel | None:
        """The version marked current, else the newest stored one, else ``None``."""
        model = self.load_or_none(self.current_version())
        if model is not None:
            return model
        for version in self.versions():
            model = self.load_or_none(version)
            if model is not None:
                return model
        return None

    def save(self, model: IntentModel, *, make_current: bool = True) -> Path:
        """Write ``model`` atomically under its version and (by default) mark it current."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / model.version
        if not final.exists():
            tmp = Path(tempfile.mkdtemp(prefix=f".{model.version}-", dir=self.root))
            try:
                with (tmp / _MODEL).open("wb") as fh:
                    pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
                meta = {
                    "version": model.version,
                    "labels": list(model.labels),
                    "threshold": model.threshold,
                    "oos_label": model.oos_label,
                    "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    **dict(model.info),
                }
                (tmp / _META).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
                os.replace(tmp, final)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not final.exists():
                    raise
        if make_current:
            self.set_current(model.version)
        self.prune()
        return final

    def set_current(self, version: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{_CURRENT}.tmp"
        tmp.write_text(version + "\n", encoding="utf-8")
        os.replace(tmp, self.root / _CURRENT)

    def train(
        self,
        examples: Sequence[TrainingExample],
        *,
        config: IntentConfig | None = None,
        oos_label: str | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> IntentModel:
        """Load the model for these examples if stored, else train and save it (marked current).

        Blocking CPU work: call it from a worker thread (``asyncio.to_thread``) in the server
        and swap the pipeline's model when it returns; the old model serves meanwhile.
        """
        version = self.version_for(examples, config=config, oos_label=oos_label)
        if not force:
            model = self.load_or_none(version)
            if model is not None:
                self.set_current(version)
                return model
        model = train(examples, config=config, oos_label=oos_label, progress=progress)
        self.save(model)
        return model

    def prune(self) -> None:
        current = self.current_version()
        for version in self.versions()[self.keep :]:
            if version != current:
                shutil.rmtree(self.root / version, ignore_errors=True)
