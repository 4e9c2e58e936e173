"""Writes synthetic result files for the viewer's tests and demo into ``tests/fixtures/results_demo/``.

    .venv/bin/python tools/make_viewer_fixtures.py [OUT_DIR]

The numbers are invented (seeded, so the output is identical on every run) but shaped like real X-STILTs results:
a multilingual encoder transfers to every script, an English-only one mostly to Latin-script languages and its
vocabulary turns non-Latin text into unknown tokens; MNLI/SQuAD intermediates help retrieval most and tagging least;
seeds differ by a fraction of a point. Every file says it is synthetic in its ``notes`` and ``data_source``.

What the viewer must judge is in here too: the multilingual encoder's results carry reliability figures (per-language
majority and top-prediction shares, binomial 95% intervals, the task's chance level); the English-only encoder's do
not (written "before reliability was recorded"), except its MNLI -> PAWS-X run, which predicts one class in every
language (a constant predictor scoring the class balance); SQuAD -> XNLI of seed 2 is constant in Swahili only. The
multilingual encoder's training folders hold a ``metrics.json`` with a log history (training curves); the
English-only one's do not.

Layout (like real runs: each evaluated folder holds ``eval/<task>.json``)::

    <encoder>/p1/                                     phase 1 (Tatoeba of the baseline is evaluated here)
    <encoder>/p2-<intermediate>-s<seed>/eval/tatoeba.json
    <encoder>/p3-<intermediate>-<target>-s<seed>[-lora]/eval/<target>.json
"""
from __future__ import annotations

import json
import math
import random
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xstilts import anchors  # noqa: E402  (after the path: the package is not installed)
from xstilts.languages import script_of  # noqa: E402
from xstilts.results import RunInfo, TaskResult, average_metrics, task_score, write_result  # noqa: E402
from xstilts.tasks import get_task  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "results_demo"

# The simulated XTREME tasks: task -> (split, chance level, English ceiling, examples per language); their kind, main
# metric and languages come from the task registry.
SIMULATED = {
    "xnli": ("test", 33.3, 85.0, 5010),
    "pawsx": ("test", 50.0, 94.0, 2000),
    "panx": ("test", 0.0, 83.0, 10000),
    "xquad": ("validation", 0.0, 80.0, 1190),
    "tatoeba": ("validation", 0.1, 85.0, 1000),
    "udpos": ("test", 0.0, 96.0, 1000),
    "mlqa": ("test", 0.0, 74.0, 1500),
    "tydiqa": ("validation", 0.0, 68.0, 500),
    "bucc2018": ("test", 0.0, 90.0, 2000),
}
TASKS = {name: (get_task(name).task_type, split, get_task(name).main_metric, chance, ceiling, n)
         for name, (split, chance, ceiling, n) in SIMULATED.items()}
LANGS = {name: list(get_task(name).languages) for name in SIMULATED}
# Every XTREME task is run only for the multilingual encoder's main settings (so benchmark scores exist for them);
# elsewhere the five targets of the comparison.
FULL_XTREME = {("demo-xlmr-base", "none"), ("demo-xlmr-base", "mnli")}
# How well a multilingual encoder transfers to each language (relative to English), roughly by resource size.
HIGH = {"de", "es", "fr", "ru", "pt", "it", "nl", "bg", "zh", "ja", "vi", "pl"}
LOW = {"sw", "ur", "yo", "my", "jv", "kk", "ka", "eu", "tl", "ml", "mr", "te", "ta", "bn", "af", "et"}
# Intermediate -> target -> change of the task score (the paper: retrieval gains most, XNLI little, tagging ~0).
GAIN = {
    "mnli": {"xnli": 1.1, "pawsx": 1.4, "panx": -0.3, "xquad": 0.9, "tatoeba": 11.0, "udpos": -0.2, "mlqa": 1.0,
             "tydiqa": 1.5, "bucc2018": 9.0},
    "squad": {"xnli": 0.4, "pawsx": 1.0, "panx": 0.2, "xquad": 2.4, "tatoeba": 9.0},
    "multi:mnli+squad": {"xnli": 1.2, "pawsx": 1.7, "panx": 0.1, "xquad": 2.6, "tatoeba": 12.5},
}
ENCODERS = {
    # name -> (kind, source, parameters, vocab size, {intermediate: seeds})
    "demo-xlmr-base": ("multilingual", "hf:xlm-roberta-base", 278_000_000, 250_002,
                       {"none": [1, 2], "mnli": [1, 2], "squad": [1, 2], "multi:mnli+squad": [1]}),
    "demo-roberta-base": ("english", "hf:roberta-base", 124_600_000, 50_265, {"none": [1], "mnli": [1]}),
}
CREATED = "2025-01-15T12:00:00+0000"


