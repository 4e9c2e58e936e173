"""The Hub loading path, offline: in-memory datasets with the exact registry features go through the real code
(schema check, column mapping, label handling, row filters); the XTREME-folder reader on real files is opt-in."""
from __future__ import annotations

import datasets
import pytest
from fakehub import FakeHub, make_dataset

from xstilts import data
from xstilts.tasks import TASKS, get_task

KIND_FIELDS = {
    "classification": {"text_a", "text_b", "label"},
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
    assert set(rows[0]) == KIND_FIELDS[task.kind]
    repo, config, hub_split, revision, data_dir = fake_hub.calls[-1]
    assert (repo, hub_split, revision, data_dir) == (split.hub.repo, split.hub.split, split.hub.revision,
                                                     split.hub.data_dir)
    assert "{" not in (config or ""), "config template was filled"
    if task.kind in ("classification", "multiple_choice"):
        n = len(task.label_names) or task.num_choices
        assert all(0 <= r["label"] < n for r in rows)
    if task.kind == "multiple_choice":
        assert all(len(r["choices"]) == task.num_choices for r in rows)
    if task.kind == "tagging":
        assert all(len(r["tokens"]) == len(r["tags"]) for r in rows)
    if task.kind == "span_qa":
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
    assert "Expected columns {premise: string, hypothesis: string, label: ClassLabel(entailment,neutral,contradiction)}" in msg
    assert "found {sentence1: string, sentence2: string, gold_label: string}" in msg


def test_hub_failure_is_a_clear_error(monkeypatch):
    def offline(*a):
        raise ConnectionError("no network")

    monkeypatch.setattr(data, "hub_loader", offline)
    task = get_task("pawsx")
    with pytest.raises(data.DataError, match="could not load dataset google-research-datasets/paws-x.*data.source=xtreme"):
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
    assert set(rows[0]) == KIND_FIELDS[task.kind]
    if task.kind == "tagging":
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
