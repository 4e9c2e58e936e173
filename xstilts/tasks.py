"""The task registry: one entry per task, as data (sources, columns, labels, head type, metric, languages).

Code is written per task *type* (``xstilts.typespecs``: classification, regression, multiple_choice, span_qa, tagging,
retrieval, dual_encoder); a task is only data.
Each split of a task can come from three places, chosen by the recipe's ``data.source``:

- ``hub``: a Hugging Face Hub dataset (repo, config, split, revision/data_dir for script-only repos, all named in the
  entry), checked against its exact schema before use;
- ``xtreme``: a local folder in XTREME's download layout (``xnli/dev-de.tsv``, ``panx/dev-de.tsv`` ...);
- ``embedded``: the small synthetic data shipped in ``xstilts/quickstart_data`` in the *Hub* schema, so the quickstart
  runs the same normalisation as a Hub run.

Templates in configs and paths: ``{lang}`` (ISO 639-1), ``{udpos_name}`` (``English``), ``{iso3}`` (Tatoeba code),
``{split}`` (the local file split name: ``train``, ``dev`` or ``test``).

Every per-task fact lives in the task's one ``register(Task(...))`` call: data, head, metric, languages (XTREME and
XTREME-R), benchmark category, the official submission format and language order, and the training-set size used for
planning. Other modules derive what they need from the registry instead of keeping tables of their own.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from xstilts import languages
from xstilts.typespecs import (
    SPECS,
    ChoiceOptions,
    RetrievalOptions,
    SpanQaOptions,
    TaggingOptions,
    TypeName,
    TypeSpec,
)

Benchmark = Literal["xtreme", "xtreme_r"]
Category = Literal["classification", "structured_prediction", "question_answering", "retrieval"]
# How a task's predictions are written in the official submission layout (see xstilts.submission): one label per line
# (tsv), one tag per line with blank lines between sentences (tsv), source<TAB>target id pairs (tsv), one
# {"label": choice} object per line (jsonl), question id -> answer text (json), mention id -> ranked entity ids (json).
SubmissionFormat = Literal["labels", "tags", "pairs", "choices", "answers", "rankings"]

NLI_LABELS = ("entailment", "neutral", "contradiction")
PANX_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
UPOS_LABELS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
               "SCONJ", "SYM", "VERB", "X")
SQUAD_FEATURES = {"id": "string", "title": "string", "context": "string", "question": "string", "answers": "answers"}
XQUAD_FEATURES = {"id": "string", "context": "string", "question": "string", "answers": "answers"}
QA_FIELDS = {"id": "id", "context": "context", "question": "question", "answers": "answers"}


# The branch where the Hub keeps its automatic parquet conversion of a repo, laid out ``<config>/<split>/NNNN.parquet``.
# It holds no README, so ``datasets`` sees no named configs there (only ``default``): a config is read as a folder
# (``data_dir=<config>``), never by name, or loading fails with "BuilderConfig 'copa' not found. Available:
# ['default']". Write such a source with ``parquet_branch(...)``; ``HubSource`` refuses a config name on it.
PARQUET_BRANCH = "refs/convert/parquet"


@dataclass(frozen=True)
class HubSource:
    """One split of a Hub dataset and how its columns map onto the canonical fields of the task type."""

    repo: str
    config: str | None  # None on the parquet branch (the config is then ``data_dir``)
    # "a+b" concatenates splits, as ``datasets`` reads it (ANLI's three dev rounds)
    split: str
    features: dict[str, str]  # the exact Hub schema: column -> type ("string", "int32", "label:a,b", "list:string"...)
    fields: dict[str, str]  # canonical field -> Hub column
    labels: dict[str, int] | None = None  # raw string label -> index, where the Hub stores labels as strings
    revision: str | None = None  # PARQUET_BRANCH for repos whose main branch datasets cannot read
    data_dir: str | None = None  # on the parquet branch: the config's folder
    keep: str | None = None  # row filter: "gold" (label >= 0), "english_ids" (TyDiQA english-* rows), "ud_tokens"
    # Languages whose data has no such split on the Hub (UD-POS: Kazakh has no validation split; Tagalog, Thai and
    # Yoruba only a test split): the split is *absent* for them, and an evaluation marks them missing, not failed.
    absent_for: tuple[str, ...] = ()
    # Parquet-branch sources: what the repo's main branch holds that datasets >= 4 cannot read (a loading script), i.e.
    # why the Hub's conversion is read instead; shown by `xstilts check-hub`.
    converted_from: str | None = None

    def __post_init__(self) -> None:
        # A programming error in the registry, caught when the module loads (a test imports every entry).
        if self.revision == PARQUET_BRANCH and (self.config is not None or not self.data_dir
                                                or not self.converted_from):
            raise ValueError(f"{self.repo} on {PARQUET_BRANCH}: config must be None, data_dir the config's folder and "
                             "converted_from say what main holds instead (write it with parquet_branch(...))")

    @property
    def parquet_branch(self) -> bool:
        """Whether this source reads the Hub's parquet conversion of a repo (see ``PARQUET_BRANCH``)."""
        return self.revision == PARQUET_BRANCH


