"""Benchmark: evaluation throughput of xstilts' length-sorted, ``inference_mode`` prediction against unsorted batches.

    .venv/bin/python bench/eval_throughput.py                                # embedded XNLI, every language pooled
    .venv/bin/python bench/eval_throughput.py real=/path/to/xtreme_download  # real XNLI dev, 15 languages (XTREME)
    .venv/bin/python bench/eval_throughput.py batch_size=64 threads=2 repeats=5
    (out=FILE writes elsewhere; bench/results/eval_throughput.json, a committed measurement, is replaced
    only with force=true)

The model of ``bench/train_throughput.py`` (XLM-R-style, hidden 256, 4 layers, an XNLI head) predicts the same
features three ways:

- ``xstilts``: ``xstilts.tasktypes.common.predict_logits``, what evaluation and dev selection run: batches of
  length-sorted features (little padding), under ``torch.inference_mode``, logits mapped back to the input order;
- ``unsorted``: batches in the data's own order with dynamic padding under ``torch.no_grad`` (what the HF Trainer's
  prediction loop does with a padding collator);
- ``unsorted_grad``: the same batches with autograd left on (a hand-written loop that forgets ``no_grad``).

The data is every language's XNLI rows pooled in one fixed shuffled order (an unsorted data set whose lengths vary:
Chinese pairs are a fraction of the length of Russian ones), so batches mix lengths as real evaluation sets do.
All three must give the same predictions (checked). Variants alternate ``repeats`` times; medians are reported, as
wall-clock and per CPU-second of this process (less disturbed by other processes on shared cores).
Results: ``bench/results/eval_throughput.json`` (``out=`` to change).

Target (the project's evaluation-speed goal, recorded as ``target_met`` in the result): ``xstilts`` >= 1.5x
``unsorted``.
"""
from __future__ import annotations

import copy
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _common

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULTS: dict[str, Any] = {
    "hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024, "vocab_size": 4000,
    "batch_size": 64,  # what evaluate_xtreme.py and dev selection use by default (batch_size, eval_batch_size)
    "max_length": 128,
    "threads": 1,
    "repeats": 5,
    "seed": 0,
    "real": None,  # a folder in XTREME layout (e.g. an XTREME download folder): its XNLI dev in every language
    "real_rows": 300,  # rows per language taken from the real data
    "out": "bench/results/eval_throughput.json",
}
VARIANTS = ("xstilts", "unsorted", "unsorted_grad")


def parse(argv: list[str]) -> dict[str, Any]:
    return _common.parse_args(argv, DEFAULTS)


def load_rows(cfg: dict[str, Any]) -> tuple[list[dict], str]:
    """XNLI rows of every language available, pooled and shuffled with a fixed seed."""
    from xstilts import data
    from xstilts.tasks import get_task

    task = get_task("xnli")
    if cfg["real"]:
        per_lang = {}
        for lang in task.languages:
            try:
                per_lang[lang] = data.load_split(task, task.eval["validation"], "xtreme", lang, "validation",
                                                 cfg["real"], cfg["real_rows"])
            except data.DataMissing:
                pass
        desc = f"real XNLI dev from {cfg['real']}, {cfg['real_rows']} rows per language"
    else:
        per_lang = {}
        for lang in task.languages:
            try:
                per_lang[lang] = data.load_split(task, task.eval["test"], "embedded", lang, "test", None, None)
            except data.DataMissing:
                pass
        per_lang["en-train"] = data.load_train(task, "embedded", None)
        desc = "embedded XNLI test rows of every shipped language + the English training rows"
    rows = [r for lang in sorted(per_lang) for r in per_lang[lang]]
    random.Random(cfg["seed"]).shuffle(rows)
    return rows, f"{desc} ({', '.join(sorted(per_lang))}), one shuffled order"


def predict_in_order(model: Any, features: list[dict], collator: Any, batch_size: int, grad: bool) -> list[Any]:
    """Batches in the given order, dynamic padding; ``torch.no_grad`` unless ``grad``."""
    import torch

    model.eval()
    out = []
    with torch.set_grad_enabled(grad):
        for start in range(0, len(features), batch_size):
            batch = collator([{k: v for k, v in f.items() if k != "labels"}
                              for f in features[start:start + batch_size]])
            logits = model(**batch)["logits"]
            out.extend(logits.detach().float().numpy())
    return out


