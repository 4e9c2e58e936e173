"""Multi-process training on CPU (gloo), the same code path as multi-GPU: phase 3 under ``torchrun`` scores as a
single-process run does, multi-task phase 2 under ``accelerate launch`` keeps one task per optimizer step on every
rank, only rank 0 owns the output folder, and gradient checkpointing runs."""
from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import evaluate_xtreme
import phase1_pretrained
import phase3_target
from xstilts import encoders, training
from xstilts.results import read_result
from xstilts.sampling import TaskBatchSampler

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CORPUS = [f"the cat sees the dog number {i} in the big city" for i in range(60)] + [
    "der Hund sieht die Katze", "el perro ve al gato", "собака видит кошку", "猫看见了狗", "الكلب يرى القطة"]
# 9 optimizer steps of 32 examples: 288 of the 300 embedded XNLI training rows, so no step holds a partial batch
# (a partial last batch is split unevenly over ranks and padded by accelerate: not comparable by construction).
STEPS = ["train.max_steps=9", "train.eval_steps=9", "train.logging_steps=1", "train.group_by_length=false",
         "train.max_length=48"]


def _env() -> dict[str, str]:
    # One thread per process: two ranks with two threads each on two cores run many times slower (ENVIRONMENT.md).
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A tiny phase-1 encoder with dropout off: two runs that see the same examples per step then compute the same
    updates up to floating-point summation order."""
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    folder = tmp_path_factory.mktemp("ddp") / "p1"
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={folder}", "stats_languages=[en]",
                                   "tiny.vocab_size=300"]) == 0
    mp.undo()
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _losses(run: Path) -> list[float]:
    history = json.loads((run / "metrics.json").read_text())["log_history"]
    return [h["loss"] for h in history if "loss" in h]


@pytest.mark.slow
def test_torchrun_phase3_scores_like_one_process(encoder, tmp_path):
    """Same data per optimizer step: one process with batch 32, or 2 ranks with batch 16 each (the seeded sampler's
    permutation is split batch-wise: rank 0 takes the first 16 of each 32, rank 1 the next 16; gradients are
    averaged across ranks, which equals the mean over the 32). Dropout is off, so the only difference left is the
    order of floating-point sums (gloo's all-reduce of two half-batch gradients vs one full-batch sum): about 1e-7
    relative per step.

    Tolerance: logged losses within 1e-3 at every step; per-language accuracy within one example (100/40 points
    on the 40 embedded test rows), since an argmax may flip on a near-tie; the XNLI score within the same bound.
    """
    common = ["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", *STEPS]
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    assert phase3_target.main([*common, f"output={single}", "train.batch_size=32"]) == 0
    proc = subprocess.run([str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", "phase3_target.py",
                           *common, f"output={ddp}", "train.batch_size=16"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # Rank 0 alone owns the folder: no lock refused, exactly the files of a single-process run, lock released.
    assert "is in use by pid" not in proc.stderr
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())
    assert not (ddp / "run.lock").exists()
    metrics = json.loads((ddp / "metrics.json").read_text())
    assert metrics["cost"]["world_size"] == 2 and metrics["global_step"] == 9

    a, b = _losses(single), _losses(ddp)
    assert len(a) == len(b) == 9
    assert a[0] == pytest.approx(b[0], abs=1e-5)  # before any update: the same 32 examples, the same weights
    assert a == pytest.approx(b, abs=1e-3)

    for run in (single, ddp):
        assert evaluate_xtreme.main([f"input={run}", f"output={run}/results", "data.source=embedded"]) == 0
    ra, rb = read_result(single / "results" / "xnli.json"), read_result(ddp / "results" / "xnli.json")
    assert sorted(ra.languages) == sorted(rb.languages)
    for lang in ra.languages:
        n = ra.languages[lang]["n"]
        assert abs(ra.languages[lang]["accuracy"] - rb.languages[lang]["accuracy"]) <= 100 / n + 1e-9, lang
    assert abs(ra.score - rb.score) <= 100 / 40 + 1e-9


@pytest.mark.slow
def test_accelerate_launch_multitask_phase2(encoder, tmp_path):
    """Two gloo ranks through ``accelerate launch`` (``--multi_gpu`` gives real ranks on CPU; ``--cpu`` would run
    one process), multi-task with length-grouped batches, the default path."""
    out = tmp_path / "p2"
    proc = subprocess.run([str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
                           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                           "phase2_intermediate.py", "recipes/quickstart/phase2_mnli.yaml", "tasks=[mnli,siqa]",
                           f"input={encoder}", f"output={out}", "train.max_steps=4", "train.eval_steps=4",
                           "train.max_length=48", "data.max_train_samples=64", "data.max_eval_samples=16"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cost"]["world_size"] == 2 and metrics["global_step"] == 4
    assert metrics["heads"] == ["mnli", "siqa"] and (out / "DONE").is_file()


def test_task_sampler_gives_every_rank_the_step_task():
    """accelerate's own batch sharding applied to the multi-task sampler: at every micro-batch, both ranks draw
    from the same task, and each rank sees grad_accum micro-batches per step."""
    from accelerate.data_loader import BatchSamplerShard

    sizes = {"a": 40, "b": 25, "c": 10}
    probs = {"a": 0.5, "b": 0.3, "c": 0.2}
    # Each rank builds its own sampler from the same seed, as each DDP process does.
    samplers = [TaskBatchSampler(sizes, probs, batch_size=4, grad_accum=2, steps_per_epoch=12, seed=3, replicas=2)
                for _ in (0, 1)]
    ranks = [list(BatchSamplerShard(samplers[r], num_processes=2, process_index=r)) for r in (0, 1)]

    def task_of(batch):
        starts = {"a": (0, 40), "b": (40, 65), "c": (65, 75)}
        found = {t for t, (lo, hi) in starts.items() for i in batch if lo <= i < hi}
        assert len(found) == 1
        return found.pop()

    assert len(ranks[0]) == len(ranks[1]) == 12 * 2
    per_rank = [[task_of(b) for b in r] for r in ranks]
    assert per_rank[0] == per_rank[1]
    assert per_rank[0][::2] == samplers[0].drawn == per_rank[0][1::2]  # both micro-batches of a step: its task


def test_gradient_checkpointing_runs(encoder, tmp_path, monkeypatch):
    calls = []
    original = training.run_training

    def spy(model, *args, **kwargs):
        out = original(model, *args, **kwargs)
        calls.append(model.encoder.is_gradient_checkpointing)
        return out

    monkeypatch.setattr("xstilts.pipeline.run_training", spy)
    out = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", f"output={out}",
                               "train.gradient_checkpointing=true", "train.max_steps=2", "train.eval_steps=2",
                               "train.batch_size=8", "train.max_length=32", "data.max_train_samples=32",
                               "data.max_eval_samples=8"]) == 0
    assert calls == [True] and (out / "DONE").is_file()
    assert all(loss == loss for loss in _losses(out))  # finite (NaN != NaN)
    shutil.rmtree(out)


def _torchrun(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", *args],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_torchrun_evaluation_splits_languages_and_writes_one_result(encoder, tmp_path):
    """Evaluation under a launcher: each rank scores its share of the languages, rank 0 writes one result equal to
    the single-process one (same per-language computations; OMP threads differ, so within one example), and
    retrieval (Tatoeba on the phase-1 encoder) is split the same way."""
    p3 = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", f"output={p3}",
                               "train.max_steps=3", "train.eval_steps=3", "train.max_length=48"]) == 0
    single, multi = tmp_path / "single", tmp_path / "multi"
    assert evaluate_xtreme.main([f"input={p3}", f"output={single}", "data.source=embedded"]) == 0
    assert evaluate_xtreme.main([f"input={encoder}", f"output={single}", "task=tatoeba",
                                 "data.source=embedded"]) == 0
    for task_args in ([f"input={p3}"], [f"input={encoder}", "task=tatoeba"]):
        proc = _torchrun("evaluate_xtreme.py", *task_args, f"output={multi}", "data.source=embedded")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = proc.stdout
    assert sorted(p.name for p in multi.iterdir()) == [".xstilts-written", "tatoeba.json", "xnli.json"]
    for name in ("xnli", "tatoeba"):
        a, b = read_result(single / f"{name}.json"), read_result(multi / f"{name}.json")
        assert list(a.languages) == list(b.languages)  # the single-process language order, not rank order
        metric = a.main_metric
        for lang in a.languages:
            assert abs(a.languages[lang][metric] - b.languages[lang][metric]) <= 100 / a.languages[lang]["n"] + 1e-9
        assert a.notes == b.notes and a.missing_languages == b.missing_languages
        # The per-language reliability figures travel from the ranks too, and the task interval is built from all.
        assert set(b.reliability) == set(b.languages) and b.score_ci95 is not None
        assert all(b.reliability[lang]["ci95"] is not None for lang in b.languages)
        assert set(b.items) == set(b.languages)  # the per-item scores a paired difference redraws travel too
    # Both ranks worked: every language was logged once, by one of two processes.
    tatoeba_langs = read_result(multi / "tatoeba.json").languages
    assert sum(len(re.findall(rf"tatoeba {lang} \d+/\d+: accuracy ", logs)) for lang in tatoeba_langs) == \
        len(tatoeba_langs)


@pytest.mark.slow
def test_torchrun_phase1_writes_once_and_every_rank_waits(tmp_path):
    out = tmp_path / "p1"
    proc = _torchrun("phase1_pretrained.py", "recipes/phase1/tiny_multilingual.yaml", f"output={out}",
                     "stats_languages=[en]", "tiny.mlm_steps=0")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "DONE").is_file() and not (out / "run.lock").exists()
    assert proc.stdout.count("done: encoder") == 1  # rank 1 neither built nor wrote anything
    assert "is in use by pid" not in proc.stderr


def test_fsdp_settings_reach_accelerate_with_one_shard_unit_per_layer(tiny_phase1, monkeypatch):
    """FSDP2 is configured through TrainingArguments (accelerate applies it on multi-GPU runs): the encoder's
    transformer layer class is the wrap unit, full_shard reshards after forward, shard_grad_op does not."""
    from xstilts.config import TrainConfig
    from xstilts.modeling import load_encoder

    names = training.layer_class_names(load_encoder(tiny_phase1))
    assert names == ["XLMRobertaLayer"]
    assert training.fsdp_arguments(TrainConfig(), names) == {}
    assert training.fsdp_arguments(TrainConfig(fsdp="full_shard"), names) == {}  # no GPUs here: not applicable
    monkeypatch.setattr(training, "multi_gpu", lambda: True)
    for mode, reshard in (("full_shard", True), ("shard_grad_op", False)):
        args = training.training_arguments(TrainConfig(fsdp=mode, fsdp_cpu_offload=True), Path("/tmp/x"),
                                           ["labels"], 10, names)
        plugin = args.fsdp_plugin_args
        assert plugin["fsdp_version"] == 2 and plugin["reshard_after_forward"] is reshard
        assert plugin["transformer_cls_names_to_wrap"] == "XLMRobertaLayer"
        assert plugin["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP" and plugin["cpu_offload"] is True
        assert plugin["state_dict_type"] == "FULL_STATE_DICT"  # checkpoints stay model.safetensors


def test_fsdp_on_cpu_says_it_is_not_in_effect(encoder, tmp_path, capsys):
    """accelerate shards with FSDP on GPUs only: a CPU run with train.fsdp set trains unsharded and says so, and
    metrics.json records the parallelism that was actually used."""
    out = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", f"output={out}",
                               "train.max_steps=1", "train.eval_steps=1", "train.max_length=32",
                               "train.fsdp=full_shard"]) == 0
    assert "train.fsdp=full_shard is not in effect here (NO)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["cost"]["distributed"] == "NO"


PRECISIONS = [("bf16", torch.bfloat16)] + ([("fp16", torch.float16)] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("precision,dtype", PRECISIONS)
def test_mixed_precision_trains_under_autocast_with_fp32_weights(encoder, tmp_path, monkeypatch, precision, dtype):
    """The recipe's precision reaches the forward pass as autocast (CPU autocast here, CUDA autocast on a GPU: the
    same Trainer path), while the saved weights stay fp32 master weights and the loss stays finite."""
    from safetensors.torch import load_file

    from xstilts.modeling import MultiHeadModel

    seen = []
    forward = MultiHeadModel.forward

    @functools.wraps(forward)  # the Trainer reads forward's signature
    def spy(self, *args, **kwargs):
        if self.training:
            device = "cuda" if torch.cuda.is_available() else "cpu"
            seen.append(torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(MultiHeadModel, "forward", spy)
    out = tmp_path / precision
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", f"output={out}",
                               "train.max_steps=2", "train.eval_steps=2", "train.max_length=32",
                               f"train.precision={precision}"]) == 0
    assert seen and all(d == dtype for d in seen), seen
    weights = load_file(str(out / "final" / "model.safetensors"))
    assert {t.dtype for t in weights.values()} == {torch.float32}
    assert all(math.isfinite(loss) for loss in _losses(out))


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is refused only without a GPU")
def test_fp16_without_a_gpu_is_refused_not_silently_fp32(encoder, tmp_path, capsys):
    out = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={encoder}", f"output={out}",
                               "train.max_steps=1", "train.precision=fp16"]) == 2
    assert "train.precision=fp16 needs a CUDA GPU; on this machine use train.precision=bf16" in capsys.readouterr().err
    assert not (out / "DONE").exists()
