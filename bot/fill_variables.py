"""Filling ``{name}`` variables into reply templates when the bot executes a decision.

Not :mod:`rules.templates`, which renders a rule's template with its ``|fallback`` defaults
and leaves ``{ticket}`` and ``{bot_name}`` for this second pass: here an unknown name stays
as written, because only the executor knows the ticket number or an error's reference.

Only bare names are substituted from a plain dict of strings: no attribute access, indexing
or format specs, so an admin's template (or a customer's text echoed into one) cannot reach
into Python objects the way ``str.format`` would allow. Unknown names stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["render"]

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)(?:\|([^{}]*))?\}")


def render(template: str, variables: Mapping[str, str]) -> str:
    """``{result.priority|normal}``: the fallback applies when the executor has no value either."""

    def fill(m: re.Match[str]) -> str:
        value = variables.get(m.group(1))
        if value:
            return value
        return m.group(2) if m.group(2) is not None else m.group(0)

    return _VARIABLE.sub(fill, template)