def main(argv: list[str] | None = None) -> int:
    cfg = parse(sys.argv[1:] if argv is None else argv)
    out = _common.out_file(cfg, REPO)  # before the work: an existing measurement is kept unless force=true
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import torch
    import transformers

    from xstilts import tasktypes
    from xstilts.log import quiet_libraries
    from xstilts.tasktypes import common

    quiet_libraries()
    task, model, tokenizer = _common.xnli_model(cfg, threads=cfg["threads"])
    rows, data_desc = load_rows(cfg)
    features = tasktypes.build(task).encode(rows, tokenizer, cfg["max_length"], train=False).features
    collator = common.Collator(tokenizer.pad_token_id)
    lengths = [common.feature_length(f) for f in features]
    print(f"data: {data_desc}: {len(rows)} rows, tokens min {min(lengths)} median {statistics.median(lengths)} "
          f"max {max(lengths)}; batch {cfg['batch_size']}; torch threads {cfg['threads']}", flush=True)

    def run(variant: str) -> tuple[list[Any], dict[str, float]]:
        m = copy.deepcopy(model)
        t0, c0 = time.perf_counter(), time.process_time()
        if variant == "xstilts":
            logits = common.predict_logits(m, features, collator, cfg["batch_size"])
        else:
            logits = predict_in_order(m, features, collator, cfg["batch_size"], grad=variant == "unsorted_grad")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return logits, {"wall_s": wall, "cpu_s": cpu, "examples_per_s": len(features) / wall,
                        "examples_per_cpu_s": len(features) / cpu}

    reference = None
    agreement: dict[str, float] = {}
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    load = {"start": os.getloadavg()[0]}
    run("xstilts")  # warm-up (allocator, lazy initialisation): not counted
    for rep in range(cfg["repeats"]):
        for variant in VARIANTS:
            logits, r = run(variant)
            preds = np.array([int(np.argmax(lg)) for lg in logits])
            if reference is None:
                reference = preds
            agreement[variant] = float((preds == reference).mean())
            runs[variant].append(r)
            print(f"  [{rep + 1}/{cfg['repeats']}] {variant:13s} {r['examples_per_s']:8.1f} ex/s "
                  f"{r['examples_per_cpu_s']:8.1f} ex/CPU-s", flush=True)
    load["end"] = os.getloadavg()[0]

    # Padding each variant computes: sorted batches vs the data's own order.
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    bs = cfg["batch_size"]

    def padded(idx: list[int]) -> int:
        return sum(max(lengths[i] for i in idx[s:s + bs]) * len(idx[s:s + bs]) for s in range(0, len(idx), bs))

    padding = {"sorted_padded_tokens_per_example": padded(order) / len(lengths),
               "unsorted_padded_tokens_per_example": padded(list(range(len(lengths)))) / len(lengths),
               "real_tokens_per_example": sum(lengths) / len(lengths)}

    med = {v: {k: statistics.median(r[k] for r in runs[v]) for k in runs[v][0]} for v in VARIANTS}
    ratios = {f"xstilts_vs_{b}": {"wall": med["xstilts"]["examples_per_s"] / med[b]["examples_per_s"],
                                  "cpu": med["xstilts"]["examples_per_cpu_s"] / med[b]["examples_per_cpu_s"]}
              for b in ("unsorted", "unsorted_grad")}
    target = 1.5
    met = {m: ratios["xstilts_vs_unsorted"][m] >= target for m in ("wall", "cpu")}
    print("\nmedian examples/s (wall | per CPU-second):")
    for v in VARIANTS:
        print(f"  {v:13s} {med[v]['examples_per_s']:8.1f} | {med[v]['examples_per_cpu_s']:8.1f}   "
              f"(same predictions as xstilts: {agreement[v]:.3f})")
    for k, r in ratios.items():
        print(f"  {k}: {r['wall']:.2f}x wall, {r['cpu']:.2f}x CPU")
    print(f"  target xstilts >= {target}x unsorted: "
          f"{'met' if all(met.values()) else 'NOT met' if not any(met.values()) else 'met on one measure'}")
    print(f"  padded tokens per example: sorted {padding['sorted_padded_tokens_per_example']:.1f}, unsorted "
          f"{padding['unsorted_padded_tokens_per_example']:.1f} (real {padding['real_tokens_per_example']:.1f})")
    print(f"  1-minute load average: {load['start']:.1f} at start, {load['end']:.1f} at end ({os.cpu_count()} cores)")

    result = {
        "benchmark": "eval_throughput", "config": cfg, "data": data_desc, "rows": len(rows),
        "token_lengths": {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths)},
        "padding": padding, "runs": runs, "median": med, "ratios": ratios, "target": target, "target_met": met,
        "prediction_agreement_with_xstilts": agreement,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "transformers": transformers.__version__, "cpu_count": os.cpu_count(),
                        "load_average_1min": load, "platform": platform.platform(),
                        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    }
    _common.write_json(out, result, cfg["force"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