def quality(lang: str, kind: str) -> float:
    """Share of the English-over-chance margin that survives transfer to ``lang``."""
    if lang == "en":
        return 1.0
    q = 0.93 if lang in HIGH else 0.72 if lang in LOW else 0.85
    if kind == "english":
        q *= 0.55 if script_of(lang) == "Latin" else 0.12
    return q


def tokenizer_stats(kind: str, rng: random.Random) -> dict:
    langs = sorted({lang for ls in LANGS.values() for lang in ls})
    out = {}
    for lang in langs:
        latin = script_of(lang) == "Latin"
        if kind == "multilingual":
            unk, tpw = rng.uniform(0.0, 0.3), rng.uniform(1.2, 2.1)
        elif latin:
            unk, tpw = rng.uniform(0.2, 2.0), rng.uniform(1.8, 3.2) if lang != "en" else 1.3
        else:
            unk, tpw = rng.uniform(25.0, 70.0), rng.uniform(1.0, 1.6)
        out[lang] = {"unk_rate": round(unk, 3), "tokens_per_word": round(tpw, 3)}
    return out


def lang_metrics(task: str, lang: str, value: float, rng: random.Random) -> dict:
    n = TASKS[task][5]
    if task in ("panx", "udpos", "bucc2018"):
        p, r = value + rng.uniform(-2, 2), value + rng.uniform(-2, 2)
        return {"f1": value, "precision": round(p, 4), "recall": round(r, 4), "n": n}
    if TASKS[task][2] == "exact_match+f1":
        return {"f1": round(value + 7.0, 4), "exact_match": round(value - 7.0, 4), "n": n}
    return {"accuracy": value, "n": n}


def make_result(task: str, encoder: str, inter: str, seed: int | None, lora: bool, chain: list, folder: str,
                rng: random.Random) -> TaskResult:
    kind = ENCODERS[encoder][0]
    task_type, split, main, chance, ceiling, _ = TASKS[task]
    gain = GAIN.get(inter, {}).get(task, 0.0) * (0.5 if kind == "english" else 1.0) - (0.6 if lora else 0.0)
    seed_offset = random.Random(f"{encoder}{inter}{task}{seed}").gauss(0, 0.35)  # shared by all languages of a seed
    languages = {}
    for lang in LANGS[task]:
        base = chance + (ceiling - chance) * quality(lang, kind)
        value = min(99.0, max(chance, base + gain + seed_offset + rng.gauss(0, 0.5)))
        languages[lang] = lang_metrics(task, lang, round(value, 4), rng)
    constant = set()
    if encoder == "demo-roberta-base" and task == "pawsx" and inter == "mnli":
        constant = set(LANGS[task])  # collapsed to the majority class everywhere: the score is the class balance
        for lang in LANGS[task]:
            languages[lang]["accuracy"] = MAJORITY[task]
    if encoder == "demo-xlmr-base" and task == "xnli" and inter == "squad" and seed == 2:
        constant = {"sw"}
        languages["sw"]["accuracy"] = MAJORITY[task]
    missing = []
    if encoder == "demo-roberta-base" and task == "panx" and inter == "mnli":
        missing = ["my", "yo"]  # an interrupted evaluation: the score is partial and left out of benchmark scores
        for lang in missing:
            del languages[lang]
    average = average_metrics(languages)
    reliability, score_ci95, chance_level = {}, None, None
    if kind == "multilingual" or constant:  # the English-only encoder's other results predate reliability figures
        reliability = {lang: lang_reliability(task, lang, m, lang in constant, rng) for lang, m in languages.items()}
        halves = [(c["ci95"][1] - c["ci95"][0]) / 2 for c in reliability.values()]
        half = math.sqrt(sum(h * h for h in halves)) / len(halves)  # languages resampled independently
        score = task_score(main, average)
        score_ci95 = [round(score - half, 4), round(score + half, 4)]
        chance_level = anchors.chance(task)
    return TaskResult(
        task=task, task_type=task_type, split=split, data_source="synthetic", main_metric=main, languages=languages,
        average=average, score=task_score(main, average), missing_languages=missing, partial=bool(missing),
        checkpoint=f"{folder}/final", run=RunInfo(encoder=encoder, encoder_kind=kind, intermediate=inter,
                                                   target=task, seed=seed, lora=lora),
        chain=chain, created=CREATED, version="0.1.0",
        notes=["synthetic demo result written by tools/make_viewer_fixtures.py, not a measurement"],
        reliability=reliability, score_ci95=score_ci95, chance=chance_level,
    )


