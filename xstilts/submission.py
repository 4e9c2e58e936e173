"""The XTREME submission layout: write predictions in it, read it back, and score it like the official scorer.

Layout (the official ``evaluate.py``'s): ``<folder>/<task>/test-<lang>.<ext>`` with

- ``json`` for QA (xquad, mlqa, tydiqa: question id -> answer text) and Mewsli-X (mention id -> ranked entity ids);
- ``jsonl`` for XCOPA (one ``{"label": int}`` object per line);
- ``tsv`` otherwise: one prediction per line (xnli/pawsx labels, tatoeba target indices, bucc2018
  ``source_id<TAB>target_id`` pairs); udpos/panx have one tag per line and a blank line between sentences.

Scoring differs from the official scorer in one deliberate way: the official script refuses a task folder that lacks
any of the task's languages; ``score_folder`` scores the languages present in both folders, names the missing ones
and marks the task ``partial`` (a partial task average must never be folded silently into a benchmark score). The
per-language numbers are the official ones, whatever subset is present.

Intentional strictness beyond the official script (it would silently produce a meaningless number instead):
a tagged sentence whose tag count differs from the gold sentence, a bucc2018 line that is not two tab-separated ids,
and duplicate question ids in a QA label file are errors. Runs of several blank lines in tagging files count as one
sentence break (the official reader would create empty sentences there; they do not change any score when both
files agree, and would otherwise only shift positions).
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts import metrics
from xstilts.errors import SubmissionError
from xstilts.log import log
from xstilts.recipe import RecipeError
from xstilts.results import task_score
from xstilts.runfiles import atomic_write_text, check_new_file
from xstilts.tasks import TASKS, Task
from xstilts.typespecs import SpanQaOptions, TaggingOptions

__all__ = [
    "SUBMISSION_TASKS",
    "SubmissionError",
    "extension",
    "main_score",
    "parse_flag",
    "prediction_path",
    "read_labels",
    "read_predictions",
    "score_command",
    "score_files",
    "score_folder",
    "write_predictions",
]

# The tasks of the submission layout (those with a ``submission`` format in the registry): XTREME's nine plus
# XTREME-R's XCOPA and Mewsli-X. Each task's languages come in the official scorer's order
# (``Task.official_languages``: its average is summed in that order, so it matches the official number to the last
# bit). XTREME-R also adds languages to some XTREME tasks (e.g. xquad ro); such languages are scored per language when
# present but are reported as ``extra_languages`` and kept out of the XTREME task average.
SUBMISSION_TASKS: dict[str, Task] = {name: task for name, task in TASKS.items() if task.submission}
_EXTENSIONS: dict[str, str] = {"labels": "tsv", "tags": "tsv", "pairs": "tsv", "choices": "jsonl", "answers": "json",
                               "rankings": "json"}
_LANG_RE = re.compile(r"^[A-Za-z0-9_-]+$")
MEWSLIX_K = 20


# --------------------------------------------------------------------------------------------------------------------
# Small helpers


def _check_task(task: str) -> Task:
    if task not in SUBMISSION_TASKS:
        raise SubmissionError(f"unknown task {task!r}; valid task folders: {', '.join(sorted(SUBMISSION_TASKS))}")
    return SUBMISSION_TASKS[task]


def extension(task: str) -> str:
    """The file extension of ``task``'s files in the submission layout ("tsv", "jsonl" or "json")."""
    return _EXTENSIONS[_check_task(task).submission]  # type: ignore[index]


def _check_lang(lang: str) -> None:
    if not isinstance(lang, str) or not _LANG_RE.match(lang):
        raise SubmissionError(f"language code {lang!r} is not a plain code such as 'en' or 'zh'")


def prediction_path(out_dir: str | os.PathLike, task: str, lang: str) -> Path:
    """Where ``task``/``lang`` lives in the submission layout: ``<out_dir>/<task>/test-<lang>.<ext>``."""
    ext = extension(task)
    _check_lang(lang)
    return Path(out_dir) / task / f"test-{lang}.{ext}"


_BOM = b"\xef\xbb\xbf"


