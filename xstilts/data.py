"""Loading task data from the Hub, an XTREME download folder, or the embedded quickstart data, into canonical rows.

Canonical rows per task kind (what the featurizers consume):

- classification: ``{"text_a": str, "text_b": str | None, "label": int}``
- multiple_choice: ``{"context": str, "question": str, "choices": list[str], "label": int}``
- span_qa: ``{"id": str, "context": str, "question": str, "answers": {"text": [...], "answer_start": [...]}}``
- tagging: ``{"tokens": list[str], "tags": list[int]}``
- retrieval: ``{"source": str, "target": str}`` (row i of one side aligned with row i of the other)

Every Hub split is checked against the exact schema in the registry before use: a mismatch names the dataset, the
expected and the found columns (ClassLabel names and their order included). Tests replace ``hub_loader`` with a
function returning in-memory datasets, or point ``hub_path`` at local folders laid out like the Hub's repos and parquet
branches so that the real ``datasets.load_dataset`` runs. A split a language does not have is ``SplitAbsent``: that
language is missing from an evaluation (named, the result partial), which goes on.

Labels, from every source alike: a raw label is mapped to a class id in range or the row is refused with a
``DataError`` naming the file and line (or the dataset row) and the valid labels. A row *without* gold label (SNLI's
"-", the Hub's -1, an empty cell) is dropped only where the official data legitimately has such rows (the split's
``keep="gold"``, for the Hub copy and the XTREME-folder file alike), with the count logged and, in an evaluation,
recorded in the result's notes; anywhere else it is an error. No row ever reaches training or scoring as label -1.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from xstilts import ccg
from xstilts.config import embedded_path
from xstilts.errors import DataError, DataMissing, SplitAbsent
from xstilts.languages import TATOEBA_ISO3, TYDIQA_NAMES, UDPOS_NAMES
from xstilts.log import log
from xstilts.rows import ROW_AT, TAG_LINES, canonical_rows_counted
from xstilts.tasks import DataSplit, HubSource, LocalSource, Task
from xstilts.typespecs import ChoiceOptions

SOURCES = ("hub", "xtreme", "embedded")
LOCAL_SPLIT = {"train": "train", "validation": "dev", "test": "test"}

# ---- Mewsli-X schema (nested Hub features, referenced from the registry as "mewslix:<name>") ---------------------
_STR = datasets.Value("string")
_INT = datasets.Value("int64")
_SPAN = {"start": _INT, "end": _INT}
_MENTION = {"example_id": _STR, "mention_span": {"start": _INT, "end": _INT, "text": _STR}, "entity_id": _STR}
_CONTEXT = {"document_title": _STR, "document_url": _STR, "document_id": _STR, "language": _STR, "text": _STR,
            "sentence_spans": datasets.List(_SPAN)}
_ENTITY = {"entity_id": _STR, "title": _STR, "description": _STR, "sentence_spans": datasets.List(_SPAN),
           "description_language": _STR, "description_url": _STR}
# Optional fields of the original schema (``section_title``, ``metadata``) are not required: extra fields pass.
MEWSLIX_FEATURES: dict[str, Any] = {
    "spans": datasets.List(_SPAN),
    "context": _CONTEXT,
    "mentions": datasets.List(_MENTION),
    "contextual_mention": {"context": _CONTEXT, "mention": _MENTION},
    "entity": _ENTITY,
}


def parse_feature(spec: str) -> Any:
    """A registry type string as a ``datasets`` feature ("string", "int32", "label:a,b", "list:...", "answers")."""
    if spec == "choices":  # CommonsenseQA: {"label": [...], "text": [...]}
        return {"label": datasets.List(datasets.Value("string")), "text": datasets.List(datasets.Value("string"))}
    if spec.startswith("mewslix:"):  # nested Mewsli-X structures, defined beside the code that reads them
        return MEWSLIX_FEATURES[spec[8:]]
    if spec == "answers":
        return {"text": datasets.List(datasets.Value("string")), "answer_start": datasets.List(datasets.Value("int32"))}
    if spec.startswith("list:"):
        return datasets.List(parse_feature(spec[5:]))
    if spec.startswith("label:"):
        return datasets.ClassLabel(names=spec[6:].split(","))
    return datasets.Value(spec)


def hub_features(source: HubSource) -> datasets.Features:
    """The exact Hub features of a source (also used to build in-memory and embedded datasets)."""
    return datasets.Features({name: parse_feature(spec) for name, spec in source.features.items()})


def _describe(feature: Any) -> str:
    if isinstance(feature, datasets.ClassLabel):
        return f"ClassLabel({','.join(feature.names)})"
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, (datasets.List, datasets.Sequence)):
        return f"List({_describe(feature.feature)})"
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in feature.items()) + "}"
    return type(feature).__name__


def _family(feature: Any) -> str:
    """Coarse type family: int widths and ClassLabel-vs-int differences are tolerated, structure is not."""
    if isinstance(feature, datasets.ClassLabel):
        return "label"
    if isinstance(feature, datasets.Value):
        d = feature.dtype
        return "int" if d.startswith("int") else ("float" if d.startswith("float") else d)
    if isinstance(feature, (datasets.List, datasets.Sequence)):
        return f"list[{_family(feature.feature)}]"
    if isinstance(feature, dict):
        return "{" + ",".join(f"{k}:{_family(v)}" for k, v in sorted(feature.items())) + "}"
    return type(feature).__name__


def _covers(expected: Any, found: Any) -> bool:
    """Nested structures: every expected field present with a compatible type (extra, optional fields pass)."""
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(k in found and _covers(v, found[k]) for k, v in expected.items())
    if isinstance(expected, (datasets.List, datasets.Sequence)):
        return isinstance(found, (datasets.List, datasets.Sequence)) and _covers(expected.feature, found.feature)
    fe, ff = _family(expected), _family(found)
    return fe == ff or {fe, ff} <= {"label", "int"}


def _label_names(feature: Any) -> tuple[str, ...] | None:
    """The class names of a ClassLabel column (or of a list of them, a tag column); None for any other type."""
    if isinstance(feature, (datasets.List, datasets.Sequence)):
        return _label_names(feature.feature)
    return tuple(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def schema_problems(found: Any, source: HubSource) -> list[str]:
    """What differs between the features ``found`` on the Hub and the registry's ``source.features``: missing columns,
    other types, and ClassLabel names in another order (or others) where both sides declare them; empty when none."""
    expected = hub_features(source)
    problems = []
    for name, feat in expected.items():
        if name not in found:
            problems.append(f"missing column {name!r}")
            continue
        fe, ff = _family(feat), _family(found[name])
        ok = fe == ff or {fe, ff} <= {"label", "int"} or {fe, ff} <= {"list[label]", "list[int]"}
        ok = ok or (not isinstance(feat, datasets.Value) and _covers(feat, found[name]))
        if not ok:
            problems.append(f"column {name!r} is {_describe(found[name])}, expected {_describe(feat)}")
            continue
        # Class ids are read as they are: the same ids under names in another order would train and score the wrong
        # classes silently. An integer column on the Hub declares no names, so there is nothing to compare.
        want, have = _label_names(feat), _label_names(found[name])
        if want is not None and have is not None and want != have:
            problems.append(f"column {name!r} has the labels [{', '.join(have)}] in this order, the registry "
                            f"expects [{', '.join(want)}]")
    return problems


def check_schema(ds: Any, source: HubSource, where: str) -> None:
    """Raises ``DataError`` naming the dataset, expected and found columns when the Hub schema differs (for other
    label names or order: one line naming both orders)."""
    problems = schema_problems(ds.features, source)
    if problems and all(" has the labels " in p for p in problems):
        raise DataError(f"{where}: {'; '.join(problems)}; the class ids would name other classes: fix the "
                        "registry's labels (xstilts/tasks.py) or read another revision")
    if problems:
        expected, found = hub_features(source), ds.features
        exp = ", ".join(f"{k}: {_describe(v)}" for k, v in expected.items())
        got = ", ".join(f"{k}: {_describe(v)}" for k, v in found.items())
        raise DataError(f"{where}: schema mismatch ({'; '.join(problems)}). Expected columns {{{exp}}}; "
                        f"found {{{got}}}")


def hub_path(repo: str, revision: str | None) -> str:
    """Where ``datasets`` reads a Hub repo (at ``revision``) from: the repo id. Tests map it to a local folder laid out
    like the repo or its parquet branch, so the real ``datasets.load_dataset`` call runs offline."""
    return repo


def hub_load_args(repo: str, config: str | None, split: str | None, revision: str | None, data_dir: str | None
                  ) -> tuple[str, str | None, dict[str, Any]]:
    """The ``datasets`` arguments for one Hub split: path, config name and keywords (``split`` None: every split).

    A parquet-branch source has no config name (``HubSource`` refuses one; see ``tasks.PARQUET_BRANCH``): its config
    is the folder ``data_dir``. ``xstilts check-hub`` builds its loads from these same arguments.
    """
    kwargs: dict[str, Any] = {}
    if split is not None:
        kwargs["split"] = split
    if revision:
        kwargs["revision"] = revision
    if data_dir:
        kwargs["data_dir"] = data_dir
    return hub_path(repo, revision), config, kwargs


def default_hub_loader(repo: str, config: str | None, split: str, revision: str | None, data_dir: str | None):
    """``datasets.load_dataset`` for one split (replaced in tests by an in-memory loader, or pointed at local folders
    through ``hub_path``)."""
    path, name, kwargs = hub_load_args(repo, config, split, revision, data_dir)
    return datasets.load_dataset(path, name, **kwargs)


def absent_split(exc: BaseException) -> str | None:
    """The splits a dataset does have, when ``exc`` is ``datasets``' answer to a split it lacks ("Unknown split" when
    loading, "Bad split" when streaming); None for any other error."""
    text = str(exc)
    if isinstance(exc, ValueError) and text.startswith(("Unknown split", "Bad split")):
        found = re.search(r"\[(.*)\]", text)
        return found.group(1).replace("'", "") if found else "?"
    return None


hub_loader: Callable[..., datasets.Dataset] = default_hub_loader


def _fill(template: str, lang: str, split: str = "") -> str:
    return template.format(lang=lang, udpos_name=UDPOS_NAMES.get(lang, lang), iso3=TATOEBA_ISO3.get(lang, lang),
                           split=split)


def hub_where(hub: HubSource, lang: str) -> tuple[str | None, str | None, str]:
    """The config name and data folder of ``hub`` for ``lang`` (templates filled), and how messages name the split."""
    config = _fill(hub.config, lang) if hub.config else None
    data_dir = _fill(hub.data_dir, lang) if hub.data_dir else None
    if hub.parquet_branch:
        return config, data_dir, f"dataset {hub.repo} ({data_dir} of its parquet conversion, split {hub.split})"
    return config, data_dir, f"dataset {hub.repo} (config {config}, split {hub.split})"


def with_label_set(task: Task, data_path: str | None) -> Task:
    """``task`` with its label names, built from its training data where the registry has none to give
    (``labels_from_train``: CCG supertags, from the CCGbank AUTO files), else ``task`` unchanged.

    Raises:
        DataError: the training data the label set is built from is not there.
    """
    return ccg.with_vocabulary(task, data_path)


def label_count(task: Task) -> int | None:
    """How many classes a label of ``task`` may take (choices for multiple choice); None where it is not known from
    the registry (CCG builds its tag set from the training data; span QA, retrieval and dual encoders have no
    classes)."""
    if isinstance(task.options, ChoiceOptions):
        return task.options.num_choices
    if task.label_names and not task.labels_from_train:
        return len(task.label_names)
    return None


def _drop_note(where: str, dropped: int, total: int, notes: list[str] | None) -> None:
    """Logs (and, in an evaluation, records) rows dropped for having no gold label, as the Hub path drops them."""
    if not dropped:
        return
    note = (f"{where}: {dropped} of {total} rows without a gold label dropped (the official data marks them "
            "unlabelled; they are neither trained on nor scored)")
    log(note)
    if notes is not None:
        notes.append(note)


def _decode(path: Path) -> str:
    """The UTF-8 text of ``path``; a ``DataError`` naming the file, byte offset and line where decoding fails."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}: not UTF-8 text: byte offset {exc.start} (line {line}): {exc.reason}; the file is "
                        "corrupted or in another encoding: convert it to UTF-8") from None


