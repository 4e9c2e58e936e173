"""SQuAD v2.0 as an intermediate task: unanswerable questions trained at CLS, null-score decoding with a threshold
chosen on dev, EM/F1 with "" as the gold of unanswerable questions; a phase-2 run offline on the exact Hub schema."""
from __future__ import annotations

import json
from pathlib import Path

import helpers
import numpy as np
import pytest
from fakehub import FakeHub, make_dataset

import phase2_intermediate
from xstilts import data, squad_v2, tasktypes
from xstilts.qa import CLS_INDEX
from xstilts.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
CORPUS = helpers.CORPUS[:40] + ["a red house by the river"]
FAST = helpers.FAST + ["train.max_length=96", "data.source=hub", "data.max_train_samples=12", "data.max_eval_samples=9"]


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


def _v2_hub(n: int = 12) -> FakeHub:
    """The registry's squad_v2 sources with every third question made unanswerable (empty answer lists)."""
    overrides = {}
    for split in (TASKS["squad_v2"].train[0], TASKS["squad_v2"].dev):
        src = split.hub
        ds = make_dataset(src, n, seed=1)
        ds = ds.map(lambda row, i: {"answers": {"text": [], "answer_start": []}} if i % 3 == 0 else {},
                    with_indices=True, features=ds.features)
        overrides[(src.repo, src.config, src.split)] = ds
    return FakeHub(n=n, overrides=overrides)


def test_registry_entry():
    task = TASKS["squad_v2"]
    assert task.task_type == "span_qa" and task.options.null_answers and not TASKS["squad"].options.null_answers
    assert (task.train[0].hub.repo, task.train[0].hub.config) == ("rajpurkar/squad_v2", "squad_v2")
    assert task.dev.hub.split == "validation"


def test_official_v2_rules_for_empty_answers():
    assert squad_v2.gold_texts({"text": [], "answer_start": []}) == [""]
    assert squad_v2.em_f1("", [""]) == (1.0, 1.0)
    assert squad_v2.em_f1("the cat", [""]) == (0.0, 0.0)
    assert squad_v2.em_f1("", ["cat"]) == (0.0, 0.0)
    assert squad_v2.em_f1("The cat!", ["cat"]) == (1.0, 1.0)
    rows = [{"answers": {"text": ["cat"], "answer_start": [0]}}, {"answers": {"text": [], "answer_start": []}}]
    s = squad_v2.scores(["cat", "dog"], rows)
    assert s["exact_match"] == 50.0 and s["has_ans_f1"] == 100.0 and s["no_ans_f1"] == 0.0


def test_threshold_chosen_on_dev_separates_answerable_from_unanswerable():
    context = "red blue green"
    offsets = [None, (0, 3), (4, 8), (9, 14), None]
    feats = {"example_index": [0, 1], "offset_mapping": [offsets, offsets],
             "token_is_max_context": [[None, True, True, True, None]] * 2}
    rows = [{"context": context, "answers": {"text": ["blue"], "answer_start": [4]}},
            {"context": context, "answers": {"text": [], "answer_start": []}}]
    # Q0: span "blue" scores 10, null 0 (diff -10); Q1: best span "red" scores 4, null 8 (diff +4).
    starts = [np.array([0.0, 0, 5, 0, 0]), np.array([4.0, 2, 0, 0, 0])]
    ends = [np.array([0.0, 0, 5, 0, 0]), np.array([4.0, 2, 0, 0, 0])]
    answers, threshold = squad_v2.predict_with_threshold(rows, feats, starts, ends)
    assert answers == ["blue", ""] and -10 <= threshold < 4
    assert squad_v2.scores(answers, rows)["f1"] == 100.0


def test_unanswerable_questions_are_trained_at_cls(encoder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder)
    rows = [{"id": "a", "context": "the cat sees the dog", "question": "who sees?",
             "answers": {"text": ["the cat"], "answer_start": [0]}},
            {"id": "b", "context": "the cat sees the dog", "question": "why?",
             "answers": {"text": [], "answer_start": []}}]
    enc = tasktypes.build(TASKS["squad_v2"]).encode(rows, tok, 96, train=True)
    assert enc.features[0]["start_positions"] != CLS_INDEX
    assert (enc.features[1]["start_positions"], enc.features[1]["end_positions"]) == (CLS_INDEX, CLS_INDEX)


def test_recipe_names_itself():
    first = (REPO / "recipes" / "phase2" / "squad_v2.yaml").read_text().splitlines()[0]
    assert first.startswith("# python phase2_intermediate.py recipes/phase2/squad_v2.yaml ")


def test_phase2_squad_v2_offline_writes_v2_dev_metrics(encoder, tmp_path, monkeypatch):
    hub = _v2_hub()
    monkeypatch.setattr(data, "hub_loader", hub)
    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/squad_v2.yaml", f"input={encoder}", f"output={out}", *FAST]) == 0
    dev = json.loads((out / "metrics.json").read_text())["dev"]
    for key in ("squad_v2_exact_match", "squad_v2_f1", "squad_v2_has_ans_f1", "squad_v2_no_ans_f1"):
        assert 0.0 <= dev[key] <= 100.0, (key, dev)
    assert dev["score"] == pytest.approx((dev["squad_v2_exact_match"] + dev["squad_v2_f1"]) / 2)
    assert {c[0] for c in hub.calls} == {"rajpurkar/squad_v2"}
