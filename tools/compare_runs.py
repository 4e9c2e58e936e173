"""Compares two trees of xstilts output (two quickstarts, two sweeps) file by file: what a refactoring must leave alone.

    python tools/compare_runs.py OLD NEW

Weights (``*.safetensors``, ``*.bin``, ``*.pt``) and every other binary file must be byte-identical. JSON files must
be equal once the fields that record *when, where and how fast* a run happened are dropped (wall times, throughput,
memory peaks, absolute paths, timestamps, host and package versions): every score, prediction, loss, count and setting
must match exactly. Text files (recipes, model cards, logs) are compared with the two roots' paths made the same and
lines of timings dropped. Exit status 0 when the trees agree, 1 otherwise (each difference named).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

BINARY = {".safetensors", ".bin", ".pt", ".pth", ".npy", ".png"}
# Keys whose values say when, where or how fast a run happened, never what it computed (a run id is random, and a
# DONE file records its times, so its hash differs with them).
VOLATILE_KEY = re.compile(
    r"(wall_time|runtime|per_second|peak_memory|_at$|^started|^finished|^date|timestamp|hostname|^host$|^pid$|"
    r"duration|elapsed|^seconds|_s$|^time|machine|versions?$|python|platform|cuda|^argv$|^command$|^created$|^written$|"
    r"done_sha256|run_id)")
TIMING_LINE = re.compile(r"(\d+(\.\d+)?\s*(s|ms|min)\b|it/s|examples/s|MiB|GiB|\bwall\b|UTC|\d{4}-\d\d-\d\dT)")


def _normalise(value: Any, roots: tuple[str, str]) -> Any:
    if isinstance(value, dict) and "weights" in value and isinstance(value["weights"], dict):
        # a parent fingerprint's weight files as [size, modification time]: the size says what was written, the time
        # only when (the weights themselves are compared byte for byte)
        value = {**value, "weights": {f: v[:1] if isinstance(v, list) else v for f, v in value["weights"].items()}}
    if isinstance(value, dict):
        return {k: _normalise(v, roots) for k, v in value.items() if not VOLATILE_KEY.search(k)}
    if isinstance(value, list):
        return [_normalise(v, roots) for v in value]
    if isinstance(value, str):
        return value.replace(roots[0], "<root>").replace(roots[1], "<root>")
    return value


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where or '/'}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}/{key}: only in {'new' if key not in a else 'old'}"
            found = _first_difference(a[key], b[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def _text(path: Path, roots: tuple[str, str]) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").replace(roots[0], "<root>").replace(roots[1], "<root>")
    return [line for line in lines.splitlines() if not TIMING_LINE.search(line)]


def compare(old: Path, new: Path) -> tuple[list[str], dict[str, int]]:
    """The differences between the trees ``old`` and ``new``, and how many files of each kind were compared."""
    roots = (str(old.resolve()), str(new.resolve()))
    rel_old = {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
    rel_new = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    problems = [f"{p}: only in {old}" for p in sorted(rel_old - rel_new)]
    problems += [f"{p}: only in {new}" for p in sorted(rel_new - rel_old)]
    counts = {"binary": 0, "json": 0, "text": 0}
    for rel in sorted(rel_old & rel_new):
        a, b = old / rel, new / rel
        if rel.suffix in BINARY:
            counts["binary"] += 1
            if a.read_bytes() != b.read_bytes():
                problems.append(f"{rel}: bytes differ")
        elif rel.suffix == ".json":
            counts["json"] += 1
            try:
                docs = [json.loads(p.read_text(encoding="utf-8")) for p in (a, b)]
            except (ValueError, OSError) as exc:  # a truncated or binary .json is a difference, named, not a crash
                problems.append(f"{rel}: not readable JSON on one side ({exc})")
                continue
            found = _first_difference(_normalise(docs[0], roots), _normalise(docs[1], roots))
            if found:
                problems.append(f"{rel}: {found}")
        else:
            counts["text"] += 1
            if rel.name in ("DONE", ".xstilts-written", "run.json"):
                continue  # times and the files written, by name: run.json is the JSON above when it is JSON
            if _text(a, roots) != _text(b, roots):
                problems.append(f"{rel}: text differs")
    return problems, counts


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], "\nusage: python tools/compare_runs.py OLD NEW", file=sys.stderr)
        return 2
    old, new = Path(argv[0]), Path(argv[1])
    for folder in (old, new):
        if not folder.is_dir():
            print(f"{folder} is not a folder", file=sys.stderr)
            return 2
    problems, counts = compare(old, new)
    for line in problems:
        print(line)
    print(f"compared {counts['binary']} binary files byte for byte, {counts['json']} JSON files field by field "
          f"(timings and paths aside), {counts['text']} text files: "
          + ("identical" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
