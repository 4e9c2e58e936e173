"""LoRA as an alternative to full fine-tuning: the chain with one override, merged vs kept adapters (same predictions),
evaluation of an adapter folder vs its merged copy, trainable-parameter counts from the configuration, and folders
that load with plain transformers + peft."""
from __future__ import annotations

import json
import shutil

import helpers
import pytest
import torch
from fakehub import FakeHub
from peft import PeftModel
from transformers import AutoModel, AutoTokenizer

import evaluate_xtreme
import phase1_pretrained
import phase2_intermediate
import phase3_target
from xstilts import data, encoders
from xstilts.config import LoraConfig
from xstilts.lora import apply as apply_lora
from xstilts.modeling import ADAPTER_DIR, MultiHeadModel, load_encoder, load_model, save_model
from xstilts.pipeline import start_encoder
from xstilts.results import read_result
from xstilts.typespecs import HeadSpec
from xstilts.training import count_parameters

CORPUS = helpers.CORPUS + ["der Hund sieht die Katze", "猫看见了狗", "собака видит кошку"]
FAST = helpers.ONE_EPOCH + ["train.precision=fp32", "train.dev_examples=null", "train.lr=5e-3"]
EVAL = ["data.source=hub", "data.max_eval_samples=12"]
SENTENCES = [("the cat sees the dog", "a dog is seen"), ("the big city", "number 7 in the city"),
             ("der Hund sieht die Katze", "猫看见了狗")]
ADAPTER_FILES = ["final/adapter/README.md", "final/adapter/adapter_config.json",
                 "final/adapter/adapter_model.safetensors"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    monkeypatch.setattr(data, "hub_loader", FakeHub(n=40))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """phase 1 -> phase 2 (LoRA r=4) -> three phase-3 variants (new adapter on the merged one, the phase-2 adapter
    trained further, full fine-tuning of the merged encoder) -> evaluation of the LoRA and the full run."""
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    mp.setattr(data, "hub_loader", FakeHub(n=40))
    t = tmp_path_factory.mktemp("lora")
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={t}/p1",
                                   "stats_languages=[en]", "tiny.vocab_size=300"]) == 0
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={t}/p1", f"output={t}/p2", "lora.r=4",
                                     *FAST]) == 0
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={t}/p2", f"output={t}/p3", "lora.r=4", *FAST]) == 0
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={t}/p2", f"output={t}/p3_continue",
                               "adapter_handover=continue", *FAST]) == 0
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={t}/p2", f"output={t}/p3_full", *FAST]) == 0
    assert evaluate_xtreme.main([f"input={t}/p3", f"output={t}/results_lora", *EVAL]) == 0
    assert evaluate_xtreme.main([f"input={t}/p3_full", f"output={t}/results_full", *EVAL]) == 0
    mp.undo()
    return t


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def _batch(folder):
    tok = AutoTokenizer.from_pretrained(folder)
    enc = tok([a for a, _ in SENTENCES], [b for _, b in SENTENCES], padding=True, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
            "task_id": torch.zeros(len(SENTENCES), dtype=torch.long)}


def _merged_copy(model: MultiHeadModel) -> MultiHeadModel:
    """The same weights with the adapter merged by peft itself (independent of xstilts' save/load)."""
    import copy

    merged = MultiHeadModel(copy.deepcopy(model.encoder).merge_and_unload(), model.specs)
    merged.heads.load_state_dict(model.heads.state_dict())
    return merged.eval()


def _tree_keys(obj, prefix=""):
    """Key paths of a JSON object (lists by their first element), for comparing schemas, not values."""
    if isinstance(obj, dict):
        return {k for key, v in obj.items() for k in {prefix + key} | _tree_keys(v, prefix + key + ".")}
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        return _tree_keys(obj[0], prefix + "[].")
    return set()


