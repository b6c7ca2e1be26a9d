"""The names of the channels messages arrive on, registered by whoever wires the channels in.

Rules name channels (``when: {channel: email}``) and rule tests give one per case, so the rule
schema must know every name, yet ``rules/`` may not import the connectors. Each connector
declares its name in a module that holds nothing else (cheap to import: ``frontdesk rules
check`` must not load python-telegram-bot), and the composition root registers them
(``bot/channel_names.py``). Errors list the names in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

__all__ = ["CHANNELS", "register_channel"]


class _Registered(Sequence[str]):
    """A live, read-only view of the registered names, in registration order."""

    def __init__(self) -> None:
        self._names: list[str] = []

    def add(self, name: str) -> None:
        if name not in self._names:
            self._names.append(name)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._names[index]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._names))

    def __repr__(self) -> str:
        return f"CHANNELS{tuple(self._names)!r}"


_REGISTRY = _Registered()
CHANNELS: Sequence[str] = _REGISTRY


def register_channel(name: str) -> str:
    """Make ``name`` known to the rule schema (registering it again changes nothing); returns it."""
    _REGISTRY.add(name)
    return name