def _squad_rows(doc: Any, path: Path) -> list[dict]:
    """Rows of a SQuAD-format file; a malformed one is a ``DataError`` naming the file and the JSON path inside it
    (``data[3].paragraphs[0].qas[2].answers[0].answer_start``)."""
    layout = ('{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text", '
              '"answer_start"}]}]}]}]}')

    def bad(at: str, problem: str) -> DataError:
        return DataError(f"{path}: {at}: {problem}; a SQuAD-format file has the layout {layout}")

    def field(obj: Any, at: str, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        if not isinstance(obj, dict):
            raise bad(at or "top level", f"is {type(obj).__name__}, expected an object")
        if key not in obj:
            raise bad(f"{at}.{key}" if at else key, "missing")
        value = obj[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise bad(f"{at}.{key}" if at else key, f"is {value!r:.60}, expected {what}")
        return value

    rows = []
    for a, article in enumerate(field(doc, "", "data", list, "a list of articles")):
        at_a = f"data[{a}]"
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, para in enumerate(field(article, at_a, "paragraphs", list, "a list of paragraphs")):
            at_p = f"{at_a}.paragraphs[{p}]"
            context = field(para, at_p, "context", str, "a string")
            if not context.strip():
                raise bad(f"{at_p}.context", "is empty: an extractive QA question needs a context")
            for q, qa in enumerate(field(para, at_p, "qas", list, "a list of questions")):
                at_q = f"{at_p}.qas[{q}]"
                qid = field(qa, at_q, "id", (str, int), "a string")
                question = field(qa, at_q, "question", str, "a string")
                texts, starts = [], []
                for n, ans in enumerate(field(qa, at_q, "answers", list, "a list (empty: unanswerable)")):
                    at_n = f"{at_q}.answers[{n}]"
                    texts.append(field(ans, at_n, "text", str, "a string"))
                    start = field(ans, at_n, "answer_start", int, "a character offset (integer)")
                    if start < 0:
                        raise bad(f"{at_n}.answer_start", f"is {start}, expected a character offset >= 0")
                    starts.append(start)
                rows.append({"id": str(qid), "title": title, "context": context, "question": question,
                             "answers": {"text": texts, "answer_start": starts}, ROW_AT: at_q})
    return rows


def _read_local(source: LocalSource, path: Path, where: str) -> list[dict]:
    """Raw rows of one local file, each with where it sits (``ROW_AT``: a line number or a JSON path).

    Raises:
        DataMissing: the file is not there.
        DataError: the file is not UTF-8 (naming the byte offset), or a row is malformed (naming the line or path).
    """
    if not path.is_file():
        raise DataMissing(f"{where}: file {path} not found; data.path must point at an XTREME download folder "
                          f"containing {source.path}")
    text = _decode(path)
    if source.format == "tsv":
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if source.header:
            lines = lines[1:]
        rows = []
        for n, line in enumerate(lines, start=2 if source.header else 1):
            parts = line.rstrip("\r").split("\t")
            if len(parts) != len(source.columns):
                raise DataError(f"{path}:{n}: expected {len(source.columns)} tab-separated columns "
                                f"({', '.join(source.columns)}), found {len(parts)}")
            rows.append({**dict(zip(source.columns, parts, strict=True)), ROW_AT: n})
        return rows
    if source.format == "jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: invalid JSON line ({exc})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{n}: a line must be a JSON object, found {type(row).__name__}")
                rows.append({**row, ROW_AT: n})
        return rows
    if source.format == "conll":
        rows, tokens, tags, tag_lines, first = [], [], [], [], 0
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                if tokens:
                    rows.append({"tokens": tokens, "tags": tags, TAG_LINES: tag_lines, ROW_AT: first})
                    tokens, tags, tag_lines = [], [], []
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                raise DataError(f"{path}:{n}: expected 'token<TAB>tag', found {line!r}")
            token = parts[0]
            # PAN-X files of the XTREME download prefix tokens with "<lang>:"; the tag is the last column.
            if ":" in token[:4] and token[:2].isalpha() and token[2:3] == ":":
                token = token[3:]
            first = first if tokens else n
            tokens.append(token)
            tags.append(parts[-1].strip())
            tag_lines.append(n)
        if tokens:
            rows.append({"tokens": tokens, "tags": tags, TAG_LINES: tag_lines, ROW_AT: first})
        return rows
    if source.format == "squad_json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: invalid SQuAD JSON ({exc})") from None
        return _squad_rows(doc, path)
    if source.format == "tatoeba":
        try:
            src, tgt = read_tatoeba_files(path.parent, path.suffix.lstrip("."))
        except FileNotFoundError as exc:
            raise DataMissing(f"{where}: {exc}") from None
        return [{"source": s, "target": t} for s, t in zip(src, tgt, strict=False)]
    raise DataError(f"{where}: unsupported local format {source.format!r}")


