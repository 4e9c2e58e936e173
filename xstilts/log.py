"""Progress lines and the run's clock: the lowest layer, so every module can speak without importing the scripts'
plumbing (``xstilts.cli``)."""
from __future__ import annotations

import os
import time

_STARTED = time.time()  # reset by restart_clock() (cli.run); module import time when a helper runs outside a script


def restart_clock() -> None:
    """Starts the clock ``elapsed`` reads (called when a script body starts)."""
    global _STARTED
    _STARTED = time.time()


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


def quiet_libraries() -> None:
    """Silences transformers' load reports and progress bars: the resolved recipe and our own log lines are the log."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