# ---- (a) the chain with one override ---------------------------------------------------------------------------------
def test_lora_chain_writes_the_usual_files_plus_the_adapter(runs):
    full = [".xstilts-written", "DONE", "final/config.json", "final/heads.json", "final/heads.safetensors",
            "final/model.safetensors", "final/tokenizer.json", "final/tokenizer_config.json", "metrics.json",
            "recipe.yaml", "run.json"]
    # A phase-3 final/ has a model card, and once evaluated the record of the evaluations it shows.
    card = {"p2": [], "p3": ["final/README.md", "final/evaluations.json"], "p3_continue": ["final/README.md"]}
    for phase in ("p2", "p3", "p3_continue"):
        assert _files(runs / phase) == sorted(full + ADAPTER_FILES + card[phase]), phase
        assert _metrics(runs / phase)["adapter"] == "kept"
    # Merge hand-over + full fine-tuning: a plain folder, no adapter left.
    assert _files(runs / "p3_full") == sorted(full + ["final/README.md", "final/evaluations.json"])
    assert _metrics(runs / "p3_full")["adapter"] is None
    # The adapter points at its own folder, so the run folder can be moved.
    cfg = json.loads((runs / "p3" / "final" / "adapter" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == ".." and cfg["r"] == 4 and sorted(cfg["target_modules"]) == ["query",
                                                                                                           "value"]


def test_lora_results_have_the_same_schema_as_full_fine_tuning(runs):
    lora, full = runs / "results_lora" / "xnli.json", runs / "results_full" / "xnli.json"
    r = read_result(lora)
    assert len(r.languages) == 15 and all(m["n"] == 12 for m in r.languages.values())
    assert r.run.lora and read_result(full).run.lora  # "any phase used LoRA": the full run's phase 2 did
    assert [c["phase"] for c in r.chain] == ["phase3", "phase2", "phase1"]
    # Same key paths; only the recipes' own lora settings (null in the full run's phase 3) differ.
    keys = [{k for k in _tree_keys(json.loads(f.read_text())) if not k.startswith("chain.[].recipe.lora.")}
            for f in (lora, full)]
    assert keys[0] == keys[1]


def test_metrics_record_the_same_cost_figures_for_lora_and_full(runs):
    lora, full = _metrics(runs / "p3")["cost"], _metrics(runs / "p3_full")["cost"]
    assert lora.keys() == full.keys()
    for cost in (lora, full):
        assert cost["size_on_disk_bytes"] > 0 and cost["wall_time_s"] > 0 and cost["peak_memory_mb"] > 0
        assert cost["train_examples_per_second"] > 0
    assert lora["trainable_parameters"] < full["trainable_parameters"]


# ---- (b) merged vs kept adapters give the same predictions -----------------------------------------------------------
@pytest.mark.parametrize("phase", ["p3", "p3_continue"])
def test_kept_adapter_equals_the_model_merged_by_peft(runs, phase):
    final = runs / phase / "final"
    kept = load_model(final)
    assert isinstance(kept.encoder, PeftModel)
    merged = _merged_copy(kept)
    assert not isinstance(merged.encoder, PeftModel)
    batch = _batch(final)
    with torch.no_grad():
        a, b = kept(**batch)["logits"], merged(**batch)["logits"]
        plain = MultiHeadModel(load_encoder(final), kept.specs)  # the base alone: the adapter must matter
        plain.heads.load_state_dict(kept.heads.state_dict())
        c = plain.eval()(**batch)["logits"]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert torch.equal(a.argmax(-1), b.argmax(-1))
    assert not torch.allclose(a, c, atol=1e-4), "the trained adapter changed nothing"


def test_merge_and_continue_handover_start_phase3_from_the_same_function(runs):
    """Before phase-3 training, both hand-overs of the phase-2 adapter compute the same encoder outputs; merge leaves
    every weight trainable (full fine-tuning), continue only the adapter."""
    src = runs / "p2" / "final"
    merged, merge_notes = start_encoder(src, None, "merge")
    kept, continue_notes = start_encoder(src, None, "continue")
    assert "merged into the encoder" in merge_notes[-1] and "kept and trained further" in continue_notes[-1]
    batch = {k: v for k, v in _batch(src).items() if k != "task_id"}
    merged.eval(), kept.eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch).last_hidden_state, kept(**batch).last_hidden_state,
                                   atol=1e-5, rtol=1e-4)
    assert all(p.requires_grad for p in merged.parameters())
    trainable = {n for n, p in kept.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # continue + a lora block: the kept adapter is trained as it is, and the log says the block was not used.
    _, notes = start_encoder(src, LoraConfig(r=2), "continue")
    assert "lora settings of this recipe not used" in notes[-1]


def test_save_merged_and_kept_then_load_give_the_same_logits(runs, tmp_path):
    model = load_model(runs / "p3" / "final")
    tok = AutoTokenizer.from_pretrained(runs / "p3" / "final")
    assert save_model(model, tok, tmp_path / "kept", merge_adapter=False)["adapter"] == "kept"
    assert save_model(model, tok, tmp_path / "merged", merge_adapter=True)["adapter"] == "merged"
    assert not (tmp_path / "merged" / ADAPTER_DIR).exists()
    batch = _batch(tmp_path / "kept")
    with torch.no_grad():
        a = load_model(tmp_path / "kept")(**batch)["logits"]
        b = load_model(tmp_path / "merged")(**batch)["logits"]
        c = model(**batch)["logits"]
    torch.testing.assert_close(a, c, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


# ---- (c) evaluating an adapter folder equals evaluating its merged folder --------------------------------------------
def test_evaluating_adapter_folder_equals_evaluating_its_merged_copy(runs, tmp_path):
    merged_run = tmp_path / "p3_merged"
    merged_run.mkdir()
    for name in ("run.json", "recipe.yaml", "metrics.json", "DONE"):
        shutil.copy(runs / "p3" / name, merged_run / name)
    final = runs / "p3" / "final"
    save_model(load_model(final), AutoTokenizer.from_pretrained(final), merged_run / "final", merge_adapter=True)
    assert not (merged_run / "final" / ADAPTER_DIR).exists()
    assert evaluate_xtreme.main([f"input={merged_run}", f"output={tmp_path}/results", *EVAL]) == 0
    adapter_result = read_result(runs / "results_lora" / "xnli.json")
    merged_result = read_result(tmp_path / "results" / "xnli.json")
    assert merged_result.languages.keys() == adapter_result.languages.keys()
    for lang, m in adapter_result.languages.items():
        assert merged_result.languages[lang] == pytest.approx(m), lang
    assert merged_result.score == pytest.approx(adapter_result.score)


# ---- (d) trainable-parameter counts follow from the configuration ----------------------------------------------------
def _classification_head(hidden: int, labels: int) -> int:
    return hidden * hidden + hidden + hidden * labels + labels  # dense + out_proj


def test_trainable_parameter_counts_match_the_configuration(runs):
    cfg = json.loads((runs / "p1" / "config.json").read_text())
    hidden, layers, r = cfg["hidden_size"], cfg["num_hidden_layers"], 4
    # query and value are hidden x hidden: A is r x hidden, B is hidden x r.
    adapter = layers * 2 * r * (hidden + hidden)
    encoder = sum(p.numel() for p in load_encoder(runs / "p1").parameters())
    head = _classification_head(hidden, 3)  # mnli and xnli both have 3 labels
    for phase in ("p2", "p3", "p3_continue"):
        cost = _metrics(runs / phase)["cost"]
        assert cost["trainable_parameters"] == adapter + head, phase
        assert cost["total_parameters"] == encoder + adapter + head, phase
    full = _metrics(runs / "p3_full")["cost"]
    assert full["trainable_parameters"] == full["total_parameters"] == encoder + head


def test_counts_with_every_linear_layer_targeted(runs):
    """``dense`` matches three linear layers per block (attention output h->h, intermediate h->i, output i->h)."""
    cfg = json.loads((runs / "p1" / "config.json").read_text())
    h, i, layers, r = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], 2
    encoder = load_encoder(runs / "p1")
    n_encoder = sum(p.numel() for p in encoder.parameters())
    lora = LoraConfig(r=r, alpha=4, dropout=0.0, target_modules=["query", "key", "value", "dense"])
    model = MultiHeadModel(apply_lora(encoder, lora), [HeadSpec("pawsx", "classification", 2)])
    per_layer = 3 * r * (h + h) + r * (h + h) + r * (h + i) + r * (i + h)
    expected = layers * per_layer + _classification_head(h, 2)
    assert count_parameters(model) == (expected, n_encoder + expected)


def test_unknown_target_module_is_a_clear_error(runs, tmp_path, capsys):
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={runs}/p1", f"output={tmp_path}/o",
                                     "lora.target_modules=[q_proj]", *FAST]) == 2
    err = capsys.readouterr().err
    assert "lora.target_modules: ['q_proj'] not found in the encoder" in err and "query" in err


# ---- (e) the kept-adapter folder loads with plain transformers + peft ------------------------------------------------
def test_kept_adapter_folder_loads_with_plain_transformers_and_peft(runs):
    final = runs / "p3" / "final"
    plain = PeftModel.from_pretrained(AutoModel.from_pretrained(final), str(final / "adapter")).eval()
    ours = load_model(final)
    batch = {k: v for k, v in _batch(final).items() if k != "task_id"}
    with torch.no_grad():
        torch.testing.assert_close(plain(**batch).last_hidden_state, ours.encoder(**batch).last_hidden_state,
                                   atol=1e-6, rtol=1e-5)
