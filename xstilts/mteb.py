"""Retrieval results in MTEB's result format, so that Tatoeba and BUCC numbers sit beside the MTEB leaderboard's.

    python -m xstilts.mteb results=results/mini output=mteb-results [overwrite=true]

One file per (encoder, intermediate, seed) and task, laid out as MTEB's results repository lays them out,
``<output>/<model>/<revision>/<TaskName>.json`` with the ``TaskResult`` fields MTEB (>= 1.11) reads:
``dataset_revision``, ``task_name``, ``mteb_version``, ``scores`` (split -> one entry per subset with its metrics as
fractions, ``main_score``, ``hf_subset`` and ``languages``), ``evaluation_time``, ``kg_co2_emissions``.

What each number is, said in the file (``xstilts`` block, and a ``*_note`` in every subset):

- Tatoeba: ``main_score`` is MTEB's own (``f1_mteb``: the non-English sentences query the English ones, weighted
  F1), with XTREME's accuracy (English queries) beside it as ``xtreme_accuracy``; a result evaluated before xstilts
  recorded MTEB's protocol exports its XTREME accuracy as ``main_score`` and says it is not the same number.
- BUCC: ``main_score`` is the gold-pairs-only F1 (``f1_gold_pairs``, MTEB's protocol), comparable with MTEB's BUCC;
  the full-corpus mining F1 of the XTREME protocol rides along as ``xtreme_mining_f1`` and is not comparable with it.
  A result evaluated before xstilts recorded the gold-pairs score has no number MTEB's BUCC could be compared with:
  its languages are left out and named.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from xstilts.errors import XstiltsError
from xstilts.languages import TATOEBA_ISO3, script_of
from xstilts.log import log
from xstilts.results import TaskResult, find_results
from xstilts.runfiles import atomic_write_json, check_new_file, check_output_location

# xstilts task -> (MTEB task name, the MTEB dataset of that task)
MTEB_TASKS = {"tatoeba": ("Tatoeba", "mteb/tatoeba-bitext-mining"), "bucc2018": ("BUCC", "mteb/bucc-bitext-mining")}
# ISO 15924 codes of the script names of xstilts.languages (MTEB writes languages as "deu-Latn")
SCRIPT_CODES = {"Latin": "Latn", "Cyrillic": "Cyrl", "Greek": "Grek", "Georgian": "Geor", "Hebrew": "Hebr",
                "Arabic": "Arab", "Devanagari": "Deva", "Bengali": "Beng", "Gujarati": "Gujr", "Gurmukhi": "Guru",
                "Tamil": "Taml", "Telugu": "Telu", "Malayalam": "Mlym", "Thai": "Thai", "Myanmar": "Mymr",
                "Han": "Hans", "Japanese": "Jpan", "Hangul": "Hang"}
BUCC_ISO3 = {"de": "deu", "fr": "fra", "ru": "rus", "zh": "cmn"}
TATOEBA_NOTE = ("accuracy with the English sentences as queries (XTREME's direction); MTEB's Tatoeba main score is "
                "weighted F1 with the non-English sentences as queries: close, not the same number (this result was "
                "evaluated before xstilts recorded MTEB's protocol: re-run the evaluation for it)")
TATOEBA_MTEB_NOTE = ("main_score, f1, accuracy: MTEB's protocol (the non-English sentences query the English ones, "
                     "weighted F1); xtreme_accuracy: XTREME's (the English sentences query the non-English ones)")
BUCC_NOTE = ("main_score: F1 on the gold pairs only (MTEB's protocol); xtreme_mining_f1: full-corpus mining with a "
             "threshold tuned on the sample gold (XTREME's protocol), not comparable with it")


class MtebExportError(XstiltsError):
    """A result that cannot be written in MTEB's format, or a bad command line."""


def _language(lang: str, iso3: str) -> str:
    return f"{iso3}-{SCRIPT_CODES.get(script_of(lang), 'Zyyy')}"


def _tatoeba(lang: str, m: dict[str, float]) -> dict[str, Any]:
    iso3 = TATOEBA_ISO3.get(lang, lang)
    where = {"hf_subset": f"{iso3}-eng", "languages": [_language(lang, iso3), "eng-Latn"]}
    if "f1_mteb" in m:  # MTEB's own protocol, recorded beside XTREME's
        entry = {"f1": m["f1_mteb"] / 100, "accuracy": m["accuracy_mteb"] / 100, "main_score": m["f1_mteb"] / 100,
                 "xtreme_accuracy": m["accuracy"] / 100, **where, "xstilts_note": TATOEBA_MTEB_NOTE}
    else:
        entry = {"accuracy": m["accuracy"] / 100, "main_score": m["accuracy"] / 100, **where,
                 "xstilts_note": TATOEBA_NOTE}
    if "accuracy_last_layer" in m:
        entry["accuracy_last_layer"] = m["accuracy_last_layer"] / 100
    return entry


