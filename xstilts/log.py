"""Progress lines and the run's clock: the lowest layer, so every module can speak without importing the scripts'
plumbing (``xstilts.cli``)."""
from __future__ import annotations

import math
import os
import re
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


def duration(seconds: float) -> str:
    """A span of time as people read it in a log: ``42s``, ``3m05s``, ``2h07m``."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def short_number(x: float, digits: int = 2) -> str:
    """A number in few characters, as learning rates are written: ``1.2e-5`` (not ``1.2e-05``), ``3e-4``, ``0.02``."""
    text = f"{x:.{digits - 1}e}" if not math.isnan(x) and 0 < abs(x) < 1e-3 else f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        text = f"{mantissa}e{int(exponent)}"
    return text


def step_line(step: int, total: int, loss: float | None = None, lr: float | None = None, dev: float | None = None,
              seconds: float | None = None, eta: float | None = None) -> str:
    """One training progress record: ``step 120/800 loss 0.873 lr 1.2e-5 dev 71.4 (3m05s, ETA 17m20s)``.

    Each part is left out when its value is None (``dev``: no evaluation since the last record; ``eta``: not yet
    known). Losses keep three decimals whatever their size, so lines of one run align.
    """
    parts = [f"step {step}/{total}"]
    if loss is not None:
        parts.append(f"loss {loss:.3f}")
    if lr is not None:
        parts.append(f"lr {short_number(lr)}")
    if dev is not None:
        parts.append(f"dev {dev:.1f}")
    clock = [duration(seconds)] if seconds is not None else []
    if eta is not None:
        clock.append(f"ETA {duration(eta)}")
    return " ".join(parts) + (f" ({', '.join(clock)})" if clock else "")


def dev_line(metrics: dict[str, float]) -> str:
    """The best English dev metrics of a training run as one line: ``score 71.40 (xnli_accuracy 71.40)``."""
    rest = ", ".join(f"{k} {v:.2f}" for k, v in metrics.items() if k != "score" and isinstance(v, (int, float)))
    head = f"score {metrics['score']:.2f}" if isinstance(metrics.get("score"), (int, float)) else "no score"
    return head + (f" ({rest})" if rest else "")


def language_line(task: str, lang: str, index: int, count: int, metrics: dict[str, float], rows: int | None = None,
                  seconds: float | None = None) -> str:
    """One evaluated language: ``xnli de 3/15: accuracy 71.20 (5010 rows, 3.1 s)`` (the row count ``n`` of the
    metrics is shown as rows, not as a metric)."""
    figures = "  ".join(f"{k} {v:.2f}" for k, v in metrics.items() if k != "n")
    extra = ([f"{rows} rows"] if rows is not None else []) + ([f"{seconds:.1f} s"] if seconds is not None else [])
    return f"{task} {lang} {index}/{count}: {figures}" + (f" ({', '.join(extra)})" if extra else "")


def grouped_by_reason(items: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(languages, reason) per distinct reason, first seen first, from (language, reason) pairs.

    A reason names its language (``task xnli (test, de): file .../test-de.tsv not found``): the language is written
    as ``<lang>`` before comparing, so the same cause in fifteen languages is one group, and one log line.
    """
    groups: dict[str, list[str]] = {}
    for lang, reason in items:
        pattern = rf"(?<![A-Za-z0-9]){re.escape(lang)}(?![A-Za-z0-9])"
        groups.setdefault(re.sub(pattern, "<lang>", reason), []).append(lang)
    return [(langs, reason) for reason, langs in groups.items()]
