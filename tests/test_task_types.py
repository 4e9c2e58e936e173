"""The task types' operations through their typed interface: the regression type (the worked example of adding a
type) on a tiny encoder, and the batching every type shares (padding from the specs' batch keys)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from xstilts import metrics, tasktypes
from xstilts.errors import DataError
from xstilts.modeling import MultiHeadModel, load_encoder, load_model, save_model
from xstilts.pipeline import model_with_heads
from xstilts.tasks import get_task
from xstilts.tasktypes.base import TaskType
from xstilts.tasktypes.common import PADDED_KEYS, Collator, predict_logits
from xstilts.tasktypes.regression import Regression
from xstilts.typespecs import IGNORED, PAD_ID, SPECS

PAIRS = [("the cat sees the dog", "a cat sees a dog", 4.6), ("the big city", "the dog number", 0.4),
         ("a dog in the city", "the dog in a city", 3.8), ("number 0", "the cat", 1.0),
         ("the cat in the big city", "the cat in the city", 4.2), ("sees", "number", 0.0)]
ROWS = [{"text_a": a, "text_b": b, "label": score} for a, b, score in PAIRS]


@pytest.fixture(scope="module")
def stsb():
    return tasktypes.build(get_task("stsb"))


@pytest.fixture(scope="module")
def tok(tiny_phase1):
    return AutoTokenizer.from_pretrained(tiny_phase1)


@pytest.fixture()
def model(tiny_phase1):
    torch.manual_seed(0)
    built, _ = model_with_heads(load_encoder(tiny_phase1), [get_task("stsb")], tiny_phase1)
    return built


def test_the_regression_type_is_a_task_type_with_one_output(stsb, tiny_phase1):
    assert isinstance(stsb, Regression) and isinstance(stsb, TaskType) and stsb.spec is SPECS["regression"]
    head = stsb.head_spec(load_encoder(tiny_phase1))
    assert (head.task, head.task_type, head.num_labels) == ("stsb", "regression", 1)


def test_float_labels_are_encoded_and_collated_as_float_scores(stsb, tok):
    feats = stsb.encode(ROWS, tok, 32, task_id=3).features
    assert [f["labels"] for f in feats] == [r["label"] for r in ROWS] and {f["task_id"] for f in feats} == {3}
    batch = Collator(tok.pad_token_id)(feats)
    assert batch["labels"].dtype == torch.float32 and batch["labels"].shape == (len(ROWS),)
    assert torch.allclose(batch["labels"], torch.tensor([r["label"] for r in ROWS]))


@pytest.mark.parametrize("label", [None, "4.0", float("nan"), float("inf"), True])
def test_a_row_without_a_finite_score_is_refused_naming_it(stsb, tok, label):
    rows = [*ROWS[:2], {**ROWS[2], "label": label}]
    with pytest.raises(DataError, match=r"stsb: row 2 has label .*not a finite score"):
        stsb.encode(rows, tok, 32)


def test_the_loss_is_the_float32_mean_squared_error_of_one_output(stsb, tok, model):
    batch = Collator(tok.pad_token_id)(stsb.encode(ROWS, tok, 32).features)
    model.eval()
    out = model(**batch)
    assert out["logits"].shape == (len(ROWS), 1)
    expected = ((out["logits"].reshape(-1).double() - batch["labels"].double()) ** 2).mean()
    assert out["loss"].dtype == torch.float32 and out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert "loss" not in model(**{k: v for k, v in batch.items() if k != "labels"})  # prediction: logits only


def test_a_training_step_moves_the_head_and_lowers_the_loss(stsb, tok, model):
    batch = Collator(tok.pad_token_id)(stsb.encode(ROWS, tok, 32).features)
    model.train()
    for module in model.modules():  # no dropout: the two losses see the same network
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = model.heads["stsb"].out_proj.weight.detach().clone()
    first = model(**batch)["loss"]
    first.backward()
    opt.step()
    opt.zero_grad()
    assert not torch.equal(before, model.heads["stsb"].out_proj.weight)
    assert model(**batch)["loss"].item() < first.item()


def test_predict_and_score_round_trip(stsb, tok, model):
    enc = stsb.encode(ROWS, tok, 32, train=False)
    logits = predict_logits(model, enc.features, Collator(tok.pad_token_id), batch_size=4)
    preds = stsb.predict(ROWS, enc, logits)
    assert len(preds) == len(ROWS) and all(isinstance(p, float) for p in preds)
    golds = [r["label"] for r in ROWS]
    scores = stsb.score(ROWS, preds, "en")
    assert scores == {"pearson": metrics.pearson(preds, golds), "spearman": metrics.spearman(preds, golds),
                      "n": float(len(ROWS))}
    perfect = stsb.score(ROWS, golds, "en")
    assert perfect["pearson"] == pytest.approx(100.0) and perfect["spearman"] == pytest.approx(100.0)
    assert stsb.export_payload(ROWS, preds) == preds  # one score per row


def test_reliability_has_no_interval_and_flags_constant_predictions(stsb):
    fig = stsb.reliability(ROWS, [2.5] * len(ROWS), "en")
    assert fig.replicates is None and fig.majority_share is None  # a correlation is no mean over rows
    assert fig.top_prediction_share == pytest.approx(100.0)
    assert stsb.score(ROWS, [2.5] * len(ROWS), "en")["pearson"] == 0.0


def test_the_exported_folder_is_transformers_regression_with_our_scores(stsb, tok, model, tmp_path):
    torch.manual_seed(1)
    for p in model.heads.parameters():
        torch.nn.init.normal_(p, std=0.5)
    saved = save_model(model, tok, tmp_path / "final", export_hf=True)
    assert saved["transformers"]["loadable"], saved["transformers"]
    config = json.loads((tmp_path / "final" / "config.json").read_text())
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "final").eval()
    batch = Collator(tok.pad_token_id)(stsb.encode(ROWS[:3], tok, 32, train=False).features)
    inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        ours = load_model(tmp_path / "final").eval()(**inputs)["logits"]
        theirs = Regression.hf_logits(hf(**inputs))
    assert ours.abs().max() > 0.1 and torch.allclose(ours, theirs, atol=1e-5)


# ---- Batching from the specs' batch keys ---------------------------------------------------------------------------
def _old_collate(batch: list[dict], pad_id: int) -> dict:
    """The collator's rules as they were spelled out before the specs held them (the reference: same tensors)."""
    def pad(seqs, value):
        if isinstance(seqs[0][0], list):
            width = max(len(s) for choices in seqs for s in choices)
            return torch.tensor([[s + [value] * (width - len(s)) for s in choices] for choices in seqs])
        width = max(len(s) for s in seqs)
        return torch.tensor([s + [value] * (width - len(s)) for s in seqs])

    out = {}
    for key in batch[0]:
        values = [f[key] for f in batch]
        if key in ("input_ids", "candidate_input_ids"):
            out[key] = pad(values, pad_id)
        elif key in ("attention_mask", "token_type_ids", "candidate_attention_mask", "candidate_token_type_ids"):
            out[key] = pad(values, 0)
        elif key in ("labels", "mlm_labels") and isinstance(values[0], list):
            out[key] = pad(values, -100)
        elif key == "task_id":
            out[key] = int(values[0])
        else:
            out[key] = torch.tensor(values)
    return out