def load_split(task: Task, split: DataSplit, source: str, lang: str, split_name: str,
               data_path: str | None = None, limit: int | None = None, notes: list[str] | None = None) -> list[dict]:
    """Canonical rows of one split of ``task`` in language ``lang`` from ``source``.

    An XTREME-R language that lives in another dataset (``task.lang_sources[split_name][lang]``, e.g. UD 2.7
    treebanks) is read from there instead, its splits concatenated.

    Args:
        split_name: the role ("train", "validation", "test"); fills ``{split}`` in local file names.
        limit: keep the first ``limit`` rows (``max_train_samples``-style knob).
        notes: where given, a line is appended for rows dropped for having no gold label (an evaluation records
            these lines in its result); they are logged either way.

    Raises:
        DataMissing: the data is not there (an evaluation may skip the language and mark the result partial).
        DataError: anything else: a malformed file, an unknown label, a row without label where none may lack one.
    """
    override = task.lang_sources.get(split_name, {}).get(lang)
    if override:
        if source != "hub":
            raise DataMissing(f"task {task.name} ({split_name}, {lang}): {lang} is an XTREME-R language read from "
                            f"{', '.join(sorted({s.hub.repo for s in override if s.hub}))}; use data.source=hub")
        rows = [r for s in override for r in _load_one(task, s, source, lang, split_name, data_path, notes=notes)]
        rows = rows[:limit] if limit is not None else rows
        if not rows:
            raise DataError(f"task {task.name} ({split_name}, {lang}, source hub): no rows loaded")
        return rows
    return _load_one(task, split, source, lang, split_name, data_path, limit, notes)


