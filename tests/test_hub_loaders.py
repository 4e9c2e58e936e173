"""The Hub loading path, offline: in-memory datasets with the exact registry features go through the real code
(schema check, column mapping, label handling, row filters); folders laid out like the Hub's repos and parquet
branches go through the real ``datasets.load_dataset``; the XTREME-folder reader on real files is opt-in."""
from __future__ import annotations

import dataclasses

import datasets
import pytest
from fakehub import FakeHub, LocalHub, make_dataset

from xstilts import data
from xstilts.config import DataConfig, EvalRecipe
from xstilts.errors import SplitAbsent
from xstilts.evaluation import load_eval_rows
from xstilts.tasks import PARQUET_BRANCH, TASKS, get_task

KIND_FIELDS = {
    "classification": {"text_a", "text_b", "label"},
    "regression": {"text_a", "text_b", "label"},
    "multiple_choice": {"context", "question", "choices", "label"},
    "span_qa": {"id", "context", "question", "answers"},
    "tagging": {"tokens", "tags"},
    "retrieval": {"source", "target"},
    "dual_encoder": {"query_id", "query", "candidate_id", "candidate", "context"},
}


@pytest.fixture
def fake_hub(monkeypatch):
    hub = FakeHub(n=30)
    monkeypatch.setattr(data, "hub_loader", hub)
    return hub


def _all_hub_splits():
    for task in TASKS.values():
        named = [("train", s) for s in task.train] + ([("validation", task.dev)] if task.dev else [])
        named += [(name, s) for name, s in task.eval.items()]
        for role, split in named:
            if split.hub is not None:
                yield pytest.param(task.name, role, split, id=f"{task.name}-{role}-{split.hub.repo}-{split.hub.split}")


@pytest.mark.parametrize("task_name,role,split", list(_all_hub_splits()))
def test_every_hub_split_loads_into_canonical_rows(fake_hub, task_name, role, split):
    task = get_task(task_name)
    lang = task.languages[0] if role != "train" else task.train_language
    if split.hub.keep == "tydiqa_lang":
        # TyDiQA rows carry their language in the id; give the fake rows real ids.
        ds = make_dataset(split.hub, 30)
        ds = ds.map(lambda r, i: {"id": f"{'english' if i % 2 else 'arabic'}-{i}-0"}, with_indices=True)
        fake_hub.overrides[(split.hub.repo, split.hub.config, split.hub.split)] = ds
        lang = "en"
    rows = data.load_split(task, split, "hub", lang, role)
    assert rows, "no rows"
    assert set(rows[0]) == KIND_FIELDS[task.task_type]
    repo, config, hub_split, revision, data_dir = fake_hub.calls[-1]
    assert (repo, hub_split, revision, data_dir) == (split.hub.repo, split.hub.split, split.hub.revision,
                                                     data.hub_where(split.hub, lang)[1])  # template filled
    assert "{" not in (config or ""), "config template was filled"
    if task.task_type in ("classification", "multiple_choice"):
        n = len(task.label_names) or task.options.num_choices
        assert all(0 <= r["label"] < n for r in rows)
    if task.task_type == "multiple_choice":
        assert all(len(r["choices"]) == task.options.num_choices for r in rows)
    if task.task_type == "tagging":
        assert all(len(r["tokens"]) == len(r["tags"]) for r in rows)
    if task.task_type == "span_qa":
        r = rows[0]
        start = r["answers"]["answer_start"][0]
        assert r["context"][start:start + len(r["answers"]["text"][0])] == r["answers"]["text"][0]


def test_config_templates_use_hub_names(fake_hub):
    data.load_split(get_task("udpos"), get_task("udpos").eval["test"], "hub", "de", "test")
    assert fake_hub.calls[-1][:3] == ("google/xtreme", "udpos.German", "test")
    data.load_split(get_task("mlqa"), get_task("mlqa").eval["test"], "hub", "zh", "test")
    assert fake_hub.calls[-1][:3] == ("google/xtreme", "MLQA.zh.zh", "test")
    data.load_split(get_task("xnli"), get_task("xnli").eval["test"], "hub", "sw", "test")
    assert fake_hub.calls[-1][:3] == ("facebook/xnli", "sw", "test")