def _read_text(path: Path) -> str:
    """The text of a prediction or label file: strict UTF-8, a leading byte-order mark dropped, never via a symlink.

    Label files saved by Windows tools often start with a UTF-8 BOM; the official scorer would make it part of the
    first label (or fail to parse the JSON), so it is dropped and the file scores the same with and without it.
    A symlink is refused because a score must describe the files inside the folders given, not wherever a link leads.
    """
    if path.is_symlink():
        raise SubmissionError(f"{path} is a symbolic link; copy the file itself into the folder (linked prediction "
                              "and label files are refused)")
    data = path.read_bytes()
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = skip + err.start
        line = data[:offset].count(b"\n") + 1
        raise SubmissionError(
            f"{path} is not UTF-8: byte {offset} (line {line}) is {data[offset:offset + 1]!r} ({err.reason}); "
            "save the file as UTF-8"
        ) from None


def _input_file(path: Path, role: str) -> Path:
    if path.is_symlink():  # checked first: a dangling link is not "missing", it is a link
        raise SubmissionError(f"{role} file {path} is a symbolic link; copy the file itself into the folder (linked "
                              "prediction and label files are refused)")
    if not path.is_file():
        raise FileNotFoundError(f"{role} file {path} does not exist")
    return path


def _read_lines(path: Path) -> list[str]:
    # Same lines as the official `[l.strip() for l in open(f)]`: text-mode iteration splits at \n, \r\n and \r
    # (universal newlines), then each line is stripped; a final newline does not start another line.
    lines = _read_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.strip() for line in lines]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise SubmissionError(f"{path} is not valid JSON ({err}); write it with write_predictions") from None
    except RecursionError:
        raise SubmissionError(f"{path} is nested too deeply to be a prediction or label file") from None


def _single_line_field(value: object, what: str) -> str:
    text = str(value)
    if not text or any(ch in text for ch in "\t\r\n") or text != text.strip():
        raise SubmissionError(
            f"{what} {value!r} cannot be written one per line: it must be non-empty, without tabs, newlines or "
            "surrounding spaces"
        )
    return text


# --------------------------------------------------------------------------------------------------------------------
# Readers


def _read_tag_sentences(path: Path) -> list[list[str]]:
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in _read_lines(path):
        if line:
            current.append(line)
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _read_bucc_pairs(path: Path) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for number, line in enumerate(_read_lines(path), start=1):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise SubmissionError(
                f"{path} line {number}: expected 'source_id<TAB>target_id', got {len(fields)} field(s): {line!r}"
            )
        pairs.add((fields[0], fields[1]))
    return pairs


def _read_xcopa_labels(path: Path) -> list[Any]:
    labels = []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line:
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as err:
            raise SubmissionError(f"{path} line {number} is not a JSON object ({err})") from None
        if not isinstance(row, dict) or "label" not in row:
            raise SubmissionError(f"{path} line {number}: each line must be a JSON object with a 'label' field")
        labels.append(row["label"])
    return labels


def _read_squad_golds(path: Path) -> dict[str, list[str]]:
    data = _load_json(path)
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    if not isinstance(articles, list):
        raise SubmissionError(f"{path} is not a SQuAD-format label file (expected {{'data': [articles]}})")
    golds: dict[str, list[str]] = {}
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if qa["id"] in golds:
                        raise SubmissionError(f"{path}: question id {qa['id']!r} occurs more than once")
                    golds[qa["id"]] = [answer["text"] for answer in qa["answers"]]
    except (KeyError, TypeError) as err:
        raise SubmissionError(f"{path} is not a SQuAD-format label file (missing or malformed {err})") from None
    return golds


def _read_json_mapping(path: Path, task: str) -> dict[str, Any]:
    data = _load_json(path)
    if not isinstance(data, dict) or "data" in data and isinstance(data["data"], list):
        raise SubmissionError(
            f"{path}: {task} predictions must be one JSON object mapping each id to its prediction"
        )
    return data