def _drop_ud_placeholders(rows: list[dict]) -> list[dict]:
    """UD tokens whose form or UPOS is ``_`` (multiword-token lines) are dropped, as XTREME's UD-POS files do."""
    out = []
    for r in rows:
        kept = [(t, g) for t, g in zip(r["tokens"], r["tags"], strict=False) if t != "_" and g >= 0]
        if kept:
            out.append({"tokens": [t for t, _ in kept], "tags": [g for _, g in kept]})
    return out


def _local_parts(path: Path) -> list[Path]:
    """The files of a local split whose name joins splits with "+" as the Hub split does (``anli/dev_r1+dev_r2.tsv``:
    ``anli/dev_r1.tsv`` then ``anli/dev_r2.tsv``); any other name is one file."""
    if "+" not in path.stem:
        return [path]
    return [path.with_name(part + path.suffix) for part in path.stem.split("+")]


def _gold_only(split: DataSplit) -> str | None:
    """``"gold"`` where the official data of ``split`` legitimately holds rows without gold label (its Hub copy says
    so with ``keep="gold"``): the local file of the same data drops them the same way."""
    return "gold" if split.hub is not None and split.hub.keep == "gold" else None


def _local_layout(split: DataSplit, data_path: str, lang: str, name: str) -> tuple[LocalSource, Path]:
    """The local layout of a split whose file exists (``local`` first, then ``local_also``), else ``local`` (whose
    absence the reader reports, naming the other layouts it looked for)."""
    layouts = [split.local, *split.local_also]
    for layout in layouts:
        path = Path(data_path) / _fill(layout.path, lang, name)
        if path.is_file():
            return layout, path
    first = split.local
    if len(layouts) > 1:  # the message lists every file name tried
        first = dataclasses.replace(first, path=" or ".join(x.path for x in layouts))
    return first, Path(data_path) / _fill(split.local.path, lang, name)


