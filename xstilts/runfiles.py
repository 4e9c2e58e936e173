"""Files that must never look finished when they are not: atomic writes, run folders, locks and provenance.

Every phase writes into one output folder:

- ``recipe.yaml``   the resolved recipe (written first, so an interrupted run is traceable too)
- ``run.json``      the phase, the folder this run started from and that folder's fingerprint (see provenance)
- ``run.lock``      held while a process works in the folder (pid + host; a stale lock of a dead pid is taken over)
- ``DONE``          the completion marker, written last and atomically; a folder without it is unfinished
- ``.xstilts-written`` the manifest: each entry is claimed in it *before* it is created (see ``claim``), so it lists
                    what this toolkit wrote and nothing a person or another program put there meanwhile;
                    ``overwrite=true`` (and the quickstart's ``--fresh``) delete what it claims and nothing else

A finished folder is refused unless ``overwrite=true``; an unfinished one is resumed (the Trainer's checkpoints live in
``checkpoints/``) when its stored recipe is the new one (see ``provenance.prepare_output``). A folder that is not a
run folder of the same phase is never written into, and never deleted.

Write errors of the output folder (disk full, read-only, a path through a regular file) become one ``RunFolderError``
naming the path, never a traceback.
"""
from __future__ import annotations

import errno
import fnmatch
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xstilts.errors import RunFolderError

DONE = "DONE"
LOCK = "run.lock"
MANIFEST = ".xstilts-written"
RECIPE = "recipe.yaml"
RUN_JSON = "run.json"
SUBMISSION_MARKER = ".xstilts-submission.json"

# Top-level entries of a run folder that only the toolkit writes, whatever the phase: the run header and markers.
HEADER = frozenset({DONE, LOCK, RECIPE, RUN_JSON})
# What phases 2 and 3 write beside the header (``final.tmp`` and ``checkpoints.removing`` exist only mid-write;
# ``logs`` holds the trackers' files of ``train.report_to``).
TRAINED = frozenset({"final", "final.tmp", "metrics.json", "checkpoints", "checkpoints.removing", "logs"})
# The folders among them that the toolkit creates whole (nothing else ever writes inside them): claimed as trees.
TRAINED_TREES = frozenset({"final", "final.tmp", "checkpoints", "checkpoints.removing", "logs"})
# What ``save_pretrained`` calls the shards of a large encoder (phase 1 writes them beside the header).
SHARDS = "model-*-of-*.safetensors"
# What phase 1 writes beside the header: the encoder folder as ``save_pretrained`` writes it, and its statistics.
# Used for DONE markers of older versions (which do not list their entries) and for unfinished phase-1 folders.
ENCODER = frozenset({"encoder_stats.json", "config.json", "generation_config.json", "model.safetensors",
                     "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
                     "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
                     "sentencepiece.bpe.model", "spiece.model", "tokenizer.model"})

# errno values that mean "this folder cannot take the write", whatever file was being written.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# How libraries that wrap the OSError (safetensors' Rust io::Error, torch's stream writer) spell a full disk.
_FULL_MARKERS = ("No space left on device", "os error 28", "StorageFull", "Disk quota exceeded", "os error 122")
_HINTS = {
    errno.ENOSPC: "the disk is full: free some space (or choose an output= on another disk) and run the same command "
                  "again",
    errno.EDQUOT: "the disk quota is exceeded: free some space (or choose an output= on another disk) and run the same "
                  "command again",
    errno.EROFS: "the file system is read-only: choose a writable output=",
    errno.EACCES: "permission denied: choose an output= you can write to, or fix the folder's permissions",
    errno.EPERM: "permission denied: choose an output= you can write to, or fix the folder's permissions",
    errno.ENOTDIR: "a part of the path is a regular file, not a folder: choose another output=",
    errno.EEXIST: "a part of the path is a regular file, not a folder: choose another output=",
    errno.EISDIR: "a folder is in the way of a file: choose another output=",
}


def write_error(path: str | Path, exc: OSError) -> RunFolderError:
    """The one-line error for an ``OSError`` met while writing ``path``: the file, the cause and the fix."""
    where = exc.filename or path
    hint = _HINTS.get(exc.errno or 0, "check that the folder exists and is writable")
    return RunFolderError(f"cannot write {where}: {exc.strerror or exc}; {hint}")