# Share (percent) of the most frequent gold label in the classification tasks' test sets (invented).
MAJORITY = {"xnli": 33.4, "pawsx": 55.2}


def lang_reliability(task: str, lang: str, metrics: dict, constant: bool, rng: random.Random) -> dict:
    """A language's reliability figures as the evaluation records them (binomial interval of its task score)."""
    n = metrics["n"]
    value = (metrics["exact_match"] + metrics["f1"]) / 2 if "exact_match" in metrics else metrics[TASKS[task][2]]
    p = min(max(value / 100, 0.001), 0.999)
    half = 196 * math.sqrt(p * (1 - p) / n)
    classes = task in MAJORITY
    top = 100.0 if constant else round(rng.uniform(36, 48) if task == "xnli" else rng.uniform(50, 62), 2)
    return {"majority_share": MAJORITY[task] if classes else None, "top_prediction_share": top if classes else None,
            "constant": constant, "ci95": [round(max(0.0, value - half), 4), round(min(100.0, value + half), 4)]}


def log_history(steps: int, best: float, rng: random.Random) -> list[dict]:
    """A Trainer log history: the loss every 50 steps, the English dev score every 100 (what metrics.json keeps)."""
    out = []
    for step in range(50, steps + 1, 50):
        out.append({"step": step, "epoch": round(step / steps * 2, 4), "loss": round(1.1 * math.exp(-step / steps * 2)
                                                                                  + rng.uniform(0, 0.05) + 0.25, 4),
                    "learning_rate": 1e-5})
        if step % 100 == 0:
            out.append({"step": step, "epoch": round(step / steps * 2, 4),
                        "eval_score": round(best * (1 - 0.35 * math.exp(-3 * step / steps)), 2)})
    return out


