"""Reading labelled examples from CSV files (``text,label`` or any two named columns).

Public intent data sets and exports from other tools name their columns differently
(``text,category``, ``utterance,intent``); the column names are options rather than a format
admins must convert to. When not given, common names are recognised.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.errors import FrontdeskError
from nlp.types import TrainingExample

__all__ = ["DatasetError", "read_csv"]

_TEXT_NAMES = ("text", "utterance", "sentence", "query", "question", "example", "message")
_LABEL_NAMES = ("label", "intent", "category", "class", "target")


class DatasetError(FrontdeskError, ValueError):
    """The CSV cannot be read as examples; the message names the file and what to pass."""


def read_csv(
    path: Path | str, *, text_col: str | None = None, label_col: str | None = None
) -> list[TrainingExample]:
    """Examples from a CSV file with a header row; blank texts and labels are skipped.

    Raises:
        DatasetError: file missing, no header, or the columns cannot be found.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise DatasetError(f"{path}: empty file or no header row")
            text_key = _pick(header, text_col, _TEXT_NAMES, path, "--text-col")
            label_key = _pick(header, label_col, _LABEL_NAMES, path, "--label-col")
            raw_names = dict(zip(header, reader.fieldnames or [], strict=False))
            examples = []
            for row in reader:
                text = (row.get(raw_names[text_key]) or "").strip()
                label = (row.get(raw_names[label_key]) or "").strip()
                if text and label:
                    examples.append(TrainingExample(text=text, intent=label))
            return examples
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a UTF-8 CSV file ({exc})") from None


def _pick(header: list[str], wanted: str | None, defaults: tuple[str, ...], path: Path, option: str) -> str:
    if wanted is not None:
        if wanted in header:
            return wanted
        raise DatasetError(f"{path}: no column {wanted!r}; columns are {', '.join(header)}")
    lowered = {h.lower(): h for h in header}
    for name in defaults:
        if name in lowered:
            return lowered[name]
    raise DatasetError(
        f"{path}: cannot tell which column to use; pass {option} (columns: {', '.join(header)})"
    )
