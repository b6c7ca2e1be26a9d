"""``frontdesk``: the command line for operators and admins.

Library code raises typed errors; this module is the only place that turns them into
messages on stderr and exit codes (2: configuration or rulebook problem, 1: other failure).
An :class:`~core.errors.OperatorError` is one line with its fix (``frontdesk: error: what —
fix``) and a config or rulebook problem one ``file:line: ...`` line each, never a traceback.
It imports only the argument grammar, so ``--help`` is instant; each command imports what it
needs when it runs (bot/cli_parser.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.cli_parser import parser
from core.errors import FrontdeskError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FrontdeskError as exc:
        return _report(exc)
    except KeyboardInterrupt:
        return 130


def _report(exc: FrontdeskError) -> int:
    # Imported here: whoever raised a SourceError has loaded it, and --help need not load YAML.
    from core.yamlfile import SourceError

    if isinstance(exc, SourceError):
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    print(f"frontdesk: error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