def read_predictions(task: str, path: str | os.PathLike) -> Any:
    """Read one prediction file of the submission layout (the inverse of ``write_predictions``).

    Args:
        task: Task folder name (a key of ``SUBMISSION_TASKS``).
        path: The ``test-<lang>.<ext>`` file.

    Returns:
        xnli/pawsx/tatoeba: list of label strings; udpos/panx: list of sentences (lists of tags); bucc2018: set of
        ``(source_id, target_id)``; xquad/mlqa/tydiqa: dict id -> answer text; mewslix: dict id -> ranked entity ids;
        xcopa: list of labels.
    """
    form = _check_task(task).submission
    path = _input_file(Path(path), "prediction")
    if form == "labels":
        return _read_lines(path)
    if form == "tags":
        return _read_tag_sentences(path)
    if form == "pairs":
        return _read_bucc_pairs(path)
    if form == "choices":
        return _read_xcopa_labels(path)
    return _read_json_mapping(path, task)


def read_labels(task: str, path: str | os.PathLike) -> Any:
    """Read one label file of the official layout.

    Same shapes as ``read_predictions`` except: QA label files are SQuAD JSON and come back as dict id -> list of gold
    answer texts; Mewsli-X labels come back as dict id -> gold entity id (the first of the singleton list, stripped,
    as the official scorer does).
    """
    form = _check_task(task).submission
    path = _input_file(Path(path), "label")
    if form == "answers":
        return _read_squad_golds(path)
    if form == "rankings":
        raw = _read_json_mapping(path, task)
        golds = {}
        for mention_id, entities in raw.items():
            if isinstance(entities, str) or not entities:
                raise SubmissionError(f"{path}: mention {mention_id!r} must map to a list holding its gold entity id")
            golds[mention_id] = str(entities[0]).strip()
        return golds
    return read_predictions(task, path)


# --------------------------------------------------------------------------------------------------------------------
# Scoring


def _count_mismatch(pred_file: Path, label_file: Path, what: str, n_pred: int, n_gold: int) -> SubmissionError:
    return SubmissionError(
        f"{pred_file} has {n_pred} {what} but {label_file} has {n_gold}; a prediction file needs exactly one "
        f"prediction per labelled example, in the label file's order"
    )


def score_files(task: str, lang: str, prediction_file: str | os.PathLike, label_file: str | os.PathLike) -> dict:
    """Score one language of one task, with the official scorer's metrics.

    Args:
        task: Task folder name.
        lang: Language code (selects MLQA's normalisation; otherwise informational).
        prediction_file: The submission's ``test-<lang>.<ext>``.
        label_file: The gold ``test-<lang>.<ext>``.

    Returns:
        Metric name -> value in percent: accuracy (xnli, pawsx, tatoeba, xcopa); f1/precision/recall (panx,
        bucc2018; udpos also gets token ``accuracy``, the number the X-STILTs paper reports); exact_match/f1 (QA);
        map@20 (mewslix, which is MRR@20).

    Raises:
        SubmissionError: If the prediction count differs from the label count (file names and both counts in the
            message) or a file is malformed.
    """
    spec = _check_task(task)
    pred_file, label_file = Path(prediction_file), Path(label_file)
    predictions = read_predictions(task, pred_file)
    labels = read_labels(task, label_file)
    try:
        return _score_parsed(spec, lang, predictions, labels, pred_file, label_file)
    except SubmissionError:
        raise
    except ValueError as err:  # a metric's own check (e.g. a question without gold answers): name the files
        raise SubmissionError(f"cannot score {pred_file} against {label_file}: {err}") from None


