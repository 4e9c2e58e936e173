"""Step hygiene: what keeps a GPU waiting for the host, measured without a GPU.

Counts, on the toolkit's own training step (the XTrainer that ``xstilts.training.build_trainer`` makes for a phase-3
run) and evaluation loop (``xstilts.tasktypes.common.predict_logits``):

- ``syncs_per_step``: host reads of tensor values per optimizer step (``aten._local_scalar_dense``: ``item``,
  ``float(t)``, ``int(t)``, a tensor used as a Python bool; ``nonzero``, ``masked_select``, ``unique``, ``equal``:
  ops whose output size depends on values), averaged over the steps of a run with the default logging interval.
  On a GPU each is a full stream synchronisation. With ``device_only`` (GPU mode) only reads of tensors on an
  accelerator count, plus blocking copies from it to the host; on CPU every read counts, which over-counts reads of
  host memory but shows every read that a GPU run would make;
- ``syncs_in_forward``: the same, inside the model's forward passes (training and evaluation);
- ``graph_breaks``: ``torch._dynamo.explain`` on the model's forward with one head and with two;
- ``train_shapes`` / ``eval_shapes``: distinct (batch, width) shapes and padded over real tokens on the real XNLI
  English lengths (``bench/data/xnli_en_lengths.json``) with the real sampler, batch 32 (training, the lengths eight
  times over as in the review's table: 623 batches) and length-sorted evaluation batches of the evaluation default.

``python bench/gpu_check.py OUT --cpu --tiny`` writes these as ``step_hygiene``; tests/test_step_hygiene.py asserts the
targets (syncs_per_step <= 1, syncs_in_forward 0, no graph breaks, at most 6 training / 8 evaluation shapes, padded
tokens at most 1.25x the real ones).
"""
from __future__ import annotations

import json
import random
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

REPO = Path(__file__).resolve().parents[1]
LENGTHS_FILE = REPO / "bench" / "data" / "xnli_en_lengths.json"
SYNC_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim", "unique_consecutive",
            "equal", "nonzero_numpy"}
TARGETS = {"syncs_per_step": 1.0, "syncs_in_forward": 0, "graph_breaks": 0, "train_shapes": 6, "eval_shapes": 8,
           "padded_over_real": 1.25}
TINY = {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "vocab": 1000}


class SyncCounter(TorchDispatchMode):
    """Counts host reads of tensor values at the dispatcher (below autograd, so every caller is seen), while
    ``active``; those inside a forward pass of a model given to ``watch`` separately. ``sites`` names the first
    frame outside torch for each read (where to look)."""

    def __init__(self, device_only: bool = False):
        super().__init__()
        self.device_only = device_only
        self.active = False
        self.depth = 0  # > 0 inside a watched forward pass
        self.total = 0
        self.in_forward = 0
        self.sites: Counter[str] = Counter()

    def watch(self, model: torch.nn.Module) -> None:
        def enter(*_: Any) -> None:
            self.depth += 1

        def leave(*_: Any) -> None:
            self.depth -= 1

        model.register_forward_pre_hook(enter)
        model.register_forward_hook(leave)

    def _is_sync(self, name: str, args: tuple, kwargs: dict) -> bool:
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        if name in SYNC_OPS:
            return not self.device_only or any(t.device.type != "cpu" for t in tensors)
        if name in ("_to_copy", "copy_") and self.device_only:
            # A blocking copy from the device to the host waits for the device.
            if name == "_to_copy":
                dst = kwargs.get("device")
                return bool(tensors) and tensors[0].device.type != "cpu" and dst is not None and \
                    torch.device(dst).type == "cpu" and not kwargs.get("non_blocking", False)
            return len(tensors) >= 2 and tensors[0].device.type == "cpu" and tensors[1].device.type != "cpu" and \
                not (args[2] if len(args) > 2 else kwargs.get("non_blocking", False))
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.active and self._is_sync(func.overloadpacket.__name__, args, kwargs):
            self.total += 1
            if self.depth > 0:
                self.in_forward += 1
            self.sites[_site()] += 1
        return func(*args, **kwargs)