def parquet_branch(repo: str, config: str, split: str, features: dict[str, str], fields: dict[str, str],
                   converted_from: str, **kwargs: object) -> HubSource:
    """A split of ``config`` of ``repo`` read from the Hub's parquet conversion (``PARQUET_BRANCH``), where the config
    is the folder ``<config>/<split>/NNNN.parquet``: passed as ``data_dir``, never as a config name.

    Args:
        converted_from: what the repo's main branch holds instead of readable data files (``"super_glue.py loading
            script"``).
        kwargs: the other ``HubSource`` fields (labels, keep, absent_for).
    """
    return HubSource(repo, None, split, features, fields, revision=PARQUET_BRANCH, data_dir=config,
                     converted_from=converted_from, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LocalSource:
    """One split in XTREME's download-folder layout (relative to ``data.path``)."""

    path: str
    format: Literal["tsv", "conll", "squad_json", "jsonl", "tatoeba", "ccg_auto"]  # ccg_auto: path = sections
    columns: tuple[str, ...] = ()  # tsv column names (jsonl: ignored)
    header: bool = False
    fields: dict[str, str] = field(default_factory=dict)
    labels: dict[str, int] | None = None


@dataclass(frozen=True)
class DataSplit:
    """The same split from each kind of source; ``embedded`` is ``<folder>/<split>-{lang}.jsonl`` in Hub schema."""

    hub: HubSource | None = None
    local: LocalSource | None = None
    embedded: str | None = None
    # Other layouts of the same local split, read when ``local``'s file is absent (PAWS-X: the original release's
    # labelled test files beside XTREME's unlabelled ones).
    local_also: tuple[LocalSource, ...] = ()


@dataclass(frozen=True)
class Task:
    """A task: what to load, how to model it, how to score it."""

    name: str
    task_type: TypeName  # the task type (``xstilts.typespecs.SPECS``): how the task is modelled, trained and scored
    description: str
    languages: tuple[str, ...]  # evaluation languages (XTREME set)
    main_metric: str  # "accuracy", "f1", "exact_match+f1"
    label_names: tuple[str, ...] = ()
    train: tuple[DataSplit, ...] = ()  # English training data (concatenated)
    dev: DataSplit | None = None  # English dev, for model selection
    eval: dict[str, DataSplit] = field(default_factory=dict)  # split name -> per-language data ({lang})
    train_language: str = "en"
    category: Category | None = None  # the task's category in the XTREME / XTREME-R benchmark scores
    dev_examples: int | None = None  # cap on dev examples used for periodic model selection (jiant: 500)
    languages_r: tuple[str, ...] = ()  # XTREME-R evaluation languages where they differ from ``languages``
    # split role ("test", "validation") -> language -> the splits to concatenate instead of ``eval[role]``: XTREME-R
    # languages that live in another Hub dataset (UD 2.7 treebanks, unimelb-nlp/wikiann, mteb/tatoeba-bitext-mining)
    lang_sources: dict[str, dict[str, tuple[DataSplit, ...]]] = field(default_factory=dict)
    candidates: DataSplit | None = None  # dual encoders: the candidate set retrieved from (Mewsli-X entities)
    # the label set is built from the training data at run time (CCG supertags) and recorded in heads.json
    labels_from_train: bool = False
    # The official submission layout: how predictions are written (None: the official scorer has no such task), and
    # the official scorer's language order where it differs from ``languages`` (its task average is summed in that
    # order, and matches the official number to the last bit only in it).
    submission: SubmissionFormat | None = None
    submission_order: tuple[str, ...] = ()
    # Approximate English training examples of the full (hub / xtreme) data: only for a sweep's GPU-hour estimate.
    train_size: int | None = None
    # What this task sets of its type's per-task options (``typespecs``: the number of choices, the QA answer
    # normalisation, ...); None: the type's defaults.
    options: Any = None

    def __post_init__(self) -> None:
        spec = SPECS.get(self.task_type)
        if spec is None:
            raise ValueError(f"task {self.name!r}: unknown task type {self.task_type!r}; one of {', '.join(SPECS)}")
        if self.options is None:
            object.__setattr__(self, "options", spec.options())  # the type's defaults (frozen: set once, here)
        spec.options_of(self)  # a programming error in the registry, raised when the module loads

    @property
    def spec(self) -> TypeSpec[Any]:
        """The light facts of the task's type (phases, row shape, chance, batch keys, ...)."""
        return SPECS[self.task_type]

    @property
    def official_languages(self) -> tuple[str, ...]:
        """The task's languages in the official scorer's order (the order its task average is summed in)."""
        return self.submission_order or self.languages


# ---- The registry and its queries -----------------------------------------------------------------------------------
TASKS: dict[str, Task] = {}

# The tasks of each benchmark in its paper's table order (XTREME: Hu et al. 2020, https://arxiv.org/abs/2003.11080;
# XTREME-R: Ruder et al. 2021, https://arxiv.org/abs/2104.07412); each task's category is its own ``category`` field.
BENCHMARK_TASKS: dict[str, tuple[str, ...]] = {
    "xtreme": ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"),
    "xtreme_r": ("xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba"),
}


def register(task: Task) -> Task:
    """Adds ``task`` to the registry; a second entry of one name, or an official language order that is not a
    reordering of the task's languages, is a programming error."""
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} registered twice")
    if task.submission_order and sorted(task.submission_order) != sorted(task.languages):
        raise ValueError(f"task {task.name!r}: submission_order is not a reordering of its languages")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registry entry of ``name``, or an error listing every known task."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def benchmark_languages(task: Task, benchmark: str = "xtreme") -> tuple[str, ...]:
    """The task's evaluation languages in ``benchmark`` ("xtreme" or "xtreme_r"; XTREME-R extends some tasks)."""
    if benchmark not in ("xtreme", "xtreme_r"):
        raise KeyError(f"benchmark {benchmark!r} is not one of xtreme, xtreme_r")
    return task.languages_r if benchmark == "xtreme_r" and task.languages_r else task.languages


def check_languages(task: Task, langs: list[str] | None, benchmark: str = "xtreme") -> list[str]:
    """The evaluation languages to use: all of the task's by default; an unknown one is an error naming the valid
    set."""
    valid = benchmark_languages(task, benchmark)
    if not langs:
        return list(valid)
    unknown = [lang for lang in langs if lang not in valid]
    if unknown:
        hint = ""
        if benchmark == "xtreme" and all(lang in task.languages_r for lang in unknown):
            hint = " (XTREME-R languages: pass benchmark=xtreme_r)"
        raise KeyError(f"language(s) {unknown} not in task {task.name}; its languages: {' '.join(valid)}{hint}")
    return list(langs)


def benchmark_categories(benchmark: Benchmark) -> dict[str, list[str]]:
    """Category -> task names of ``benchmark`` ("xtreme" or "xtreme_r"), in the benchmark's table order: the
    categories and their tasks whose means make up the benchmark score."""
    if benchmark not in BENCHMARK_TASKS:
        raise KeyError(f"benchmark {benchmark!r} is not one of {', '.join(BENCHMARK_TASKS)}")
    categories: dict[str, list[str]] = {}
    for name in BENCHMARK_TASKS[benchmark]:
        categories.setdefault(TASKS[name].category, []).append(name)  # type: ignore[arg-type]
    return categories


# ---- Sentence(-pair) classification ---------------------------------------------------------------------------------
def _cls_tsv(path: str, labels: dict[str, int] | None, header: bool = False,
             columns: tuple[str, ...] = ("text_a", "text_b", "label")) -> LocalSource:
    return LocalSource(path=path, format="tsv", columns=columns, header=header,
                       fields={"text_a": "text_a", "text_b": "text_b", "label": "label"}, labels=labels)


