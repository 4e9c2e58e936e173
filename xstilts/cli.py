"""Command-line plumbing shared by the scripts: an error the user can fix becomes one clear line and exit code 2."""
from __future__ import annotations

import sys
from collections.abc import Callable

from xstilts.errors import XstiltsError
from xstilts.log import restart_clock

# KeyError: an unknown task or language name (the registry's lookups); FileNotFoundError: a path the user gave.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (XstiltsError, KeyError, FileNotFoundError)


def run(body: Callable[[list[str]], int], argv: list[str] | None, script: str, doc: str = "") -> int:
    """Runs a script body; a known error prints ``<script>: error: <message>`` and returns 2 (no traceback)."""
    restart_clock()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(doc, flush=True)
        return 0
    try:
        return body(argv)
    except KNOWN_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"{script}: error: {message}", file=sys.stderr, flush=True)
        return 2
