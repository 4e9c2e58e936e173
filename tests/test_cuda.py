"""The GPU path: bf16 and fp16 training, evaluation on the GPU against the CPU, and a chain run on the GPU.

Marked ``cuda``: ``pytest -m cuda`` runs them on a CUDA GPU (``bench/gpu_check.py`` does, and records the summary);
without a GPU they skip, so the default run passes over them cleanly. ``XSTILTS_CUDA_TESTS_DEVICE=cpu`` runs the same
code on the CPU (bf16 as CPU autocast; the fp16 test still skips) to check the tests themselves without a GPU.

Tolerances (tiny random-weight encoders, so logits sit close together and argmax ties are common):

- bf16 vs fp32 training: the loss within 1% and the gradients within 5% relative L2 error; over three Trainer steps
  the logged losses within 2%;
- GPU vs CPU evaluation: logits (or embeddings) within 0.5% relative L2 error in fp32 and 3% under bf16 autocast,
  and at least 90% (fp32) / 75% (bf16) of the predictions identical.
"""
from __future__ import annotations

import copy
import json
import math
import os

import numpy as np
import pytest
import torch

DEVICE = os.environ.get("XSTILTS_CUDA_TESTS_DEVICE", "cuda")
ON_GPU = DEVICE == "cuda"

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(ON_GPU and not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture
def exact_fp32():
    """fp32 matmuls without TF32 (an earlier Trainer may have switched it on for the whole process), through the
    same interface transformers uses, so the two never disagree."""
    from transformers.utils.import_utils import enable_tf32

    if ON_GPU:
        enable_tf32(False)


def _tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def _model(folder, task_name: str, seed: int = 0):
    """The tiny phase-1 encoder with a fresh head for ``task_name`` (the same weights for the same seed)."""
    from xstilts import tasktypes
    from xstilts.modeling import MultiHeadModel, load_encoder
    from xstilts.tasks import get_task

    task = get_task(task_name)
    torch.manual_seed(seed)
    encoder = load_encoder(folder)
    return task, MultiHeadModel(encoder, [tasktypes.build(task).head_spec(encoder)])


def _rows(task, lang: str, n: int = 24):
    from xstilts import data

    return data.load_split(task, task.eval["test"], "embedded", lang, "test", None, n)


def _train_rows(task_name: str, n: int):
    from xstilts import data
    from xstilts.tasks import get_task

    task = get_task(task_name)
    return task, data.load_train(task, "embedded", None, n), data.load_dev(task, "embedded", None, 16)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


# ---- training precision ---------------------------------------------------------------------------------------------
def _loss_and_grads(model, batch, dtype):
    model.zero_grad(set_to_none=True)
    with torch.autocast(DEVICE, dtype=dtype, enabled=dtype is not None):
        loss = model(**batch)["loss"]
    loss.backward()
    grads = torch.cat([p.grad.float().flatten() for p in model.parameters() if p.grad is not None])
    return float(loss), grads.cpu().numpy()


def test_bf16_training_step_matches_fp32(tiny_phase1, exact_fp32):
    from xstilts import tasktypes
    from xstilts.tasktypes import common

    task, model = _model(tiny_phase1, "xnli")
    model = model.to(DEVICE).eval()  # dropout off: the two passes must see the same network
    _, rows, _ = _train_rows("xnli", 16)
    feats = tasktypes.build(task).encode(rows, _tokenizer(tiny_phase1), 64).features
    batch = common.to_device(common.Collator(_tokenizer(tiny_phase1).pad_token_id)(feats), DEVICE)
    loss32, grads32 = _loss_and_grads(model, batch, None)
    loss16, grads16 = _loss_and_grads(model, batch, torch.bfloat16)
    assert math.isfinite(loss16) and abs(loss16 - loss32) <= 0.01 * abs(loss32)
    assert _rel(grads16, grads32) < 0.05
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast never touches the weights


def _run_training(folder, tmp_path, precision: str, steps: int = 3, **settings):
    """Three optimizer steps through xstilts.training.run_training (the phases' own machinery)."""
    from xstilts import tasktypes
    from xstilts.config import TrainConfig
    from xstilts.tasktypes.base import DevSet
    from xstilts.training import run_training

    task, model = _model(folder, "xnli")
    # Dropout off: on a GPU, SDPA picks another kernel for bf16 than for fp32, and the kernels draw their dropout
    # masks differently, so with dropout the two runs would not see the same network (4% apart at step 1 on an H200).
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    tok = _tokenizer(folder)
    _, train, dev = _train_rows("xnli", 48)
    cfg = TrainConfig(seed=0, lr=1e-4, batch_size=8, max_length=64, max_steps=steps, eval_steps=steps,
                      logging_steps=1, precision=precision, tf32=False, **settings)
    task_type = tasktypes.build(task)
    dev_set = DevSet(task_type, dev[:16], task_type.encode(dev[:16], tok, 64, train=False))
    features = task_type.encode(train, tok, 64).features
    out = tmp_path / "-".join([precision, *map(str, settings.values())])
    return model, run_training(model, tok, features, [dev_set], cfg, out, [task.name], ["labels"])


def test_bf16_trainer_steps_follow_fp32(tiny_phase1, tmp_path):
    losses = {}
    for precision in ("fp32", "bf16"):
        model, result = _run_training(tiny_phase1, tmp_path, precision)
        losses[precision] = [e["loss"] for e in result["log_history"] if "loss" in e]
        assert result["cost"]["speed"]["precision"] == precision
        assert result["cost"]["device"].startswith(DEVICE)
        assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 master weights
    assert len(losses["bf16"]) == len(losses["fp32"]) == 3
    for a, b in zip(losses["bf16"], losses["fp32"], strict=True):
        assert math.isfinite(a) and abs(a - b) <= 0.02 * abs(b), losses


def test_compiled_training_follows_eager(tiny_phase1, tmp_path):
    """train.compile=default and graphs (regional compilation over the padded shapes; CUDA graphs on a GPU) train the
    same network as eager mode: losses within fp32 reordering noise, one compiled graph per shape at most."""
    import torch._dynamo

    losses = {}
    for mode in ("off", "default", "graphs"):
        torch._dynamo.reset()
        model, result = _run_training(tiny_phase1, tmp_path, "fp32", compile=mode, pad_to_multiple_of=16)
        losses[mode] = [e["loss"] for e in result["log_history"] if "loss" in e]
        speed = result["cost"]["speed"]
        assert speed["compile"] == mode and speed["pad_to_multiple_of"] == 16
        assert speed["compiled_layers"] == (0 if mode == "off" else model.config.num_hidden_layers)
    torch._dynamo.reset()
    for mode in ("default", "graphs"):
        for a, b in zip(losses[mode], losses["off"], strict=True):
            assert math.isfinite(a) and abs(a - b) <= 2e-3 * abs(b), (mode, losses)


@pytest.mark.skipif(not ON_GPU, reason="fp16 training needs a CUDA GPU")
def test_fp16_trains_with_loss_scaling(tiny_phase1, tmp_path):
    from torch.amp import GradScaler

    before = {n: p.detach().clone() for n, p in _model(tiny_phase1, "xnli")[1].named_parameters()}
    model, result = _run_training(tiny_phase1, tmp_path, "fp16", steps=8)
    scaler = result["trainer"].accelerator.scaler
    assert isinstance(scaler, GradScaler) and scaler.is_enabled() and scaler.get_scale() > 0
    assert result["cost"]["speed"]["precision"] == "fp16"
    assert all(math.isfinite(e["loss"]) for e in result["log_history"] if "loss" in e)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 master weights, fp16 compute only
    moved = [n for n, p in model.named_parameters() if not torch.equal(p.detach().cpu(), before[n])]
    assert moved, "no weight changed: every fp16 step was skipped as overflowing"


# ---- evaluation: GPU against CPU -------------------------------------------------------------------------------------
# logits relative L2 error, share of identical predictions
PRECISIONS = {"fp32": (0.005, 0.9), "bf16": (0.03, 0.75)}


@pytest.mark.parametrize("task_name,lang,max_length", [("xnli", "de", 64), ("xcopa", "et", 64), ("xquad", "de", 96),
                                                       ("panx", "ar", 64)])
def test_gpu_evaluation_equals_cpu(tiny_phase1, exact_fp32, task_name, lang, max_length):
    """Every trainable task type: classification, multiple choice, span QA, tagging."""
    from xstilts import evaluation, tasktypes
    from xstilts.tasktypes import common

    task, model = _model(tiny_phase1, task_name)
    model.eval()
    tok = _tokenizer(tiny_phase1)
    rows = _rows(task, lang)
    enc = tasktypes.build(task).encode(rows, tok, max_length, train=False)
    collator = common.Collator(tok.pad_token_id)
    cpu_logits = common.predict_logits(model, enc.features, collator, 8, "cpu")
    cpu_preds = tasktypes.build(task).predict(rows, enc, cpu_logits)
    for precision, (tol, agree) in PRECISIONS.items():
        gpu = copy.deepcopy(model).to(DEVICE)
        evaluation.autocast_encoder(gpu.encoder, precision)
        gpu_logits = common.predict_logits(gpu, enc.features, collator, 8, DEVICE)
        flat = [np.concatenate([np.ravel(x) for x in lg]) for lg in (gpu_logits, cpu_logits)]
        assert _rel(*flat) < tol, (precision, _rel(*flat))
        preds = tasktypes.build(task).predict(rows, enc, gpu_logits)
        same = sum(a == b for a, b in zip(preds, cpu_preds, strict=True)) / len(rows)
        assert same >= agree, (precision, same)
        metrics = tasktypes.build(task).score(rows, preds, lang)  # the scoring path runs on the GPU's logits
        assert metrics["n"] == len(rows)


def test_gpu_retrieval_embeddings_equal_cpu(tiny_phase1, exact_fp32):
    """Retrieval (Tatoeba/BUCC: any layer, mean pooling) and dual-encoder embeddings."""
    from xstilts import evaluation, retrieval
    from xstilts.modeling import load_merged_encoder as load_retrieval_encoder
    from xstilts.tasks import get_task
    from xstilts.tasktypes import dual_encoder
    from xstilts.tasktypes.retrieval import embed

    _, dual = _model(tiny_phase1, "lareqa")
    tok = _tokenizer(tiny_phase1)
    rows = _rows(get_task("tatoeba"), "ar", 32)
    sources, targets = [r["source"] for r in rows], [r["target"] for r in rows]
    encoder = load_retrieval_encoder(tiny_phase1)
    layer = encoder.config.num_hidden_layers
    ref_src, ref_tgt = (embed(encoder, tok, s, layer, "mean", 64, 8) for s in (sources, targets))
    ref_dual = dual_encoder.embed(dual, tok, sources, None, 64, 8, "cpu")
    ref_preds = retrieval.tatoeba_predictions(ref_src, ref_tgt, 64)
    for precision, (tol, agree) in PRECISIONS.items():
        gpu = evaluation.autocast_encoder(copy.deepcopy(encoder).to(DEVICE), precision)
        src, tgt = (embed(gpu, tok, s, layer, "mean", 64, 8) for s in (sources, targets))
        assert _rel(src.numpy(), ref_src.numpy()) < tol and _rel(tgt.numpy(), ref_tgt.numpy()) < tol, precision
        preds = retrieval.tatoeba_predictions(src, tgt, 64)
        assert sum(a == b for a, b in zip(preds, ref_preds, strict=True)) / len(rows) >= agree, precision
        gdual = copy.deepcopy(dual).to(DEVICE)
        evaluation.autocast_encoder(gdual.encoder, precision)
        assert _rel(dual_encoder.embed(gdual, tok, sources, None, 64, 8, DEVICE).numpy(), ref_dual.numpy()) < tol


# ---- the scripts on the GPU ------------------------------------------------------------------------------------------
def test_phase2_phase3_evaluate_chain_on_gpu(tiny_phase1, tmp_path):
    import evaluate_xtreme
    import phase2_intermediate
    import phase3_target
    from xstilts.results import read_result

    fast = ["data.source=embedded", "data.max_train_samples=64", "data.max_eval_samples=16", "train.max_steps=4",
            "train.eval_steps=2", "train.batch_size=8", "train.max_length=48", "train.precision=bf16"]
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={tiny_phase1}", f"output={tmp_path}/p2",
                                     *fast]) == 0
    assert phase3_target.main(["recipes/phase3/xnli.yaml", f"input={tmp_path}/p2", f"output={tmp_path}/p3",
                               *fast]) == 0
    assert evaluate_xtreme.main([f"input={tmp_path}/p3", f"output={tmp_path}/results", "data.source=embedded",
                                 "data.max_eval_samples=12"]) == 0
    for phase in ("p2", "p3"):
        cost = json.loads((tmp_path / phase / "metrics.json").read_text())["cost"]
        assert cost["device"].startswith(DEVICE), cost
        speed = cost["speed"]
        assert speed["precision"] == "bf16" and speed["attn_implementation"] == "sdpa"
        assert speed["optim"] == "adamw_torch_fused"
        assert speed["compile"] == "off" and cost["flops"]["padded"] >= cost["flops"]["real_estimated"] > 0
        if ON_GPU:
            assert speed["tf32"] is (torch.cuda.get_device_capability()[0] >= 8) and speed["pin_memory"]
            # Issue 26: copies from pinned memory without waiting; batches padded to multiples of 16 (few shapes).
            assert speed["non_blocking"] and speed["pad_to_multiple_of"] == 16
            assert speed["train_shapes"] and all(int(k.split("x")[-1]) % 16 == 0 for k in speed["train_shapes"])
    result = read_result(tmp_path / "results" / "xnli.json")
    assert result.languages and all(0 <= m["accuracy"] <= 100 for m in result.languages.values())
    if ON_GPU and torch.cuda.is_bf16_supported():
        assert any("bf16 autocast" in n for n in result.notes), result.notes