_NLI_IDX = {name: i for i, name in enumerate(NLI_LABELS)}
_XNLI_FEATURES = {"premise": "string", "hypothesis": "string", "label": "label:" + ",".join(NLI_LABELS)}
_GLUE_NLI_FEATURES = {**_XNLI_FEATURES, "idx": "int32"}
_NLI_FIELDS = {"text_a": "premise", "text_b": "hypothesis", "label": "label"}
_PAWSX_FEATURES = {"id": "int32", "sentence1": "string", "sentence2": "string", "label": "label:0,1"}
_PAWSX_FIELDS = {"text_a": "sentence1", "text_b": "sentence2", "label": "label"}


def _xnli_split(split: str) -> DataSplit:
    return DataSplit(
        hub=HubSource("facebook/xnli", "{lang}", split, _XNLI_FEATURES, _NLI_FIELDS, keep="gold"),
        local=_cls_tsv("xnli/{split}-{lang}.tsv", _NLI_IDX),
        embedded=f"xnli/{split}-{{lang}}.jsonl",
    )


def _pawsx_split(split: str) -> DataSplit:
    return DataSplit(
        hub=HubSource("google-research-datasets/paws-x", "{lang}", split, _PAWSX_FEATURES, _PAWSX_FIELDS, keep="gold"),
        local=_cls_tsv("pawsx/{split}-{lang}.tsv", {"0": 0, "1": 1}),
        embedded=f"pawsx/{split}-{{lang}}.jsonl",
        # The PAWS-X release's test_2k.tsv (header id, sentence1, sentence2, label), renamed per language: XTREME's
        # download strips the test labels, so these are the labelled test sets a local copy can hold.
        local_also=(_cls_tsv("pawsx/{split}-{lang}.labeled.tsv", {"0": 0, "1": 1}, header=True,
                             columns=("id", "text_a", "text_b", "label")),) if split == "test" else (),
    )


def _glue(config: str, split: str, features: dict[str, str], fields: dict[str, str], embedded: str) -> DataSplit:
    local_split = "train" if split == "train" else "dev"
    return DataSplit(
        hub=HubSource("nyu-mll/glue", config, split, features, fields, keep="gold"),
        local=_cls_tsv(f"{config}/{local_split}-en.tsv", None if config != "mnli" else _NLI_IDX),
        embedded=embedded,
    )


_QQP_FEATURES = {"question1": "string", "question2": "string", "label": "label:not_duplicate,duplicate", "idx": "int32"}
_SST2_FEATURES = {"sentence": "string", "label": "label:negative,positive", "idx": "int32"}
_ANLI_FEATURES = {"uid": "string", "premise": "string", "hypothesis": "string",
                  "label": "label:" + ",".join(NLI_LABELS), "reason": "string"}


def _anli(split: str) -> DataSplit:
    """``split`` may join rounds with "+" (``dev_r1+dev_r2+dev_r3``): datasets concatenates them, and the local layout
    reads ``anli/<round>.tsv`` of each in turn."""
    return DataSplit(hub=HubSource("facebook/anli", "plain_text", split, _ANLI_FEATURES, _NLI_FIELDS, keep="gold"),
                     local=_cls_tsv(f"anli/{split}.tsv", _NLI_IDX))


_SNLI_TRAIN = DataSplit(
    hub=HubSource("stanfordnlp/snli", "plain_text", "train", _XNLI_FEATURES, _NLI_FIELDS, keep="gold"),
    local=_cls_tsv("snli/train-en.tsv", _NLI_IDX),
)

# ---- XTREME target tasks: sentence(-pair) classification ------------------------------------------------------------
register(Task(
    name="xnli", task_type="classification", category="classification",
    description="XNLI: natural language inference in 15 languages; English training data = MNLI train",
    languages=languages.XNLI, main_metric="accuracy", label_names=NLI_LABELS,
    train=(_xnli_split("train"),), dev=_xnli_split("validation"),
    eval={"test": _xnli_split("test"), "validation": _xnli_split("validation")},
    submission="labels", train_size=392_702,  # MNLI train
))
register(Task(
    name="pawsx", task_type="classification", category="classification",
    description="PAWS-X: adversarial paraphrase identification in 7 languages",
    languages=languages.PAWSX, main_metric="accuracy", label_names=("0", "1"),
    train=(_pawsx_split("train"),), dev=_pawsx_split("validation"),
    eval={"test": _pawsx_split("test"), "validation": _pawsx_split("validation")},
    submission="labels", train_size=49_401,
))

# ---- English intermediate tasks: classification ---------------------------------------------------------------------
register(Task(
    name="mnli", task_type="classification", description="MultiNLI (GLUE): 3-way NLI, English",
    languages=("en",), main_metric="accuracy", label_names=NLI_LABELS,
    train=(_glue("mnli", "train", _GLUE_NLI_FEATURES, _NLI_FIELDS, "mnli/train-{lang}.jsonl"),),
    dev=_glue("mnli", "validation_matched", _GLUE_NLI_FEATURES, _NLI_FIELDS, "mnli/validation-{lang}.jsonl"),
    dev_examples=2000, train_size=392_702,
))
register(Task(
    name="qqp", task_type="classification", description="Quora Question Pairs (GLUE): duplicate detection, English",
    languages=("en",), main_metric="accuracy", label_names=("not_duplicate", "duplicate"),
    train=(_glue("qqp", "train", _QQP_FEATURES, {"text_a": "question1", "text_b": "question2", "label": "label"},
                 "qqp/train-{lang}.jsonl"),),
    dev=_glue("qqp", "validation", _QQP_FEATURES, {"text_a": "question1", "text_b": "question2", "label": "label"},
              "qqp/validation-{lang}.jsonl"),
    dev_examples=2000, train_size=363_846,
))
register(Task(
    name="sst2", task_type="classification", description="SST-2 (GLUE): binary sentiment of single sentences, English",
    languages=("en",), main_metric="accuracy", label_names=("negative", "positive"),
    train=(_glue("sst2", "train", _SST2_FEATURES, {"text_a": "sentence", "label": "label"},
                 "sst2/train-{lang}.jsonl"),),
    dev=_glue("sst2", "validation", _SST2_FEATURES, {"text_a": "sentence", "label": "label"},
              "sst2/validation-{lang}.jsonl"),
    train_size=67_349,
))
register(Task(
    name="anli_plus", task_type="classification",
    description="ANLI+: ANLI r1-r3 + SNLI + MNLI training with one shared 3-way NLI head (SNLI rows without gold "
                "label dropped); dev = ANLI r1-r3 dev",
    languages=("en",), main_metric="accuracy", label_names=NLI_LABELS,
    train=(_anli("train_r1"), _anli("train_r2"), _anli("train_r3"), _SNLI_TRAIN,
           _glue("mnli", "train", _GLUE_NLI_FEATURES, _NLI_FIELDS, "mnli/train-{lang}.jsonl")),
    # All 3,200 dev rows of the three rounds select the model (a cap of the first rows would leave round 3 out).
    dev=_anli("dev_r1+dev_r2+dev_r3"),
    train_size=1_104_934,  # ANLI r1-r3 (162,865) + SNLI (549,367 with a gold label) + MNLI (392,702)
))

