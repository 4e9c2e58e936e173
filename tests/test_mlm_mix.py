"""Continued MLM during intermediate training (alternative (i)): masking, the fixed MLM share of the sampler, the MLM
head (phase-1 weights when present), and a phase-2 run of mnli + mlm on small local text files, offline."""
from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import helpers
import pytest
import torch

import phase2_intermediate
from xstilts import recipe
from xstilts.config import Phase2Recipe, SamplerConfig
from xstilts.modeling import MultiHeadModel
from xstilts.sampling import task_probabilities
from xstilts.tasktypes import mlm
from xstilts.typespecs import IGNORED

REPO = Path(__file__).resolve().parents[1]
CORPUS = helpers.CORPUS[:40] + ["der Hund sieht die Katze"]
FAST = helpers.SMALL + ["train.max_length=40", "train.grad_accum=1", "data.source=embedded",
                        "data.max_train_samples=16", "data.max_eval_samples=8"]


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


@pytest.fixture
def text_files(tmp_path):
    rng = random.Random(0)
    words = {"en": "the cat sees a dog in the big city".split(), "de": "der Hund sieht die Katze in der Stadt".split()}
    files = []
    for lang, vocab in words.items():
        path = tmp_path / f"wiki.{lang}.txt"
        path.write_text("\n".join(" ".join(rng.choice(vocab) for _ in range(8)) for _ in range(30)) + "\n\n",
                        encoding="utf-8")
        files.append(str(path))
    return files


def test_masking_follows_bert_and_never_leaves_a_line_without_target():
    rng = random.Random(1)
    ids, special = list(range(10, 110)), [1] + [0] * 98 + [1]
    inputs, labels = mlm.mask_line(ids, special, mask_id=4, vocab_size=200, probability=0.15, rng=rng)
    masked = [i for i, g in enumerate(labels) if g != IGNORED]
    assert 5 <= len(masked) <= 30 and 0 not in masked and 99 not in masked
    assert all(labels[i] == ids[i] for i in masked)
    assert all(inputs[i] == ids[i] for i in range(100) if i not in masked)
    assert sum(inputs[i] == 4 for i in masked) >= len(masked) // 2  # ~80% <mask>
    _, labels = mlm.mask_line([0, 7, 2], [1, 0, 1], 4, 200, probability=1e-9, rng=rng)
    assert labels == [IGNORED, 7, IGNORED]


def test_fixed_mlm_share_of_the_sampler():
    sizes = {"mnli": 300, "qqp": 100, "mlm": 10_000}
    probs = task_probabilities(sizes, SamplerConfig(kind="proportional"), fixed={"mlm": 0.2})
    assert probs == pytest.approx({"mnli": 0.6, "qqp": 0.2, "mlm": 0.2})
    probs = task_probabilities(sizes, SamplerConfig(kind="uniform"), fixed={"mlm": 0.5})
    assert probs == pytest.approx({"mnli": 0.25, "qqp": 0.25, "mlm": 0.5})
    with pytest.raises(ValueError, match="fixed task probabilities"):
        task_probabilities(sizes, SamplerConfig(), fixed={"nope": 0.2})


def test_recipe_knobs():
    cfg = recipe.load(Phase2Recipe, ["recipes/phase2/mnli_mlm.yaml", "input=a", "output=b", "mlm.files=[x.txt]"])
    assert cfg.tasks == ["mnli", "mlm"] and cfg.mlm.weight == 0.2 and cfg.mlm.files == ["x.txt"]
    assert cfg.mlm.dataset == "wikimedia/wikipedia"
    with pytest.raises(recipe.RecipeError, match="tasks does not list mlm"):
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]", "mlm.weight=0.3"])
    with pytest.raises(recipe.RecipeError, match=r"mlm.weight: must be in \(0, 1\), got 1.5"):
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli,mlm]", "mlm.weight=1.5"])


