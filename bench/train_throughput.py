"""Benchmark: phase-3 training throughput of xstilts' Trainer path against the two usual alternatives.

    .venv/bin/python bench/train_throughput.py                                # embedded English XNLI, 40 timed steps
    .venv/bin/python bench/train_throughput.py real=/path/to/xtreme_download  # real XNLI English dev (XTREME layout)
    .venv/bin/python bench/train_throughput.py steps=80 batch_size=32 threads=2 repeats=3
    (out=FILE writes elsewhere; bench/results/train_throughput.json, a committed measurement, is replaced
    only with force=true)

One process, one model, one data set: an XLM-R-style encoder built from a config (hidden 256, 4 layers, 4 heads,
feed-forward 1024; tokenizer trained on the embedded corpus) with an XNLI classification head, trained for the same
number of optimizer steps, from the same initial weights, three ways:

- ``xstilts``: what phase 3 runs: ``xstilts.training.XTrainer`` with the recipe's TrainingArguments
  (``training_arguments``), length-grouped batches (``LengthGroupedSampler`` over our known lengths) and padding to
  the batch's longest row rounded up to ``train.pad_to_multiple_of`` (``xstilts.tasktypes.common.Collator``; its
  default ``auto`` is 1 on CPU); evaluation and checkpointing switched off so only training is timed;
- ``xstilts_pad16``: the same with ``pad_to_multiple_of=16`` (what ``auto`` means on a GPU), so the cost of the
  GPU's setting on CPU is measured in the same process;
- ``hf_fixed``: the HF Trainer as the XTREME and HF example scripts use it: every example padded to ``max_length``
  at tokenisation (``padding="max_length"``), random batches, ``default_data_collator``;
- ``torch_loop``: a plain PyTorch loop: random batches (seeded ``randperm``), dynamic padding, AdamW, linear warmup
  and decay, gradient clipping: the Trainer's step without the Trainer.

The first ``warmup`` steps of every run are not timed. Variants alternate (xstilts, hf_fixed, torch_loop, xstilts,
...) ``repeats`` times and the median is reported. Wall-clock examples/s depends on whatever else uses the cores; the
examples per CPU-second of this process are far less disturbed by other processes, so ratios are given for both
(with ``threads=1``, CPU-seconds and wall-seconds coincide on an idle machine). Padded tokens per example show where
the time goes. Results: ``bench/results/train_throughput.json`` (``out=`` to change).

Targets (the project's training-speed goal, recorded as ``targets_met`` in the result): ``xstilts`` >= 1.4x
``hf_fixed`` and >= 0.95x ``torch_loop``. ``xstilts_vs_xstilts_pad16`` shows what the GPU's padding multiple would
cost on CPU (why ``auto`` is 1 there).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULTS: dict[str, Any] = {
    "hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024, "vocab_size": 4000,
    "steps": 40,  # timed optimizer steps per run
    "warmup": 3,  # untimed steps first
    "batch_size": 16,
    "max_length": 128,
    "lr": 5e-4,
    "threads": 1,  # torch intra-op threads
    "repeats": 3,
    "seed": 0,
    "real": None,  # a folder in XTREME layout (e.g. an XTREME download folder): train on its XNLI English dev instead
    "out": "bench/results/train_throughput.json",
}
VARIANTS = ("xstilts", "xstilts_pad16", "hf_fixed", "torch_loop")


def parse(argv: list[str]) -> dict[str, Any]:
    return _common.parse_args(argv, DEFAULTS)


class Clock:
    """Wall and CPU time from the end of the warm-up steps to the end of the run."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.start: tuple[float, float] | None = None
        self.stop: tuple[float, float] | None = None

    def step_done(self, step: int) -> None:
        if step == self.warmup:
            self.start = (time.perf_counter(), time.process_time())

    def finish(self) -> dict[str, float]:
        self.stop = (time.perf_counter(), time.process_time())
        assert self.start is not None
        return {"wall_s": self.stop[0] - self.start[0], "cpu_s": self.stop[1] - self.start[1]}