# ---- English intermediate tasks: regression -------------------------------------------------------------------------
# STS-B (GLUE): a 0-5 similarity score per sentence pair, stored as float32 on the Hub. Its test split's labels are all
# -1 (no gold), and a regression label reader takes -1 for a real score, so the task names no test split: nothing is
# ever trained, selected or scored on it. Every train/validation row has a gold score (no keep="gold": a row without
# one is an error). No XTREME-folder layout: GLUE's own STS-B tsv has ten columns (genre, file, year, ids, ...) that
# the tsv reader's fixed columns do not describe; the Hub or the embedded data is read.
_STSB_FEATURES = {"sentence1": "string", "sentence2": "string", "label": "float32", "idx": "int32"}
_STSB_FIELDS = {"text_a": "sentence1", "text_b": "sentence2", "label": "label"}


def _stsb(split: str) -> DataSplit:
    return DataSplit(hub=HubSource("nyu-mll/glue", "stsb", split, _STSB_FEATURES, _STSB_FIELDS),
                     embedded=f"stsb/{split}-{{lang}}.jsonl")


register(Task(
    name="stsb", task_type="regression",
    description="STS-B (GLUE): semantic similarity of English sentence pairs, a score from 0 to 5; Pearson (Spearman "
                "beside it) x 100; dev = GLUE validation (the test split has no gold scores)",
    languages=("en",), main_metric="pearson", train=(_stsb("train"),), dev=_stsb("validation"), train_size=5_749,
))


# ---- XTREME-R's added languages of XTREME tasks, from other Hub datasets --------------------------------------------
# UD 2.7 treebanks of the five UD-POS languages XTREME-R adds (all treebanks of a language concatenated, as XTREME
# merges treebanks); `universal-dependencies/universal_dependencies` is script-only, so its parquet branch is read.
UD27_TREEBANKS = {
    "lt": ("lt_alksnis", "lt_hse"), "pl": ("pl_lfg", "pl_pdb", "pl_pud"),
    "ro": ("ro_nonstandard", "ro_rrt", "ro_simonero"),
    "uk": ("uk_iu",), "wo": ("wo_wtb",),
}
UD27_TEST_ONLY = {"pl_pud"}  # PUD treebanks hold a test split only
# The 18 `upos` names of universal_dependencies, in its ClassLabel order ("_" marks multiword-token lines).
UD_HUB_UPOS = ("NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN", "PRON", "X", "_",
               "ADV", "INTJ", "VERB", "AUX")
# Raw label (index or name) -> index in UPOS_LABELS; "_" -> -1, dropped with its token (keep="ud_tokens").
UD_UPOS_REMAP = {**{str(i): (UPOS_LABELS.index(n) if n != "_" else -1) for i, n in enumerate(UD_HUB_UPOS)},
                 **{n: (UPOS_LABELS.index(n) if n != "_" else -1) for n in UD_HUB_UPOS}}
_UD27_FEATURES = {"idx": "string", "text": "string", "tokens": "list:string", "lemmas": "list:string",
                  "upos": "list:label:" + ",".join(UD_HUB_UPOS), "xpos": "list:string", "feats": "list:string",
                  "head": "list:string", "deprel": "list:string", "deps": "list:string", "misc": "list:string"}


def _ud27(treebank: str, split: str) -> DataSplit:
    return DataSplit(hub=parquet_branch("universal-dependencies/universal_dependencies", treebank, split,
                                        _UD27_FEATURES, {"tokens": "tokens", "tags": "upos"},
                                        "universal_dependencies.py loading script", labels=UD_UPOS_REMAP,
                                        keep="ud_tokens"))


def _wikiann(split: str) -> DataSplit:
    features = {"tokens": "list:string", "ner_tags": "list:label:" + ",".join(PANX_LABELS), "langs": "list:string",
                "spans": "list:string"}
    return DataSplit(hub=HubSource("unimelb-nlp/wikiann", "{lang}", split, features,
                                   {"tokens": "tokens", "tags": "ner_tags"}))


_MTEB_TATOEBA = DataSplit(hub=HubSource("mteb/tatoeba-bitext-mining", "{iso3}-eng", "test",
                                        {"sentence1": "string", "sentence2": "string"},
                                        {"source": "sentence1", "target": "sentence2"}))


def _added_languages(xtreme: tuple[str, ...], xtreme_r: tuple[str, ...],
                     make: Callable[[str, str], tuple[DataSplit, ...]]) -> dict[str, dict[str, tuple[DataSplit, ...]]]:
    """``lang_sources`` of the languages XTREME-R adds to a task: split role -> language -> ``make(lang, role)``."""
    added = [lang for lang in xtreme_r if lang not in xtreme]
    return {role: {lang: make(lang, role) for lang in added} for role in ("test", "validation")}


# ---- Structured prediction: tagging -------------------------------------------------------------------------------
def _tag_split(task: str, hub_repo: str, hub_config: str, split: str, tag_column: str, labels: tuple[str, ...],
               extra: dict[str, str], embedded: str | None, absent_for: tuple[str, ...] = ()) -> DataSplit:
    features = {"tokens": "list:string", tag_column: "list:label:" + ",".join(labels), **extra}
    return DataSplit(
        hub=HubSource(hub_repo, hub_config, split, features, {"tokens": "tokens", "tags": tag_column},
                      absent_for=absent_for),
        local=LocalSource(path=f"{task}/{{split}}-{{lang}}.tsv", format="conll",
                          fields={"tokens": "tokens", "tags": "tags"}, labels={n: i for i, n in enumerate(labels)}),
        embedded=embedded,
    )


# UD-POS languages without a split in google/xtreme (UD 2.5 has no such treebank part): Kazakh has train and test
# only; Tagalog, Thai and Yoruba a test split only.
UDPOS_ABSENT = {"train": ("th", "tl", "yo"), "validation": ("kk", "th", "tl", "yo"), "test": ()}


