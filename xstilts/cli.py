"""Command-line plumbing shared by the phase scripts: known errors become one clear line and exit code 2."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

_STARTED = time.time()  # reset by run(); module import time when a helper is called outside a script

KNOWN_ERRORS: tuple[type[BaseException], ...] = ()


def _known() -> tuple[type[BaseException], ...]:
    from xstilts.data import DataError
    from xstilts.io import RunFolderError
    from xstilts.modeling import ModelFolderError
    from xstilts.recipe import RecipeError
    from xstilts.training import TrainingFailed

    errors: list[type[BaseException]] = [RecipeError, RunFolderError, DataError, ModelFolderError, TrainingFailed,
                                         KeyError, FileNotFoundError]
    try:
        from xstilts.submission import SubmissionError

        errors.append(SubmissionError)
    except ImportError:
        pass
    return tuple(errors)


def quiet_libraries() -> None:
    """Silences transformers' load reports and progress bars: the resolved recipe and our own log lines are the log."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def run(body: Callable[[list[str]], int], argv: list[str] | None, script: str, doc: str = "") -> int:
    """Runs a script body; a known error prints ``<script>: error: <message>`` and returns 2 (no traceback)."""
    global _STARTED
    _STARTED = time.time()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(doc, flush=True)
        return 0
    try:
        return body(argv)
    except _known() as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"{script}: error: {message}", file=sys.stderr, flush=True)
        return 2


def elapsed() -> float:
    """Seconds since the running script's ``run`` began (the wall time a result records)."""
    return round(time.time() - _STARTED, 1)


def log(message: str, every_rank: bool = False) -> None:
    """A progress line. Under a launcher only rank 0 speaks (N copies of each line help nobody), unless the line is
    a rank's own work (``every_rank``, e.g. the languages it evaluated), which is then tagged with the rank."""
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        print(f"[xstilts] {message}", flush=True)
    elif every_rank:
        print(f"[xstilts rank {rank}] {message}", flush=True)