def _score_parsed(task: Task, lang: str, predictions: Any, labels: Any, pred_file: Path, label_file: Path) -> dict:
    form = task.submission
    if form in ("labels", "choices"):
        if len(predictions) != len(labels):
            raise _count_mismatch(pred_file, label_file, "lines", len(predictions), len(labels))
        return {"accuracy": metrics.accuracy(predictions, labels)}
    if form == "tags":
        n_pred, n_gold = sum(map(len, predictions)), sum(map(len, labels))
        if len(predictions) != len(labels) or n_pred != n_gold:
            raise SubmissionError(
                f"{pred_file} has {n_pred} tags in {len(predictions)} sentences but {label_file} has {n_gold} tags "
                f"in {len(labels)} sentences; write one tag per word and a blank line between sentences"
            )
        result = metrics.tagging_scores(predictions, labels)
        if isinstance(task.options, TaggingOptions) and task.options.token_accuracy:
            result["accuracy"] = metrics.token_accuracy(predictions, labels)
        return result
    if form == "pairs":
        return metrics.bucc_scores(predictions, labels)
    if form == "answers":
        if isinstance(task.options, SpanQaOptions) and task.options.eval_metric == "mlqa":
            return metrics.mlqa_scores(predictions, labels, lang)
        return metrics.squad_scores(predictions, labels)
    # rankings (mewslix): missing mentions score 0; only the top 20 of each ranking count.
    ids = list(labels)
    rankings = []
    for mention_id in ids:
        ranking = predictions.get(mention_id, [])
        if isinstance(ranking, str) or not isinstance(ranking, list):
            raise SubmissionError(f"{pred_file}: mention {mention_id!r} must map to a list of ranked entity ids")
        rankings.append(ranking)
    return {"map@20": metrics.mrr_at_k(rankings, [labels[i] for i in ids], k=MEWSLIX_K)}


def _languages_in(root: Path, task: str, role: str) -> set[str]:
    """The languages of ``<root>/<task>/test-<lang>.<ext>``; links, and anything resolving outside ``root``, refused.

    A link is refused rather than skipped: skipping it would quietly turn a language into a missing one.
    """
    folder = root / task
    if folder.is_symlink():
        raise SubmissionError(f"{role} task folder {folder} is a symbolic link; copy the folder itself into {root}")
    if not folder.is_dir():
        return set()
    pattern = re.compile(rf"^test-([A-Za-z0-9_-]+)\.{extension(task)}$")
    langs = set()
    for p in folder.iterdir():
        if not (m := pattern.match(p.name)):
            continue
        if p.is_symlink():
            raise SubmissionError(f"{role} file {p} is a symbolic link; copy the file itself into {folder} (linked "
                                  "prediction and label files are refused)")
        if not p.resolve().is_relative_to(root.resolve()):
            raise SubmissionError(f"{role} file {p} resolves to {p.resolve()}, outside the {role} folder {root}")
        if p.is_file():
            langs.add(m.group(1))
    return langs


def score_folder(
    predictions_dir: str | os.PathLike,
    labels_dir: str | os.PathLike,
    task_languages: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict]:
    """Score a submission folder against a label folder, task by task.

    Every task folder of ``labels_dir`` whose name is a known task is scored on the languages that have both a label
    and a prediction file. Folders with other names are ignored (as the official scorer does).

    Args:
        predictions_dir: ``<dir>/<task>/test-<lang>.<ext>`` predictions.
        labels_dir: The same layout with the gold labels.
        task_languages: The languages that make up each task's average; defaults to each task's
            ``official_languages`` (XTREME, plus XTREME-R's xcopa and mewslix). Pass XTREME-R's lists to average over
            its languages.

    Returns:
        Task name -> ``{"languages": {lang: {metric: value}}, "average": {metric: value}, "score": value or None,
        "missing_languages": [...], "extra_languages": [...], "partial": bool}``. ``average`` and ``score`` are over
        the task's languages that were scored; ``missing_languages`` are the task's languages (or labelled languages)
        without a score, because the prediction or the label file is absent; ``partial`` is true when any is missing,
        and then ``score`` is not the official task score. ``extra_languages`` were scored but are not part of the
        task's language list, so they are reported but not averaged.

    Raises:
        FileNotFoundError: If either folder does not exist.
        SubmissionError: If ``labels_dir`` holds no known task folder, or a file cannot be scored.
    """
    pred_root, label_root = Path(predictions_dir), Path(labels_dir)
    for root, role in ((pred_root, "predictions"), (label_root, "labels")):
        if not root.is_dir():
            raise FileNotFoundError(f"{role} folder {root} does not exist (expected <folder>/<task>/test-<lang>.<ext>)")
    languages_of = dict({name: t.official_languages for name, t in SUBMISSION_TASKS.items()}
                        if task_languages is None else task_languages)
    tasks = sorted(p.name for p in label_root.iterdir() if p.is_dir() and p.name in languages_of)
    if not tasks:
        raise SubmissionError(
            f"{label_root} holds no task folder; expected one or more of: {', '.join(sorted(languages_of))}"
        )

    results: dict[str, dict] = {}
    for task in tasks:
        _check_task(task)
        expected = list(languages_of[task])
        labelled = _languages_in(label_root, task, "label")
        predicted = _languages_in(pred_root, task, "prediction")
        scored = labelled & predicted
        per_language = {}
        # Official order first (the average is summed in it), then any extra languages alphabetically.
        for lang in [*(lang for lang in expected if lang in scored), *sorted(scored - set(expected))]:
            per_language[lang] = score_files(
                task, lang, prediction_path(pred_root, task, lang), prediction_path(label_root, task, lang)
            )
        in_average = [lang for lang in expected if lang in scored]
        average: dict[str, float] = {}
        if in_average:
            for metric_name in per_language[in_average[0]]:
                average[metric_name] = sum(per_language[lang][metric_name] for lang in in_average) / len(in_average)
        missing = sorted((set(expected) | labelled) - scored)
        results[task] = {
            "languages": per_language,
            "average": average,
            "score": task_score(SUBMISSION_TASKS[task].main_metric, average) if average else None,
            "missing_languages": missing,
            "extra_languages": sorted(scored - set(expected)),
            "partial": bool(missing),
        }
    return results