def _load_one(task: Task, split: DataSplit, source: str, lang: str, split_name: str,
              data_path: str | None = None, limit: int | None = None, notes: list[str] | None = None) -> list[dict]:
    if source not in SOURCES:
        raise DataError(f"data.source {source!r} is not one of {', '.join(SOURCES)}")
    where = f"task {task.name} ({split_name}, {lang}, source {source})"
    if split.local is not None and split.local.format == "ccg_auto":
        # CCGbank is local whatever data.source: it is licensed and not on the Hub.
        return ccg.load_rows(task, split.local.path, data_path, limit)
    if source == "xtreme":
        if split.local is None:
            raise DataMissing(f"{where}: no XTREME-folder layout is defined for this split; use data.source=hub")
        if not data_path:
            raise DataError(f"{where}: data.path is required with data.source=xtreme (the XTREME download folder)")
        layout, path = _local_layout(split, data_path, lang, LOCAL_SPLIT.get(split_name, split_name))
        parts = _local_parts(path)
        if len(parts) == 1:
            raw = _read_local(layout, path, where)
        else:  # each row says which file it came from
            raw = [{**r, ROW_AT: f"{part}:{r[ROW_AT]}"} for part in parts
                   for r in _read_local(dataclasses.replace(layout, path=str(Path(layout.path).with_name(part.name))),
                                        part, where)]
        desc = str(path)
        rows, dropped = canonical_rows_counted(raw, layout.fields, layout.labels, task.spec, desc,
                                       keep=_gold_only(split), n_labels=label_count(task))
    else:
        hub = split.hub
        if hub is None:
            raise DataMissing(f"{where}: no Hub dataset is defined for this split; use data.source=xtreme")
        if source == "embedded":
            if split.embedded is None:
                raise DataMissing(f"{where}: the embedded quickstart data has no such split; use data.source=hub")
            path = embedded_path(_fill(split.embedded, lang))
            if not path.is_file():
                raise DataMissing(f"{where}: embedded file {path.name} is not shipped (quickstart data covers a few "
                                  "languages only); pass languages=[...] or use data.source=hub")
            numbered = []
            for n, line in enumerate(_decode(path).splitlines(), start=1):
                if line.strip():
                    try:
                        numbered.append((n, json.loads(line)))
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}:{n}: invalid JSON line ({exc})") from None
            try:
                ds = datasets.Dataset.from_list([r for _, r in numbered], features=hub_features(hub))
            except Exception as exc:  # noqa: BLE001 - a row that does not fit the Hub schema: name the file
                raise DataError(f"{path}: rows do not fit the Hub schema of {hub.repo} ({type(exc).__name__}: "
                                f"{exc})") from None
            desc = str(path)
            raw = [{**r, ROW_AT: n} for (n, _), r in zip(numbered, ds.to_list(), strict=False)]
        else:
            config, data_dir, desc = hub_where(hub, lang)
            if lang in hub.absent_for:  # known before asking the Hub: no download, no error
                raise SplitAbsent(f"{where}: {hub.repo} has no {hub.split} split for {lang}, so {lang} is missing "
                                  f"from this split's results")
            try:
                ds = hub_loader(hub.repo, config, hub.split, hub.revision, data_dir)
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001 - any library failure becomes a DataError naming the fix
                has = absent_split(exc)
                if has is not None:  # the dataset lacks the split for this language: missing, not broken
                    raise SplitAbsent(f"{where}: {desc} does not exist (its splits: {has})") from None
                raise DataError(f"{where}: could not load {desc}: {type(exc).__name__}: {exc}. Without Hub access use "
                                "data.source=xtreme data.path=<XTREME download folder>") from None
            check_schema(ds, hub, desc)
            raw = ds.to_list()
        rows, dropped = canonical_rows_counted(raw, hub.fields, hub.labels, task.spec, desc, keep=hub.keep,
                                       n_labels=label_count(task))
    _drop_note(desc, dropped, len(rows) + dropped, notes)
    keep = split.hub.keep if split.hub is not None and source != "xtreme" else None
    if keep == "tydiqa_lang":
        # TyDiQA-GoldP mixes languages in one split; the id prefix names the language ("english-123-0").
        rows = [r for r in rows if TYDIQA_NAMES.get(str(r["id"]).split("-")[0]) == lang]
    if keep == "ud_tokens":
        rows = _drop_ud_placeholders(rows)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise DataError(f"{where}: no rows loaded")
    return rows


