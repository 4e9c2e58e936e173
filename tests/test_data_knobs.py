"""Stand-in training data: another task's English data (XQuAD trained on TyDiQA) and the English dev split as
training data with a held-out part for selection (where the training set is not at hand)."""
from __future__ import annotations

import json

import pytest

import phase1_pretrained
import phase3_target
from xstilts import encoders, recipe
from xstilts.config import Phase3Recipe

CORPUS = [f"the cat sees the dog number {i} in the big city" for i in range(60)]


@pytest.fixture(scope="module")
def p1(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    out = tmp_path_factory.mktemp("knobs") / "p1"
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={out}", "stats_languages=[en]",
                                   "tiny.vocab_size=200"]) == 0
    mp.undo()
    return out


def test_dev_split_stands_in_for_training_with_a_holdout(p1, tmp_path, capsys):
    assert phase3_target.main(["recipes/quickstart/phase3_pawsx.yaml", f"input={p1}", f"output={tmp_path}/p3",
                               "data.train_split=validation", "data.holdout_fraction=0.25", "train.max_steps=2",
                               "train.eval_steps=2"]) == 0
    out = capsys.readouterr().out
    # 40 embedded English dev rows: 30 train, the last 10 select the model.
    assert "the English dev split stands in as training data (30 rows); 10 held-out rows" in out
    assert json.loads((tmp_path / "p3" / "metrics.json").read_text())["dev"]["pawsx_accuracy"] >= 0
    assert "train_split: validation" in (tmp_path / "p3" / "recipe.yaml").read_text()  # traceable in the result


def test_holdout_of_the_training_rows_selects_where_no_dev_set_is_at_hand(p1, tmp_path, capsys, monkeypatch):
    from xstilts import data, pipeline

    def no_dev(*args, **kwargs):
        raise AssertionError("selection=holdout must not read the dev split")

    monkeypatch.setattr(data, "load_dev", no_dev)
    seen = {}
    encode = pipeline.F.encode

    def spy(task, rows, tokenizer, max_length, task_id=0, train=False):
        seen["train" if train else "dev"] = [r["id"] if "id" in r else repr(r) for r in rows]
        return encode(task, rows, tokenizer, max_length, task_id=task_id, train=train)

    monkeypatch.setattr(pipeline.F, "encode", spy)
    assert phase3_target.main(["recipes/quickstart/phase3_pawsx.yaml", f"input={p1}", f"output={tmp_path}/p3",
                               "data.selection=holdout", "data.holdout_fraction=0.25", "data.max_train_samples=7",
                               "train.max_steps=2", "train.eval_steps=2"]) == 0
    out = capsys.readouterr().out
    assert "pawsx: English training data (7 rows);" in out
    assert len(seen["train"]) == 7 and seen["dev"]
    assert not set(seen["train"]) & set(seen["dev"])  # the held-out rows never train


def test_training_data_from_another_task_of_the_same_kind(p1, tmp_path, capsys):
    assert phase3_target.main(["recipes/quickstart/phase3_xquad.yaml", f"input={p1}", f"output={tmp_path}/p3",
                               "data.train_task=squad", "data.max_train_samples=20", "train.max_steps=2",
                               "train.eval_steps=2", "train.max_length=128"]) == 0
    assert "squad: 20 training examples" not in capsys.readouterr().out  # logged under the target task's name
    heads = json.loads((tmp_path / "p3" / "final" / "heads.json").read_text())["heads"]
    assert heads == [{"kind": "span_qa", "num_labels": 2, "task": "xquad"}]


def test_train_task_must_match_the_kind():
    with pytest.raises(recipe.RecipeError, match="data.train_task: xnli is a classification task; xquad needs span_qa"):
        recipe.load(Phase3Recipe, ["input=a", "output=b", "task=xquad", "data.train_task=xnli"])
    with pytest.raises(recipe.RecipeError, match="train_task: unknown task 'nope'"):
        recipe.load(Phase3Recipe, ["input=a", "output=b", "task=xquad", "data.train_task=nope"])