def _site() -> str:
    """The innermost frame outside torch (``file:line function``) of the current call."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        f = frame.filename.replace("\\", "/")
        if "/torch/" not in f and "step_hygiene.py" not in f:
            parts = f.split("/")
            short = "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else \
                "/".join(parts[-2:])
            return f"{short}:{frame.lineno} {frame.name}"
    return "?"


def load_lengths() -> list[int]:
    return [int(n) for n in json.loads(LENGTHS_FILE.read_text(encoding="utf-8"))["lengths"]]


def tiny_model(heads: int, device: str, attn: str = "sdpa") -> Any:
    """A tiny XLM-R-shaped encoder (random weights) with ``heads`` classification heads (tasks t0, t1, ...)."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.modeling import MultiHeadModel
    from xstilts.typespecs import HeadSpec

    config = XLMRobertaConfig(vocab_size=TINY["vocab"], hidden_size=TINY["hidden"], num_hidden_layers=TINY["layers"],
                              num_attention_heads=TINY["heads"], intermediate_size=TINY["intermediate"],
                              max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0,
                              eos_token_id=2)
    torch.manual_seed(0)
    encoder = XLMRobertaModel._from_config(config, attn_implementation=attn, add_pooling_layer=False)
    return MultiHeadModel(encoder, [HeadSpec(f"t{i}", "classification", 3) for i in range(heads)]).to(device)


def features(lengths: list[int], task_id: int = 0, max_length: int = 128, seed: int = 0) -> list[dict[str, Any]]:
    """Random-id classification features of the given lengths (CLS ... EOS), truncated to ``max_length``."""
    rng = random.Random(seed)
    out = []
    for n in lengths:
        n = max(3, min(n, max_length))
        out.append({"input_ids": [0] + [rng.randrange(5, TINY["vocab"]) for _ in range(n - 2)] + [2],
                    "attention_mask": [1] * n, "labels": rng.randrange(3), "task_id": task_id})
    return out


class _Tokenizer:
    pad_token_id = 1


def _dev_set(feats: list[dict[str, Any]], name: str = "t0") -> Any:
    """A DevSet over ``feats`` for a stand-in classification task (XNLI's scoring, the features' own labels)."""
    from xstilts import tasktypes
    from xstilts.tasks import get_task
    from xstilts.tasktypes.base import DevSet
    from xstilts.tasktypes.common import Encoded

    rows = [{"text_a": "", "text_b": "", "label": f["labels"]} for f in feats]
    return DevSet(tasktypes.build(get_task("xnli")), rows, Encoded(feats))