def selection_cap(task_default: int | None, dev_examples: int | None, max_eval_samples: int | None) -> int | None:
    """How many English dev rows select the model: ``train.dev_examples`` or the task's default, at most
    ``data.max_eval_samples``; None means all of them."""
    cap = dev_examples or task_default
    if max_eval_samples:
        cap = min(cap or max_eval_samples, max_eval_samples)
    return cap


def load_train(task: Task, source: str, data_path: str | None, limit: int | None = None) -> list[dict]:
    """The English training rows of a task (several splits concatenated, e.g. ANLI+)."""
    rows: list[dict] = []
    for split in task.train:
        rows.extend(load_split(task, split, source, task.train_language, "train", data_path))
    if not rows:
        raise DataError(f"task {task.name} has no training data")
    return rows[:limit] if limit is not None else rows


TRANSLATABLE_FORMATS = ("tsv", "conll", "squad_json", "jsonl")


def load_translated(task: Task, folder: str | Path | None, languages: list[str], limit: int | None = None
                    ) -> list[dict]:
    """Translated training rows of ``task``: ``<folder>/<task>/train-<lang>.<ext>`` per language, each row tagged
    with its ``lang``.

    A file has the format of the task's (first) training split in the XTREME folder layout (MNLI: ``.tsv``
    text_a/text_b/label; SQuAD: ``.json``; SIQA: ``.jsonl`` ...); a task without that layout (HellaSwag, ...) reads
    ``.jsonl`` rows in its Hub schema.

    Args:
        limit: keep the first ``limit`` rows per language.
    """
    split = task.train[0] if task.train else None
    if split is not None and split.local is not None and split.local.format in TRANSLATABLE_FORMATS:
        source = split.local
        ext, keep, layout = Path(source.path).suffix, _gold_only(split), f"the format of {source.path}"
    elif split is not None and split.hub is not None:
        source = LocalSource(path="", format="jsonl", fields=split.hub.fields, labels=split.hub.labels)
        ext, keep, layout = ".jsonl", split.hub.keep, f"JSON lines in the Hub schema of {split.hub.repo}"
    else:
        raise DataError(f"task {task.name}: translated training data is not supported for this task")
    if not folder:
        raise DataError(f"task {task.name}: data.translated_path (or data.path) must name the folder holding "
                        f"{task.name}/train-<lang>{ext}")
    rows: list[dict] = []
    for lang in languages:
        path = Path(folder) / task.name / f"train-{lang}{ext}"
        if not path.is_file():
            raise DataMissing(f"task {task.name}: translated training file {path} not found; data.translated_path must "
                            f"hold {task.name}/train-<lang>{ext} for every language of data.translated_languages "
                            f"({layout})")
        raw = _read_local(source, path, str(path))
        got, dropped = canonical_rows_counted(raw, source.fields, source.labels, task.spec, str(path), keep=keep,
                                      n_labels=label_count(task))
        _drop_note(str(path), dropped, len(got) + dropped, None)
        if not got:
            raise DataError(f"{path}: no rows")
        rows.extend({**r, "lang": lang} for r in (got[:limit] if limit is not None else got))
    return rows


