"""Benchmark: wall time and peak resident memory of BUCC mining (`xstilts.retrieval.mine_pairs`) versus corpus size.

    .venv/bin/python bench/bucc_mining.py                               # sizes 10k, 50k, 200k per side
    .venv/bin/python bench/bucc_mining.py sizes=10000,50000 dim=768 threads=2 block_size=4096
    (out=FILE writes elsewhere; bench/results/bucc_mining.json, a committed measurement, is replaced
    only with force=true)

Random unit vectors stand in for sentence embeddings (the cost of mining does not depend on what they encode). Each
size runs in a fresh subprocess so its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own: torch
allocates tensors outside Python's allocator, so ``tracemalloc`` would miss them. The table splits peak RSS into
what the process held before mining (interpreter, torch, the two embedding matrices) and what mining added on top;
"added KB/n" falls while the fixed block buffers dominate, and "slope KB/n" (extra memory per extra sentence
between consecutive sizes) staying flat is the check that mining memory is linear in n (no n x m matrix).
Results go to ``bench/results/bucc_mining.json`` (``out=`` to change).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import _common
from _common import peak_rss_mb, rss_mb

REPO = Path(__file__).resolve().parents[1]

DEFAULTS = {
    "sizes": "10000,50000,200000",  # sentences per side; 200k costs ~2.5 GB RSS and minutes of CPU (n^2 * dim flops)
    "dim": 768,  # embedding width (XLM-R base; 1024 for large)
    "k": 4,  # margin neighbourhood (BUCC setting)
    "block_size": 4096,  # rows per k-NN block: extra memory ~ block_size^2 floats
    "threads": 2,  # torch intra-op threads
    "seed": 0,
    "device": "cpu",  # "cuda" to time a GPU; memory is then reported as torch's peak allocation as well
    "out": "bench/results/bucc_mining.json",
}


def _parse(argv: list[str]) -> dict:
    return _common.parse_args(argv, DEFAULTS)


def _worker(n: int, cfg: dict) -> dict:
    """Runs one size in this (fresh) process and returns its measurements."""
    import torch

    sys.path.insert(0, str(REPO))
    from xstilts.retrieval import mine_pairs

    torch.set_num_threads(cfg["threads"])
    device = torch.device(cfg["device"])
    rss_import = rss_mb()
    gen = torch.Generator().manual_seed(cfg["seed"])

    def unit_rows(rows: int) -> torch.Tensor:
        # Filled in chunks so generating the data does not itself double the peak.
        out = torch.empty(rows, cfg["dim"])
        for s in range(0, rows, 8192):
            chunk = torch.randn(min(8192, rows - s), cfg["dim"], generator=gen)
            out[s : s + chunk.shape[0]] = torch.nn.functional.normalize(chunk, dim=1)
        return out.to(device)

    src, tgt = unit_rows(n), unit_rows(n)
    src_ids = [f"src-{i:09d}" for i in range(n)]
    tgt_ids = [f"tgt-{i:09d}" for i in range(n)]
    rss_before = rss_mb()
    peak_before = peak_rss_mb()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        gpu_before = torch.cuda.memory_allocated() / 2**20
    start = time.perf_counter()
    mined = mine_pairs(src, tgt, src_ids, tgt_ids, k=cfg["k"], block_size=cfg["block_size"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {
        "n": n,
        "dim": cfg["dim"],
        "seconds": round(seconds, 3),
        "pairs_mined": len(mined),
        "rss_after_import_mb": round(rss_import, 1),
        "rss_before_mining_mb": round(rss_before, 1),
        "peak_rss_before_mining_mb": round(peak_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "embeddings_mb": round(2 * n * cfg["dim"] * 4 / 2**20, 1),
    }
    result["mining_added_mb"] = round(result["peak_rss_mb"] - rss_before, 1)
    if device.type == "cuda":
        result["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        result["gpu_mining_added_mb"] = round(result["gpu_peak_mb"] - gpu_before, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        cfg = json.loads(argv[2])
        print(json.dumps(_worker(int(argv[1]), cfg)))
        return 0
    cfg = _parse(argv)
    out = _common.out_file(cfg, REPO)  # before the work: an existing measurement is kept unless force=true
    sizes = [int(s) for s in str(cfg["sizes"]).split(",") if s.strip()]
    print("config:", json.dumps(cfg, sort_keys=True))
    rows = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", str(n), json.dumps(cfg)], capture_output=True, text=True, cwd=REPO,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(f"size {n} failed (exit {proc.returncode})")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"n={n}: {row['seconds']:.1f}s, peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)

    header = (
        f"{'n':>8} {'time s':>8} {'peak MB':>8} {'emb MB':>8} {'pre MB':>8} {'added MB':>9} {'peak KB/n':>10} "
        f"{'added KB/n':>11} {'slope KB/n':>11}"
    )
    print(header)
    prev = None
    for r in rows:
        # Marginal memory per extra sentence between consecutive sizes: the fixed block buffers cancel out, so a flat
        # slope across sizes is the linear-memory check (an n x m matrix would make it grow with n).
        slope = (
            f"{1024 * (r['mining_added_mb'] - prev['mining_added_mb']) / (r['n'] - prev['n']):>11.2f}"
            if prev and r["n"] != prev["n"]
            else f"{'-':>11}"
        )
        prev = r
        print(
            f"{r['n']:>8} {r['seconds']:>8.1f} {r['peak_rss_mb']:>8.0f} {r['embeddings_mb']:>8.0f} "
            f"{r['rss_before_mining_mb']:>8.0f} {r['mining_added_mb']:>9.0f} "
            f"{1024 * (r['peak_rss_mb'] - r['rss_after_import_mb']) / r['n']:>10.2f} "
            f"{1024 * r['mining_added_mb'] / r['n']:>11.2f} {slope}"
        )
    report = {
        "config": cfg,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "results": rows,
        "notes": "peak_rss_mb: ru_maxrss of a fresh process per size; mining_added_mb = peak - RSS just before mining "
        "(embeddings already allocated); 'peak KB/n' subtracts the RSS after importing torch.",
    }
    try:
        import torch

        report["machine"]["torch"] = torch.__version__
    except ImportError:
        pass
    _common.write_json(out, report, cfg["force"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