def test_rows_without_gold_label_are_dropped(monkeypatch):
    task = get_task("anli_plus")
    snli = task.train[3]
    ds = datasets.Dataset.from_list(
        [{"premise": "p", "hypothesis": "h", "label": lab} for lab in (0, -1, 2, -1, 1)],
        features=data.hub_features(snli.hub))
    monkeypatch.setattr(data, "hub_loader", lambda *a: ds)
    rows = data.load_split(task, snli, "hub", "en", "train")
    assert [r["label"] for r in rows] == [0, 2, 1]


def test_schema_mismatch_names_dataset_expected_and_found(monkeypatch):
    task = get_task("xnli")
    wrong = datasets.Dataset.from_dict({"sentence1": ["a"], "sentence2": ["b"], "gold_label": ["neutral"]})
    monkeypatch.setattr(data, "hub_loader", lambda *a: wrong)
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["test"], "hub", "de", "test")
    msg = str(err.value)
    assert "dataset facebook/xnli (config de, split test)" in msg
    assert "missing column 'premise'" in msg
    assert ("Expected columns {premise: string, hypothesis: string, "
            "label: ClassLabel(entailment,neutral,contradiction)}") in msg
    assert "found {sentence1: string, sentence2: string, gold_label: string}" in msg


def test_hub_failure_is_a_clear_error(monkeypatch):
    def offline(*a):
        raise ConnectionError("no network")

    monkeypatch.setattr(data, "hub_loader", offline)
    task = get_task("pawsx")
    with pytest.raises(data.DataError,
                       match="could not load dataset google-research-datasets/paws-x.*data.source=xtreme"):
        data.load_split(task, task.eval["test"], "hub", "de", "test")


def test_string_labels_are_mapped(monkeypatch):
    task = get_task("siqa")
    split = task.train[0]
    ds = datasets.Dataset.from_list([{"context": "c", "question": "q", "answerA": "a", "answerB": "b",
                                      "answerC": "c", "label": lab} for lab in ("1", "3", "2")],
                                    features=data.hub_features(split.hub))
    monkeypatch.setattr(data, "hub_loader", lambda *a: ds)
    assert [r["label"] for r in data.load_split(task, split, "hub", "en", "train")] == [0, 2, 1]


def test_xtreme_folder_layout(tmp_path):
    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli" / "dev-de.tsv").write_text("Ein Satz.\tNoch einer.\tneutral\nA\tB\tcontradiction\n")
    task = get_task("xnli")
    rows = data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path))
    assert rows == [{"text_a": "Ein Satz.", "text_b": "Noch einer.", "label": 1},
                    {"text_a": "A", "text_b": "B", "label": 2}]  # the first line is data, not a header
    with pytest.raises(data.DataError, match="dev-fr.tsv not found"):
        data.load_split(task, task.eval["validation"], "xtreme", "fr", "validation", str(tmp_path))
    (tmp_path / "xnli" / "dev-es.tsv").write_text("only two\tcolumns\n")
    with pytest.raises(data.DataError, match="dev-es.tsv:1: expected 3 tab-separated columns"):
        data.load_split(task, task.eval["validation"], "xtreme", "es", "validation", str(tmp_path))


# ---- the real datasets.load_dataset on folders laid out like the Hub's repos and parquet branches -------------------
@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(data, "hub_path", hub.path)
    monkeypatch.setattr(data, "hub_loader", data.default_hub_loader)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    return hub


def _registry_splits():
    """(task, role, split, language) of every Hub split the registry reads, each (repo, folder, split) once."""
    seen = set()
    for task in TASKS.values():
        named = [("train", s, task.train_language) for s in task.train]
        named += [("validation", task.dev, task.train_language)] if task.dev else []
        named += [(role, s, task.languages[0]) for role, s in task.eval.items()]
        named += [(role, s, lang) for role, by_lang in task.lang_sources.items() for lang, group in by_lang.items()
                  for s in group]
        named += [("test", task.candidates, task.languages[0])] if task.candidates else []
        for role, split, lang in named:
            if split.hub is None:
                continue
            key = (split.hub.repo, data.hub_where(split.hub, lang)[:2], split.hub.split)
            if key not in seen:
                seen.add(key)
                yield task, role, split, lang


# One split of each config folder the registry reads from a parquet branch (the rule is per folder, not per split).
PARQUET_SPLITS = list({(split.hub.repo, split.hub.data_dir): pytest.param(
    t.name, role, split, lang, id=f"{split.hub.repo}-{split.hub.data_dir}-{split.hub.split}")
    for t, role, split, lang in _registry_splits() if split.hub.parquet_branch}.values())