def build(cfg_overrides: dict[str, Any], heads: int, device: str, workdir: Path, steps: int,
          train_lengths: list[int] | None = None, compile_backend: Any = None) -> Any:
    """The XTrainer of a phase-3 run (``heads`` = 1) or of a multi-task phase-2 run (2: the task sampler), on the
    tiny model, with the recipe defaults except ``cfg_overrides``."""
    from xstilts import sampling, training
    from xstilts.config import SamplerConfig, TrainConfig

    lengths = train_lengths or load_lengths()
    feats = []
    for t in range(heads):
        feats += features(lengths[: max(64, steps * 32)], task_id=t, seed=t)
    dev = _dev_set(features(lengths[:64], seed=9))
    cfg = TrainConfig(max_steps=steps, seed=0, **cfg_overrides)
    factory = None
    if heads > 1:
        sizes = {f"t{t}": len(feats) // heads for t in range(heads)}
        factory = sampling.multitask_dataloader_factory(SamplerConfig(), sizes, cfg)
    model = tiny_model(heads, device)
    return training.build_trainer(model, _Tokenizer(), feats, [dev], cfg, workdir / "checkpoints",
                                  [f"t{t}" for t in range(heads)], ["labels"], factory, compile_backend)


def measure_training(device: str = "cpu", heads: int = 1, steps: int = 60, device_only: bool | None = None,
                     **cfg_overrides: Any) -> dict[str, Any]:
    """Host reads per optimizer step and inside forward passes, over ``steps`` steps with the default logging
    interval (50): the window runs from the first step's start to the last step's end (its log included; the final
    evaluation and checkpoint after it are not part of a step)."""
    from transformers import TrainerCallback

    counter = SyncCounter(device_only=device != "cpu" if device_only is None else device_only)

    class Window(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            counter.active = True

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= steps:
                counter.active = False

    with tempfile.TemporaryDirectory() as tmp:
        trainer = build({"batch_size": 32, **cfg_overrides}, heads, device, Path(tmp), steps)
        counter.watch(trainer.model)
        trainer.add_callback(Window())  # after LossGuard: its reads at the last step are inside the window
        with counter:
            trainer.train()
        out = {"steps": trainer.state.global_step, "syncs": counter.total,
               "syncs_per_step": round(counter.total / max(1, trainer.state.global_step), 3),
               "syncs_in_forward": counter.in_forward, "sites": dict(counter.sites.most_common(8)),
               "logging_steps": trainer.args.logging_steps, "device_only": counter.device_only}
    return out


def measure_evaluation(device: str = "cpu", examples: int = 512, device_only: bool | None = None) -> dict[str, Any]:
    """Host reads in the evaluation loop (``predict_logits`` with the evaluation defaults)."""
    from xstilts.config import EvalRecipe
    from xstilts.tasktypes.common import Collator, predict_logits

    defaults = EvalRecipe(input="-", output="-")
    model = tiny_model(1, device)
    feats = [{k: v for k, v in f.items() if k != "labels"} for f in features(load_lengths()[:examples])]
    counter = SyncCounter(device_only=device != "cpu" if device_only is None else device_only)
    counter.watch(model)
    from xstilts.tasktypes.common import EVAL_GPU_PAD_MULTIPLE, eval_batch_size, pad_multiple

    collator = Collator(1, pad_multiple(defaults.pad_to_multiple_of, device, EVAL_GPU_PAD_MULTIPLE), 128)
    batch = eval_batch_size(defaults.batch_size, device, 128)
    with counter:
        counter.active = True
        predict_logits(model, feats, collator, batch, device)
    batches = -(-len(feats) // batch)
    return {"batches": batches, "syncs": counter.total, "syncs_in_forward": counter.in_forward,
            "sites": dict(counter.sites.most_common(8))}


def graph_breaks(heads: int) -> int:
    """Graph breaks of ``torch._dynamo.explain`` on the model's training forward (CPU, tiny model)."""
    import torch._dynamo

    from xstilts.tasktypes.common import Collator

    model = tiny_model(heads, "cpu").train()
    batch = Collator(1, 16, 128)(features([20, 31, 17, 9], task_id=heads - 1))
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(**batch)
    torch._dynamo.reset()
    return int(explanation.graph_break_count)


def shape_stats(batches: list[tuple[tuple[int, ...], int]]) -> dict[str, Any]:
    """``{"distinct": n, "padded_over_real": x}`` of (shape, real tokens) per batch."""
    shapes = [s for s, _ in batches]
    padded = sum(s[0] * s[-1] for s in shapes)
    real = sum(r for _, r in batches)
    return {"distinct": len(set(shapes)), "padded_over_real": round(padded / real, 4), "batches": len(batches),
            "shapes": sorted({"x".join(map(str, s)) for s in shapes})}


def gpu_multiple(setting: int | str, evaluation: bool = False) -> int:
    """What a ``pad_to_multiple_of`` setting means on a CUDA GPU (the shapes targets are about a GPU)."""
    from xstilts.tasktypes.common import EVAL_GPU_PAD_MULTIPLE, GPU_PAD_MULTIPLE, pad_multiple

    return pad_multiple(setting, "cuda", EVAL_GPU_PAD_MULTIPLE if evaluation else GPU_PAD_MULTIPLE)


def train_shapes(**cfg_overrides: Any) -> dict[str, Any]:
    """Training batch shapes with the real sampler (the XTrainer's length-grouped sampler), batch 32, one epoch over
    the XNLI lengths taken eight times (623 batches), max_length 128, the recipe's padding as on a GPU."""
    from xstilts.config import TrainConfig

    lengths = load_lengths() * 8
    cfg_overrides.setdefault("pad_to_multiple_of", gpu_multiple(TrainConfig().pad_to_multiple_of))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build({"batch_size": 32, **cfg_overrides}, 1, "cpu", Path(tmp), steps=1, train_lengths=lengths)
        trainer.train_dataset.features = features(lengths)  # every length (build caps the features to the steps)
        trainer.train_lengths = [len(f["input_ids"]) for f in trainer.train_dataset.features]
        batches = [(tuple(b["input_ids"].shape), int(b["attention_mask"].sum()))
                   for b in trainer.get_train_dataloader()]
    return shape_stats(batches)


def eval_shapes(pad_to_multiple_of: int | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Evaluation batch shapes of ``predict_logits`` (length-sorted) over the XNLI lengths, evaluation defaults (the
    padding as on a GPU)."""
    from xstilts.config import EvalRecipe
    from xstilts.tasktypes.common import Collator, eval_batch_size, predict_logits

    defaults = EvalRecipe(input="-", output="-")
    seen: list[tuple[tuple[int, ...], int]] = []
    inner = Collator(1, pad_to_multiple_of or gpu_multiple(defaults.pad_to_multiple_of, evaluation=True), 128)

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        out = inner(rows)
        seen.append((tuple(out["input_ids"].shape), int(out["attention_mask"].sum())))
        return out

    model = tiny_model(1, "cpu")
    feats = [{k: v for k, v in f.items() if k != "labels"} for f in features(load_lengths())]
    batch = batch_size or eval_batch_size(defaults.batch_size, "cuda", 128)  # as on a GPU: 256 rows at 128 tokens
    predict_logits(model, feats, collate, batch, "cpu")
    return shape_stats(seen)


def measure_all(device: str = "cpu", steps: int = 60, syncs_only: bool = False) -> dict[str, Any]:
    """Everything of ``step_hygiene`` (see the module docstring), each part in its own try/except; ``syncs_only``:
    the host reads alone (what depends on the device)."""
    out: dict[str, Any] = {"targets": TARGETS, "device": device}
    parts = {
        "train_1_head": lambda: measure_training(device, 1, steps),
        "train_2_heads": lambda: measure_training(device, 2, steps),
        "evaluation": lambda: measure_evaluation(device),
    }
    if not syncs_only:
        parts.update(graph_breaks=lambda: {"1_head": graph_breaks(1), "2_heads": graph_breaks(2)},
                     train_shapes=train_shapes, eval_shapes=eval_shapes)
    for name, fn in parts.items():
        try:
            out[name] = fn()
        except Exception as exc:  # noqa: BLE001 - one failing part must not hide the others
            out[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    one, two = out.get("train_1_head", {}), out.get("train_2_heads", {})
    if "syncs_per_step" in one and "syncs_per_step" in two:
        out["syncs_per_step"] = max(one["syncs_per_step"], two["syncs_per_step"])
        ev = out.get("evaluation", {})
        out["syncs_in_forward"] = one["syncs_in_forward"] + two["syncs_in_forward"] + ev.get("syncs_in_forward", 0)
    return out


def problems(hygiene: dict[str, Any]) -> list[str]:
    """Which targets a ``measure_all`` result misses (empty: all met)."""
    found = []
    parts = [p for p in ("train_1_head", "train_2_heads", "evaluation", "graph_breaks", "train_shapes", "eval_shapes")
             if p in hygiene]
    for part in parts:
        if "error" in hygiene[part]:
            found.append(f"{part}: {hygiene[part]['error']}")
    if found:
        return found
    if hygiene["syncs_per_step"] > TARGETS["syncs_per_step"]:
        found.append(f"syncs_per_step {hygiene['syncs_per_step']} > {TARGETS['syncs_per_step']}")
    if hygiene["syncs_in_forward"] > 0:
        found.append(f"syncs_in_forward {hygiene['syncs_in_forward']} > 0")
    for key, n in hygiene.get("graph_breaks", {}).items():
        if n > 0:
            found.append(f"graph_breaks {key}: {n}")
    for part, limit in (("train_shapes", TARGETS["train_shapes"]), ("eval_shapes", TARGETS["eval_shapes"])):
        if part not in hygiene:
            continue
        stats = hygiene[part]
        if stats["distinct"] > limit:
            found.append(f"{part}: {stats['distinct']} distinct shapes > {limit}")
        if stats["padded_over_real"] > TARGETS["padded_over_real"]:
            found.append(f"{part}: padded/real {stats['padded_over_real']} > {TARGETS['padded_over_real']}")
    return found


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(REPO))
    result = measure_all("cuda" if "--cuda" in sys.argv else "cpu")
    print(json.dumps(result, indent=2, default=str))
    print("problems:", problems(result) or "none")