def _bucc(lang: str, m: dict[str, float]) -> dict[str, Any]:
    iso3 = BUCC_ISO3.get(lang, lang)
    entry = {k: m[f"{k}_gold_pairs"] / 100 for k in ("accuracy", "precision", "recall", "f1")
             if f"{k}_gold_pairs" in m}
    return {**entry, "main_score": m["f1_gold_pairs"] / 100, "xtreme_mining_f1": m["f1"] / 100,
            "hf_subset": f"{lang}-en", "languages": [_language(lang, iso3), "eng-Latn"], "xstilts_note": BUCC_NOTE}


def export_result(result: TaskResult) -> tuple[dict[str, Any], list[str]]:
    """The MTEB result document of one Tatoeba or BUCC result, and one line per language left out (and why).

    Raises:
        MtebExportError: the task is not one MTEB has, or no language can be exported.
    """
    if result.task not in MTEB_TASKS:
        raise MtebExportError(f"task {result.task}: MTEB has no such bitext-mining task (exportable: "
                              f"{', '.join(MTEB_TASKS)})")
    name, dataset = MTEB_TASKS[result.task]
    entries, left_out = [], []
    for lang, m in sorted(result.languages.items()):
        if result.task == "bucc2018" and "f1_gold_pairs" not in m:
            left_out.append(f"{result.task} {lang}: no gold-pairs score in this result (evaluated before xstilts "
                            "recorded it); mining F1 is not comparable with MTEB's BUCC: re-run the evaluation")
            continue
        try:
            entries.append(_tatoeba(lang, m) if result.task == "tatoeba" else _bucc(lang, m))
        except KeyError as exc:  # a hand-edited or foreign result: the metrics are validated, not their presence
            left_out.append(f"{result.task} {lang}: no {exc.args[0]} in this result; re-run the evaluation")
    if not entries:
        raise MtebExportError(f"{result.task}: nothing to export ({'; '.join(left_out)})")
    doc = {
        "dataset_revision": f"xstilts data.source={result.data_source} (not {dataset})",
        "task_name": name,
        "mteb_version": None,  # written by xstilts, not by MTEB
        "scores": {result.split: entries},
        "evaluation_time": result.wall_time_s,
        "kg_co2_emissions": None,
        "xstilts": {"task": result.task, "encoder": result.run.encoder, "intermediate": result.run.intermediate,
                    "seed": result.run.seed, "checkpoint": result.checkpoint, "version": result.version,
                    "notes": [BUCC_NOTE if result.task == "bucc2018" else TATOEBA_MTEB_NOTE
                              if "f1_mteb" in result.average else TATOEBA_NOTE,
                              *[n for n in result.notes if n.startswith("representation")]]},
    }
    return doc, left_out


