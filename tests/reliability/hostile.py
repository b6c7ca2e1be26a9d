"""Hostile inputs for the fuzzer, drawn from one ``random.Random``: the same seed gives the same
cases, so a failure replays with ``FRONTDESK_FUZZ_SEED``.

Mutating a *valid* body (one field of the wrong type, one missing, one extra) reaches deeper
than random bytes, which the first parse refuses; both kinds are drawn.
"""

from __future__ import annotations

import copy
import json
import os
import random
import string
from collections.abc import Callable
from typing import Any

__all__ = ["SEED", "Hostile", "seed"]

DEFAULT_SEED = 20261206


def seed() -> int:
    """The fuzz seed: ``FRONTDESK_FUZZ_SEED`` or a fixed default (a run is reproducible)."""
    return int(os.environ.get("FRONTDESK_FUZZ_SEED", DEFAULT_SEED))


SEED = seed()

CONTENT_TYPES = (
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/octet-stream",
    "application/json; charset=nonsense",
    "",
    "*/*",
    "application/x-www-form-urlencoded; charset=utf-16",
)


class Hostile:
    """Random hostile values and bodies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def text(self, limit: int = 40) -> str:
        """Printable text, sometimes with control characters, surrogate escapes or emoji."""
        alphabet = string.printable + "\u00e9\u4e2d\U0001f600\u202e\ufeff"
        chars = [self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit))]
        if self.rng.random() < 0.2:
            chars.append(self.rng.choice(["\x00", "\x1b", "\ud800", "\r\n", "\x7f"]))
        return "".join(chars)

    def header_value(self) -> str:
        """What aiohttp will send: latin-1, no line breaks (the server's parser sees the rest in
        tests/webchat/test_edge.py)."""
        alphabet = string.ascii_letters + string.digits + " .:;=_-/+*!\"'()<>\u00e9\u00ff"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 120)))

    def value(self, depth: int = 0) -> Any:
        """Any JSON value of a random type."""
        kinds: list[Callable[[], Any]] = [
            lambda: None,
            lambda: self.rng.choice([True, False]),
            lambda: self.rng.randint(-(2**70), 2**70),
            lambda: self.rng.choice([0.5, -1e308, 1e-320, 3.0]),
            lambda: self.text(),
            lambda: "x" * self.rng.randint(1000, 20000),
        ]
        if depth < 3:
            kinds += [
                lambda: [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))],
                lambda: {self.text(8): self.value(depth + 1) for _ in range(self.rng.randint(0, 4))},
            ]
        return self.rng.choice(kinds)()

    def mutate(self, valid: dict[str, Any]) -> Any:
        """A valid body with one thing wrong: a field's type, a field missing, an extra field,
        or a change deep inside (nested objects are walked)."""
        body = copy.deepcopy(valid)
        node: Any = body
        while isinstance(node, dict) and node and self.rng.random() < 0.6:
            key = self.rng.choice(list(node))
            if not isinstance(node[key], (dict, list)) or not node[key]:
                break
            child = node[key]
            node = child if isinstance(child, dict) else child[0]
        if not isinstance(node, dict) or not node:
            return self.value()
        key = self.rng.choice(list(node))
        move = self.rng.random()
        if move < 0.5:
            node[key] = self.value()
        elif move < 0.7:
            del node[key]
        else:
            node[self.text(12)] = self.value()
        return body

    def body(self, valid: dict[str, Any]) -> bytes:
        """Raw request bytes: mostly a mutated valid body, else one of the classic hostile ones."""
        pick = self.rng.random()
        if pick < 0.45:
            return _dumps(self.mutate(valid))
        kinds: list[Callable[[], bytes]] = [
            lambda: self.rng.randbytes(self.rng.randint(0, 2000)),
            lambda: b"\xff\xfe\xc3(" + self.rng.randbytes(20) + _dumps(valid),  # invalid UTF-8
            lambda: _dumps(valid)[: self.rng.randint(0, len(_dumps(valid)))],  # truncated
            lambda: self._nested(),
            lambda: b'{"client_message_id": "a", "text": ' + b"9" * self.rng.randint(4300, 60000) + b"}",
            lambda: _dumps(self.value()),  # a JSON value of the wrong kind
            lambda: _dumps({**valid, "text": "y" * self.rng.randint(4000, 70000)}),  # huge string
            lambda: b"",
            lambda: b"null",
            lambda: b'{"a": NaN, "b": Infinity}',
            lambda: b'{"text": "\\ud800\\udc00\\ud800", "client_message_id": "\\u0000"}',
        ]
        return self.rng.choice(kinds)()

    def _nested(self) -> bytes:
        depth = self.rng.choice([64, 1000, 5000, 30000])
        opener, closer = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        return opener * depth + b"1" + closer * depth

    def content_type(self) -> str:
        return self.rng.choice(CONTENT_TYPES)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