def load_dev(task: Task, source: str, data_path: str | None, limit: int | None = None) -> list[dict]:
    if task.dev is None:
        raise DataError(f"task {task.name} has no English dev split for model selection")
    return load_split(task, task.dev, source, task.train_language, "validation", data_path, limit)


# ----------------------------------------------------------------------------------------------------------------------
# Readers of the retrieval tasks' original files (BUCC 2018, LASER Tatoeba)
# ----------------------------------------------------------------------------------------------------------------------
Pair = tuple[str, str]  # (source id, target id), as in xstilts.retrieval


@dataclass(frozen=True)
class BuccSplit:
    """One BUCC 2018 split of one language pair (source = the non-English language, target = English).

    Attributes:
        src_ids: Source sentence ids in file order, e.g. ``zh-000000001``.
        src_sentences: Source sentences (surrounding whitespace stripped).
        tgt_ids: English sentence ids, e.g. ``en-000000001``.
        tgt_sentences: English sentences.
        gold: Gold ``(src_id, tgt_id)`` pairs, or None when the gold file was not required and is absent.
    """

    src_ids: list[str]
    src_sentences: list[str]
    tgt_ids: list[str]
    tgt_sentences: list[str]
    gold: set[Pair] | None


def _find_bucc_file(folder: Path, lang: str, name: str) -> Path:
    # The XTREME download flattens files into one folder; the original tarball keeps a <lang>-en/ subfolder.
    candidates = [folder / name, folder / f"{lang}-en" / name]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"BUCC file not found: tried {', '.join(str(p) for p in candidates)}. Provide the BUCC 2018 files "
        f"({lang}-en.<split>.{lang}, {lang}-en.<split>.en, {lang}-en.<split>.gold with lines 'id<TAB>sentence' and "
        "'src_id<TAB>tgt_id') from https://comparable.limsi.fr/bucc2018/"
    )