def test_the_registry_never_names_a_config_on_the_parquet_branch():
    assert len(PARQUET_SPLITS) >= 14  # COPA, SIQA, HellaSwag, Cosmos QA, the UD 2.7 treebanks, Mewsli-X entities
    with pytest.raises(ValueError, match="config must be None"):
        data.HubSource("aps/super_glue", "copa", "train", {}, {}, revision=PARQUET_BRANCH, data_dir="copa",
                       converted_from="a script")


@pytest.mark.parametrize("task_name,role,split,lang", PARQUET_SPLITS)
def test_every_parquet_branch_source_loads_through_datasets(local_hub, task_name, role, split, lang):
    """The branch holds ``<config>/<split>/0000.parquet`` and no README: ``datasets`` knows no config name there, and
    the registry's load (config as data_dir) reads the config's folder, not its neighbours'."""
    task = get_task(task_name)
    group = task.lang_sources.get(role, {}).get(lang, (split,))  # an XTREME-R language: all its treebanks
    for part in group:
        local_hub.add(part.hub, lang, n=5)
    other = dataclasses.replace(split.hub, data_dir="another_config")
    local_hub.add(other, lang, n=3)  # a neighbouring config on the same branch, which must not be merged in
    rows = data.load_split(task, split, "hub", lang, role)
    assert rows and set(rows[0]) == KIND_FIELDS[task.task_type]
    if split.hub.keep != "ud_tokens":  # (a UD sentence of "_" tokens only would be dropped)
        assert len(rows) == 5 * len(group)
    # The way the registry used to load it fails: a config name other than "default" on the branch.
    folder = data.hub_where(split.hub, lang)[1]  # a "{lang}" template filled (MasakhaNER: one folder per language)
    if folder == "default":
        return
    path, _, kwargs = data.hub_load_args(split.hub.repo, folder, split.hub.split, split.hub.revision, folder)
    with pytest.raises(ValueError, match="BuilderConfig .* not found. Available: \\['default'\\]"):
        datasets.load_dataset(path, folder, **kwargs)


def test_a_named_config_on_main_loads_through_datasets(local_hub):
    task = get_task("xnli")
    local_hub.add(task.eval["test"].hub, "de", n=4)
    local_hub.add(task.eval["test"].hub, "fr", n=7)
    assert len(data.load_split(task, task.eval["test"], "hub", "fr", "test")) == 7


def test_a_split_a_language_lacks_is_absent_not_an_error(local_hub):
    """UD-POS has no validation split for kk, tl, th, yo: the registry says so (no download), and a split the Hub lacks
    that the registry does not know of is recognised from datasets' answer."""
    task = get_task("udpos")
    split = task.eval["validation"]
    for lang in ("kk", "tl", "th", "yo"):
        with pytest.raises(SplitAbsent, match=f"no validation split for {lang}"):
            data.load_split(task, split, "hub", lang, "validation")
    unknown = dataclasses.replace(split, hub=dataclasses.replace(split.hub, absent_for=()))
    local_hub.add(task.eval["test"].hub, "kk", n=3)
    local_hub.add(task.train[0].hub, "kk", n=3, split="train")
    absent = r"split validation\) does not exist \(its splits: (train, test|test, train)\)"
    with pytest.raises(SplitAbsent, match=absent):
        data.load_split(task, unknown, "hub", "kk", "validation")


def test_an_evaluation_marks_an_absent_split_missing_and_goes_on(local_hub, capsys):
    task = get_task("udpos")
    local_hub.add(task.eval["validation"].hub, "de", n=4)
    cfg = EvalRecipe(input="in", output="out", task="udpos", split="validation", data=DataConfig(source="hub"))
    for explicit in (False, True):
        rows, missing, notes = load_eval_rows(task, cfg, ["de", "kk", "th"], explicit, None)
        assert list(rows) == ["de"] and missing == ["kk", "th"]
        assert "no validation split for kk" in notes["kk"][0] and "no validation split for th" in notes["th"][0]
        skipped = [line for line in capsys.readouterr().out.splitlines() if "kk" in line or " th" in line]
        assert len(skipped) == 1 and "skipped kk th" in skipped[0], skipped  # one line, each language named once