# --------------------------------------------------------------------------------------------------------------------
# Writers


def write_predictions(task: str, lang: str, predictions: Any, out_dir: str | os.PathLike) -> Path:
    """Write one language's predictions in the submission layout, atomically.

    Args:
        task: Task folder name.
        lang: Language code.
        predictions: xnli/pawsx: labels (e.g. "entailment", "1"); tatoeba: predicted target indices; xcopa: the
            predicted choice (0 or 1) per example; udpos/panx: one list of tags per sentence; bucc2018: an iterable of
            ``(source_id, target_id)`` pairs (written sorted); xquad/mlqa/tydiqa: mapping question id -> answer text;
            mewslix: mapping mention id -> entity ids ranked best first.
        out_dir: The submission folder (``<out_dir>/<task>/test-<lang>.<ext>`` is written).

    Returns:
        The path written.

    Raises:
        SubmissionError: For an unknown task, a bad language code, or predictions of the wrong shape.
    """
    path = prediction_path(out_dir, task, lang)
    form = SUBMISSION_TASKS[task].submission
    if form == "labels":
        if isinstance(predictions, (str, Mapping)):
            raise SubmissionError(f"{task} predictions must be a sequence with one label per example")
        lines = [_single_line_field(p, f"{task} label") for p in predictions]
        text = "".join(line + "\n" for line in lines)
    elif form == "choices":
        if isinstance(predictions, (str, Mapping)):
            raise SubmissionError("xcopa predictions must be a sequence with one predicted choice per example")
        rows = []
        for i, label in enumerate(predictions):
            if isinstance(label, bool) or not isinstance(label, int):
                raise SubmissionError(f"xcopa prediction {i} is {label!r}; predict the choice index as an int (0 or 1)")
            rows.append(json.dumps({"label": label}))
        text = "".join(row + "\n" for row in rows)
    elif form == "tags":
        blocks = []
        for i, sentence in enumerate(predictions):
            if isinstance(sentence, str) or not sentence:
                raise SubmissionError(
                    f"{task} sentence {i} must be a non-empty list of tags (an empty sentence cannot be written)"
                )
            blocks.append("".join(_single_line_field(t, f"{task} tag") + "\n" for t in sentence))
        text = "\n".join(blocks)
    elif form == "pairs":
        pairs = set()
        for pair in predictions:
            if isinstance(pair, str) or len(pair) != 2:
                raise SubmissionError(f"bucc2018 predictions must be (source_id, target_id) pairs, got {pair!r}")
            pairs.add(tuple(_single_line_field(x, "bucc2018 id") for x in pair))
        text = "".join(f"{src}\t{tgt}\n" for src, tgt in sorted(pairs))
    elif form == "answers":
        if not isinstance(predictions, Mapping) or not all(isinstance(v, str) for v in predictions.values()):
            raise SubmissionError(f"{task} predictions must map each question id to its answer text (a string)")
        text = json.dumps(dict(predictions), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    else:  # rankings (mewslix)
        if not isinstance(predictions, Mapping) or any(
            isinstance(v, str) or not isinstance(v, Iterable) for v in predictions.values()
        ):
            raise SubmissionError("mewslix predictions must map each mention id to a list of ranked entity ids")
        text = json.dumps({k: [str(e) for e in v] for k, v in predictions.items()}, ensure_ascii=False,
                          sort_keys=True) + "\n"
    atomic_write_text(path, text)
    return path


# --------------------------------------------------------------------------------------------------------------------
# Command-line entry point


def _check_output(output: Path, roots: Mapping[str, Path], overwrite: bool) -> None:
    """Refuses an output that is a folder, an existing file (unless ``overwrite``), or one of the scored files.

    The scored files are everything inside the task folders of the predictions and labels folders; an output there
    (or a link or hard link to such a file) would replace an input, so ``overwrite`` does not permit it.
    """
    if output.is_dir():
        raise SubmissionError(f"output {output} is a folder; name the results file, e.g. "
                              f"output={output / 'scores.json'}")
    blocking = next((p for p in output.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise SubmissionError(f"output {output} cannot be written: {blocking} is a file, not a folder")
    target = output.resolve()
    for role, root in roots.items():
        root = root.resolve()
        for task in SUBMISSION_TASKS:
            folder = root / task
            inside = target.is_relative_to(folder)
            same = output.exists() and folder.is_dir() and any(
                p.is_file() and os.path.samefile(p, output) for p in folder.iterdir())
            if inside or same:
                raise SubmissionError(f"output {output} is inside the {role} folder's {task}/ (the files being "
                                      "scored); write the results somewhere else")
    check_new_file(output, overwrite)  # the guard every writer of a single file shares


def parse_flag(value: str, key: str) -> bool:
    """A command-line ``key=true|false`` value (as recipes spell booleans)."""
    if value.lower() not in ("true", "false"):
        raise SubmissionError(f"{key}={value}: expected {key}=true or {key}=false")
    return value.lower() == "true"


def main_score(predictions: str, labels: str, output: str, overwrite: bool = False) -> dict:
    """Score a submission folder and write the results JSON atomically.

    Called by ``python evaluate_xtreme.py score predictions=DIR labels=DIR output=OUT.json [overwrite=true]``.

    Args:
        predictions: The submission folder.
        labels: The label folder (same layout).
        output: Path of the results JSON (indented, sorted keys); its folder is created if needed.
        overwrite: Replace an existing ``output`` file (never a folder, and never one of the files being scored).

    Returns:
        The results of ``score_folder``.

    Raises:
        SubmissionError: If ``output`` exists (without ``overwrite``), is a folder, or is one of the scored files;
            or a file cannot be scored (nothing is written then).
    """
    out = Path(output)
    _check_output(out, {"predictions": Path(predictions), "labels": Path(labels)}, overwrite)
    results = score_folder(predictions, labels)
    atomic_write_text(out, json.dumps(results, indent=2, sort_keys=True) + "\n")
    return results


def score_command(argv: list[str]) -> int:
    """``evaluate_xtreme.py score predictions=DIR labels=DIR output=OUT.json [overwrite=true]``: the official
    scorer's numbers for a submission folder, written to ``output`` and one line per task logged.

    Raises:
        RecipeError: A missing or unknown argument.
        SubmissionError: See ``main_score``.
    """
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    missing = [k for k in ("predictions", "labels", "output") if k not in args]
    bad = [a for a in argv if "=" not in a] + [k for k in args if k not in ("predictions", "labels", "output",
                                                                           "overwrite")]
    if missing or bad:
        raise RecipeError([f"score needs predictions=DIR labels=DIR output=OUT.json [overwrite=true] (missing "
                           f"{missing}, unexpected {bad})"], "command line")
    scores = main_score(args["predictions"], args["labels"], args["output"],
                        overwrite=parse_flag(args.get("overwrite", "false"), "overwrite"))
    for task, s in sorted(scores.items()):
        flag = " (partial: missing " + " ".join(s["missing_languages"]) + ")" if s.get("partial") else ""
        log(f"{task}: score {s['score']}{flag}")
    return 0