def _udpos(split: str) -> DataSplit:
    return _tag_split("udpos", "google/xtreme", "udpos.{udpos_name}", split, "pos_tags", UPOS_LABELS, {},
                      None, absent_for=UDPOS_ABSENT[split])


def _panx(split: str) -> DataSplit:
    return _tag_split("panx", "google/xtreme", "PAN-X.{lang}", split, "ner_tags", PANX_LABELS,
                      {"langs": "list:string"}, f"panx/{split}-{{lang}}.jsonl")


register(Task(
    name="udpos", task_type="tagging", category="structured_prediction",
    description="UD-POS: universal POS tagging (UD 2.5, treebanks merged), 33 languages; F1 as the XTREME scorer "
                "computes it, token accuracy beside it",
    languages=languages.UDPOS, main_metric="f1", label_names=UPOS_LABELS,
    train=(_udpos("train"),), dev=_udpos("validation"),
    eval={"test": _udpos("test"), "validation": _udpos("validation")},
    languages_r=languages.UDPOS_R, lang_sources=_added_languages(
        languages.UDPOS, languages.UDPOS_R,
        lambda lang, role: tuple(_ud27(tb, role) for tb in UD27_TREEBANKS[lang]
                                 if role == "test" or tb not in UD27_TEST_ONLY)),
    options=TaggingOptions(token_accuracy=True), submission="tags",
    train_size=20_000,  # the merged English UD treebanks, roughly
))
register(Task(
    name="panx", task_type="tagging", category="structured_prediction",
    description="PAN-X (WikiANN): named entities PER/ORG/LOC in BIO tags, 40 languages; chunk F1",
    languages=languages.PANX, main_metric="f1", label_names=PANX_LABELS,
    train=(_panx("train"),), dev=_panx("validation"),
    eval={"test": _panx("test"), "validation": _panx("validation")},
    languages_r=languages.PANX_R,
    lang_sources=_added_languages(languages.PANX, languages.PANX_R, lambda lang, role: (_wikiann(role),)),
    submission="tags", submission_order=tuple(
        "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,"
        "it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu".split(",")),
    train_size=20_000,
))


# ---- Question answering --------------------------------------------------------------------------------------------
def _squad(split: str, repo: str = "rajpurkar/squad", config: str = "plain_text") -> DataSplit:
    local = "squad/train-v1.1.json" if split == "train" else "squad/dev-v1.1.json"
    return DataSplit(hub=HubSource(repo, config, split, SQUAD_FEATURES, QA_FIELDS),
                     local=LocalSource(local, "squad_json", fields=QA_FIELDS),
                     embedded=f"squad/{split}-{{lang}}.jsonl")


def _xquad() -> DataSplit:
    return DataSplit(hub=HubSource("google/xquad", "xquad.{lang}", "validation", XQUAD_FEATURES, QA_FIELDS),
                     local=LocalSource("xquad/xquad.{lang}.json", "squad_json", fields=QA_FIELDS),
                     embedded="xquad/test-{lang}.jsonl")


def _mlqa(split: str) -> DataSplit:
    return DataSplit(hub=HubSource("google/xtreme", "MLQA.{lang}.{lang}", split, SQUAD_FEATURES, QA_FIELDS),
                     local=LocalSource("mlqa/{split}/{split}-context-{lang}-question-{lang}.json",
                                       "squad_json", fields=QA_FIELDS))


def _tydiqa(split: str) -> DataSplit:
    local = "tydiqa/tydiqa.goldp.{lang}.train.json" if split == "train" else "tydiqa/tydiqa.goldp.{lang}.dev.json"
    return DataSplit(hub=HubSource("google-research-datasets/tydiqa", "secondary_task", split, SQUAD_FEATURES,
                                   QA_FIELDS, keep="tydiqa_lang"),
                     local=LocalSource(local, "squad_json", fields=QA_FIELDS))


register(Task(
    name="xquad", task_type="span_qa", category="question_answering",
    description="XQuAD: extractive QA, 11 languages (the validation split is the reported test set); English "
                "training data = SQuAD v1.1; SQuAD v1.1 EM/F1",
    languages=languages.XQUAD, main_metric="exact_match+f1",
    train=(_squad("train"),), dev=_squad("validation"), eval={"test": _xquad(), "validation": _xquad()},
    dev_examples=2000,
    languages_r=languages.XQUAD_R,  # ro: the same google/xquad config pattern
    submission="answers", submission_order=tuple("en,es,de,el,ru,tr,ar,vi,th,zh,hi".split(",")),
    train_size=87_599,  # SQuAD v1.1 train
))
register(Task(
    name="mlqa", task_type="span_qa", category="question_answering",
    description="MLQA: extractive QA, matched context/question languages xx.xx, 7 languages, test; English training "
                "data = SQuAD v1.1; language-aware MLQA EM/F1",
    languages=languages.MLQA, main_metric="exact_match+f1", options=SpanQaOptions(eval_metric="mlqa"),
    train=(_squad("train"),), dev=_squad("validation"), eval={"test": _mlqa("test"), "validation": _mlqa("validation")},
    dev_examples=2000,
    submission="answers", submission_order=tuple("en,es,de,ar,hi,vi,zh".split(",")), train_size=87_599,
))
register(Task(
    name="tydiqa", task_type="span_qa", category="question_answering",
    description="TyDiQA-GoldP: extractive QA, 9 languages (validation = the reported set, language from the id "
                "prefix); trained on the English rows of GoldP train only; SQuAD v1.1 EM/F1; selection on SQuAD dev",
    languages=languages.TYDIQA, main_metric="exact_match+f1",
    train=(_tydiqa("train"),), dev=_squad("validation"),
    eval={"test": _tydiqa("validation"), "validation": _tydiqa("validation")}, dev_examples=2000,
    submission="answers", submission_order=tuple("en,ar,bn,fi,id,ko,ru,sw,te".split(",")),
    train_size=3_696,  # the English rows of GoldP train
))
register(Task(
    name="squad", task_type="span_qa", description="SQuAD v1.1: English extractive QA (intermediate task)",
    languages=("en",), main_metric="exact_match+f1",
    train=(_squad("train"),), dev=_squad("validation"), dev_examples=2000, train_size=87_599,
))


def _squad_v2(split: str) -> DataSplit:
    local = "squad/train-v2.0.json" if split == "train" else "squad/dev-v2.0.json"
    return DataSplit(hub=HubSource("rajpurkar/squad_v2", "squad_v2", split, SQUAD_FEATURES, QA_FIELDS),
                     local=LocalSource(local, "squad_json", fields=QA_FIELDS))