def umask() -> int:
    """The process umask, read without changing it where /proc says it (os.umask can only be read by setting it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mkstemp(path: Path) -> tuple[int, str]:
    """A temp file beside ``path`` with the permissions a plain ``open`` would give it (mkstemp's are 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~umask())  # result JSON, run.json, DONE: as readable as the weights beside them
    return fd, tmp


def atomic_write_text(path: str | Path, text: str) -> None:
    """Writes text so that readers see either the old file or the complete new one, never a prefix.

    Raises:
        RunFolderError: the write failed (disk full, read-only folder, a path through a regular file): the message
            names the file; the old file, if any, is left as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _mkstemp(path)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
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
    except OSError as exc:  # a folder where the file should be, or unreadable
        raise RunFolderError(f"{what} {p} cannot be read ({exc.strerror or exc}); re-run the phase that wrote "
                             "it") from None


def is_main_process() -> bool:
    """False on the non-zero ranks of a ``torchrun`` / ``accelerate launch`` job (they set ``RANK``).

    Every rank of a distributed run executes the same phase script; only rank 0 may own the output folder (lock,
    run header, ``final/``, ``DONE``), or the ranks would refuse each other's lock and race on the same files.
    """
    return int(os.environ.get("RANK", "0")) == 0


def is_finished(folder: str | Path) -> bool:
    return (Path(folder) / DONE).is_file()


def _is_temp(name: str) -> bool:
    """Temp files of the atomic writes and locks (a kill can leave one behind); never a product."""
    return name.startswith(".") and (name.endswith(".tmp") or name.startswith((".run.lock.", ".xstilts-probe.")))


# ---- the manifest: what a tool can prove it wrote -----------------------------------------------------------------
# Kinds of claim: a file; a tree (a folder the toolkit creates whole, e.g. final/: everything in it is ours); a
# folder (shared: only what its own manifest claims is ours, e.g. a results folder); a glob (files named so, e.g.
# the shards save_pretrained writes, whose number is not known before they are written).
FILE, TREE, FOLDER, GLOB = "file", "tree", "folder", "glob"
_KINDS = (FILE, TREE, FOLDER, GLOB)


def claim(folder: str | Path, name: str, kind: str = FILE) -> None:
    """Records in ``folder``'s manifest that this process writes ``name`` there; call it *before* creating the entry.

    Claiming first is what makes the manifest proof: a kill between the claim and the write leaves a claim of
    something absent (harmless), never an entry of ours that the manifest does not list. One JSON line per claim,
    appended (a line cut short by a kill is ignored when read, and names an entry not created yet). A claim already
    recorded is not repeated. Non-zero ranks of a distributed run write nothing.

    Raises:
        RunFolderError: the manifest cannot be written (disk full, read-only): the message names it.
    """
    if kind not in _KINDS or not name or "/" in name or name in (".", "..", MANIFEST):
        raise ValueError(f"bad claim {name!r} ({kind})")  # a programming error, never user input
    if not is_main_process():
        return
    folder = Path(folder)
    if claims(folder).get(name) == kind:
        return
    path = folder / MANIFEST
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "kind": kind}, ensure_ascii=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise write_error(path, exc) from None


def claims(folder: str | Path) -> dict[str, str]:
    """The entries ``folder``'s manifest claims, name -> kind (empty: no manifest, or a symlink or folder in its
    place, which no xstilts process writes)."""
    path = Path(folder) / MANIFEST
    if path.is_symlink() or not path.is_file():
        return {}
    found: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # cut short by a kill: the entry it names was never created
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("kind") in _KINDS:
            found[entry["name"]] = entry["kind"]
    return found


def _kind_of(name: str, mine: dict[str, str]) -> str | None:
    """How ``name`` is claimed in a folder whose manifest is ``mine`` (None: not ours). The temp file of an atomic
    write of a claimed name (``.<name>.<random>.tmp``) is ours too, and so is a write probe (empty, see
    ``check_output_location``)."""
    if name in mine:
        return mine[name]
    if any(kind == GLOB and fnmatch.fnmatchcase(name, pattern) for pattern, kind in mine.items()):
        return FILE
    if name.startswith(".xstilts-probe."):
        return FILE
    if name.startswith(".") and name.endswith(".tmp") and any(name.startswith(f".{n}.") for n in mine):
        return FILE
    return None


def foreign_paths(folder: str | Path) -> list[Path]:
    """Everything under ``folder``, at any depth, that its manifests do not prove this toolkit wrote.

    A claimed folder is looked into through its own manifest; a claimed tree is ours whole; a claimed name that is a
    symlink, or a folder where a file was claimed, is foreign (the toolkit writes neither). An unclaimed folder is
    one foreign path (its contents are not listed).
    """
    folder = Path(folder)
    mine = claims(folder)
    found: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.name == MANIFEST and child.is_file() and not child.is_symlink():
            continue
        kind = _kind_of(child.name, mine)
        real_dir = child.is_dir() and not child.is_symlink()
        if kind is None or child.is_symlink() or (kind in (FILE, GLOB) and real_dir):
            found.append(child)
        elif kind == FOLDER:
            found.extend(foreign_paths(child) if real_dir else [child])
    return found


def remove_written(folder: str | Path, keep: Iterable[str] = ()) -> list[Path]:
    """Deletes what ``folder``'s manifests claim, at any depth, then the manifest; returns the paths kept.

    ``DONE`` goes first, so a folder is never a finished half. A claimed folder left empty is removed; one holding
    something unclaimed stays with it. Names in ``keep`` (the lock of the caller) are left alone.

    Raises:
        RunFolderError: an entry cannot be deleted (naming it).
    """
    folder = Path(folder)
    mine = claims(folder)
    kept: list[Path] = []
    for child in sorted(folder.iterdir(), key=lambda c: (c.name != DONE, c.name)):
        if child.name in keep or child.name == MANIFEST:
            continue
        kind = _kind_of(child.name, mine)
        real_dir = child.is_dir() and not child.is_symlink()
        try:
            if kind is None or child.is_symlink() or (kind in (FILE, GLOB) and real_dir) or \
                    (kind == FOLDER and not real_dir):
                kept.append(child)  # as foreign_paths judges it: not provably ours
            elif kind == FOLDER:
                inner = remove_written(child)
                kept.extend(inner)
                if not inner:
                    child.rmdir()
            elif kind == TREE and real_dir:
                shutil.rmtree(child)
            else:
                child.unlink()
        except OSError as exc:
            raise write_error(child, exc) from None
    if mine:
        try:
            (folder / MANIFEST).unlink(missing_ok=True)
        except OSError as exc:
            raise write_error(folder / MANIFEST, exc) from None
    return kept


def claim_run(folder: str | Path, phase: str) -> None:
    """Claims, before the run header is written, everything a run of ``phase`` writes at the top of its folder.

    Called by each phase script under the folder's lock. Claiming the phase's known outputs at once (not one by one
    as they are written) is still proof: the folder was empty, or a run folder of this phase, when the run started
    (``prepare_output``), so nothing by these names can be anyone else's.
    """
    folder = Path(folder)
    for name in sorted(HEADER):
        claim(folder, name)
    if phase == "phase1":
        for name in sorted(ENCODER):
            claim(folder, name)
        claim(folder, SHARDS, GLOB)
    else:
        for name in sorted(TRAINED):
            claim(folder, name, TREE if name in TRAINED_TREES else FILE)


def mark_finished(folder: str | Path, summary: dict[str, Any]) -> None:
    """Writes the completion marker last: its presence is the only thing that makes a folder count as finished.

    It lists the top-level entries the run wrote (those its manifest claims that exist), for readers; what
    ``overwrite=true`` deletes comes from the manifest itself.
    """
    if not is_main_process():
        return
    folder = Path(folder)
    record: dict[str, Any] = {"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:  # the phase's wall time, from its run header (written when this attempt started) to now
        started = json.loads((folder / RUN_JSON).read_text(encoding="utf-8")).get("started_unix")
        if isinstance(started, (int, float)):
            record["wall_time_s"] = round(time.time() - started, 1)
    except (OSError, json.JSONDecodeError, AttributeError):
        pass
    mine = claims(folder)
    record["files"] = sorted(p.name for p in folder.iterdir()
                             if p.name not in (DONE, LOCK, MANIFEST) and not _is_temp(p.name)
                             and _kind_of(p.name, mine) is not None)
    for name in record["files"]:
        _respect_umask(folder / name)
    atomic_write_json(folder / DONE, {**record, **summary})


def _respect_umask(path: Path) -> None:
    """Gives the files a run wrote the permissions a plain ``open`` would have: safetensors writes its weights 0600,
    so a colleague (or the group's evaluation job) could read the recipe of a finished model but not its weights."""
    mode = 0o666 & ~umask()
    for p in [path, *(path.rglob("*") if path.is_dir() and not path.is_symlink() else [])]:
        if p.is_file() and not p.is_symlink():
            try:
                os.chmod(p, (p.stat().st_mode & 0o111) | mode)
            except OSError as exc:
                raise write_error(p, exc) from None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` lives on this host (one of another user counts as alive)."""
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
    another host cannot be checked and is respected (the message says how to remove it). A lock file that is not one
    (a folder, or content no xstilts process writes: locks appear complete, by a hard link of a written file) is
    refused rather than deleted: something else owns it.

    ``name`` is the lock file's name in ``folder`` (``run.lock`` for a run folder; ``<task>.json.lock`` for one
    result of an evaluation, so two evaluations cannot replace one another's result file).

    While the lock is held, an ``OSError`` that means the folder cannot take a write (disk full, quota, read-only
    file system, or permission denied inside the folder) leaves the ``with`` block as one ``RunFolderError`` naming
    the file: the run stays unfinished and the same command resumes it once the cause is fixed.
    """

    def __init__(self, folder: str | Path, name: str = LOCK, wait_s: float = 0.0, guards: str | Path | None = None):
        self.path = Path(folder) / name
        self.held = False
        self.wait_s = wait_s  # how long a live holder is waited for (short critical sections only)
        # What the lock protects, as messages name it: the folder for run.lock, the result for <task>.json.lock;
        # a lock beside its folder (the quickstart's) names that folder as the user gave it.
        self.guards = guards if guards is not None else \
            self.path.parent if name == LOCK else str(self.path).removesuffix(".lock")

    def acquire(self) -> None:
        if not is_main_process():
            return  # the other ranks of a distributed run work under rank 0's lock
        try:
            self._acquire()
        except OSError as exc:
            raise write_error(self.path, exc) from None

    def _acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        deadline = time.time() + self.wait_s
        for _ in range(2 + int(self.wait_s * 20)):
            if self.path.is_dir() and not self.path.is_symlink():
                raise RunFolderError(f"{self.path} is a folder, not a lock file; remove it once no process works in "
                                     f"{self.guards}")
            # The lock appears with its content already in it (hard link of a complete temp file), so a reader never
            # sees an empty lock and mistakes a live holder for garbage.
            fd, tmp = _mkstemp(self.path)
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    continue  # released meanwhile
                if holder.get("host") == me["host"] and not pid_alive(holder["pid"]):
                    self.path.unlink(missing_ok=True)  # stale: its holder died
                    continue
                if time.time() < deadline:
                    time.sleep(0.05)
                    continue
                raise RunFolderError(
                    f"{self.guards} is in use by pid {holder['pid']} on host {holder.get('host')} (since "
                    f"{holder.get('since')}); wait for it, or if that process is gone, delete {self.path}"
                ) from None
            finally:
                os.unlink(tmp)
            self.held = True
            self._on_sigterm_exit()
            return
        raise RunFolderError(f"could not take the lock {self.path}; delete it if no process uses the folder")

    def _holder(self) -> dict | None:
        """The holder the lock file names (None: released meanwhile); a file that names none is refused (see the
        class docstring)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RunFolderError(f"{self.path} is not an xstilts lock ({exc}); delete it once no process works in "
                                 f"{self.guards}") from None
        if not (isinstance(data, dict) and isinstance(data.get("pid"), int) and not isinstance(data["pid"], bool)):
            raise RunFolderError(f"{self.path} is not an xstilts lock (no pid in it); delete it once no process works "
                                 f"in {self.guards}")
        return data

    def _on_sigterm_exit(self) -> None:
        """While the lock is held, SIGTERM (what a scheduler sends before it pre-empts a job) ends the process through
        ``SystemExit(143)``: ``with`` blocks unwind, so the lock is released and any host can resume the run. Work
        since the last complete checkpoint is lost, as with SIGKILL (whose lock stays and is taken over as stale)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread

        def stop(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
            print(f"[xstilts] SIGTERM: stopping; {self.guards} stays unfinished, run the same command again to "
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

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.release()
        if isinstance(exc, OSError):
            inside = exc.filename is not None and _is_within(Path(str(exc.filename)), self.path.parent)
            if exc.errno in _DISK_ERRNOS or (exc.errno in (errno.EACCES, errno.EPERM) and inside):
                raise write_error(self.path.parent, exc) from None
        elif isinstance(exc, Exception) and not isinstance(exc, RunFolderError) and \
                any(m in str(exc) for m in _FULL_MARKERS):
            # safetensors and torch wrap the OSError of a full disk in their own error types
            raise RunFolderError(f"cannot write in {self.path.parent}: the disk is full ({str(exc).splitlines()[0]}); "
                                 f"{_HINTS[errno.ENOSPC]}") from None
        elif isinstance(exc, RuntimeError) and any(m in str(exc) for m in _TORCH_WRITER_MARKERS):
            # torch.save (the Trainer's optimizer.pt) loses the errno: "unexpected pos 419200 vs 419088" is all it says
            raise RunFolderError(f"cannot write in {self.path.parent}: torch could not finish writing a file "
                                 f"({str(exc).strip().splitlines()[0][:160]}); {_space_left(self.path.parent)}") \
                from None


# How torch's zip writer (torch.save) reports a write that failed, without the OSError's errno.
_TORCH_WRITER_MARKERS = ("PytorchStreamWriter", "inline_container.cc", "file write failed")


def _space_left(folder: Path) -> str:
    """The fix for a failed write, with the free space on ``folder``'s disk (a full disk is the usual cause)."""
    try:
        free = shutil.disk_usage(next(p for p in [folder, *folder.parents] if p.exists())).free
    except (OSError, StopIteration):
        return "check that the disk has space and run the same command again (the run resumes)"
    return (f"{free / 2**20:.0f} MiB are free on its disk: if it is full, free some space (or choose an output= on "
            "another disk) and run the same command again (the run resumes from its last complete checkpoint)")


def _is_within(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def check_output_location(folder: str | Path, inputs: Iterable[str | Path] = (), key: str = "output",
                          inside_ok: bool = False) -> Path:
    """Refuses an output location whose use could destroy or mix up something that is not this run's.

    Refused: an empty value, the current directory, the file-system root, the home folder, an input folder (or one
    of its ancestors in the chain), a folder inside one (unless ``inside_ok``: results beside a model are safe, as
    ``overwrite=true`` deletes only what a run wrote), a folder that contains one, a path through a regular file,
    and a folder this process cannot write to (tested by writing, which also catches read-only file systems).

    Returns:
        The folder as a path.
    """
    raw = str(folder).strip()
    if raw in ("", "."):
        raise RunFolderError(f"{key}= is empty or the current directory; give a folder of its own, e.g. {key}=runs/x")
    path = Path(raw)
    where = path.resolve()
    named = {Path.cwd().resolve(): "the current directory", Path(where.anchor): "the file-system root",
             Path.home().resolve(): "the home folder"}
    if where in named:
        raise RunFolderError(f"{key}={raw} is {named[where]}; give a folder of its own, e.g. {key}={raw.rstrip('/')}"
                             "/xstilts-run")
    for inp in inputs:
        i = Path(inp).resolve()
        if where == i:
            raise RunFolderError(f"{key}={raw} is the input folder {i}; give a new folder for the output")
        if i.is_relative_to(where):
            raise RunFolderError(f"{key}={raw} contains the input folder {i}; give a folder of its own beside it")
        if where.is_relative_to(i) and not inside_ok:
            raise RunFolderError(f"{key}={raw} is inside the input folder {i}; give a folder outside it")
    existing = next(p for p in [path.absolute(), *path.absolute().parents] if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        what = "is a file" if existing == path.absolute() else f"is under {existing}, which is a file"
        raise RunFolderError(f"{key} {raw} {what}, not a folder; choose another {key}=")
    try:  # a real write: os.access ignores read-only mounts and, as root, every permission bit
        fd, probe = tempfile.mkstemp(prefix=".xstilts-probe.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RunFolderError(f"{key}={raw}: cannot write in {existing} ({exc.strerror or exc}); "
                             f"{_HINTS.get(exc.errno or 0, 'choose a writable folder')}") from None
    return path


def check_new_file(path: str | Path, replace: bool, key: str = "output=", how: str = "pass overwrite=true") -> Path:
    """The one guard of every writer of a single file (result, scores, benchmark, report, sweep script, recipe copy).

    A writer cannot tell a file it wrote earlier from one a person wrote by hand, so an existing file is refused
    unless the user says to replace it (``replace``: ``overwrite=true`` or ``--force``, spelled by ``how``); a
    folder, a symlink or something else that is not a plain file in the way is refused even then.

    Raises:
        RunFolderError: naming the path, the reason and the fix (``key`` is the option that chose the path).
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = "a folder" if path.is_dir() and not path.is_symlink() else "a symlink" if path.is_symlink() \
            else "not a regular file"
        raise RunFolderError(f"{path} is {what}; choose another {key}")
    if path.exists() and not replace:
        raise RunFolderError(f"{path} already exists; choose another {key} or {how} to replace it")
    return path


def check_result_file(path: Path, overwrite: bool) -> None:
    """Refuses to write a result file into a run folder, or over an existing result unless ``overwrite``."""
    if (path.parent / RUN_JSON).is_file():
        raise RunFolderError(f"output {path.parent} is a run folder; results go in a folder of their own (e.g. "
                             f"output=results/{path.parent.name})")
    check_new_file(path, overwrite)


def prepare_output(folder: str | Path, overwrite: bool, phase: str | None = None,
                   inputs: Iterable[str | Path] = ()) -> str:
    """Guards an output folder before any work; writes and deletes nothing.

    Args:
        folder: the output folder.
        overwrite: whether a finished run of the same phase may be replaced.
        phase: the phase about to run; the folder must be empty, absent, or a run folder of this phase.
        inputs: the input folder and its ancestors in the chain (see ``check_output_location``).

    Returns:
        "new" for an empty or absent folder, "resume" for an unfinished run of a previous attempt, "replace" for a
        finished run that ``overwrite`` allows to replace (``clear_run`` it under the lock).

    Raises:
        RunFolderError: the location is refused (``check_output_location``), the folder holds something else than a
            run of this phase, or a finished run and ``overwrite`` is false.
    """
    folder = check_output_location(folder, inputs)
    if not folder.is_dir():
        return "new"
    entries = sorted(p.name for p in folder.iterdir() if p.name not in (LOCK, MANIFEST) and not _is_temp(p.name))
    if not entries:
        return "new"
    if not (folder / RUN_JSON).is_file():
        mine = claims(folder)
        if mine and all(_kind_of(e, mine) is not None for e in entries):
            return "new"  # a run cut short before run.json: its manifest (written first) proves the rest is its own
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise RunFolderError(f"output {folder} is not empty and is not an xstilts run folder (it holds {shown}); "
                             "choose a new or empty output= (overwrite=true only replaces runs of this toolkit)")
    record = read_json(folder / RUN_JSON, "run record")
    found = record.get("phase") if isinstance(record, dict) else None
    if phase is not None and found != phase:
        raise RunFolderError(f"output {folder} holds a {found or 'malformed'} run, not a {phase} run; choose another "
                             "output= (to replace it, delete it yourself first)")
    if is_finished(folder):
        if not overwrite:
            raise RunFolderError(
                f"output {folder} already holds a finished run; choose another output= or pass overwrite=true "
                "to replace it"
            )
        return "replace"
    return "resume"


def clear_run(folder: str | Path, phase: str) -> list[str]:
    """Deletes what a run of ``phase`` wrote in ``folder`` (never anything else); returns the names kept.

    What the run wrote is what its manifest claims (``claim``), at any depth. A folder of a version that kept no
    manifest loses only the phase's known outputs (the run header, ``ENCODER`` and its shards for phase 1,
    ``TRAINED`` for phases 2 and 3): never a name this toolkit does not write, whatever its ``DONE`` lists (and a
    malformed ``DONE`` is not read at all).
    """
    folder = Path(folder)
    if not is_main_process() or not folder.is_dir():
        return []
    if (folder / MANIFEST).is_file():
        return sorted(p.name for p in remove_written(folder, keep=(LOCK,)) if p.parent == folder)
    ours = set(HEADER) | set(ENCODER if phase == "phase1" else TRAINED)
    kept = []
    for child in sorted(folder.iterdir(), key=lambda c: c.name != DONE):  # DONE first: never a finished half
        if child.name == LOCK:
            continue
        is_shard = phase == "phase1" and fnmatch.fnmatchcase(child.name, SHARDS)
        if child.name in ours or _is_temp(child.name) or is_shard:
            try:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            except OSError as exc:
                raise write_error(child, exc) from None
        else:
            kept.append(child.name)
    return kept


def folder_size_bytes(folder: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
