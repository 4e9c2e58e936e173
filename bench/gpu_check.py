"""One-shot device check of the GPU path: CUDA tests, step hygiene, then training and evaluation throughput of every
setting against today's path and the HF baselines, cold and warm, all written as JSON.

    python bench/gpu_check.py OUT_DIR                    # on a CUDA GPU: at most 7 minutes (--budget-s 420)
    python bench/gpu_check.py OUT_DIR --only '+(graphs|default)$' --skip-tests --skip-hygiene  # compiled ones alone
    python bench/gpu_check.py OUT_DIR --cpu --tiny       # the same code paths on CPU with tiny shapes (5 minutes)

No network, no downloaded weights, no data files: encoders are built from a config with random weights directly on
the device, token ids are random, and example lengths are drawn from ``bench/data/xnli_en_lengths.json`` (the XLM-R
token counts of the 2,490 XNLI English dev pairs). Everything lands in OUT_DIR (at most three files):

- ``gpu_check.json``: the environment, the CUDA test summary, ``step_hygiene`` (``bench/step_hygiene.py``: host
  reads per optimizer step and in the forward pass of the toolkit's own step and evaluation loop; with ``--cpu``
  also graph breaks and the shapes on the XNLI lengths), one entry per variant, ``ratios`` and ``goals`` (issue 26's
  targets, met or not per setting), rewritten after every measurement, so a run stopped midway keeps every figure;
- ``cuda_tests.txt``: the output of ``pytest -m cuda tests/test_cuda.py`` (bf16 vs fp32, fp16 with loss scaling,
  compiled vs eager training, GPU vs CPU evaluation for every task type, a phase-2 -> phase-3 -> evaluation chain);
- ``env.json``: the environment alone (GPU, driver, library versions, a measured bf16 matmul rate).

Variants, in the order they run (the goals' figures first; ``--budget-s`` skips what no longer fits, and each
variant runs in its own try/except, so a failure is recorded with its error and the rest still run):

- ``train/<size>/<data>/<path>``: phase-3 training of an XLM-R-shaped encoder (``large``: 24 layers, hidden 1024,
  16 heads, feed-forward 4096, vocabulary 250,002, 514 positions, 560M parameters; ``base``: 12 layers, hidden 768,
  12 heads, 3072, 278M) with SDPA attention, bf16 autocast with fp32 master weights, fused AdamW, on ``xnli128``
  (XNLI lengths, max_length 128, batch 32) or ``qa384`` (full 384-token QA windows, batch 16). Paths: ``hf_fixed``
  (HF Trainer, every example padded to max_length, random batches); ``today`` (the toolkit's XTrainer from
  ``training.build_trainer`` padding to the longest row, not compiled: the path before issue 26, except for the
  host-read fixes, which every setting has); ``xstilts`` (the recipe defaults on a GPU: padding to multiples of 16,
  not compiled); ``xstilts+default`` / ``xstilts+graphs`` (``train.compile=default`` / ``graphs``);
- ``eval/<size>/xnli128/<path>``: inference: ``unsorted_fixed`` (batches in data order, padded to max_length, a copy
  back per batch: HF's prediction loop), ``today`` (length-sorted, padding to the longest row), ``xstilts``
  (``predict_logits`` with the evaluation defaults on a GPU: multiples of 8, batches of 256 (``batch_size=auto``),
  pinned asynchronous copies, one copy back), ``xstilts_b64`` (the same with today's 64 rows: the two effects
  apart); batches of 64 except where said; all in the evaluation's default precision (bf16 autocast on a GPU).

Training variants time ``--cold`` steps (50: every first-seen shape and compilation falls in them) and then
``--steps`` warm ones (20), then profile 5 steps (``gpu_busy_ms_per_step``: kernel time from ``torch.profiler``) and
count host reads over 5 more (``syncs_per_step``). Each reports ``ms_per_step``, ``examples_per_s`` (warm),
``cold_examples_per_s``, ``cold_over_warm``, ``tokens_per_s`` (real, non-pad tokens), ``padded_tokens_per_s``,
``distinct_shapes``, ``compile_s`` (compiled settings: the cold steps' excess over warm ones), ``mfu`` (model FLOPs
on real tokens over time over the GPU's dense bf16 peak, by its exact name: H100 SXM, PCIe and NVL differ; the
formula is in the JSON), ``mfu_padded`` (counting pad positions: the work actually done) and ``peak_memory_mb``
(``torch.cuda.max_memory_allocated``; on CPU the process's resident-set high-water mark, which never goes down).
Evaluation variants report the warm pass and the cold (first) pass over the same batches.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # step_hygiene

SCHEMA = "xstilts.gpu_check/v1"
LENGTHS_FILE = REPO / "bench" / "data" / "xnli_en_lengths.json"

# Encoder shapes (XLM-R family). ``tiny`` stands in for both sizes with --tiny.
SHAPES = {
    "large": {"layers": 24, "hidden": 1024, "heads": 16, "intermediate": 4096, "vocab": 250002},
    "base": {"layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072, "vocab": 250002},
    "tiny": {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "vocab": 1000},
}
MAX_POSITIONS = 514

# Dense bf16 tensor-core peaks per GPU (vendor datasheets, no sparsity: half the sparse figure), matched in order
# against torch.cuda.get_device_name(): the first pattern found wins, so the PCIe and NVL parts come before the SXM
# one (an H100 SXM names itself "NVIDIA H100 80GB HBM3", a PCIe card "NVIDIA H100 PCIe", an NVL card "NVIDIA H100 NVL").
PEAK_BF16_TFLOPS = [
    (r"H100.*PCIe", 756.0, "H100 PCIe"), (r"H100.*NVL", 835.0, "H100 NVL"), (r"H200.*NVL", 835.0, "H200 NVL"),
    (r"GH200", 989.0, "GH200"), (r"H200", 989.0, "H200 SXM"), (r"H100", 989.0, "H100 SXM (HBM3)"),
    (r"H800.*PCIe", 756.0, "H800 PCIe"), (r"H800", 989.0, "H800 SXM"), (r"B200", 2250.0, "B200"),
    (r"A100", 312.0, "A100 (SXM and PCIe)"), (r"A800", 312.0, "A800"), (r"L40S", 362.0, "L40S"), (r"L4\b", 121.0, "L4"),
    (r"A10\b", 125.0, "A10"),
]

FLOPS_FORMULA = {
    "train_per_example": "6 * N_nonembedding * n + 12 * layers * hidden * n**2 (forward + backward; PaLM, appendix B)",
    "inference_per_example": "2 * N_nonembedding * n + 4 * layers * hidden * n**2 (forward only)",
    "n": "the example's real (non-pad) token count for mfu; the padded batch width for mfu_padded",
    "N_nonembedding": "parameters outside the embedding layer (encoder layers and the task head)",
    "mfu": "FLOPs / wall time / peak_tflops",
}


class OutOfBudget(Exception):
    """The global time budget ran out while a variant was running (raised from SIGALRM)."""


# ---- bookkeeping --------------------------------------------------------------------------------------------------
class Report:
    """The JSON files in OUT_DIR, rewritten atomically after every change."""

    def __init__(self, out_dir: Path, args: argparse.Namespace):
        self.out_dir = out_dir
        self.start = time.time()
        self.data: dict[str, Any] = {
            "schema": SCHEMA, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": sys.argv,
            "mode": {"cpu": args.cpu, "tiny": args.tiny, "budget_s": args.budget_s},
            "flops_formula": FLOPS_FORMULA, "variants": {}, "cuda_tests": None, "environment": None,
            "finished": False,
        }

    def elapsed(self) -> float:
        return time.time() - self.start

    def write(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 1)
        _atomic_json(self.out_dir / "gpu_check.json", self.data)


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def say(msg: str) -> None:
    print(f"gpu_check: {msg}", flush=True)


# ---- environment --------------------------------------------------------------------------------------------------
def environment(device: str) -> dict[str, Any]:
    import torch

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "cpu_count": os.cpu_count(), "torch": torch.__version__, "device": device,
                           "cuda_available": torch.cuda.is_available()}
    for name in ("transformers", "accelerate", "peft", "datasets", "tokenizers", "safetensors", "numpy", "pytest"):
        try:
            env[name] = __import__(name).__version__
        except Exception as exc:  # noqa: BLE001 - a missing library is a finding, not a crash
            env[name] = f"unavailable ({type(exc).__name__}: {exc})"
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=torch.cuda.get_device_name(0), gpu_count=torch.cuda.device_count(),
                   capability=list(torch.cuda.get_device_capability(0)), gpu_memory_mb=props.total_memory // 2**20,
                   multiprocessors=props.multi_processor_count, cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(), bf16_supported=torch.cuda.is_bf16_supported())
        try:
            env["sdpa_backends"] = {"flash": torch.backends.cuda.flash_sdp_enabled(),
                                    "mem_efficient": torch.backends.cuda.mem_efficient_sdp_enabled(),
                                    "math": torch.backends.cuda.math_sdp_enabled()}
        except Exception as exc:  # noqa: BLE001
            env["sdpa_backends"] = f"unavailable ({exc})"
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,power.limit",
                                  "--format=csv,noheader"], capture_output=True, text=True, timeout=20, check=False)
            env["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        except Exception as exc:  # noqa: BLE001
            env["nvidia_smi"] = f"unavailable ({exc})"
    env["peak_tflops"], env["peak_source"] = peak_tflops(env.get("gpu"))
    env["matmul_bf16_tflops_measured"] = measure_matmul(device)
    return env


def peak_tflops(gpu: str | None) -> tuple[float | None, str]:
    """Dense bf16 peak for a GPU name (datasheet), or None (CPU, unknown GPU: mfu is then null)."""
    if not gpu:
        return None, "no GPU: mfu is null"
    for pattern, value, part in PEAK_BF16_TFLOPS:
        if re.search(pattern, gpu):
            return value, f"datasheet dense bf16 of the {part} (matched {pattern!r} in {gpu!r})"
    return None, f"unknown GPU {gpu!r}: pass --peak-tflops"


def measure_matmul(device: str) -> float | None:
    """bf16 matmul rate actually reached (8192^3 on a GPU; tiny on CPU), the practical ceiling beside the datasheet."""
    import torch

    try:
        n, reps = (8192, 10) if device == "cuda" else (256, 3)
        dtype = torch.bfloat16
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        return round(2 * n**3 * reps / (time.perf_counter() - t0) / 1e12, 4)
    except Exception:  # noqa: BLE001
        return None


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


# ---- CUDA tests ---------------------------------------------------------------------------------------------------
def run_cuda_tests(out_dir: Path, timeout: float) -> dict[str, Any]:
    """``pytest -m cuda tests/test_cuda.py`` in a subprocess; its output goes to cuda_tests.txt."""
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "tests/test_cuda.py", "-q", "-rA", "-p", "no:cacheprovider"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    t0 = time.time()
    log = out_dir / "cuda_tests.txt"
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=max(10.0, timeout),
                              check=False)
        text, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        text, rc = out + f"\n[gpu_check: pytest stopped after {timeout:.0f} s]\n", None
    log.write_text(f"$ {' '.join(cmd)}\n{text}", encoding="utf-8")
    return {"command": " ".join(cmd), "returncode": rc, "duration_s": round(time.time() - t0, 1),
            **parse_pytest_summary(text), "output_file": log.name}


def parse_pytest_summary(text: str) -> dict[str, Any]:
    """Counts of pytest's closing line (``3 passed, 1 skipped in 2.0s``) and the failing test ids."""
    counts = {k: 0 for k in ("passed", "failed", "skipped", "errors", "deselected")}
    summary = ""
    for line in reversed(text.strip().splitlines()):
        if re.search(r"\d+ (passed|failed|skipped|error|errors|deselected)\b", line) and " in " in line:
            summary = line.strip("= ").strip()
            for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", line):
                counts["errors" if what.startswith("error") else what] = int(n)
            break
    failing = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", text, flags=re.M)))
    return {"summary": summary or "no pytest summary line (see output)", **counts, "failing": failing}


