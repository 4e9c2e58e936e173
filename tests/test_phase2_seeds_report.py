"""The report on a grid with phase-2 seeds and per-item scores (issue 29): phase-3 seed i paired with the baseline's
seed i, retrieval effects with a phase-2 seed component, the items redrawn jointly for translated test sets, per
language otherwise, and results without per-item scores falling back to their intervals, said in the noise column."""
from __future__ import annotations

import json
import zlib

import numpy as np

from xstilts import claims, report
from xstilts.reliability import items_to_json
from xstilts.results import RunInfo, TaskResult, average_metrics, find_results, phase2_seed, task_score, write_result

ENV = {"cpu": "Test CPU", "cpu_count": 2}
LANGS = ("de", "sw", "zh")


def _put(root, task, inter, seed, shift, p2_seed=None, items=True, rng=None):
    """One result of the MLM-only encoder ``xlmr-mini``: 60 items per language (the same items in every language:
    one difficulty each), correct with probability 0.6 + shift; phase-2 chain entry with ``p2_seed``."""
    rng = rng or np.random.default_rng(zlib.crc32(f"{task} {inter} {seed} {p2_seed}".encode()))
    hard = np.random.default_rng(7).random(60)
    per = {lang: np.stack([(rng.random(60) < np.clip(0.3 + 0.6 * hard + shift, 0, 1)).astype(float),
                           np.ones(60)], axis=1) for lang in LANGS}
    languages = {lang: {"accuracy": 100 * v[:, 0].mean(), "n": 60.0} for lang, v in per.items()}
    average = average_metrics(languages)
    p1 = {"phase": "phase1", "folder": "/r/p1-xlmr", "recipe": {"model": "models/xlmr-mini-mlm"}, "environment": ENV,
          "done": {}}
    p2 = {"phase": "phase2", "folder": f"/r/p2-xlmr-{inter}-s{p2_seed}", "environment": ENV, "done": {},
          "recipe": {"train": {"seed": p2_seed}}, "metrics": {"dev": {"score": 70.0}}}
    p3 = {"phase": "phase3", "folder": f"/r/p3-xlmr-{inter}-{task}-s{seed}", "environment": ENV, "done": {},
          "recipe": {"task": task, "train": {"seed": seed}}}
    chain = ([p3] if seed is not None else []) + ([p2] if inter != "none" else []) + [p1]
    result = TaskResult(task=task, task_type="x", split="test", data_source="xtreme", main_metric="accuracy",
                        languages=languages, average=average, score=task_score("accuracy", average),
                        missing_languages=[], partial=False, checkpoint="c",
                        run=RunInfo("xlmr-mini", "multilingual", inter, task, seed if seed is not None else p2_seed),
                        chain=chain, created="2026-01-01", version="0", environment=ENV, wall_time_s=1.0,
                        score_ci95=[average["accuracy"] - 5, average["accuracy"] + 5],
                        items={lang: items_to_json(v) for lang, v in per.items()} if items else {})
    write_result(root / f"xlmr-{inter}-s{seed}-p{p2_seed}" / f"{task}.json", result)


def test_a_grid_with_phase2_seeds_pairs_seeds_and_redraws_items(tmp_path):
    for seed in (1, 2, 3):
        for task in ("xnli", "panx"):
            _put(tmp_path, task, "none", seed, 0.0)
            _put(tmp_path, task, "siqa", seed, 0.25, p2_seed=seed)
        _put(tmp_path, "xcopa", "none", seed, 0.0, items=False)
        _put(tmp_path, "xcopa", "siqa", seed, 0.0, p2_seed=seed, items=False)
        _put(tmp_path, "tatoeba", "siqa", None, 0.05, p2_seed=seed)  # retrieval on each phase-2 encoder
    _put(tmp_path, "tatoeba", "none", None, 0.0)  # on the phase-1 encoder: nothing trained
    results = [r for _, r in find_results(tmp_path)[0]]
    assert sorted({phase2_seed(r) for r in results if r.run.intermediate == "siqa"}) == [1, 2, 3]
    s = report.summarize(tmp_path)
    e = {x["task"]: x for x in s["effects"] if x["encoder"] == "xlmr-mini"}
    assert e["xnli"]["pairs"] == 3 and "3 paired seeds (t)" in e["xnli"]["why"]
    assert "drawn jointly across the translated languages" in e["xnli"]["why"]  # XNLI: translations
    assert "drawn per language" in e["panx"]["why"]  # PAN-X: each language its own sentences
    assert "recorded intervals" in e["xcopa"]["why"]  # no per-item scores kept: said so
    assert e["tatoeba"]["pairs"] == 3 and e["tatoeba"]["low"] is not None  # the phase-2 seeds' spread
    row = next(r for r in s["grid"]["rows"] if r["task"] == "xnli")
    col = [tuple(c) for c in s["grid"]["columns"]].index(("xlmr-mini", "siqa"))
    assert row["phase2_seeds"][col] == [1, 2, 3] and row["runs_seed"][col] == [1, 2, 3]
    # +25 points expected; each seed's 180 answers draw their own correctness (about 5 points of noise per seed)
    assert e["xnli"]["verdict"] == "up" and e["xcopa"]["verdict"] == "within noise"
    # an encoder pretrained only with masked-language modelling: the retrieval claim is judged, not "not testable"
    retrieval = next(c for c in s["claims"] if c["claim"].startswith("Sentence retrieval"))
    assert retrieval["verdict"] != claims.NOT_TESTABLE and s["contrastive"] == {"xlmr-mini": False}
    json.dumps(s)  # summary.json stays JSON


def test_a_result_with_malformed_items_is_listed_as_broken_in_one_line(tmp_path):
    _put(tmp_path, "xnli", "none", 1, 0.0)
    path = next(tmp_path.rglob("xnli.json"))
    data = json.loads(path.read_text())
    data["items"]["de"] = {"num": [1, 0], "den": [1]}
    path.write_text(json.dumps(data))
    good, broken = find_results(tmp_path)
    assert not good and len(broken) == 1 and "items.de" in broken[0][1] and "\n" not in broken[0][1]


def test_one_phase2_run_under_every_seed_gives_no_interval(tmp_path):
    """The committed mini grid's design: three phase-3 seeds from one phase-2 run. Their spread holds no phase-2
    noise, so the effect has no interval (report and viewer alike); with one phase-2 run per seed it has one."""
    from xstilts.view import loading

    for seed in (1, 2, 3):
        _put(tmp_path, "xnli", "none", seed, 0.0)
        _put(tmp_path, "xnli", "siqa", seed, 0.25, p2_seed=42)
    e = next(x for x in report.summarize(tmp_path)["effects"] if x["task"] == "xnli")
    assert e["verdict"] == "unknown" and "one phase-2 run under every seed" in e["why"] and e["low"] is None
    results = [r for _, r in find_results(tmp_path)[0]]
    cell = loading.overview_table(results, benchmark=None).set_index(["intermediate", "task"]).loc[("siqa", "xnli")]
    assert cell.status == loading.STATUS_UNCERTAIN and "one phase-2 run under every seed" in cell.why