register(Task(
    name="squad_v2", task_type="span_qa",
    description="SQuAD v2.0: English extractive QA with unanswerable questions (empty answers; intermediate task); "
                "no-answer = the CLS score beating the best span by more than a threshold chosen on dev; EM/F1 with "
                "'' as the gold of unanswerable questions",
    languages=("en",), main_metric="exact_match+f1",
    train=(_squad_v2("train"),), dev=_squad_v2("validation"), dev_examples=2000,
    options=SpanQaOptions(null_answers=True),
    train_size=130_319,
))


# ---- CCG supertagging (CCGbank AUTO files; licensed, local only) ---------------------------------------------------
def _ccgbank(sections: str) -> DataSplit:
    return DataSplit(local=LocalSource(sections, "ccg_auto", fields={"tokens": "tokens", "tags": "tags"}))


register(Task(
    name="ccg", task_type="tagging",
    description="CCG supertagging on CCGbank (LDC2005T13, licensed: local AUTO files only, data.path = its data/AUTO "
                "folder whatever data.source); train = sections 02-21, dev = 00; tag vocabulary built from train, "
                "tags seen < 10 times mapped to one catch-all label; token accuracy",
    languages=("en",), main_metric="accuracy", train=(_ccgbank("02-21"),), dev=_ccgbank("00"),
    labels_from_train=True, train_size=39_604,  # sentences of sections 02-21
))


# ---- Continued masked-LM as a phase-2 pseudo-task (the paper's alternative (i)); its text is set by the recipe's mlm
# block (local files or a Hub text dataset), see xstilts.tasktypes.mlm
register(Task(
    name="mlm", task_type="mlm",
    description="continued (multilingual) masked-LM during intermediate training: text lines from mlm.files or a Hub "
                "text dataset (mlm.dataset/mlm.configs), drawn for mlm.weight of the steps; dev = masked-token "
                "accuracy on held-out lines",
    languages=(), main_metric="accuracy",
))


# ---- Multiple choice -------------------------------------------------------------------------------------------------
_COPA_FIELDS = {"context": "premise", "question": "question", "choices": "choice1|choice2", "label": "label"}
_XCOPA_FEATURES = {"premise": "string", "choice1": "string", "choice2": "string", "question": "string",
                   "label": "int32", "idx": "int32", "changed": "bool"}
_COPA_FEATURES = {"premise": "string", "choice1": "string", "choice2": "string", "question": "string",
                  "idx": "int32", "label": "label:choice1,choice2"}


def _copa(split: str) -> DataSplit:
    local = "xcopa/copa-en/train-en.jsonl" if split == "train" else "xcopa/copa-en/val-en.jsonl"
    return DataSplit(hub=parquet_branch("aps/super_glue", "copa", split, _COPA_FEATURES, _COPA_FIELDS,
                                        "super_glue.py loading script", keep="gold"),
                     local=LocalSource(local, "jsonl", fields=_COPA_FIELDS),
                     embedded=f"copa/{split}-{{lang}}.jsonl")


def _xcopa(split: str) -> DataSplit:
    local_split = "test" if split == "test" else "val"
    return DataSplit(hub=HubSource("cambridgeltl/xcopa", "{lang}", split, _XCOPA_FEATURES, _COPA_FIELDS),
                     local=LocalSource(f"xcopa/data/{{lang}}/{local_split}.{{lang}}.jsonl", "jsonl",
                                       fields=_COPA_FIELDS),
                     embedded=f"xcopa/{split}-{{lang}}.jsonl")


_SIQA_FEATURES = {"context": "string", "question": "string", "answerA": "string", "answerB": "string",
                  "answerC": "string", "label": "string"}
_SIQA_FIELDS = {"context": "context", "question": "question", "choices": "answerA|answerB|answerC", "label": "label"}


def _siqa(split: str) -> DataSplit:
    local = {"train": "siqa/socialIQa_v1.4_trn.jsonl", "validation": "siqa/socialIQa_v1.4_dev.jsonl"}[split]
    return DataSplit(
        hub=parquet_branch("allenai/social_i_qa", "default", split, _SIQA_FEATURES, _SIQA_FIELDS,
                           "social_i_qa.py loading script", labels={"1": 0, "2": 1, "3": 2}),
        local=LocalSource(local, "jsonl", fields={**_SIQA_FIELDS, "label": "correct"},
                          labels={"A": 0, "B": 1, "C": 2}),
        embedded=f"siqa/{split}-{{lang}}.jsonl")


_HELLASWAG_FEATURES = {"ind": "int32", "activity_label": "string", "ctx_a": "string", "ctx_b": "string",
                       "ctx": "string", "endings": "list:string", "source_id": "string", "split": "string",
                       "split_type": "string", "label": "string"}
_CSQA_FEATURES = {"id": "string", "question": "string", "question_concept": "string", "choices": "choices",
                  "answerKey": "string"}
_COSMOS_FEATURES = {"id": "string", "context": "string", "question": "string", "answer0": "string",
                    "answer1": "string", "answer2": "string", "answer3": "string", "label": "int32"}


def _mc_hub(repo: str, config: str | None, split: str, features: dict[str, str], fields: dict[str, str],
            labels: dict[str, int] | None = None, script: str | None = None) -> DataSplit:
    """``script``: the loading script main holds instead of data files; the parquet conversion (config ``default``,
    the only one these repos have) is read then."""
    if script:
        return DataSplit(hub=parquet_branch(repo, "default", split, features, fields, f"{script} loading script",
                                            labels=labels, keep="gold"))
    return DataSplit(hub=HubSource(repo, config, split, features, fields, labels=labels, keep="gold"))


_HELLASWAG_FIELDS = {"context": "ctx", "choices": "endings", "label": "label"}
_CSQA_FIELDS = {"context": "question", "choices": "choices.text", "label": "answerKey"}
_COSMOS_FIELDS = {"context": "context", "question": "question", "choices": "answer0|answer1|answer2|answer3",
                  "label": "label"}
_LETTERS = {c: i for i, c in enumerate("ABCDE")}

