"""End to end: phase 1 -> 2 -> 3 -> evaluation in temporary folders, through the real Hub code path (in-memory
datasets with the exact schemas), the exact files each phase writes, bad input, and resume of an interrupted run."""
from __future__ import annotations

import json
import re

import helpers
import pytest
import torch
from fakehub import FakeHub
from helpers import ONE_EPOCH
from transformers import Trainer

import evaluate_xtreme
import phase1_pretrained
import phase2_intermediate
import phase3_target
from xstilts import data, encoders
from xstilts.results import read_result

CORPUS = helpers.CORPUS + ["der Hund sieht die Katze", "猫看见了狗", "собака видит кошку"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    monkeypatch.setattr(data, "hub_loader", FakeHub(n=40))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """One full chain, shared by the tests that only read it."""
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    mp.setattr(data, "hub_loader", FakeHub(n=40))
    t = tmp_path_factory.mktemp("chain")
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={t}/p1",
                                   "stats_languages=[en,de,zh]", "tiny.vocab_size=300"]) == 0
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={t}/p1", f"output={t}/p2",
                                     "train.precision=fp32", *ONE_EPOCH]) == 0
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={t}/p2", f"output={t}/p3",
                               "train.precision=fp32", "train.dev_examples=null", *ONE_EPOCH]) == 0
    assert evaluate_xtreme.main([f"input={t}/p3", f"output={t}/results", "data.source=hub",
                                 "data.max_eval_samples=12"]) == 0
    mp.undo()
    return t


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_each_phase_writes_exactly_its_files(chain):
    # Each folder also holds its manifest (runfiles.MANIFEST): what the run claimed before writing it.
    assert _files(chain / "p1") == [".xstilts-written", "DONE", "config.json", "encoder_stats.json",
                                    "model.safetensors", "recipe.yaml", "run.json", "tokenizer.json",
                                    "tokenizer_config.json"]
    final = ["final/config.json", "final/heads.json", "final/heads.safetensors", "final/model.safetensors",
             "final/tokenizer.json", "final/tokenizer_config.json"]
    assert _files(chain / "p2") == sorted([".xstilts-written", "DONE", *final, "metrics.json", "recipe.yaml",
                                           "run.json"])
    # phase 3's final/ also holds its model card and (evaluated) the record of the evaluations the card shows
    assert _files(chain / "p3") == sorted([".xstilts-written", "DONE", *final, "final/README.md",
                                           "final/evaluations.json", "metrics.json", "recipe.yaml", "run.json"])
    assert _files(chain / "results") == [".xstilts-written", "xnli.json"]


def test_result_has_every_language_and_the_chain(chain):
    r = read_result(chain / "results" / "xnli.json")
    assert sorted(r.languages) == sorted(["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr",
                                          "ur", "vi", "zh"])
    assert all(m["n"] == 12 and 0 <= m["accuracy"] <= 100 for m in r.languages.values())
    assert r.score == pytest.approx(sum(m["accuracy"] for m in r.languages.values()) / 15)
    assert [c["phase"] for c in r.chain] == ["phase3", "phase2", "phase1"]
    assert r.chain[1]["recipe"]["tasks"] == ["mnli"] and r.chain[0]["recipe"]["task"] == "xnli"
    assert r.run.intermediate == "mnli" and r.run.encoder == "tiny-multilingual"
    assert r.run.encoder_kind == "multilingual"
    assert r.chain[2]["stats"]["languages"]["zh"]["tokens_per_word"] > 0
    assert r.split == "test" and r.data_source == "hub" and not r.partial


def test_recipes_and_metrics_are_traceable(chain):
    recipe_text = (chain / "p3" / "recipe.yaml").read_text()
    assert "task: xnli" in recipe_text and f"input: {chain}/p2" in recipe_text
    metrics = json.loads((chain / "p3" / "metrics.json").read_text())
    assert metrics["cost"]["trainable_parameters"] == metrics["cost"]["total_parameters"] > 0
    assert metrics["cost"]["size_on_disk_bytes"] > 0 and metrics["cost"]["peak_memory_mb"] > 0
    assert "intermediate head(s) not used: mnli" in metrics["weights"]
    assert json.loads((chain / "p3" / "run.json").read_text())["parent"] == str((chain / "p2").resolve())


def test_every_number_carries_its_machine_versions_and_wall_time(chain):
    """Each phase folder records where and how long it ran (run.json, DONE); each result carries those of its whole
    chain and its own evaluation's, which is what a published table's time-per-phase comes from."""
    import torch
    import transformers

    r = read_result(chain / "results" / "xnli.json")
    for entry in r.chain:
        env = entry["environment"]
        assert torch.__version__.startswith(env["packages"]["torch"].split("+")[0])
        assert env["packages"]["transformers"] == transformers.__version__
        assert env["cpu_count"] > 0 and env["python"] and env["world_size"] == 1
        assert entry["done"]["wall_time_s"] >= 0  # from the run header to DONE
    assert r.environment["packages"]["transformers"] == transformers.__version__
    assert r.wall_time_s is not None and r.wall_time_s > 0