def write_metrics(folder: Path, entry: dict, rng: random.Random) -> None:
    """``metrics.json`` of a training folder: its chain metrics plus the log history the chain leaves out."""
    dev = entry["metrics"]["dev"]
    best = next(iter(next(iter(dev.values())).values()))
    data = {**entry["metrics"], "log_history": log_history(600, best, rng)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def cost(params: int, examples: int, lora: bool, old: bool, rng: random.Random) -> dict:
    """A phase's recorded cost; ``old`` runs predate memory/size recording (the viewer must cope)."""
    trainable = int(params * 0.0045) if lora else params
    speed = rng.uniform(40, 60) * (1.4 if lora else 1.0) * (278e6 / params) ** 0.5
    out = {"trainable_parameters": trainable, "total_parameters": params,
           "wall_time_s": round(examples / speed, 1), "train_examples_per_second": round(speed, 2)}
    if not old:
        out["peak_memory_mb"] = round(params / 1e6 * (22 if not lora else 9) + rng.uniform(0, 300), 1)
        out["size_on_disk_bytes"] = trainable * 4 + (0 if lora else 1_000_000)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else OUT
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(20200423)
    n_written = 0
    for encoder, (kind, source, params, vocab, plan) in ENCODERS.items():
        old = kind == "english"
        p1_folder = f"{encoder}/p1"
        p1 = {"phase": "phase1", "folder": p1_folder, "metrics": None,
              "recipe": {"encoder": {"name": encoder, "source": source, "kind": kind}, "output": p1_folder},
              "stats": {"name": encoder, "source": source, "kind": kind, "parameters": params, "vocab_size": vocab,
                        "languages": tokenizer_stats(kind, rng)}}
        for inter, seeds in plan.items():
            for seed in seeds:
                if inter == "none":
                    p2_chain, retrieval_folder = [p1], p1_folder
                else:
                    p2_folder = f"{encoder}/p2-{inter.replace(':', '-').replace('+', '-')}-s{seed}"
                    tasks = inter.removeprefix("multi:").split("+")
                    p2 = {"phase": "phase2", "folder": p2_folder, "stats": None,
                          "recipe": {"init_from": p1_folder, "tasks": tasks, "seed": seed, "lora": None,
                                     "train": {"lr": 1e-5, "epochs": 2, "batch_size": 4, "grad_accum": 8,
                                               "max_length": 256}},
                          "metrics": {"dev": {t: {"accuracy" if t == "mnli" else "f1": round(rng.uniform(78, 88), 2)}
                                              for t in tasks},
                                      "cost": cost(params, 390_000 if "mnli" in tasks else 88_000, False, old, rng)}}
                    p2_chain, retrieval_folder = [p2, p1], p2_folder
                    if kind == "multilingual":
                        write_metrics(out / p2_folder, p2, rng)
                # Retrieval needs no training: evaluated on the phase-2 (or phase-1) folder itself. Phase 1 has no
                # seed, so the baseline's retrieval result is written once, seedless.
                retrieval = ["tatoeba", "bucc2018"] if (encoder, inter) in FULL_XTREME else ["tatoeba"]
                for task in retrieval if (inter != "none" or seed == seeds[0]) else []:
                    r_seed = None if inter == "none" else seed
                    r = make_result(task, encoder, inter, r_seed, False, p2_chain, retrieval_folder, rng)
                    write_result(out / retrieval_folder / "eval" / f"{task}.json", r)
                    n_written += 1
                targets = ["xnli", "pawsx", "panx", "xquad"]
                if (encoder, inter) in FULL_XTREME:
                    targets += ["udpos", "mlqa", "tydiqa"]
                loras = [False, True] if (encoder == "demo-xlmr-base" and inter == "mnli" and seed == 1) else [False]
                for target in targets:
                    for lora in loras if target == "xnli" else [False]:
                        folder = (f"{encoder}/p3-{inter.replace(':', '-').replace('+', '-')}-{target}-s{seed}"
                                  f"{'-lora' if lora else ''}")
                        main_metric = TASKS[target][2]
                        p3 = {"phase": "phase3", "folder": folder, "stats": None,
                              "recipe": {"init_from": p2_chain[0]["folder"], "task": target, "seed": seed,
                                         "lora": {"r": 8, "alpha": 16, "dropout": 0.1} if lora else None,
                                         "train": {"lr": 1e-5 if not lora else 3e-4, "epochs": 2, "batch_size": 4,
                                                   "grad_accum": 8}},
                              "metrics": {"dev": {"en": {main_metric.split("+")[-1]: round(rng.uniform(80, 92), 2)}},
                                          "cost": cost(params, {"xnli": 390_000, "pawsx": 245_000, "panx": 200_000,
                                                                "xquad": 176_000, "udpos": 210_000, "mlqa": 176_000,
                                                                "tydiqa": 7_000}[target], lora, old, rng)}}
                        r = make_result(target, encoder, inter, seed, lora, [p3, *p2_chain], folder, rng)
                        if kind == "multilingual":
                            write_metrics(out / folder, p3, rng)
                        write_result(out / folder / "eval" / f"{target}.json", r)
                        n_written += 1
    print(f"wrote {n_written} result files under {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