# ---- models and data ----------------------------------------------------------------------------------------------
def build_model(shape: dict[str, int], head_kind: str, device: str, attn: str = "sdpa") -> Any:
    """An XLM-R-shaped encoder with random weights built on ``device`` plus one xstilts head."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.modeling import MultiHeadModel
    from xstilts.typespecs import HeadSpec

    config = XLMRobertaConfig(vocab_size=shape["vocab"], hidden_size=shape["hidden"],
                              num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                              intermediate_size=shape["intermediate"], max_position_embeddings=MAX_POSITIONS,
                              type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    with torch.device(device):
        encoder = XLMRobertaModel._from_config(config, attn_implementation=attn, add_pooling_layer=False)
        spec = HeadSpec("xnli", "classification", 3) if head_kind == "classification" else HeadSpec("qa", "span_qa", 2)
        model = MultiHeadModel(encoder, [spec])
    return model


def non_embedding_parameters(model: Any) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embeddings." not in n)


def load_lengths() -> list[int]:
    return [int(n) for n in json.loads(LENGTHS_FILE.read_text(encoding="utf-8"))["lengths"]]


def make_features(lengths: list[int], kind: str, vocab: int, max_length: int, seed: int, fixed: bool) -> list[dict]:
    """Random-id features of the given lengths (CLS ... EOS), truncated to max_length; padded to it when ``fixed``."""
    rng = random.Random(seed)
    feats = []
    for n in lengths:
        n = min(n, max_length)
        ids = [0] + [rng.randrange(5, vocab) for _ in range(n - 2)] + [2]
        mask = [1] * n
        if fixed:
            ids, mask = ids + [1] * (max_length - n), mask + [0] * (max_length - n)
        f: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "task_id": 0}
        if kind == "classification":
            f["labels"] = rng.randrange(3)
        else:
            s = rng.randrange(1, n - 1)
            f["start_positions"], f["end_positions"] = s, min(n - 2, s + rng.randrange(0, 20))
        feats.append(f)
    return feats


class CountingCollator:
    """Wraps a collator; records each batch's real lengths and padded width (for tokens/s and FLOPs)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.batches: list[tuple[list[int], int]] = []

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = self.inner(batch)
        self.batches.append((out["attention_mask"].sum(-1).tolist(), int(out["input_ids"].shape[-1])))
        return out