def test_baseline_straight_from_phase1(chain, tmp_path):
    assert phase3_target.main(["recipes/phase3/pawsx.yaml", f"input={chain}/p1", f"output={tmp_path}/p3",
                               "train.precision=fp32", *ONE_EPOCH]) == 0
    assert evaluate_xtreme.main([f"input={tmp_path}/p3", f"output={tmp_path}/r", "data.source=hub",
                                 "data.max_eval_samples=8", "languages=[de,ja]"]) == 0
    r = read_result(tmp_path / "r" / "pawsx.json")
    assert r.run.intermediate == "none" and sorted(r.languages) == ["de", "ja"]


# ---- bad input: a short error naming the problem and the fix, exit 2, nothing that looks finished --------------------
def _err(capsys):
    return capsys.readouterr().err


def test_missing_input_folder(tmp_path, capsys):
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={tmp_path}/nope", f"output={tmp_path}/o"]) == 2
    assert "does not exist; give the output folder of phase1 or phase2" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_input_that_is_not_a_run_folder(tmp_path, capsys):
    (tmp_path / "random").mkdir()
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={tmp_path}/random", f"output={tmp_path}/o"]) == 2
    assert "is not an xstilts run folder" in _err(capsys)


def test_wrong_phase_output(chain, tmp_path, capsys):
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={chain}/p3", f"output={tmp_path}/o"]) == 2
    assert "is a phase3 folder; phase 3 starts from phase1 or phase2 output" in _err(capsys)
    assert evaluate_xtreme.main([f"input={chain}/p2", f"output={tmp_path}/r", "task=xnli"]) == 2
    assert "xnli needs a phase-3 model" in _err(capsys)


def test_unknown_task_and_language(chain, tmp_path, capsys):
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={chain}/p1", f"output={tmp_path}/o",
                               "task=xnlii"]) == 2
    assert "task: unknown task 'xnlii'; known:" in _err(capsys)
    assert evaluate_xtreme.main([f"input={chain}/p3", f"output={tmp_path}/r", "languages=[de,xx]"]) == 2
    assert "language(s) ['xx'] not in task xnli; its languages: ar bg de" in _err(capsys)


def test_invalid_yaml(tmp_path, capsys):
    bad = tmp_path / "r.yaml"
    bad.write_text("tasks: [mnli\n")
    assert phase2_intermediate.main([str(bad)]) == 2
    assert "invalid YAML" in _err(capsys)


def test_finished_output_is_refused_unless_overwrite(chain, tmp_path, capsys):
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={chain}/p1"]) == 2
    assert "already holds a finished run; choose another output= or pass overwrite=true" in _err(capsys)
    assert evaluate_xtreme.main([f"input={chain}/p3", f"output={chain}/results"]) == 2
    assert "xnli.json already exists" in _err(capsys)
    out = tmp_path / "p1"
    args = ["recipes/phase1/tiny_multilingual.yaml", f"output={out}", "tiny.vocab_size=300", "stats_languages=[en]"]
    assert phase1_pretrained.main(args) == 0
    assert phase1_pretrained.main(args + ["overwrite=true"]) == 0


def test_failed_run_does_not_look_finished(chain, tmp_path, monkeypatch, capsys):
    def broken(*a):
        raise ConnectionError("hub unreachable")

    monkeypatch.setattr(data, "hub_loader", broken)
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={chain}/p1", f"output={tmp_path}/o",
                               *ONE_EPOCH]) == 2
    assert "could not load dataset facebook/xnli" in _err(capsys)
    assert not (tmp_path / "o" / "DONE").exists() and not (tmp_path / "o" / "run.lock").exists()
    assert (tmp_path / "o" / "recipe.yaml").is_file()  # traceable even though unfinished


def test_interrupted_phase2_resumes_and_matches_an_uninterrupted_run(chain, tmp_path, monkeypatch):
    args = ["recipes/phase2/mnli.yaml", f"input={chain}/p1", "train.precision=fp32", "train.max_steps=8",
            "train.eval_steps=2", "train.batch_size=8", "train.max_length=48", "data.source=hub",
            "train.save_total_limit=10", "train.grad_accum=1"]
    assert phase2_intermediate.main(args + [f"output={tmp_path}/straight"]) == 0

    original = Trainer.training_step
    calls = {"n": 0}

    def interrupt_at_step_5(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated pre-emption")
        return original(self, *a, **k)

    monkeypatch.setattr(Trainer, "training_step", interrupt_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        phase2_intermediate.main(args + [f"output={tmp_path}/resumed"])
    monkeypatch.setattr(Trainer, "training_step", original)
    resumed = tmp_path / "resumed"
    assert not (resumed / "DONE").exists() and (resumed / "checkpoints" / "checkpoint-4").is_dir()

    assert phase2_intermediate.main(args + [f"output={resumed}"]) == 0
    m_straight = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    m_resumed = json.loads((resumed / "metrics.json").read_text())
    assert re.search(r"checkpoint-4$", m_resumed["resumed_from"])
    assert m_resumed["global_step"] == m_straight["global_step"] == 8
    assert m_resumed["dev"] == m_straight["dev"]
    # The weights themselves match (the Trainer's averaged train_loss only covers the resumed part, so not compared).
    from safetensors.torch import load_file

    for name in ("model.safetensors", "heads.safetensors"):
        a, b = load_file(str(tmp_path / "straight" / "final" / name)), load_file(str(resumed / "final" / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], atol=1e-6), key
