"""STS-B, the regression task type's registered task: its registry entry, the embedded quickstart data, float labels
through every source (embedded, Hub-shaped folders read by the real ``datasets.load_dataset``, translated files),
and malformed scores refused naming the row."""
from __future__ import annotations

import json

import datasets
import helpers
import pytest
from fakehub import LocalHub, make_dataset

from xstilts import data
from xstilts.config import Phase2Recipe, embedded_path
from xstilts.errors import DataError
from xstilts.recipe import load
from xstilts.tasks import get_task
from xstilts.typespecs import SPECS

TASK = get_task("stsb")
CANONICAL = {"text_a", "text_b", "label"}


def _file_rows(split: str) -> list[dict]:
    return [json.loads(line) for line in embedded_path(f"stsb/{split}-en.jsonl").read_text("utf-8").splitlines()]


def test_registry_entry():
    assert TASK.task_type == "regression" and TASK.spec is SPECS["regression"]
    assert TASK.languages == ("en",) and TASK.main_metric == "pearson" and TASK.category is None
    assert TASK.train_size == 5_749 and not TASK.label_names
    for split, name in ((TASK.train[0], "train"), (TASK.dev, "validation")):
        assert (split.hub.repo, split.hub.config, split.hub.split) == ("nyu-mll/glue", "stsb", name)
        assert split.hub.features == {"sentence1": "string", "sentence2": "string", "label": "float32",
                                      "idx": "int32"}
        assert split.hub.keep is None  # every train/validation pair has a gold score; one without is an error
        assert split.local is None and split.embedded == f"stsb/{name}-{{lang}}.jsonl"
    # GLUE's test split has no gold scores (-1 in every row): nothing may score on it.
    assert TASK.eval == {} and len(TASK.train) == 1
    assert data.label_count(TASK) is None


def test_embedded_data_loads_into_canonical_rows_with_float_labels():
    for rows, split, n in ((data.load_train(TASK, "embedded", None), "train", 200),
                           (data.load_dev(TASK, "embedded", None), "validation", 60)):
        raw = _file_rows(split)
        assert len(rows) == len(raw) == n
        assert all(set(r) == CANONICAL for r in rows)
        assert all(type(r["label"]) is float and 0.0 <= r["label"] <= 5.0 for r in rows)
        for r, f in zip(rows, raw, strict=True):
            assert (r["text_a"], r["text_b"]) == (f["sentence1"], f["sentence2"])
            assert r["label"] == pytest.approx(f["label"], abs=1e-6)  # read through the Hub's float32 feature
        labels = [r["label"] for r in rows]
        assert labels.count(0.0) < n / 4 and len(set(labels)) > n / 3  # scores spread over 0-5, not a few classes


def test_embedded_data_has_the_hub_schema():
    for split in ("train", "validation"):
        raw = _file_rows(split)
        assert all(list(r) == ["sentence1", "sentence2", "label", "idx"] for r in raw)
        assert [r["idx"] for r in raw] == list(range(len(raw)))
        assert all(isinstance(r["label"], float) for r in raw)
        datasets.Dataset.from_list(raw, features=data.hub_features(TASK.train[0].hub))
    train = {(r["sentence1"], r["sentence2"]) for r in _file_rows("train")}
    assert not train & {(r["sentence1"], r["sentence2"]) for r in _file_rows("validation")}