def test_other_label_names_or_order_are_refused_in_one_line(local_hub):
    task = get_task("xnli")
    hub = task.eval["test"].hub
    swapped = dataclasses.replace(hub, features={**hub.features, "label": "label:contradiction,neutral,entailment"})
    local_hub.add(hub, "de", ds=make_dataset(swapped, 4))
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["test"], "hub", "de", "test")
    msg = str(err.value)
    assert "\n" not in msg
    assert ("column 'label' has the labels [contradiction, neutral, entailment] in this order, the registry expects "
            "[entailment, neutral, contradiction]") in msg
    tags = get_task("panx").eval["test"].hub
    other = dataclasses.replace(tags, features={**tags.features, "ner_tags": "list:label:O,B-LOC,I-LOC,B-PER,I-PER,"
                                                                             "B-ORG,I-ORG"})
    assert data.schema_problems(data.hub_features(other), tags) == [
        ("column 'ner_tags' has the labels [O, B-LOC, I-LOC, B-PER, I-PER, B-ORG, I-ORG] in this order, the registry "
         "expects [O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC]")]
    # An integer column declares no names: nothing to compare.
    plain = datasets.Features({**data.hub_features(hub), "label": datasets.Value("int64")})
    assert data.schema_problems(plain, hub) == []


def test_registry_label_names_agree_with_the_tasks_labels():
    """Where a Hub ClassLabel's ids are the class ids (no ``labels`` remap), its names are the task's label names."""
    for task, _role, split, _lang in _registry_splits():
        hub = split.hub
        label_col = hub.fields.get("label") or hub.fields.get("tags")
        spec = hub.features.get(label_col or "", "")
        if task.label_names and hub.labels is None and "label:" in spec:
            assert tuple(spec.split("label:")[1].split(",")) == task.label_names, (task.name, hub.repo)


def test_anli_plus_selects_on_all_three_dev_rounds(local_hub, tmp_path):
    task = get_task("anli_plus")
    assert "dev = ANLI r1-r3 dev" in task.description and task.dev.hub.split == "dev_r1+dev_r2+dev_r3"
    local_hub.add(task.dev.hub, n=4)
    assert len(data.load_dev(task, "hub", None)) == 12  # datasets concatenates the rounds
    folder = tmp_path / "xtreme"
    (folder / "anli").mkdir(parents=True)
    for i, name in enumerate(("dev_r1", "dev_r2", "dev_r3")):
        (folder / "anli" / f"{name}.tsv").write_text(f"p{i}\th{i}\tneutral\n")
    rows = data.load_dev(task, "xtreme", str(folder))
    assert [r["text_a"] for r in rows] == ["p0", "p1", "p2"]
    (folder / "anli" / "dev_r3.tsv").write_text("p\th\tmaybe\n")
    with pytest.raises(data.DataError, match="dev_r3.tsv:1: unknown label 'maybe'"):
        data.load_dev(task, "xtreme", str(folder))
    (folder / "anli" / "dev_r2.tsv").unlink()
    with pytest.raises(data.DataMissing, match="dev_r2.tsv not found; .* containing anli/dev_r2.tsv$"):
        data.load_dev(task, "xtreme", str(folder))


# ---- opt-in: the XTREME-folder reader on the real files --------------------------------------------------------------
@pytest.mark.real
@pytest.mark.parametrize("task_name,lang,split,count", [
    ("xnli", "en", "validation", 2490), ("xnli", "zh", "validation", 2490), ("pawsx", "de", "validation", 2000),
    ("panx", "de", "validation", None), ("udpos", "en", "validation", None), ("xquad", "zh", "test", 1190),
    ("mlqa", "de", "validation", 512), ("xcopa", "et", "test", 500), ("xcopa", "zh", "validation", 100),
])
def test_xtreme_folder_on_real_files(shared_data, task_name, lang, split, count):
    task = get_task(task_name)
    rows = data.load_split(task, task.eval[split], "xtreme", lang, split, str(shared_data))
    if count is not None:
        assert len(rows) == count
    assert set(rows[0]) == KIND_FIELDS[task.task_type]
    if task.task_type == "tagging":
        assert all(len(r["tokens"]) == len(r["tags"]) for r in rows)


@pytest.mark.real
def test_xtreme_folder_training_stand_ins(shared_data):
    rows = data.load_split(get_task("siqa"), get_task("siqa").dev, "xtreme", "en", "validation", str(shared_data))
    assert len(rows) == 1954 and {r["label"] for r in rows} == {0, 1, 2}
    tydi = get_task("tydiqa")
    rows = data.load_split(tydi, tydi.train[0], "xtreme", "en", "train", str(shared_data))
    assert len(rows) == 3696
    copa = data.load_split(get_task("copa"), get_task("copa").train[0], "xtreme", "en", "train", str(shared_data))
    assert len(copa) == 400 and copa[0]["question"] == "What was the cause?"
