"""The ``--report DIR`` output of ``frontdesk nlu evaluate``: a confusion-matrix PNG and an HTML page.

The PNG is encoded here with ``zlib`` (a heat map needs no plotting library, and matplotlib
would be a large dependency for one picture). Row-normalised cells: white is 0 %, dark blue
100 %, and wrong predictions are tinted red so confusions stand out from the diagonal. Labels
are in the HTML, which embeds the picture and lists the numbers behind it.
"""

from __future__ import annotations

import html
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nlp.evaluation import Evaluation

__all__ = ["confusion_png", "write_report"]

_MAX_SIDE = 900


def write_report(evaluation: Evaluation, directory: Path) -> tuple[Path, Path]:
    """Write ``confusion_matrix.png`` and ``report.html`` into ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / "confusion_matrix.png"
    png.write_bytes(confusion_png(evaluation.matrix))
    page = directory / "report.html"
    page.write_text(_html(evaluation, png.name), encoding="utf-8")
    return png, page


def confusion_png(matrix: list[list[int]]) -> bytes:
    counts = np.asarray(matrix, dtype=np.float64)
    n = max(counts.shape[0], 1)
    cell = max(2, min(24, _MAX_SIDE // n))
    rows = counts.sum(axis=1, keepdims=True)
    share = (
        np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        if counts.size
        else np.zeros((1, 1))
    )
    rgb = np.full((*share.shape, 3), 255.0)
    diagonal = np.eye(share.shape[0], dtype=bool)
    blue = np.array([8.0, 48.0, 107.0])
    red = np.array([203.0, 24.0, 29.0])
    for mask, colour, gain in ((diagonal, blue, 1.0), (~diagonal, red, 3.0)):
        strength = np.clip(share * gain, 0.0, 1.0)[..., None]
        rgb = np.where(mask[..., None], 255.0 - strength * (255.0 - colour), rgb)
    pixels = np.repeat(np.repeat(rgb.astype(np.uint8), cell, axis=0), cell, axis=1)
    pixels[::cell, :, :] = np.minimum(pixels[::cell, :, :], 235)  # faint grid lines
    pixels[:, ::cell, :] = np.minimum(pixels[:, ::cell, :], 235)
    return _encode_png(pixels)


def _encode_png(pixels: Any) -> bytes:
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _html(ev: Evaluation, png_name: str) -> str:
    e = html.escape
    summary = [
        ("examples", str(ev.examples)),
        ("accuracy", f"{ev.accuracy:.2%}"),
        ("macro-F1", f"{ev.macro_f1:.4f}"),
    ]
    if ev.in_scope_accuracy is not None:
        summary.append(("in-scope accuracy", f"{ev.in_scope_accuracy:.2%}"))
    if ev.oos_recall is not None:
        summary.append(("out-of-scope recall", f"{ev.oos_recall:.2%}"))
    summary += [("model", ev.model_version), ("out-of-scope threshold", f"{ev.threshold:.3f}")]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary)
    intents = "".join(
        f"<tr><td>{e(s.intent)}</td><td>{s.precision:.3f}</td><td>{s.recall:.3f}</td>"
        f"<td>{s.f1:.3f}</td><td>{s.support}</td></tr>"
        for s in sorted(ev.per_intent, key=lambda s: s.f1)
    )
    confused = "".join(f"<tr><td>{e(t)}</td><td>{e(p)}</td><td>{n}</td></tr>" for t, p, n in ev.confused)
    order = "".join(f"<li>{e(label)}</li>" for label in ev.labels)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intent model evaluation</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}
img{{image-rendering:pixelated;border:1px solid #999}}
ol{{columns:3;font-size:12px}}</style></head><body>
<h1>Intent model evaluation</h1>
<table>{rows}</table>
<h2>Most confused pairs</h2>
<table><tr><th>true intent</th><th>predicted</th><th>count</th></tr>{confused}</table>
<h2>Confusion matrix</h2>
<p>Rows are the true intent, columns the predicted one, both in the order listed below; each row is
normalised. Blue: correct share; red: share sent to the wrong intent (tripled so small leaks show).</p>
<img src="{e(png_name)}" alt="confusion matrix">
<ol>{order}</ol>
<h2>Per intent (worst F1 first)</h2>
<table><tr><th>intent</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{intents}</table>
</body></html>
"""
