"""``train.freeze_embeddings``: the input word embeddings stay exactly as they were; everything else trains."""
from __future__ import annotations

import json

import pytest
import torch
from fakehub import FakeHub
from helpers import CORPUS, FAST, P1_FAST

import phase1_pretrained
import phase3_target
from xstilts import data, encoders
from xstilts.modeling import load_encoder, load_model


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    monkeypatch.setattr(data, "hub_loader", FakeHub(n=40))


def test_frozen_word_embeddings_are_unchanged_and_the_rest_trains(tmp_path):
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={tmp_path}/p1", *P1_FAST]) == 0
    for name, freeze in (("frozen", "true"), ("full", "false")):
        assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={tmp_path}/p1", f"output={tmp_path}/{name}",
                                   *FAST, "train.lr=1e-2", f"train.freeze_embeddings={freeze}"]) == 0
    before = load_encoder(tmp_path / "p1").state_dict()
    changed = {}
    for name in ("frozen", "full"):
        after = load_model(tmp_path / name / "final").encoder.state_dict()
        changed[name] = {k for k in before if not torch.equal(before[k], after[k])}
    words = next(k for k in before if "word_embeddings" in k)
    assert words not in changed["frozen"] and words in changed["full"]
    assert changed["frozen"] == changed["full"] - {words}  # every other weight still trains
    cost = {n: json.loads((tmp_path / n / "metrics.json").read_text())["cost"] for n in ("frozen", "full")}
    assert cost["full"]["trainable_parameters"] - cost["frozen"]["trainable_parameters"] == before[words].numel()