def test_padding_from_the_specs_gives_the_same_tensors_as_before(tok):
    rng = np.random.default_rng(0)

    def seq(n):
        return rng.integers(3, 100, n).tolist()

    lengths = [3, 7, 5]
    features = {
        "classification": [{"input_ids": seq(n), "attention_mask": [1] * n, "labels": 1, "task_id": 0}
                           for n in lengths],
        "regression": [{"input_ids": seq(n), "attention_mask": [1] * n, "labels": 2.5, "task_id": 0} for n in lengths],
        "multiple_choice": [{"input_ids": [seq(n), seq(n + 2)], "attention_mask": [[1] * n, [1] * (n + 2)],
                             "labels": 0, "task_id": 1} for n in lengths],
        "span_qa": [{"input_ids": seq(n), "attention_mask": [1] * n, "token_type_ids": [0] * n,
                     "start_positions": 1, "end_positions": 2, "task_id": 0} for n in lengths],
        "tagging": [{"input_ids": seq(n), "attention_mask": [1] * n, "labels": [IGNORED] + [1] * (n - 1),
                     "task_id": 0} for n in lengths],
        "dual_encoder": [{"input_ids": seq(n), "attention_mask": [1] * n, "candidate_input_ids": seq(n + 1),
                          "candidate_attention_mask": [1] * (n + 1), "pair_key": 7 + n, "task_id": 0}
                         for n in lengths],
        **{f"mlm {key}": [{"input_ids": seq(n), "attention_mask": [1] * n, key: [IGNORED, 5] + [IGNORED] * (n - 2),
                           "task_id": 0} for n in lengths] for key in ("labels", "mlm_labels")},  # training, dev
    }
    assert {name.split()[0] for name in features} | {"retrieval"} == set(SPECS)
    for name, feats in features.items():
        new, old = Collator(tok.pad_token_id)(feats), _old_collate(feats, tok.pad_token_id)
        assert new.keys() == old.keys(), name
        for key in new:
            if key == "task_id":
                assert new[key] == old[key]
            else:
                assert new[key].dtype == old[key].dtype and torch.equal(new[key], old[key]), (name, key)
    # Every spec pads a key as the others do, and the pad id is the tokenizer's.
    for spec in SPECS.values():
        assert all(PADDED_KEYS[key] == value for key, value in spec.batch_keys.items()), spec.name
    assert PADDED_KEYS["input_ids"] == PAD_ID


def test_the_multi_head_model_hands_each_type_its_own_features(tiny_phase1, tok):
    """MultiHeadModel.forward spells out no type's keys: span QA's positions reach span QA's forward pass."""
    encoder = load_encoder(tiny_phase1)
    xquad = get_task("xquad")
    model = MultiHeadModel(encoder, [tasktypes.build(xquad).head_spec(encoder)])
    feats = tasktypes.build(xquad).encode([{"id": "0", "context": "the cat sees the dog", "question": "who sees",
                                             "answers": {"text": ["the dog"], "answer_start": [13]}}], tok, 96)
    out = model(**Collator(tok.pad_token_id)(feats.features))
    assert out["loss"].ndim == 0 and out["logits"].shape[-1] == 2
    assert MultiHeadModel.accepts_loss_kwargs is False  # the Trainer keeps scaling losses for accumulation