def test_hub_text_source_is_configurable_and_offline_failure_is_clear(monkeypatch):
    from xstilts.config import MlmConfig
    from xstilts.data import DataError

    calls = []

    def fake(repo, config, split, column, n):
        calls.append((repo, config, split, column, n))
        return [f"{config} line {i}" for i in range(3)]

    monkeypatch.setattr(mlm, "text_loader", fake)
    lines = mlm.read_lines(MlmConfig(dataset="my/corpus", configs=["de", "zh"], text_column="content", max_lines=3))
    assert len(lines) == 6 and calls[0] == ("my/corpus", "de", "train", "content", 3)

    def offline(*args):
        raise ConnectionError("offline")

    monkeypatch.setattr(mlm, "text_loader", offline)
    with pytest.raises(DataError, match=r"could not read dataset wikimedia/wikipedia .* mlm.files="):
        mlm.read_lines(MlmConfig())


def test_phase2_mnli_plus_mlm_offline(encoder, text_files, tmp_path, monkeypatch):
    seen: list[int] = []
    original = MultiHeadModel.forward

    @functools.wraps(original)  # the Trainer inspects forward's signature
    def recording(self, *args, **kwargs):
        if self.training and kwargs.get("task_id") is not None:
            seen.append(kwargs["task_id"])  # a Python int from the collator (no device read)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MultiHeadModel, "forward", recording)
    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/mnli_mlm.yaml", f"input={encoder}", f"output={out}",
                                     f"mlm.files=[{text_files[0]},{text_files[1]}]", "mlm.weight=0.5",
                                     "mlm.dev_lines=8", "train.max_steps=12", "train.eval_steps=6", *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    dev = metrics["dev"]
    assert 0 <= dev["mnli_accuracy"] <= 100 and 0 <= dev["mlm_accuracy"] <= 100 and dev["mlm_masked_tokens"] > 0
    assert dev["score"] == pytest.approx((dev["mnli_score"] + dev["mlm_score"]) / 2)
    assert metrics["heads"] == ["mnli", "mlm"] and metrics["train_sizes"]["mlm"] == 60 - 8
    assert any("MLM head weights from the phase-1 checkpoint" in w for w in metrics["weights"])
    assert sorted(set(seen)) == [0, 1], seen  # the sampler drew both tasks
    heads = json.loads((out / "final" / "heads.json").read_text())["heads"]
    from transformers import AutoTokenizer

    assert heads[1] == {"task": "mlm", "kind": "mlm", "num_labels": len(AutoTokenizer.from_pretrained(encoder))}


def test_mlm_head_loads_phase1_weights_and_is_tied(encoder):
    from safetensors import safe_open

    from xstilts.modeling import load_encoder
    from xstilts.typespecs import HeadSpec

    enc = load_encoder(encoder)
    model = MultiHeadModel(enc, [HeadSpec("mlm", "mlm", mlm.vocab_size(enc))])
    note = mlm.load_head_weights(model, "mlm", encoder)
    assert "phase-1 checkpoint" in note
    with safe_open(str(encoder / "model.safetensors"), "pt") as f:
        assert torch.equal(model.heads["mlm"].dense.weight, f.get_tensor("lm_head.dense.weight"))
    ids = torch.tensor([[0, 5, 6, 2]])
    labels = torch.tensor([[-100, 5, -100, -100]])
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, task_id=torch.tensor([0]))
    out["loss"].backward()
    assert enc.get_input_embeddings().weight.grad is not None  # output layer = the input embeddings
    assert out["logits"].shape == (1, 4, 1) and out["logits"][0, 0, 0] == -100


def test_continued_mlm_with_lora_trains_adapters_and_the_heads_only(encoder, text_files, tmp_path):
    """LoRA applies to continued-MLM training too: only adapter and head weights are trainable, and the run finishes."""
    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/mnli_mlm.yaml", f"input={encoder}", f"output={out}",
                                     f"mlm.files=[{text_files[0]},{text_files[1]}]", "mlm.weight=0.5",
                                     "mlm.dev_lines=8", "train.max_steps=4", "train.eval_steps=2", "lora.r=4",
                                     *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    cost = metrics["cost"]
    assert 0 < cost["trainable_parameters"] < cost["total_parameters"]
    assert metrics["adapter"] == "kept" and (out / "final" / "adapter" / "adapter_config.json").is_file()
    assert "mlm_accuracy" in metrics["dev"]