register(Task(
    name="xcopa", task_type="multiple_choice", category="classification",
    description="XCOPA: causal commonsense reasoning, 11 languages; English training = COPA (after SIQA as phase 2 "
                "in XTREME-R); selection on COPA validation",
    languages=languages.XCOPA, main_metric="accuracy", options=ChoiceOptions(2),
    train=(_copa("train"),), dev=_copa("validation"),
    eval={"test": _xcopa("test"), "validation": _xcopa("validation")},
    submission="choices", train_size=400,
))
register(Task(name="copa", task_type="multiple_choice", description="COPA (SuperGLUE): English causal reasoning",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(2), train=(_copa("train"),),
              dev=_copa("validation"), train_size=400))
register(Task(name="siqa", task_type="multiple_choice", description="SocialIQa: English social commonsense, 3 choices",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(3), train=(_siqa("train"),),
              dev=_siqa("validation"), train_size=33_410))
_HELLASWAG_LABELS = {str(i): i for i in range(4)}
register(Task(name="hellaswag", task_type="multiple_choice", description="HellaSwag: sentence completion, 4 endings",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(4),
              train=(_mc_hub("Rowan/hellaswag", None, "train", _HELLASWAG_FEATURES, _HELLASWAG_FIELDS,
                             _HELLASWAG_LABELS, script="hellaswag.py"),),
              dev=_mc_hub("Rowan/hellaswag", None, "validation", _HELLASWAG_FEATURES, _HELLASWAG_FIELDS,
                          _HELLASWAG_LABELS, script="hellaswag.py"), dev_examples=2000, train_size=39_905))
register(Task(name="commonsenseqa", task_type="multiple_choice", description="CommonsenseQA: 5-choice commonsense QA",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(5),
              train=(_mc_hub("tau/commonsense_qa", None, "train", _CSQA_FEATURES, _CSQA_FIELDS, _LETTERS),),
              dev=_mc_hub("tau/commonsense_qa", None, "validation", _CSQA_FEATURES, _CSQA_FIELDS, _LETTERS),
              train_size=9_741))
register(Task(name="cosmosqa", task_type="multiple_choice", description="Cosmos QA: reading comprehension, 4 choices",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(4),
              train=(_mc_hub("allenai/cosmos_qa", None, "train", _COSMOS_FEATURES, _COSMOS_FIELDS,
                             script="cosmos_qa.py"),),
              dev=_mc_hub("allenai/cosmos_qa", None, "validation", _COSMOS_FEATURES, _COSMOS_FIELDS,
                          script="cosmos_qa.py"),
              dev_examples=2000, train_size=25_262))


# ---- Retrieval without training (evaluated on phase-1/2/3 encoders) ------------------------------------------------
_TATOEBA_FEATURES = {"source_sentence": "string", "target_sentence": "string", "source_lang": "string",
                     "target_lang": "string"}
_TATOEBA = DataSplit(
    hub=HubSource("google/xtreme", "tatoeba.{iso3}", "validation", _TATOEBA_FEATURES,
                  {"source": "source_sentence", "target": "target_sentence"}),
    local=LocalSource("tatoeba/tatoeba.{iso3}-eng.{iso3}", "tatoeba", fields={"source": "source", "target": "target"}),
    embedded="tatoeba/test-{iso3}.jsonl",
)
register(Task(
    name="tatoeba", task_type="retrieval", category="retrieval",
    description="Tatoeba: xx->en sentence retrieval, 36 languages, 1,000 pairs each (no training): the English "
                "side queries the non-English sentences by cosine similarity, top-1 accuracy",
    languages=languages.TATOEBA, main_metric="accuracy",
    eval={"test": _TATOEBA, "validation": _TATOEBA},
    languages_r=languages.TATOEBA_R,
    lang_sources=_added_languages(languages.TATOEBA, languages.TATOEBA_R, lambda lang, role: (_MTEB_TATOEBA,)),
    submission="labels", submission_order=tuple(
        "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,"
        "pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu".split(",")),
))
register(Task(
    name="bucc2018", task_type="retrieval", category="retrieval",
    description="BUCC 2018: parallel sentence mining xx-en (de fr ru zh) from the original corpora, ratio-margin "
                "mining, threshold tuned on the sample split and applied to the training split (the reported set)",
    languages=languages.BUCC, main_metric="f1", options=RetrievalOptions(mined=True),
    eval={"test": DataSplit(), "validation": DataSplit()},
    submission="pairs",
))


# ---- XTREME-R: the dual-encoder retrieval tasks ---------------------------------------------------------------------
# Mewsli-X (community copy izhx/mewsli-x; nested fields [inferred], checked field by field, see
# xstilts.dual_encoder_rows).
_MEWSLIX_PAIR_FEATURES = {"contextual_mention": "mewslix:contextual_mention", "entity": "mewslix:entity"}
_MEWSLIX_PAIR_FIELDS = {"contextual_mention": "contextual_mention", "entity": "entity"}


def _mewslix_pairs(split: str) -> DataSplit:
    return DataSplit(hub=HubSource("izhx/mewsli-x", "wikipedia_pairs", split, _MEWSLIX_PAIR_FEATURES,
                                   _MEWSLIX_PAIR_FIELDS))


_MEWSLIX_MENTIONS = DataSplit(hub=HubSource("izhx/mewsli-x", "{lang}", "test",
                                            {"context": "mewslix:context", "mentions": "mewslix:mentions"},
                                            {"context": "context", "mentions": "mentions"}))
_MEWSLIX_MENTIONS_DEV = DataSplit(hub=dataclasses.replace(_MEWSLIX_MENTIONS.hub, split="validation"))
_MEWSLIX_CANDIDATES = DataSplit(hub=parquet_branch(
    "izhx/mewsli-x", "candidate_entities", "train",
    {"entity_id": "string", "title": "string", "description": "string", "sentence_spans": "mewslix:spans"},
    {"entity_id": "entity_id", "title": "title", "description": "description", "sentence_spans": "sentence_spans"},
    # [inferred] the entity archive has no config on main; the conversion lists it as candidate_entities
    "candidate_entities.jsonl.tar.gz archive"))

register(Task(
    name="mewslix", task_type="dual_encoder", category="retrieval",
    description="Mewsli-X: entity retrieval for news mentions in 11 languages; a dual encoder trained on English "
                "Wikipedia mention-entity pairs ranks the candidate entity descriptions; metric 'map@20' (= MRR@20, "
                "one gold entity per mention) per language, macro-averaged",
    languages=languages.MEWSLIX, main_metric="map@20",
    train=(_mewslix_pairs("train"),), dev=_mewslix_pairs("validation"),
    eval={"test": _MEWSLIX_MENTIONS, "validation": _MEWSLIX_MENTIONS_DEV}, candidates=_MEWSLIX_CANDIDATES,
    dev_examples=2000, submission="rankings",
))
_XQUAD_R = DataSplit(hub=HubSource("google-research-datasets/xquad_r", "{lang}", "validation", XQUAD_FEATURES,
                                   QA_FIELDS))