class CountingCollator:
    """Wraps a collator and counts the padded token positions it produces (per example: the cost driver)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.tokens = 0
        self.examples = 0

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = self.inner(batch)
        self.tokens += int(out["input_ids"].numel())
        self.examples += len(batch)
        return out


def load_rows(cfg: dict[str, Any]) -> tuple[list[dict], str]:
    from xstilts import data
    from xstilts.tasks import get_task

    task = get_task("xnli")
    if cfg["real"]:
        return data.load_dev(task, "xtreme", cfg["real"]), f"XNLI English dev from {cfg['real']} (XTREME layout)"
    return data.load_train(task, "embedded", None), "embedded XNLI English training data (xstilts/quickstart_data)"


def train_with_trainer(variant: str, model: Any, features: list[dict], tokenizer: Any, cfg: dict[str, Any],
                       workdir: Path) -> dict[str, float]:
    from transformers import Trainer, TrainerCallback, default_data_collator

    from xstilts import training
    from xstilts.config import TrainConfig
    from xstilts.tasktypes import common

    total = cfg["warmup"] + cfg["steps"]
    toolkit = variant.startswith("xstilts")
    tc = TrainConfig(seed=cfg["seed"], lr=cfg["lr"], batch_size=cfg["batch_size"], max_length=cfg["max_length"],
                     max_steps=total, eval_steps=total, logging_steps=total, group_by_length=toolkit)
    if variant == "xstilts_pad16":
        tc.pad_to_multiple_of = 16
    args = training.training_arguments(tc, workdir, ["labels"], steps_per_epoch=total)
    # Training only: no periodic dev evaluation, no checkpoints (both are the same for every variant anyway).
    args = dataclasses.replace(args, eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    clock = Clock(cfg["warmup"])

    class Timer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.step_done(state.global_step)

    ds = training.FeatureDataset(features)
    if toolkit:
        multiple = common.pad_multiple(tc.pad_to_multiple_of, args.device)
        collator = CountingCollator(common.Collator(tokenizer.pad_token_id, multiple, tc.max_length))
        trainer = training.XTrainer(model=model, args=args, train_dataset=ds, data_collator=collator,
                                    callbacks=[Timer()], dev_sets=[], collator=collator,
                                    train_lengths=[common.feature_length(f) for f in features],
                                    eval_batch_size=tc.eval_batch_size)
    else:
        collator = CountingCollator(default_data_collator)
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator, callbacks=[Timer()])
    trainer.train()
    out = clock.finish()
    out["padded_tokens_per_example"] = collator.tokens / collator.examples
    return out


def train_with_loop(model: Any, features: list[dict], tokenizer: Any, cfg: dict[str, Any]) -> dict[str, float]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from xstilts.tasktypes import common

    total = cfg["warmup"] + cfg["steps"]
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm", "layer_norm"))]
    no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm", "layer_norm"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["lr"], eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * total), total)
    collator = CountingCollator(common.Collator(tokenizer.pad_token_id))
    gen = torch.Generator().manual_seed(cfg["seed"])
    order: list[int] = []
    clock = Clock(cfg["warmup"])
    model.train()
    for step in range(1, total + 1):
        if len(order) < cfg["batch_size"]:
            order = torch.randperm(len(features), generator=gen).tolist()
        idx, order = order[:cfg["batch_size"]], order[cfg["batch_size"]:]
        batch = collator([features[i] for i in idx])
        loss = model(**batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        clock.step_done(step)
    out = clock.finish()
    out["padded_tokens_per_example"] = collator.tokens / collator.examples
    return out


def main(argv: list[str] | None = None) -> int:
    cfg = parse(sys.argv[1:] if argv is None else argv)
    out = _common.out_file(cfg, REPO)  # before the work: an existing measurement is kept unless force=true
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    from xstilts import tasktypes
    from xstilts.log import quiet_libraries
    from xstilts.tasktypes import common

    quiet_libraries()
    task, initial, tokenizer = _common.xnli_model(cfg, threads=cfg["threads"])
    rows, data_desc = load_rows(cfg)

    dynamic = tasktypes.build(task).encode(rows, tokenizer, cfg["max_length"]).features
    enc = tokenizer([r["text_a"] for r in rows], [r["text_b"] for r in rows], truncation=True,
                    max_length=cfg["max_length"], padding="max_length")
    fixed = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": r["label"],
              "task_id": 0} for i, r in enumerate(rows)]
    lengths = [common.feature_length(f) for f in dynamic]
    print(f"data: {data_desc}: {len(rows)} rows, tokens min {min(lengths)} median {statistics.median(lengths)} "
          f"max {max(lengths)} (max_length {cfg['max_length']}); torch threads {cfg['threads']}", flush=True)

    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    load = {"start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(cfg["repeats"]):
            for variant in VARIANTS:
                model = copy.deepcopy(initial)
                torch.manual_seed(cfg["seed"])
                if variant == "torch_loop":
                    r = train_with_loop(model, dynamic, tokenizer, cfg)
                else:
                    r = train_with_trainer(variant, model, dynamic if variant.startswith("xstilts") else fixed,
                                           tokenizer, cfg,
                                           Path(tmp) / f"{variant}-{rep}")
                n = cfg["steps"] * cfg["batch_size"]
                r.update(examples_per_s=n / r["wall_s"], examples_per_cpu_s=n / r["cpu_s"])
                runs[variant].append(r)
                print(f"  [{rep + 1}/{cfg['repeats']}] {variant:10s} {r['examples_per_s']:7.1f} ex/s  "
                      f"{r['examples_per_cpu_s']:7.1f} ex/CPU-s  {r['padded_tokens_per_example']:6.1f} "
                      "padded tokens/example", flush=True)
    load["end"] = os.getloadavg()[0]

    med = {v: {k: statistics.median(r[k] for r in runs[v]) for k in runs[v][0]} for v in VARIANTS}

    def ratio(a: str, b: str, key: str) -> float:
        return med[a][key] / med[b][key]

    ratios = {f"xstilts_vs_{b}": {"wall": ratio("xstilts", b, "examples_per_s"),
                                  "cpu": ratio("xstilts", b, "examples_per_cpu_s")}
              for b in ("xstilts_pad16", "hf_fixed", "torch_loop")}
    targets = {"xstilts_vs_hf_fixed": 1.4, "xstilts_vs_torch_loop": 0.95}
    met = {k: {m: ratios[k][m] >= t for m in ("wall", "cpu")} for k, t in targets.items()}
    print("\nmedian examples/s (wall | per CPU-second):")
    for v in VARIANTS:
        print(f"  {v:10s} {med[v]['examples_per_s']:7.1f} | {med[v]['examples_per_cpu_s']:7.1f}   "
              f"({med[v]['padded_tokens_per_example']:.1f} padded tokens per example)")
    for k, t in targets.items():
        print(f"  {k}: {ratios[k]['wall']:.2f}x wall, {ratios[k]['cpu']:.2f}x CPU  (target >= {t}x: "
              f"{'met' if all(met[k].values()) else 'NOT met' if not any(met[k].values()) else 'met on one measure'})")
    pad16 = ratios["xstilts_vs_xstilts_pad16"]
    print(f"  xstilts_pad16_vs_xstilts (what the GPU's padding multiple costs on CPU): {1 / pad16['wall']:.2f}x wall, "
          f"{1 / pad16['cpu']:.2f}x CPU")
    print(f"  1-minute load average: {load['start']:.1f} at start, {load['end']:.1f} at end ({os.cpu_count()} cores)")

    result = {
        "benchmark": "train_throughput", "config": cfg, "data": data_desc, "rows": len(rows),
        "token_lengths": {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths)},
        "runs": runs, "median": med, "ratios": ratios, "targets": targets, "targets_met": met,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "transformers": transformers.__version__, "cpu_count": os.cpu_count(),
                        "load_average_1min": load, "platform": platform.platform(),
                        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    }
    _common.write_json(out, result, cfg["force"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