def test_a_malformed_score_is_a_data_error_naming_the_row(tmp_path):
    """A translated training file (JSON lines in the Hub schema) is read row by row: the line is named."""
    folder = tmp_path / "stsb"
    folder.mkdir()
    good = {"sentence1": "A cat sleeps.", "sentence2": "A cat is asleep.", "label": 4.2, "idx": 0}
    lines = [good, {**good, "label": "abc", "idx": 1}]
    (folder / "train-de.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    with pytest.raises(DataError, match=r"train-de\.jsonl:2: label 'abc' is not a number; a regression label is "
                                        r"a score such as 3\.8"):
        data.load_translated(TASK, tmp_path, ["de"])
    lines[1] = {**good, "label": None}
    (folder / "train-de.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    with pytest.raises(DataError, match=r"train-de\.jsonl:2: no gold label \(None\)"):
        data.load_translated(TASK, tmp_path, ["de"])
    lines[1] = {**good, "label": "1.5"}  # a score written as a string still reads as the number it is
    (folder / "train-de.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert [r["label"] for r in data.load_translated(TASK, tmp_path, ["de"])] == [4.2, 1.5]


def test_a_malformed_embedded_score_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "stsb").mkdir()
    rows = _file_rows("train")[:3]
    rows[2]["label"] = "abc"
    (tmp_path / "stsb" / "train-en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(data, "embedded_path", lambda rel: tmp_path / rel)
    with pytest.raises(DataError, match=r"train-en\.jsonl: rows do not fit the Hub schema of nyu-mll/glue"):
        data.load_train(TASK, "embedded", None)
    rows[2]["label"] = None
    (tmp_path / "stsb" / "train-en.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError, match=r"train-en\.jsonl:3: no gold label"):
        data.load_train(TASK, "embedded", None)


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(data, "hub_path", hub.path)
    monkeypatch.setattr(data, "hub_loader", data.default_hub_loader)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    return hub


def test_a_hub_shaped_folder_loads_through_datasets(local_hub):
    """``nyu-mll/glue`` on main: a README listing config ``stsb``'s parquet files, float32 scores."""
    local_hub.add(TASK.train[0].hub, n=7)
    local_hub.add(TASK.dev.hub, n=4)
    train, dev = data.load_train(TASK, "hub", None), data.load_dev(TASK, "hub", None)
    assert (len(train), len(dev)) == (7, 4)
    assert all(set(r) == CANONICAL and type(r["label"]) is float and 0 <= r["label"] <= 5 for r in train + dev)


def test_a_score_column_of_another_type_is_a_schema_error(monkeypatch):
    as_text = make_dataset(TASK.train[0].hub, 3).cast_column("label", datasets.Value("string"))
    monkeypatch.setattr(data, "hub_loader", lambda *args: as_text)
    with pytest.raises(DataError, match=r"dataset nyu-mll/glue \(config stsb, split train\): schema mismatch \(column "
                                        r"'label' is string, expected float32\)"):
        data.load_train(TASK, "hub", None)


def test_no_xtreme_folder_layout_is_a_clear_refusal(tmp_path):
    with pytest.raises(data.DataMissing, match="no XTREME-folder layout is defined for this split; use "
                                               "data.source=hub"):
        data.load_train(TASK, "xtreme", str(tmp_path))


def test_the_example_recipe_validates():
    cfg = load(Phase2Recipe, ["recipes/examples/phase2_stsb_embedded.yaml", "input=a", "output=b"])
    assert cfg.tasks == ["stsb"] and cfg.data.source == "embedded"


def test_phase2_trains_stsb_end_to_end(tiny_phase1, tmp_path):
    """The regression type through phase 2 on the embedded data: one-output head, dev Pearson and Spearman."""
    import phase2_intermediate

    out = tmp_path / "p2"
    args = ["recipes/examples/phase2_stsb_embedded.yaml", f"input={tiny_phase1}", f"output={out}", *helpers.FAST]
    assert phase2_intermediate.main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    dev = metrics["dev"]
    assert -100.0 <= dev["stsb_pearson"] <= 100.0 and -100.0 <= dev["stsb_spearman"] <= 100.0
    assert dev["score"] == pytest.approx(dev["stsb_score"]) == pytest.approx(dev["stsb_pearson"])
    assert metrics["heads"] == ["stsb"] and metrics["global_step"] == 2
    heads = json.loads((out / "final" / "heads.json").read_text())["heads"]
    assert [(h["task"], h["kind"], h["num_labels"]) for h in heads] == [("stsb", "regression", 1)]  # kind: the type
    assert (out / "DONE").is_file()