def flops(batches: list[tuple[list[int], int]], n_params: int, layers: int, hidden: int, train: bool
          ) -> tuple[float, float, int, int]:
    """(model FLOPs on real tokens, FLOPs on padded tokens, real tokens, padded tokens) of these batches."""
    lin, att = (6, 12) if train else (2, 4)
    real = padded = 0.0
    n_real = n_padded = 0
    for lens, width in batches:
        for n in lens:
            real += lin * n_params * n + att * layers * hidden * n * n
            padded += lin * n_params * width + att * layers * hidden * width * width
            n_real += n
            n_padded += width
    return real, padded, n_real, n_padded


def _shapes(batches: list) -> list:
    """The padded (batch, length) shape of each counted batch (``CountingCollator.batches`` entries)."""
    out = []
    for b in batches:
        lengths, padded = b if isinstance(b, tuple) else (b, None)
        out.append((len(lengths), padded))
    return out


def peak_memory_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _reset_memory(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _rates(result: dict[str, Any], seconds: float, examples: int, batches: list, model: Any, shape: dict[str, int],
           train: bool, peak: float | None) -> None:
    real_f, pad_f, n_real, n_pad = flops(batches, non_embedding_parameters(model), shape["layers"], shape["hidden"],
                                         train)
    result.update(
        timed_s=round(seconds, 4), timed_examples=examples, examples_per_s=round(examples / seconds, 2),
        tokens_per_s=round(n_real / seconds, 1), padded_tokens_per_s=round(n_pad / seconds, 1),
        pad_fraction=round(1 - n_real / n_pad, 4) if n_pad else None,
        model_tflops_per_s=round(real_f / seconds / 1e12, 3),
        mfu=round(real_f / seconds / 1e12 / peak, 4) if peak else None,
        mfu_padded=round(pad_f / seconds / 1e12 / peak, 4) if peak else None,
        parameters=sum(p.numel() for p in model.parameters()),
        parameters_non_embedding=non_embedding_parameters(model),
    )


# ---- variants -----------------------------------------------------------------------------------------------------
# Training settings compared, by the name that ends a variant: padding multiple and train.compile. ``today``: padding
# to the longest row without compiling (the path before issue 26; the host-read fixes are in every setting, they
# cannot be switched off); ``xstilts``: the recipe defaults on a GPU (pad_to_multiple_of=auto, i.e. 16; compile off);
# ``xstilts+default`` / ``xstilts+graphs``: the same with train.compile=default / graphs.
SETTINGS = {"today": (1, "off"), "xstilts": (None, "off"), "xstilts+default": (None, "default"),
            "xstilts+graphs": (None, "graphs")}


@dataclasses.dataclass
class Variant:
    name: str
    kind: str  # train | eval
    size: str  # large | base
    data: str  # xnli128 | qa384
    path: str  # xstilts | today | hf_fixed | unsorted_fixed | xstilts_b64 (eval)
    compile: str | bool = False  # False, or the train.compile mode
    estimate_s: float = 30.0  # what it is expected to take (skipped when less budget is left)


def plan(tiny: bool) -> list[Variant]:
    """Every variant in the order they run, the goals' figures first (all of them are Large): XNLI training (HF fixed
    padding, today's path, the new default), evaluation, the two compiled settings (one compilation per padded
    shape: the slowest), QA windows; then Base the same way. ``--budget-s`` skips what no longer fits; ``--only``
    runs a subset, e.g. the compiled settings alone."""
    est = {"large": 25.0, "base": 15.0}
    comp = {"large": 100.0, "base": 60.0}
    out: list[Variant] = []
    for size in ("large", "base"):
        for path in ("hf_fixed", "today", "xstilts"):
            out.append(Variant(f"train/{size}/xnli128/{path}", "train", size, "xnli128", path, False, est[size]))
        for path in ("unsorted_fixed", "today", "xstilts", "xstilts_b64"):
            out.append(Variant(f"eval/{size}/xnli128/{path}", "eval", size, "xnli128", path, False, est[size] / 2))
        for mode in ("graphs", "default"):
            out.append(Variant(f"train/{size}/xnli128/xstilts+{mode}", "train", size, "xnli128", "xstilts", mode,
                               comp[size]))
        for path in ("hf_fixed", "xstilts"):
            out.append(Variant(f"train/{size}/qa384/{path}", "train", size, "qa384", path, False, est[size]))
        out.append(Variant(f"train/{size}/qa384/xstilts+graphs", "train", size, "qa384", "xstilts", "graphs",
                           comp[size] / 2))
    if tiny:
        for v in out:
            v.estimate_s = 3.0
    return out


class StepClock:
    """Trainer callback: wall time of the cold steps (the first ``cold``, every first-seen shape and compilation in
    them) and of the warm steps after them, then GPU-busy time from ``torch.profiler`` over ``profile`` steps and
    host reads (``step_hygiene.SyncCounter``) over ``count`` steps. The device is synchronised only at the borders
    of these windows, never inside one."""

    def __init__(self, device: str, cold: int, warm: int, profile: int, count: int):
        self.device, self.cold, self.warm, self.profile_steps, self.count_steps = device, cold, warm, profile, count
        self.marks: dict[str, float] = {}
        self.profiler: Any = None
        self.busy_ms: float | None = None
        self.counter: Any = None
        self.syncs_per_step: float | None = None
        self.sync_sites: dict[str, int] = {}

    def callback(self) -> Any:
        from transformers import TrainerCallback

        clock = self

        class _Clock(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                _sync(clock.device)
                clock.marks["begin"] = time.perf_counter()

            def on_step_begin(self, args, state, control, **kwargs):
                clock.step_begin(state.global_step)

            def on_step_end(self, args, state, control, **kwargs):
                clock.step_end(state.global_step)

        return _Clock()

    def step_begin(self, done: int) -> None:
        if done == self.cold + self.warm:
            import torch

            activity = torch.profiler.ProfilerActivity.CUDA if self.device == "cuda" else \
                torch.profiler.ProfilerActivity.CPU
            self.profiler = torch.profiler.profile(activities=[activity])
            self.profiler.__enter__()
        elif done == self.cold + self.warm + self.profile_steps:
            import step_hygiene

            self.counter = step_hygiene.SyncCounter(device_only=self.device != "cpu")
            self.counter.__enter__()
            self.counter.active = True

    def step_end(self, step: int) -> None:
        if step in (self.cold, self.cold + self.warm):
            _sync(self.device)
            self.marks[str(step)] = time.perf_counter()
        elif step == self.cold + self.warm + self.profile_steps and self.profiler is not None:
            _sync(self.device)
            self.profiler.__exit__(None, None, None)
            if self.device == "cuda":
                busy = _kernel_ms(self.profiler)
                self.busy_ms = round(busy / self.profile_steps, 3) if busy is not None else None
            self.profiler = None
        elif step == self.cold + self.warm + self.profile_steps + self.count_steps and self.counter is not None:
            self.counter.active = False
            self.counter.__exit__(None, None, None)
            self.syncs_per_step = round(self.counter.total / self.count_steps, 3)
            self.sync_sites = dict(self.counter.sites.most_common(5))
            self.counter = None


def _kernel_ms(profiler: Any) -> float | None:
    """Milliseconds of GPU kernels (and copies) a finished ``torch.profiler`` run recorded, summed (kernels of
    several streams that overlap count twice: an upper bound of the busy time); None where the profiler gave none."""
    try:
        from torch.autograd import DeviceType

        total_us = sum(e.device_time_total for e in profiler.events() if e.device_type != DeviceType.CPU)
        if not total_us:
            total_us = sum(e.self_device_time_total for e in profiler.key_averages())
        return round(total_us / 1000, 3) if total_us else None
    except Exception:  # noqa: BLE001 - a profiler quirk must not cost the variant's other figures
        return None


def _stub_dev_set(vocab: int) -> Any:
    """A dev set for build_trainer (evaluation is switched off in these measurements, so it is never scored)."""
    from xstilts import tasktypes
    from xstilts.tasks import get_task
    from xstilts.tasktypes.base import DevSet
    from xstilts.tasktypes.common import Encoded

    feats = make_features([10] * 4, "classification", vocab, 16, seed=5, fixed=False)
    rows = [{"text_a": "", "text_b": "", "label": f["labels"]} for f in feats]
    return DevSet(tasktypes.build(get_task("xnli")), rows, Encoded(feats))


def _unique_graphs() -> int:
    """torch._dynamo's count of graphs compiled in this process so far."""
    import torch._dynamo.utils as dynamo_utils

    return int(dynamo_utils.counters["stats"]["unique_graphs"])


class _PadId:
    pad_token_id = 1


def run_train(v: Variant, opts: argparse.Namespace, device: str, peak: float | None, workdir: Path) -> dict[str, Any]:
    """Trains ``opts.cold`` + ``opts.steps`` steps (plus a few profiled and counted ones) and times the cold and the
    warm part. The toolkit's variants run the XTrainer that ``xstilts.training.build_trainer`` makes for a phase-3
    run (evaluation and checkpoints off: the same for every variant, and not what is measured)."""
    import torch
    from transformers import IntervalStrategy, Trainer, default_data_collator

    from xstilts import training
    from xstilts.config import TrainConfig
    from xstilts.tasktypes import common

    shape = SHAPES["tiny" if opts.tiny else v.size]
    qa = v.data == "qa384"
    max_length = 384 if qa else 128
    batch = opts.qa_batch_size if qa else opts.batch_size
    # One step after the counted ones: the run's last step reads the loss guard's flags (as any logging or
    # checkpoint step does), which is not the per-step figure.
    extra = opts.profile_steps + opts.count_steps + 1
    total = opts.cold + opts.steps + extra
    kind = "span_qa" if qa else "classification"
    # Enough examples for every step within one epoch; XNLI: every real length (LengthGroupedSampler's mega-batches
    # of 50 batches then see the real mix), repeated as needed.
    if qa:
        lengths = [max_length] * (total * batch)
    else:
        lengths = load_lengths()
        while len(lengths) < total * batch:
            lengths = lengths + lengths
    fixed = v.path == "hf_fixed"
    features = make_features(lengths, kind, shape["vocab"], max_length, seed=1, fixed=fixed)

    _reset_memory(device)
    model = build_model(shape, kind, device)
    multiple, mode = SETTINGS.get(v.path if not v.compile else f"xstilts+{v.compile}", (1, "off"))
    if multiple is None:  # the recipe default as on a GPU (also in --cpu mode, so the dry run takes the GPU's path)
        multiple = common.pad_multiple(TrainConfig().pad_to_multiple_of, "cuda")
    tc = TrainConfig(seed=0, lr=1e-5, batch_size=batch, max_length=max_length, max_steps=total, eval_steps=total,
                     logging_steps=50, precision="bf16", group_by_length=not fixed, compile=mode,
                     attn_implementation="sdpa")
    tc.pad_to_multiple_of = multiple
    label_names = ["start_positions", "end_positions"] if qa else ["labels"]
    clock = StepClock(device, opts.cold, opts.steps, opts.profile_steps, opts.count_steps)
    run_dir = workdir / v.name.replace("/", "_")
    if fixed:
        args = training.training_arguments(tc, run_dir, label_names, steps_per_epoch=total)
        args = dataclasses.replace(args, eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
        collator = CountingCollator(default_data_collator)
        trainer = Trainer(model=model, args=args, train_dataset=training.FeatureDataset(features),
                          data_collator=collator, callbacks=[clock.callback()])
    else:
        trainer = training.build_trainer(model, _PadId(), features, [_stub_dev_set(shape["vocab"])], tc,
                                         run_dir / "checkpoints", ["bench"], label_names,
                                         compile_backend=opts.compile_backend)
        # Training only: no dev evaluation, no checkpoints (the same for every variant, not what is measured).
        trainer.args.eval_strategy = trainer.args.save_strategy = IntervalStrategy.NO
        trainer.args.load_best_model_at_end = False
        collator = CountingCollator(trainer.data_collator)
        trainer.data_collator = collator
        trainer.add_callback(clock.callback())
    graphs_before = _unique_graphs()
    t_start = time.perf_counter()
    trainer.train()
    cold_s = clock.marks[str(opts.cold)] - clock.marks["begin"]
    seconds = clock.marks[str(opts.cold + opts.steps)] - clock.marks[str(opts.cold)]
    result: dict[str, Any] = {
        "batch_size": batch, "max_length": max_length, "cold_steps": opts.cold, "timed_steps": opts.steps,
        "precision": "bf16 autocast, fp32 master weights", "model_shape": shape,
        "speed": training.speed_settings(model, trainer.args, None if fixed else trainer),
        "setting": {"pad_to_multiple_of": None if fixed else trainer.data_collator.inner.multiple,
                    "compile": mode, "padding": "max_length" if fixed else "longest row, rounded up"},
        "data": "full 384-token QA windows (an upper bound per example)" if qa else
        "XNLI English dev lengths (bench/data/xnli_en_lengths.json), random ids",
        "batching": "padded to max_length, random batches (HF Trainer)" if fixed else
        "length-grouped batches (xstilts build_trainer, the phase-3 XTrainer)",
    }
    warm_batches = collator.batches[opts.cold:opts.cold + opts.steps]
    _rates(result, seconds, opts.steps * batch, warm_batches, model, shape, True, peak)
    result["ms_per_step"] = round(1000 * seconds / opts.steps, 2)
    result["cold_examples_per_s"] = round(opts.cold * batch / cold_s, 2)  # first steps: new shapes, compilation
    result["cold_ms_per_step"] = round(1000 * cold_s / opts.cold, 2)
    result["cold_over_warm"] = round(result["cold_examples_per_s"] / result["examples_per_s"], 3)
    result["gpu_busy_ms_per_step"] = clock.busy_ms
    result["gpu_busy_fraction"] = round(clock.busy_ms / result["ms_per_step"], 3) if clock.busy_ms else None
    result["syncs_per_step"] = clock.syncs_per_step
    result["sync_sites"] = clock.sync_sites
    # Padded shapes: each new one pays a one-time cost on a GPU (and a compilation when compiled).
    seen = set(_shapes(collator.batches[:opts.cold]))
    timed = _shapes(warm_batches)
    result["distinct_shapes"] = len(set(_shapes(collator.batches)))
    result["distinct_shapes_timed"] = len(set(timed))
    result["new_shapes_in_timed_steps"] = len(set(timed) - seen)
    result["warmup_s"] = round(clock.marks[str(opts.cold)] - t_start, 2)
    if mode != "off":
        # Compilation happens in the cold steps, one per new shape: their excess over warm steps.
        result["compile_s"] = round(max(0.0, cold_s - opts.cold * seconds / opts.steps), 2)
        # Graphs compiled in this variant: one per padded shape (and grad mode) if nothing recompiles.
        result["compiled_graphs"] = _unique_graphs() - graphs_before
    result["peak_memory_mb"] = peak_memory_mb(device)
    del trainer, model
    if mode != "off":
        torch._dynamo.reset()
    return result


def run_eval(v: Variant, opts: argparse.Namespace, device: str, peak: float | None) -> dict[str, Any]:
    """Times prediction over ``opts.eval_examples`` XNLI-length examples in the evaluation's default precision."""
    import torch

    from xstilts.tasktypes import common

    try:
        from xstilts import evaluation  # imports the data module, hence the datasets library
        effective_precision, autocast_encoder, source = (evaluation.effective_precision, evaluation.autocast_encoder,
                                                         "xstilts.evaluation")
    except ImportError as exc:  # the same two rules, so a missing datasets package costs no figure here
        def effective_precision(setting: str) -> str:
            return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"

        def autocast_encoder(encoder: Any, precision: str) -> Any:
            if precision == "bf16":
                encoder.forward = torch.autocast(device, dtype=torch.bfloat16)(encoder.forward)
            return encoder

        source = f"inline copy (xstilts.evaluation not importable: {exc})"

    shape = SHAPES["tiny" if opts.tiny else v.size]
    max_length, batch = 128, opts.eval_batch_size
    if v.path == "xstilts":  # the evaluation default as on a GPU (batch_size=auto: 256 rows at 128 tokens)
        batch = opts.eval_batch_size * 4 if opts.tiny else \
            common.eval_batch_size("auto", "cuda", max_length)
    # today: padding to the longest row; xstilts: the evaluation default as on a GPU (pad_to_multiple_of=auto: 8).
    from xstilts.config import EvalRecipe

    multiple = 1 if v.path in ("today", "unsorted_fixed") else \
        common.pad_multiple(EvalRecipe(input="-", output="-").pad_to_multiple_of, "cuda", common.EVAL_GPU_PAD_MULTIPLE)
    rng = random.Random(2)
    all_lengths = load_lengths()
    lengths = [rng.choice(all_lengths) for _ in range(opts.eval_examples)]
    fixed = v.path == "unsorted_fixed"
    features = make_features(lengths, "classification", shape["vocab"], max_length, seed=3, fixed=fixed)
    for f in features:
        del f["labels"]
    _reset_memory(device)
    model = build_model(shape, "classification", device).eval()
    precision = effective_precision("auto")
    autocast_encoder(model.encoder, precision)
    collator = CountingCollator(common.Collator(1, multiple, max_length))

    def sorted_pass(feats: list[dict]) -> None:
        common.predict_logits(model, feats, collator, batch, device)

    @torch.no_grad()
    def unsorted_pass(feats: list[dict]) -> None:  # what the HF Trainer's prediction loop does with fixed padding
        for start in range(0, len(feats), batch):
            b = {k: t.to(device) if isinstance(t, torch.Tensor) else t
                 for k, t in collator(feats[start:start + batch]).items()}
            model(**b)["logits"].float().cpu()

    run = unsorted_pass if fixed else sorted_pass
    # Warm-up: one whole untimed pass over the same batches. Every padded shape is then seen once, as in a real
    # evaluation where the same lengths come back language after language; the first (cold) pass pays the one-time
    # cost of each new shape (GEMM heuristics, allocator growth), which length-sorted batches meet once per length.
    t0 = time.perf_counter()
    run(features)
    _sync(device)
    cold_seconds = time.perf_counter() - t0
    collator.batches.clear()
    t0 = time.perf_counter()
    run(features)
    _sync(device)
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = {
        "batch_size": batch, "max_length": max_length, "examples": len(features), "model_shape": shape,
        "precision": f"{precision} (evaluation precision=auto, rules from {source})",
        "batching": "batches in data order, padded to max_length, no_grad" if fixed else
        f"length-sorted batches padded to a multiple of {multiple}, inference_mode, logits copied back once "
        "(xstilts.tasktypes.common.predict_logits)", "pad_to_multiple_of": None if fixed else multiple,
        "attn_implementation": model.encoder.config._attn_implementation,
    }
    _rates(result, seconds, len(features), collator.batches, model, shape, False, peak)
    result["cold_examples_per_s"] = round(len(features) / cold_seconds, 2)  # the first pass, every shape new
    result["ms_per_batch"] = round(1000 * seconds / len(collator.batches), 3)
    result["distinct_shapes"] = len(set(_shapes(collator.batches)))
    result["peak_memory_mb"] = peak_memory_mb(device)
    return result  # the model goes with this frame (the passes above close over it, so no del here)


def _alarm(_signum: int, _frame: Any) -> None:
    raise OutOfBudget("the time budget ran out while this variant ran")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder for gpu_check.json, cuda_tests.txt and env.json (created)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="global time budget (variants that do not "
                                                                      "fit are recorded as skipped)")
    parser.add_argument("--cpu", action="store_true", help="run on CPU (the GPU path's code, for a dry run)")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (2 layers, hidden 64) and few steps")
    parser.add_argument("--skip-tests", action="store_true", help="do not run pytest -m cuda")
    parser.add_argument("--only", default=None,
                        help="run only the variants whose name matches this regular expression (re.search), "
                             "e.g. 'eval/large|/base/xnli128/xstilts$'")
    parser.add_argument("--no-compile-on-cpu", action="store_true", help="with --cpu: skip the compiled variants "
                                                                         "(by default they run with --compile-backend)")
    parser.add_argument("--compile-backend", default=None, help="torch.compile backend of the compiled variants "
                                                                "(default: inductor on a GPU, aot_eager with --cpu)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak for mfu (default: by GPU)")
    parser.add_argument("--steps", type=int, default=None, help="warm timed steps per training variant (20; tiny 2)")
    parser.add_argument("--cold", type=int, default=None, help="cold steps timed first, every first-seen shape and "
                                                               "compilation in them (50; tiny 3)")
    parser.add_argument("--skip-hygiene", action="store_true", help="do not measure step_hygiene")
    parser.add_argument("--force", action="store_true", help="replace the files of an earlier check in OUT_DIR")
    ns = parser.parse_args(argv)
    if Path(ns.out_dir).exists() and not Path(ns.out_dir).is_dir():
        print(f"gpu_check: error: {ns.out_dir} is a file, not a folder; give a folder for OUT_DIR", file=sys.stderr)
        return 2
    earlier = [n for n in ("gpu_check.json", "env.json", "cuda_tests.txt") if (Path(ns.out_dir) / n).exists()]
    if earlier and not ns.force:  # a GPU is lent for minutes: its measurements are never replaced by accident
        print(f"gpu_check: error: {ns.out_dir} already holds {', '.join(earlier)} of an earlier check; choose "
              "another OUT_DIR or pass --force to replace them", file=sys.stderr)
        return 2
    ns.steps = ns.steps or (2 if ns.tiny else 20)
    ns.cold = ns.cold or (3 if ns.tiny else 50)
    ns.profile_steps, ns.count_steps = (1, 2) if ns.tiny else (5, 5)  # profiled, then host reads counted
    if ns.compile_backend is None and ns.cpu:
        ns.compile_backend = "aot_eager"  # the dynamo + autograd path without inductor's C++ build
    ns.batch_size, ns.qa_batch_size = (8, 2) if ns.tiny else (32, 16)
    ns.eval_batch_size, ns.eval_examples = (16, 64) if ns.tiny else (64, 4096)

    out_dir = Path(ns.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, ns)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report.data["settings"] = {"timed_steps": ns.steps, "cold_steps": ns.cold, "profile_steps": ns.profile_steps,
                               "count_steps": ns.count_steps, "train_batch_size": ns.batch_size,
                               "qa_batch_size": ns.qa_batch_size, "eval_batch_size": ns.eval_batch_size,
                               "eval_examples": ns.eval_examples, "compile_backend": ns.compile_backend or "inductor",
                               "train_settings": {k: {"pad_to_multiple_of": m or "auto (16 on a GPU)", "compile": c}
                                                  for k, (m, c) in SETTINGS.items()}}
    report.write()

    import torch

    device = "cpu" if ns.cpu else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        say("no CUDA GPU visible: use --cpu for a dry run on CPU")
        report.data["error"] = "no CUDA GPU visible"
        report.write()
        return 2
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass

    env = environment(device)
    if ns.peak_tflops:
        env["peak_tflops"], env["peak_source"] = ns.peak_tflops, "--peak-tflops"
    report.data["environment"] = env
    report.data["gpu"] = env.get("gpu")
    report.data["device"] = device
    _atomic_json(out_dir / "env.json", env)
    report.write()
    say(f"device {device} {env.get('gpu') or ''}; torch {env['torch']}, transformers {env.get('transformers')}; "
        f"measured bf16 matmul {env['matmul_bf16_tflops_measured']} TFLOP/s; peak for mfu {env['peak_tflops']}")

    if ns.skip_tests:
        report.data["cuda_tests"] = {"skipped": "--skip-tests"}
    else:
        cap = min(150.0, 0.35 * ns.budget_s)  # a stopped pytest leaves its output; the rest of the time is for figures
        say(f"pytest -m cuda tests/test_cuda.py (at most {cap:.0f} s) ...")
        report.data["cuda_tests"] = run_cuda_tests(out_dir, cap)
        say(f"cuda tests: {report.data['cuda_tests']['summary']} ({report.data['cuda_tests']['duration_s']} s)")
    report.write()

    if ns.skip_hygiene:
        report.data["step_hygiene"] = {"skipped": "--skip-hygiene"}
    else:
        say("step hygiene (host reads per step and in forward, graph breaks, shapes) ...")
        import step_hygiene

        t0 = time.time()
        # On a GPU only the host reads are measured there (shapes and graph breaks do not depend on the device:
        # the --cpu run measures them); the GPU's minutes go to the variants.
        hygiene = step_hygiene.measure_all(device, syncs_only=device != "cpu")
        hygiene["problems"] = step_hygiene.problems(hygiene)
        hygiene["duration_s"] = round(time.time() - t0, 1)
        report.data["step_hygiene"] = hygiene
        say(f"step hygiene: syncs/step {hygiene.get('syncs_per_step')}, in forward {hygiene.get('syncs_in_forward')}, "
            f"graph breaks {hygiene.get('graph_breaks')}; problems: {hygiene['problems'] or 'none'} "
            f"({hygiene['duration_s']} s)")
    report.write()

    peak = env["peak_tflops"]
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as tmp:
        for v in plan(ns.tiny):
            if ns.only and not re.search(ns.only, v.name):
                continue
            entry: dict[str, Any] = {"kind": v.kind, "size": v.size, "data": v.data, "path": v.path,
                                     "compile": v.compile, "device": device, "gpu": env.get("gpu"),
                                     "tiny": ns.tiny}
            left = ns.budget_s - report.elapsed()
            if v.compile and device == "cpu" and ns.no_compile_on_cpu:
                entry.update(status="skipped", reason="--no-compile-on-cpu")
            elif left < v.estimate_s:
                entry.update(status="skipped", reason=f"out of time budget ({left:.0f} s left, about "
                                                      f"{v.estimate_s:.0f} s needed)")
            else:
                say(f"{v.name} ...")
                t0 = time.time()
                signal.alarm(max(1, int(left)))
                try:
                    result = run_train(v, ns, device, peak, Path(tmp)) if v.kind == "train" else \
                        run_eval(v, ns, device, peak)
                    entry.update(status="ok", **result)
                except OutOfBudget as exc:
                    entry.update(status="timed_out", error=str(exc))
                except Exception as exc:  # noqa: BLE001 - one failing variant must not stop the others
                    entry.update(status="error", error=f"{type(exc).__name__}: {exc}",
                                 traceback=traceback.format_exc()[-4000:])
                finally:
                    signal.alarm(0)
                entry["wall_s"] = round(time.time() - t0, 1)
                try:
                    _reset_memory(device)
                except Exception:  # noqa: BLE001
                    pass
            report.data["variants"][v.name] = entry
            report.write()
            say(line(v.name, entry))
    report.data["finished"] = True
    statuses = [e["status"] for e in report.data["variants"].values()]
    report.data["summary"] = {s: statuses.count(s) for s in ("ok", "error", "timed_out", "skipped")}
    report.data["ratios"] = ratios(report.data["variants"])
    report.data["goals"] = goals(report.data["variants"], report.data["ratios"])
    if device == "cpu" or ns.tiny:
        report.data["goals_note"] = "a --cpu or --tiny run: the goals are about full-size shapes on a GPU"
    report.write()
    say(f"done in {report.elapsed():.0f} s -> {out_dir / 'gpu_check.json'}")
    for key, value in report.data["ratios"].items():
        say(f"  {key}: {value}")
    for g in report.data["goals"]:
        say(f"  goal {g['goal']} >= {g['threshold']}: {g['figures'] or 'not measured'} -> met: {g['met']}")
    return 0


def line(name: str, e: dict[str, Any]) -> str:
    """One progress line per variant."""
    if e["status"] != "ok":
        return f"  {name:38s} {e['status']}: {e.get('reason') or e.get('error', '')}"[:400]
    mfu = f"{100 * e['mfu']:5.1f}%" if e.get("mfu") is not None else "  n/a"
    extra = f"  compile {e['compile_s']:.0f} s" if "compile_s" in e else ""
    if e.get("cold_examples_per_s") is not None:
        extra += f"  cold {e['cold_examples_per_s']:.1f} ex/s"
    if e.get("syncs_per_step") is not None:
        extra += f"  syncs/step {e['syncs_per_step']}"
    return (f"  {name:38s} {e['examples_per_s']:9.1f} ex/s {e['tokens_per_s']:11.0f} tok/s "
            f"{e['padded_tokens_per_s']:11.0f} padded tok/s  MFU {mfu}  peak {e['peak_memory_mb']:8.0f} MB{extra}")


def ratios(variants: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each toolkit setting over the baselines of the same size and data (examples/s, warm; ``cold``: the cold
    rates), where both ran: training against ``hf_fixed`` and ``today``, evaluation against ``unsorted_fixed``."""
    out: dict[str, float] = {}
    ok = {n: e for n, e in variants.items() if e.get("status") == "ok"}
    for name, e in ok.items():
        base, _, path = name.rpartition("/")
        if path in ("hf_fixed", "unsorted_fixed"):
            continue
        others = ("hf_fixed", "today") if e["kind"] == "train" else ("unsorted_fixed", "today")
        for other in others:
            ref = ok.get(f"{base}/{other}")
            if ref is None or path == other or (path == "today" and other == "today"):
                continue
            out[f"{name} vs {other}"] = round(e["examples_per_s"] / ref["examples_per_s"], 3)
            if e.get("cold_examples_per_s") and ref.get("cold_examples_per_s"):
                out[f"{name} vs {other} (cold)"] = round(e["cold_examples_per_s"] / ref["cold_examples_per_s"], 3)
    return out


# Issue 26's goals on one H100/H200, per toolkit setting: (variant, figure, threshold, what).
GOALS = [
    ("train/large/xnli128/{s} vs hf_fixed", "ratio", 3.0, "Large XNLI training, steady state, over HF fixed padding"),
    ("train/large/xnli128/{s}", "cold_over_warm", 0.8, "Large XNLI training: the first steps over steady state"),
    ("train/large/qa384/{s}", "mfu", 0.35, "Large 384-token QA windows: MFU on real tokens"),
    ("eval/large/xnli128/{s} vs unsorted_fixed", "ratio", 3.0, "evaluation, warm, over unsorted fixed padding"),
    ("eval/large/xnli128/{s} vs unsorted_fixed (cold)", "ratio", 2.0, "evaluation, cold, over unsorted fixed padding"),
]


def goals(variants: dict[str, dict[str, Any]], ratio: dict[str, float]) -> list[dict[str, Any]]:
    """Each goal with the figure of every setting measured for it and whether it is met (null: not measured)."""
    settings = ["xstilts", "xstilts+default", "xstilts+graphs", "xstilts_b64", "today"]
    out = []
    for template, figure, threshold, what in GOALS:
        figures = {}
        for setting in settings:
            key = template.format(s=setting)
            if figure == "ratio":
                value = ratio.get(key)
            else:
                entry = variants.get(key, {})
                value = entry.get(figure) if entry.get("status") == "ok" else None
            if value is not None:
                figures[setting] = value
        new = [v for k, v in figures.items() if k != "today"]  # today's path is shown, never what meets a goal
        best = max(new) if new else None
        out.append({"goal": what, "threshold": threshold, "figures": figures,
                    "met": None if best is None else best >= threshold})
    return out


if __name__ == "__main__":
    sys.exit(main())