def _read_tsv_lines(path: Path) -> list[tuple[int, str]]:
    """Numbered lines of a UTF-8 file; a ``DataError`` naming the byte offset where it is not UTF-8."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}: not UTF-8 text: byte offset {exc.start} (line {line}): {exc.reason}; the file is "
                        "corrupted or in another encoding: convert it to UTF-8") from None
    # Only LF ends a line, so a stray CR inside a sentence cannot shift the line alignment.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [(no, line.rstrip("\r")) for no, line in enumerate(lines, start=1)]


def _read_id_sentences(path: Path) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    sentences: list[str] = []
    seen: set[str] = set()
    for no, line in _read_tsv_lines(path):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"{path}:{no}: expected 'id<TAB>sentence', found no tab in {line[:80]!r}")
        sid, sentence = line.split("\t", 1)
        sid = sid.strip()
        if not sid:
            raise DataError(f"{path}:{no}: empty sentence id")
        if sid in seen:
            raise DataError(f"{path}:{no}: sentence id {sid!r} occurs twice")
        seen.add(sid)
        ids.append(sid)
        sentences.append(sentence.strip())
    return ids, sentences


def read_bucc_files(folder: str | Path, lang: str, split: str, require_gold: bool = True) -> BuccSplit:
    """Reads one split of the original BUCC 2018 layout.

    Files: ``<lang>-en.<split>.<lang>`` and ``<lang>-en.<split>.en`` (lines ``id<TAB>sentence``) and
    ``<lang>-en.<split>.gold`` (lines ``src_id<TAB>tgt_id``), in ``folder`` or ``folder/<lang>-en/``. The original
    release names the splits ``sample`` and ``training``; XTREME's download renames them ``dev`` and ``test``. Blank
    lines are skipped; sentences are stripped of surrounding whitespace (the reference strips before tokenising).

    Args:
        folder: Folder with the files.
        lang: Non-English language code: de, fr, ru or zh.
        split: Split name as it appears in the file names (``dev``, ``test``, ``sample``, ``training``).
        require_gold: When False, a missing gold file gives ``gold=None`` instead of an error.

    Returns:
        A :class:`BuccSplit`.

    Raises:
        FileNotFoundError: Naming the missing path and what to provide.
        DataError: On a malformed line, a repeated id, a file that is not UTF-8, or gold ids absent from the sentence
            files (a ``ValueError``, naming the file and line).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"BUCC folder not found: {folder}; pass the folder holding {lang}-en.{split}.* files")
    src_ids, src_sents = _read_id_sentences(_find_bucc_file(folder, lang, f"{lang}-en.{split}.{lang}"))
    tgt_ids, tgt_sents = _read_id_sentences(_find_bucc_file(folder, lang, f"{lang}-en.{split}.en"))
    try:
        gold_path = _find_bucc_file(folder, lang, f"{lang}-en.{split}.gold")
    except FileNotFoundError:
        if require_gold:
            raise
        return BuccSplit(src_ids, src_sents, tgt_ids, tgt_sents, None)
    gold: set[Pair] = set()
    for no, line in _read_tsv_lines(gold_path):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{gold_path}:{no}: expected 'src_id<TAB>tgt_id', got {line[:80]!r}")
        gold.add((parts[0].strip(), parts[1].strip()))
    known_src, known_tgt = set(src_ids), set(tgt_ids)
    unknown = sorted(p for p in gold if p[0] not in known_src or p[1] not in known_tgt)
    if unknown:
        raise DataError(
            f"{gold_path}: {len(unknown)} gold pairs name ids missing from the sentence files (first: {unknown[0]}); "
            "the gold file does not belong to these corpora"
        )
    return BuccSplit(src_ids, src_sents, tgt_ids, tgt_sents, gold)


def read_tatoeba_files(folder: str | Path, iso3: str) -> tuple[list[str], list[str]]:
    """Reads one LASER Tatoeba test pair, ``tatoeba.<iso3>-eng.<iso3>`` and ``tatoeba.<iso3>-eng.eng``.

    Line i of one file translates line i of the other, so every line is kept (blank ones too) to preserve the
    alignment; each is stripped of surrounding whitespace (the reference strips before tokenising).

    Args:
        folder: Folder with the files (LASER's ``data/tatoeba/v1``).
        iso3: ISO 639-3 code of the non-English side as LASER names it (``deu``, ``cmn``, ``pes``, ...).

    Returns:
        ``(non_english, english)`` sentence lists of equal length.

    Raises:
        FileNotFoundError: Naming the missing path.
        DataError: On a malformed code, a file that is not UTF-8, or files of different lengths (both named with
            their line counts).
    """
    if not (isinstance(iso3, str) and len(iso3) == 3 and iso3.isalpha() and iso3.islower()) or iso3 == "eng":
        raise DataError(
            f"iso3 must be a lowercase 3-letter non-English LASER code such as 'deu' or 'cmn', got {iso3!r}"
        )
    folder = Path(folder)
    paths = [folder / f"tatoeba.{iso3}-eng.{iso3}", folder / f"tatoeba.{iso3}-eng.eng"]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"Tatoeba file not found: {path}. Provide LASER's Tatoeba test files tatoeba.{iso3}-eng.{iso3} and "
                f"tatoeba.{iso3}-eng.eng (facebookresearch/LASER data/tatoeba/v1) in {folder}"
            )
    sides = [[line.strip() for _, line in _read_tsv_lines(p)] for p in paths]
    if len(sides[0]) != len(sides[1]):
        raise DataError(
            f"{paths[0]} has {len(sides[0])} lines but {paths[1]} has {len(sides[1])}; "
            "Tatoeba pairs are aligned by line"
        )
    return sides[0], sides[1]