def _component(name: str, what: str) -> str:
    """One folder name made of a name read from a result file ("/" as MTEB writes it, "__").

    Raises:
        MtebExportError: a name that cannot be one folder (empty, "." or "..", a control character): written as it
            is, it would put the file outside ``output=`` or under another name.
    """
    safe = name.replace("/", "__").replace("\\", "__")
    if safe in ("", ".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in safe):
        raise MtebExportError(f"{what} {name!r} cannot be a folder name in MTEB's layout")
    return safe


def model_folder(result: TaskResult) -> str:
    """``<model>/<revision>`` of a result: the encoder (plus ``+<intermediate>`` after intermediate training; "/" as
    MTEB writes it, "__"), and the seed in place of a model revision.

    Raises:
        MtebExportError: an encoder, intermediate or seed that cannot be one folder name (see ``_component``).
    """
    model = _component(result.run.encoder, "encoder")
    if result.run.intermediate not in ("none", ""):
        model += f"+{_component(result.run.intermediate, 'intermediate')}"
    revision = _component(f"seed{result.run.seed}", "seed") if result.run.seed is not None \
        else "no_revision_available"
    return f"{model}/{revision}"


def _plan(picked: list[tuple[Path, TaskResult]], out: Path) -> tuple[dict[Path, tuple[dict[str, Any], list[Path]]],
                                                                   list[str]]:
    """target file -> (its MTEB document, the result files in it), and the lines of what is left out.

    Raises:
        MtebExportError: two results would fill the same split of one file (another recipe, or a re-evaluation):
            naming both, since keeping either would be a silent choice of which number MTEB's layout shows.
    """
    planned: dict[Path, tuple[dict[str, Any], list[Path]]] = {}
    by_split: dict[tuple[Path, str], Path] = {}
    notes: list[str] = []
    for path, result in sorted(picked, key=lambda pr: str(pr[0])):
        try:
            target = out / model_folder(result) / f"{MTEB_TASKS[result.task][0]}.json"
            doc, left_out = export_result(result)
        except MtebExportError as exc:
            notes.append(f"{path}: {exc}")
            continue
        notes += [f"{path}: {line}" for line in left_out]
        if (target, result.split) in by_split:
            raise MtebExportError(
                f"{by_split[target, result.split]} and {path} are both {result.task} {result.split} results of "
                f"{model_folder(result)} (another recipe or a re-evaluation): MTEB's layout holds one; export them "
                "from separate results folders")
        by_split[target, result.split] = path
        if target in planned:
            first, sources = planned[target]
            first["xstilts"].setdefault("checkpoints", {next(iter(first["scores"])): first["xstilts"]["checkpoint"]})
            first["scores"].update(doc["scores"])
            first["xstilts"]["checkpoints"][result.split] = result.checkpoint
            times = [first["evaluation_time"], doc["evaluation_time"]]
            first["evaluation_time"] = sum(times) if all(isinstance(t, (int, float)) for t in times) else None
            sources.append(path)
        else:
            planned[target] = (doc, [path])
    return planned, notes


def _check_target(target: Path, out: Path, overwrite: bool) -> None:
    """Refuses, before anything is written, a target the export could not write or must not replace: a file where
    one of its folders would go, a folder or symlink in its place, or an existing file without ``overwrite``."""
    for parent in reversed(target.parents):
        if parent.is_relative_to(out) and parent != out and (parent.is_symlink() or
                                                             (parent.exists() and not parent.is_dir())):
            raise MtebExportError(f"{parent} is in the way of {target.name} (not a folder); choose another output=")
    try:
        check_new_file(target, overwrite)
    except XstiltsError as exc:
        raise MtebExportError(str(exc)) from None


def export_folder(root: str | Path, out: str | Path, overwrite: bool = False) -> tuple[list[Path], list[str]]:
    """Every Tatoeba and BUCC result below ``root`` written in MTEB's format under ``out``, or nothing.

    Every file is planned and checked before the first is written, so a refusal leaves no export half-written.

    Returns:
        The files written and one line per language, result or file left out.

    Raises:
        MtebExportError, RunFolderError: ``root`` holds no Tatoeba or BUCC result; ``out`` is the results folder, in
            or around it, a file or not writable; a file would be replaced without ``overwrite``; two results would
            fill one file's split.
    """
    out = check_output_location(out, [root], key="output")
    good, broken = find_results(root)
    notes = [f"skipped {p}: {problem}" for p, problem in broken]
    picked = [(p, r) for p, r in good if r.task in MTEB_TASKS]
    if not picked:
        raise MtebExportError(f"no Tatoeba or BUCC result under {root} ({len(good)} other results, {len(broken)} "
                              f"unreadable files{': ' + broken[0][1] if broken else ''})")
    planned, more = _plan(picked, out)
    notes += more
    if not planned:
        raise MtebExportError(f"nothing under {root} can be written in MTEB's format ({'; '.join(more)})")
    for target in planned:
        _check_target(target, out, overwrite)
    written = []
    for target, (doc, _) in planned.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MtebExportError(f"cannot create {target.parent} ({exc.strerror or exc}); choose another output=") \
                from None
        atomic_write_json(target, doc)
        written.append(target)
    return written, notes


def main(argv: list[str] | None = None) -> int:
    """``python -m xstilts.mteb results=DIR output=OUT [overwrite=true]``; one line and exit 2 on bad input."""
    argv = sys.argv[1:] if argv is None else argv
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    bad = [a for a in argv if "=" not in a] + [k for k in args if k not in ("results", "output", "overwrite")]
    if bad or "results" not in args or "output" not in args or args.get("overwrite", "false") not in ("true",
                                                                                                      "false"):
        print(f"error: usage: python -m xstilts.mteb results=DIR output=OUT [overwrite=true] (unexpected: "
              f"{' '.join(bad) or 'a missing results= or output='})", file=sys.stderr)
        return 2
    if not Path(args["results"]).is_dir():
        what = "is not a folder" if Path(args["results"]).exists() else "does not exist"
        print(f"error: results folder {args['results']} {what}", file=sys.stderr)
        return 2
    try:
        written, notes = export_folder(args["results"], args["output"], args.get("overwrite") == "true")
    except XstiltsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in notes:
        log(f"left out: {line}")
    for path in written:
        log(f"MTEB format -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
