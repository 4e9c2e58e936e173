"""Files that must never look finished when they are not: atomic writes, run folders, locks and provenance.

Every phase writes into one output folder:

- ``recipe.yaml``   the resolved recipe (written first, so an interrupted run is traceable too)
- ``parent.json``   the folder this run started from and that folder's own recipe chain
- ``run.lock``      held while a process works in the folder (pid + host; a stale lock of a dead pid is taken over)
- ``DONE``          the completion marker, written last and atomically; a folder without it is unfinished

A finished folder is refused unless ``overwrite=true``; an unfinished one is resumed (the Trainer's checkpoints live in
``checkpoints/``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DONE = "DONE"
LOCK = "run.lock"
RECIPE = "recipe.yaml"
PARENT = "parent.json"
RUN_JSON = "run.json"


class RunFolderError(RuntimeError):
    """The output or input folder is not in a state this command can use; the message says how to fix it."""


def atomic_write_text(path: str | Path, text: str) -> None:
    """Writes text so that readers see either the old file or the complete new one, never a prefix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Indented, sorted, atomic JSON (NaN is refused: results must be valid JSON)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")


def read_json(path: str | Path, what: str = "file") -> Any:
    """Reads JSON with an error that names the file (a truncated file is reported, not used)."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{what} {p} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{what} {p} is corrupted or truncated ({exc}); delete it and re-run the phase") from None


def is_main_process() -> bool:
    """False on the non-zero ranks of a ``torchrun`` / ``accelerate launch`` job (they set ``RANK``).

    Every rank of a distributed run executes the same phase script; only rank 0 may own the output folder (lock,
    run header, ``final/``, ``DONE``), or the ranks would refuse each other's lock and race on the same files.
    """
    return int(os.environ.get("RANK", "0")) == 0


def is_finished(folder: str | Path) -> bool:
    return (Path(folder) / DONE).is_file()


def mark_finished(folder: str | Path, summary: dict[str, Any]) -> None:
    """Writes the completion marker last: its presence is the only thing that makes a folder count as finished."""
    if not is_main_process():
        return
    record: dict[str, Any] = {"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:  # the phase's wall time, from its run header (written when this attempt started) to now
        started = json.loads((Path(folder) / RUN_JSON).read_text(encoding="utf-8")).get("started_unix")
        if isinstance(started, (int, float)):
            record["wall_time_s"] = round(time.time() - started, 1)
    except (OSError, json.JSONDecodeError):
        pass
    atomic_write_json(Path(folder) / DONE, {**record, **summary})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """An exclusive lock on an output folder that survives a crash of its holder.

    The lock file records pid and host. Another live process on the same host holding it makes ``acquire`` fail at
    once with a message naming the holder; a lock left by a dead process on this host is taken over. A lock from
    another host cannot be checked and is respected (the message says how to remove it).
    """

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK
        self.held = False

    def acquire(self) -> None:
        if not is_main_process():
            return  # the other ranks of a distributed run work under rank 0's lock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        for _ in range(2):
            # The lock appears with its content already in it (hard link of a complete temp file), so a reader never
            # sees an empty lock and mistakes a live holder for garbage.
            fd, tmp = tempfile.mkstemp(prefix=".run.lock.", dir=self.path.parent)
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                holder = self._holder()
                if holder is None or (holder.get("host") == me["host"] and not _pid_alive(int(holder.get("pid", -1)))):
                    self.path.unlink(missing_ok=True)  # stale: its holder died (or the file is garbage)
                    continue
                raise RunFolderError(
                    f"{self.path.parent} is in use by pid {holder.get('pid')} on host {holder.get('host')} "
                    f"(since {holder.get('since')}); wait for it, or if that process is gone, delete {self.path}"
                ) from None
            finally:
                os.unlink(tmp)
            self.held = True
            self._on_sigterm_exit()
            return
        raise RunFolderError(f"could not take the lock {self.path}; delete it if no process uses the folder")

    def _holder(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) and "pid" in data else None
        except (OSError, ValueError):
            return None

    def _on_sigterm_exit(self) -> None:
        """While the lock is held, SIGTERM (what a scheduler sends before it pre-empts a job) ends the process through
        ``SystemExit(143)``: ``with`` blocks unwind, so the lock is released and any host can resume the run. Work
        since the last complete checkpoint is lost, as with SIGKILL (whose lock stays and is taken over as stale)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread

        def stop(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
            print(f"[xstilts] SIGTERM: stopping; {self.path.parent} stays unfinished, run the same command again to "
                  "resume", file=sys.stderr, flush=True)
            raise SystemExit(128 + signum)

        self._previous_sigterm = signal.signal(signal.SIGTERM, stop)

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
            previous = getattr(self, "_previous_sigterm", None)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
                self._previous_sigterm = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def prepare_output(folder: str | Path, overwrite: bool) -> str:
    """Guards an output folder before any work: returns "new", "resume" or "skip-finished" is never returned.

    Returns:
        "new" for an empty or absent folder, "resume" for an unfinished run of a previous attempt.

    Raises:
        RunFolderError: the folder holds a finished run and ``overwrite`` is false, or it is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"output {folder} is a file, not a folder; choose another output=")
    if is_finished(folder):
        if not overwrite:
            raise RunFolderError(
                f"output {folder} already holds a finished run; choose another output= or pass overwrite=true "
                "to replace it"
            )
        if not is_main_process():
            return "new"  # rank 0 clears the folder
        for child in folder.iterdir():
            if child.name == LOCK:
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        return "new"
    if folder.is_dir() and any(p.name != LOCK for p in folder.iterdir()):
        return "resume"
    return "new"


def folder_size_bytes(folder: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
