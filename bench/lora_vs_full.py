"""Benchmark: training throughput and peak memory of full fine-tuning versus LoRA on a mid-size encoder.

    .venv/bin/python bench/lora_vs_full.py                         # hidden 256, 4 layers, 40 timed steps, LoRA r=8
    .venv/bin/python bench/lora_vs_full.py steps=100 batch_size=16 lora_r=16 lora_targets=query,key,value,dense
    (out=FILE writes elsewhere; bench/results/lora_vs_full.json, a committed measurement, is replaced
    only with force=true)

One invocation builds an XLM-R-style encoder from a config (hidden 256, 4 layers, 4 heads, feed-forward 1024) with a
tokenizer trained on the embedded corpus (``xstilts.encoders.build_tiny_encoder``), saves it once, and then trains an
XNLI classification head on the embedded English XNLI data for a fixed number of optimizer steps, once per variant:
full fine-tuning (every weight) and LoRA (adapters on ``lora_targets``, head fully trained, as the phase scripts do).

Each variant runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``) is its own; the variants see the
same weights, the same batches in the same order and the same torch thread count. The training loop is the bare
step the HF Trainer performs (forward, backward, gradient clipping, AdamW over the trainable parameters), without the
Trainer's evaluation and checkpointing, so the figures isolate what LoRA changes. The first ``warmup_steps`` steps
(allocator and optimizer-state warm-up) are not timed but do count towards peak memory. The variants alternate
(full, lora, full, lora, ...) ``repeats`` times; the best throughput (the repeat least disturbed by other processes,
as timeit takes the minimum) and the maximum peak are reported, every repeat is kept under ``runs``. Besides
wall-clock examples/s, each run reports examples/s of its median and of its fastest step and examples per CPU-second
of its own process, which other processes sharing the cores disturb less (the 1-minute load average is recorded
too). Memory: peak RSS (allocator caching and the interpreter included), and two deterministic parts of the bill:
gradients + AdamW state of the trainable weights (computed) and the activations autograd saves for backward
(measured with saved-tensor hooks) - on a small model the activations dominate. Compute: forward+backward FLOPs of
the largest batch (torch's FlopCounterMode), the machine-independent side of the throughput ratio.
Results go to ``bench/results/lora_vs_full.json`` (``out=`` to change).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from _common import peak_rss_mb, rss_mb

REPO = Path(__file__).resolve().parents[1]

DEFAULTS = {
    "hidden_size": 256,
    "num_layers": 4,
    "num_heads": 4,
    "intermediate_size": 1024,
    "vocab_size": 4000,  # upper bound: the 14-language embedded corpus yields ~3,200 pieces
    "steps": 40,  # timed optimizer steps per variant
    "warmup_steps": 5,  # untimed steps first (memory still counted)
    "batch_size": 32,
    "max_length": 128,
    "lr": 5e-4,
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.1,
    "lora_targets": "query,value",
    "threads": 2,  # torch intra-op threads in every variant
    "repeats": 3,  # runs per variant (alternating); throughput: best repeat, peak memory: max
    "seed": 0,
    "out": "bench/results/lora_vs_full.json",
}
VARIANTS = ("full", "lora")


def _parse(argv: list[str]) -> dict:
    cfg = _common.parse_args(argv, DEFAULTS)
    if cfg["steps"] <= 0 or cfg["batch_size"] <= 0 or cfg["repeats"] <= 0:
        raise SystemExit("steps, batch_size and repeats must be positive")
    return cfg


def build_encoder(cfg: dict, folder: Path) -> dict:
    """Builds the benchmark encoder and its tokenizer into ``folder`` (a phase-1-style encoder folder)."""
    sys.path.insert(0, str(REPO))
    from xstilts.config import TinyEncoderConfig
    from xstilts.encoders import build_tiny_encoder, save_encoder
    from xstilts.log import quiet_libraries

    quiet_libraries()

    tiny = TinyEncoderConfig(family="xlm-roberta", vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"],
                             num_layers=cfg["num_layers"], num_heads=cfg["num_heads"],
                             intermediate_size=cfg["intermediate_size"])
    model, tokenizer = build_tiny_encoder(tiny, cfg["seed"])
    save_encoder(model, tokenizer, folder)
    return {"vocab_size": len(tokenizer)}


def _worker(variant: str, folder: str, cfg: dict) -> dict:
    """Trains one variant in this (fresh) process and returns its measurements."""
    import torch
    from transformers import AutoTokenizer

    sys.path.insert(0, str(REPO))
    from xstilts import data, tasktypes
    from xstilts.config import LoraConfig
    from xstilts.log import quiet_libraries
    from xstilts.lora import apply as apply_lora
    from xstilts.modeling import MultiHeadModel, load_encoder
    from xstilts.tasks import get_task
    from xstilts.tasktypes import common
    from xstilts.typespecs import HeadSpec
    from xstilts.training import count_parameters

    torch.set_num_threads(cfg["threads"])
    quiet_libraries()
    rss_import = rss_mb()
    task = get_task("xnli")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = data.load_train(task, "embedded", None)
    feats = tasktypes.build(task).encode(rows, tokenizer, cfg["max_length"], task_id=0, train=True).features
    collator = common.Collator(tokenizer.pad_token_id)
    total = cfg["warmup_steps"] + cfg["steps"]
    # The same batches in the same order for every variant: one seeded permutation per pass over the data.
    gen = torch.Generator().manual_seed(cfg["seed"])
    order: list[int] = []
    while len(order) < total * cfg["batch_size"]:
        order.extend(torch.randperm(len(feats), generator=gen).tolist())
    batches = [collator([feats[i] for i in order[s * cfg["batch_size"]:(s + 1) * cfg["batch_size"]]])
               for s in range(total)]

    torch.manual_seed(cfg["seed"])
    encoder = load_encoder(folder)
    if variant == "lora":
        lora = LoraConfig(r=cfg["lora_r"], alpha=cfg["lora_alpha"], dropout=cfg["lora_dropout"],
                          target_modules=[m for m in cfg["lora_targets"].split(",") if m])
        encoder = apply_lora(encoder, lora)
    model = MultiHeadModel(encoder, [HeadSpec(task.name, task.task_type, len(task.label_names))])
    model.train()
    trainable, n_total = count_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.01)
    rss_before = rss_mb()

    losses, step_seconds, start, cpu_start = [], [], None, None
    load_start = os.getloadavg()[0]
    for step, batch in enumerate(batches):
        if step == cfg["warmup_steps"]:
            start, cpu_start = time.perf_counter(), time.process_time()
        t0 = time.perf_counter()
        loss = model(**batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss))
        step_seconds.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    timed_steps = step_seconds[cfg["warmup_steps"]:]
    timed = batches[cfg["warmup_steps"]:]
    examples = sum(len(b["input_ids"]) for b in timed)
    tokens = sum(int(b["attention_mask"].sum()) for b in timed)
    peak = peak_rss_mb()
    # After the timed loop and the peak reading, so the extra forward pass changes neither.
    largest = max(batches, key=lambda b: b["input_ids"].numel())
    saved_mb = _saved_for_backward_mb(model, largest)
    gflops = _train_step_gflops(model, largest)
    return {
        "variant": variant,
        "trainable_parameters": trainable,
        "total_parameters": n_total,
        "timed_steps": cfg["steps"],
        "seconds": round(seconds, 3),
        "examples_per_second": round(examples / seconds, 2),
        # Robust to other processes sharing the cores: the median step, and work per CPU-second of this process.
        "median_step_examples_per_second": round(cfg["batch_size"] / statistics.median(timed_steps), 2),
        "best_step_examples_per_second": round(cfg["batch_size"] / min(timed_steps), 2),
        "examples_per_cpu_second": round(examples / cpu_seconds, 2),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "tokens_per_second": round(tokens / seconds, 1),
        "seconds_per_step": round(seconds / cfg["steps"], 4),
        "mean_padded_length": round(sum(b["input_ids"].shape[1] for b in timed) / len(timed), 1),
        "rss_after_import_mb": round(rss_import, 1),
        "rss_before_training_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "training_added_mb": round(peak - rss_before, 1),
        # fp32 gradients + AdamW's two moments of the trainable weights: the part LoRA removes by construction.
        "grads_and_optimizer_state_mb": round(trainable * 4 * 3 / 2**20, 1),
        "saved_for_backward_mb": round(saved_mb, 1),
        "train_step_gflops": round(gflops, 3),
        "step_seconds": [round(x, 4) for x in timed_steps],
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
    }


def _saved_for_backward_mb(model, batch: dict) -> float:
    """MB of activations autograd keeps for backward in one forward pass (parameters excluded).

    Deterministic, unlike RSS: the activation side of the memory bill, measured on the largest batch.
    """
    import torch

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            storages[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(**batch)["loss"]
    del loss
    return sum(storages.values()) / 2**20


def _train_step_gflops(model, batch: dict) -> float:
    """GFLOPs of forward + backward on ``batch`` (matrix products; the optimizer's elementwise update not counted).

    Deterministic, unlike timings on a shared machine: the compute side of the throughput comparison.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(**batch)["loss"].backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 1e9


def _run_variant(variant: str, folder: Path, cfg: dict) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(cfg["threads"]), MKL_NUM_THREADS=str(cfg["threads"]),
               TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, __file__, "--worker", variant, str(folder), json.dumps(cfg)],
                          capture_output=True, text=True, cwd=REPO, env=env, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(f"variant {variant} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    """One row per variant: the fastest repeat's throughput (the one least disturbed by other processes; every
    repeat stays in ``runs``), and the maximum peak memory over its repeats."""
    row = dict(max(runs, key=lambda r: r["examples_per_second"]))
    for key in ("examples_per_second", "median_step_examples_per_second", "best_step_examples_per_second",
                "examples_per_cpu_second", "tokens_per_second"):
        row[key] = max(r[key] for r in runs)
    for key in ("peak_rss_mb", "training_added_mb", "rss_before_training_mb"):
        row[key] = max(r[key] for r in runs)
    row["repeats"] = len(runs)
    return row


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        print(json.dumps(_worker(argv[1], argv[2], json.loads(argv[3]))))
        return 0
    cfg = _parse(argv)
    out = _common.out_file(cfg, REPO)  # before the work: an existing measurement is kept unless force=true
    print("config:", json.dumps(cfg, sort_keys=True), flush=True)
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="xstilts-lora-bench-") as tmp:
        folder = Path(tmp) / "encoder"
        built = build_encoder(cfg, folder)
        print(f"encoder built: vocabulary {built['vocab_size']}", flush=True)
        for repeat in range(cfg["repeats"]):
            for variant in VARIANTS:
                r = _run_variant(variant, folder, cfg)
                runs[variant].append(r)
                print(f"[{repeat + 1}/{cfg['repeats']}] {variant}: {r['examples_per_second']:.1f} examples/s "
                      f"(median step {r['median_step_examples_per_second']:.1f}, per CPU-s "
                      f"{r['examples_per_cpu_second']:.1f}), peak RSS {r['peak_rss_mb']:.0f} MB, load "
                      f"{r['load_average_1min']}", flush=True)
    rows = {v: _summary(runs[v]) for v in VARIANTS}
    full, lora = rows["full"], rows["lora"]
    ratios = {
        "examples_per_second": round(lora["examples_per_second"] / full["examples_per_second"], 3),
        "median_step_examples_per_second": round(lora["median_step_examples_per_second"]
                                                 / full["median_step_examples_per_second"], 3),
        "best_step_examples_per_second": round(lora["best_step_examples_per_second"]
                                               / full["best_step_examples_per_second"], 3),
        "examples_per_cpu_second": round(lora["examples_per_cpu_second"] / full["examples_per_cpu_second"], 3),
        "saved_for_backward_mb": round(lora["saved_for_backward_mb"] / full["saved_for_backward_mb"], 3),
        "train_step_gflops": round(lora["train_step_gflops"] / full["train_step_gflops"], 3),
        "peak_rss_mb": round(lora["peak_rss_mb"] / full["peak_rss_mb"], 3),
        "training_added_mb": round(lora["training_added_mb"] / full["training_added_mb"], 3)
        if full["training_added_mb"] > 0 else None,
        "trainable_parameters": round(lora["trainable_parameters"] / full["trainable_parameters"], 4),
        "grads_and_optimizer_state_mb": round(lora["grads_and_optimizer_state_mb"]
                                              / full["grads_and_optimizer_state_mb"], 4),
    }

    def line(name: str, key: str, fmt: str) -> str:
        ratio = ratios.get(key)
        r = f"{ratio:>10.3f}" if isinstance(ratio, float) else f"{'-':>10}"
        return f"{name:<26}{format(full[key], fmt):>14}{format(lora[key], fmt):>14}{r}"

    print(f"{'':<26}{'full':>14}{'lora r=' + str(cfg['lora_r']):>14}{'lora/full':>10}")
    print(line("trainable parameters", "trainable_parameters", ",d"))
    print(line("total parameters", "total_parameters", ",d"))
    print(line("examples / s", "examples_per_second", ".1f"))
    print(line("examples / s (median step)", "median_step_examples_per_second", ".1f"))
    print(line("examples / s (best step)", "best_step_examples_per_second", ".1f"))
    print(line("examples / CPU-second", "examples_per_cpu_second", ".1f"))
    print(line("tokens / s", "tokens_per_second", ".0f"))
    print(line("GFLOPs / step (fwd+bwd)", "train_step_gflops", ".2f"))
    print(line("seconds / step", "seconds_per_step", ".3f"))
    print(line("peak RSS MB", "peak_rss_mb", ".0f"))
    print(line("RSS before training MB", "rss_before_training_mb", ".0f"))
    print(line("added by training MB", "training_added_mb", ".0f"))
    print(line("grads + AdamW state MB", "grads_and_optimizer_state_mb", ".1f"))
    print(line("saved for backward MB", "saved_for_backward_mb", ".1f"))
    print(line("loss first -> last", "last_loss", ".3f") + f"   (first {full['first_loss']:.3f} / "
                                                          f"{lora['first_loss']:.3f})")

    import torch

    report = {
        "config": cfg,
        "encoder": {"family": "xlm-roberta", "vocab_size": built["vocab_size"]},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "torch": torch.__version__, "device": "cpu"},
        "results": rows,
        "runs": runs,
        "ratios_lora_over_full": ratios,
        "notes": "task: xnli (embedded English training data); each run is a fresh subprocess; peak_rss_mb is its "
                 "ru_maxrss; training_added_mb = peak - RSS after building model, optimizer and batches; "
                 "examples_per_second over the timed steps only (warm-up excluded); on a shared machine prefer "
                 "the step-based figures (median, best) and examples_per_cpu_second (see load_average_1min); "
                 "grads_and_optimizer_state_mb is computed (trainable x 4 bytes x 3); saved_for_backward_mb is "
                 "measured with autograd saved-tensor hooks on the largest batch (parameters excluded); "
                 "train_step_gflops: torch FlopCounterMode over forward+backward of the largest batch.",
    }
    _common.write_json(out, report, cfg["force"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
