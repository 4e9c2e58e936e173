"""Stand-in training data: another task's English data (XQuAD trained on TyDiQA) and the English dev split as
training data with a held-out part for selection (where the training set is not at hand)."""
from __future__ import annotations

import json

import pytest
from helpers import CORPUS

import phase1_pretrained
import phase3_target
from xstilts import encoders, recipe
from xstilts.config import Phase3Recipe


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
    from xstilts import data
    from xstilts.tasktypes import classification

    def no_dev(*args, **kwargs):
        raise AssertionError("selection=holdout must not read the dev split")

    monkeypatch.setattr(data, "load_dev", no_dev)
    seen = {}
    encode = classification.Classification.encode

    def spy(self, rows, tokenizer, max_length, task_id=0, train=False):
        seen["train" if train else "dev"] = [r["id"] if "id" in r else repr(r) for r in rows]
        return encode(self, rows, tokenizer, max_length, task_id=task_id, train=train)

    monkeypatch.setattr(classification.Classification, "encode", spy)
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


def test_first_unseen_row_skips_training_and_selection_rows():
    from xstilts.evaluation import first_unseen_row

    # 2490 XNLI dev rows, 20 % held out (498): training from rows [0, 1992), selection on rows [1992, 2092).
    assert first_unseen_row(2490, [(0.2, 100)]) == 2092
    assert first_unseen_row(2490, [(0.2, 100), (0.25, 50)]) == max(2092, 2490 - 622 + 50)
    assert first_unseen_row(40, [(0.25, None)]) == 40  # every held-out row selected: nothing unseen
    assert first_unseen_row(40, []) == 0


def test_stand_in_windows_follow_the_chain():
    """Phases whose stand-in training data came from the evaluated task's validation split count, whatever their
    own task is called (an NLI intermediate on XNLI English dev counts for XNLI); others do not."""
    from xstilts.evaluation import stand_in_windows
    from xstilts.tasks import get_task

    p3 = {"phase": "phase3", "recipe": {"input": "p2", "output": "p3", "task": "xnli",
                                        "data": {"train_split": "validation", "holdout_fraction": 0.2,
                                                 "max_eval_samples": 100}, "train": {}}}
    p2 = {"phase": "phase2", "recipe": {"input": "p1", "output": "p2", "tasks": ["mnli"],
                                        "data": {"train_split": "validation", "train_task": "xnli",
                                                                     "max_eval_samples": 100},
                                        "train": {"dev_examples": 200}}}
    p2_real = {"phase": "phase2", "recipe": {"input": "p1", "output": "p2", "tasks": ["mnli"],
                                             "data": {"train_split": "train"}, "train": {}}}
    p1 = {"phase": "phase1", "recipe": {}}
    assert stand_in_windows([p3, p2, p1], get_task("xnli")) == [(0.2, 100), (0.2, 100)]
    assert stand_in_windows([p3, p2_real, p1], get_task("xnli")) == [(0.2, 100)]
    assert stand_in_windows([p3, p2, p1], get_task("pawsx")) == []


def test_stand_in_training_is_scored_on_rows_it_never_saw(p1, tmp_path, capsys):
    import evaluate_xtreme
    from xstilts.results import read_result

    p3 = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_pawsx.yaml", f"input={p1}", f"output={p3}",
                               "data.train_split=validation", "data.holdout_fraction=0.25", "train.dev_examples=4",
                               "train.max_steps=1", "train.eval_steps=1"]) == 0
    assert evaluate_xtreme.main([f"input={p3}", f"output={tmp_path}/r", "data.source=embedded", "split=validation",
                                 "languages=[en]"]) == 0
    r = read_result(tmp_path / "r" / "pawsx.json")
    # 40 rows: 30 could train, rows 30-33 selected, rows 34-39 were never used.
    assert r.languages["en"]["n"] == 6
    assert any("index 34-39 of each language's file" in note for note in r.notes)
    # Without stand-in training, the same split is scored whole.
    p3b = tmp_path / "p3b"
    assert phase3_target.main(["recipes/quickstart/phase3_pawsx.yaml", f"input={p1}", f"output={p3b}",
                               "train.max_steps=1", "train.eval_steps=1"]) == 0
    assert evaluate_xtreme.main([f"input={p3b}", f"output={tmp_path}/rb", "data.source=embedded",
                                 "split=validation", "languages=[en]"]) == 0
    assert read_result(tmp_path / "rb" / "pawsx.json").languages["en"]["n"] == 40