register(Task(
    name="lareqa", task_type="dual_encoder", category="retrieval",
    description="LAReQA: language-agnostic answer-sentence retrieval over the pooled XQuAD-R candidates of 11 "
                "languages; a dual encoder trained on SQuAD v1.1 (question -> answer sentence); mAP@20 over all "
                "questions (micro)",
    languages=languages.LAREQA, main_metric="map@20",
    train=(_squad("train"),), dev=_squad("validation"), eval={"test": _XQUAD_R, "validation": _XQUAD_R},
    dev_examples=2000,
))


# ---- Beyond XTREME: benchmarks researchers bring today (own benchmark group "beyond_xtreme") -------------------------
# Language codes are the datasets' own config names: FLORES-200 variants (eng_Latn) for SIB-200 and Belebele, ISO 639-3
# for MasakhaNER 2.0 (xstilts.languages).

# SIB-200 (Adelani et al. 2024): topic classification of FLORES-200 sentences; category stored as a string. Label order
# as lm-evaluation-harness and MTEB list the 7 topics.
SIB200_LABELS = ("science/technology", "travel", "politics", "sports", "health", "entertainment", "geography")
_SIB200_FEATURES = {"index_id": "int64", "category": "string", "text": "string"}


def _sib200(split: str) -> DataSplit:
    return DataSplit(hub=HubSource("Davlan/sib200", "{lang}", split, _SIB200_FEATURES,
                                   {"text_a": "text", "label": "category"},
                                   labels={name: i for i, name in enumerate(SIB200_LABELS)}))


register(Task(
    name="sib200", task_type="classification", category="classification",
    description="SIB-200: topic classification of FLORES-200 sentences (7 topics), 205 language variants; English "
                "training and dev data = eng_Latn train (701) / validation (99); test per language; accuracy",
    languages=languages.SIB200, main_metric="accuracy", label_names=SIB200_LABELS, train_language="eng_Latn",
    train=(_sib200("train"),), dev=_sib200("validation"),
    eval={"test": _sib200("test"), "validation": _sib200("validation")}, train_size=701,
))

# RACE (Lai et al. 2017): English exam reading comprehension, 4 options, answer a letter; parquet on main.
_RACE_FEATURES = {"example_id": "string", "article": "string", "answer": "string", "question": "string",
                  "options": "list:string"}
_RACE_FIELDS = {"context": "article", "question": "question", "choices": "options", "label": "answer"}


def _race(split: str) -> DataSplit:
    return DataSplit(hub=HubSource("ehovy/race", "all", split, _RACE_FEATURES, _RACE_FIELDS,
                                   labels={c: i for i, c in enumerate("ABCD")}))


register(Task(name="race", task_type="multiple_choice",
              description="RACE: English exam reading comprehension (middle and high school), 4 options",
              languages=("en",), main_metric="accuracy", options=ChoiceOptions(4), train=(_race("train"),),
              dev=_race("validation"), dev_examples=2000, train_size=87_866))

# Belebele (Bandarkar et al. 2024): 4-way multiple-choice reading comprehension on FLORES-200 passages, 900 questions in
# each of 122 variants; one config per variant with a single "test" split; correct_answer_num is 1-based, a string.
# No training split: the task trains on RACE (English exam reading comprehension), the largest part of the English
# training mix the Belebele paper assembled for its fine-tuned encoders.
_BELEBELE_FEATURES = {"link": "string", "question_number": "int64", "flores_passage": "string", "question": "string",
                      "mc_answer1": "string", "mc_answer2": "string", "mc_answer3": "string", "mc_answer4": "string",
                      "correct_answer_num": "string", "dialect": "string"}
_BELEBELE = DataSplit(hub=HubSource(
    "facebook/belebele", "{lang}", "test", _BELEBELE_FEATURES,
    {"context": "flores_passage", "question": "question", "choices": "mc_answer1|mc_answer2|mc_answer3|mc_answer4",
     "label": "correct_answer_num"}, labels={str(i + 1): i for i in range(4)}))
register(Task(
    name="belebele", task_type="multiple_choice", category="question_answering",
    description="Belebele: 4-way multiple-choice reading comprehension on FLORES-200 passages, 122 language variants "
                "(900 questions each, test only); no training split of its own: English training and dev data = "
                "RACE (ehovy/race all train / validation); accuracy",
    languages=languages.BELEBELE, main_metric="accuracy", options=ChoiceOptions(4),
    train=(_race("train"),), dev=_race("validation"), eval={"test": _BELEBELE}, dev_examples=2000,
    train_size=87_866,
))

# MasakhaNER 2.0 (Adelani et al. 2022): NER in 20 African languages, PER/ORG/LOC/DATE in BIO tags. Its main branch
# holds only the loading script, so the Hub's parquet conversion is read. No English split: the task trains on PAN-X
# English (PER/ORG/LOC), whose 7 tags are the first 7 of this label set in the same order, so DATE is never seen in
# training and every gold DATE entity counts as missed (the zero-shot-from-English setting, a lower bound).
MASAKHANER_LABELS = PANX_LABELS + ("B-DATE", "I-DATE")
_MASAKHANER_FEATURES = {"id": "string", "tokens": "list:string",
                        "ner_tags": "list:label:" + ",".join(MASAKHANER_LABELS)}


def _masakhaner(split: str) -> DataSplit:
    return DataSplit(hub=parquet_branch("masakhane/masakhaner2", "{lang}", split, _MASAKHANER_FEATURES,
                                        {"tokens": "tokens", "tags": "ner_tags"}, "masakhaner2.py loading script"))


register(Task(
    name="masakhaner", task_type="tagging", category="structured_prediction",
    description="MasakhaNER 2.0: named entities PER/ORG/LOC/DATE in BIO tags, 20 African languages (the Hub's parquet "
                "conversion); English training and dev data = PAN-X en (no DATE tags: DATE entities are never "
                "trained, so they count as missed); chunk F1",
    languages=languages.MASAKHANER, main_metric="f1", label_names=MASAKHANER_LABELS,
    train=(_panx("train"),), dev=_panx("validation"),
    eval={"test": _masakhaner("test"), "validation": _masakhaner("validation")}, train_size=20_000,
))
BENCHMARK_TASKS["beyond_xtreme"] = ("sib200", "belebele", "masakhaner")
