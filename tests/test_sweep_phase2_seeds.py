"""Phase-2 seeds in the sweep (issue 29): k phase-2 runs per intermediate, phase-3 seed i started from phase-2 seed i,
retrieval evaluated on each; every existing sweep plans exactly as before unless it names phase2_seeds."""
from __future__ import annotations

import hashlib
import json

import pytest

from xstilts.recipe import RecipeError
from xstilts.sweep import expand, load_sweep

# sha256 (first 16 hex digits) of every run's (phase, name, output, done, args, needs, seed), computed with the sweep
# code before phase2_seeds existed: a recipe that does not opt in must plan exactly these commands. Changing one of
# these recipes on purpose changes its digest: recompute it with _digest and say why in the commit.
# The grid before issue 29 is archived with its recipes repointed at the archive: the folders it first planned are
# given back to it here, so the digest is still the one computed before phase2_seeds existed.
ARCHIVE = "results/archive/mini-before-issue29"
AS_FIRST_RUN = {f"{ARCHIVE}/replication.yaml": ("runs=runs/mini", "results=results/mini"),
                f"{ARCHIVE}/replication_hub.yaml": ("runs=runs/mini-hub", "results=results/mini-hub")}
BEFORE = {
    f"{ARCHIVE}/replication.yaml": (184, "c94b4232d8d62867"),
    f"{ARCHIVE}/replication_hub.yaml": (184, "30db2843111b50e3"),
    "recipes/sweeps/paper_grid.yaml": (462, "a7ec5d74dff82fb5"),
    "recipes/sweeps/tiny_grid.yaml": (20, "7b10eac127e1b079"),
}


def _digest(path: str, *overrides: str) -> tuple[int, str]:
    plan = expand(load_sweep([path, *overrides]))
    rows = [[r.phase, r.name, r.output, r.done, r.args, r.needs, r.seed] for r in plan.runs]
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


@pytest.mark.parametrize("path", sorted(BEFORE))
def test_a_sweep_without_phase2_seeds_plans_as_before(path):
    first = AS_FIRST_RUN.get(path, ())
    assert _digest(path, *first) == BEFORE[path]
    assert _digest(path, *first, "phase2_seeds=null") == BEFORE[path]


def test_phase3_seed_i_starts_from_phase2_seed_i_and_retrieval_runs_on_each():
    plan = expand(load_sweep([f"{ARCHIVE}/replication.yaml", *AS_FIRST_RUN[f"{ARCHIVE}/replication.yaml"],
                              "phase2_seeds=[11,12,13]"]))
    p2 = [r for r in plan.runs if r.phase == "phase2"]
    # 2 encoders x 3 intermediates x 3 phase-2 seeds, each with its own folder and train.seed
    assert len(p2) == 18 and len({r.output for r in p2}) == 18
    siqa = {r.name: r for r in p2 if r.name.startswith("p2-e5-small-multi-siqa")}
    assert sorted(siqa) == [f"p2-e5-small-multi-siqa-s{k}" for k in (11, 12, 13)]
    assert "train.seed=12" in siqa["p2-e5-small-multi-siqa-s12"].args
    for r in plan.runs:
        if r.phase == "phase3" and "-siqa-" in r.name and r.name.startswith("p3-e5-small-multi"):
            p2_seed = {1: 11, 2: 12, 3: 13}[r.seed]
            assert f"input=runs/mini/p2-e5-small-multi-siqa-s{p2_seed}" in r.args, r.name
            assert r.needs == [f"p2-e5-small-multi-siqa-s{p2_seed}"]
        if r.phase == "phase3" and "-none-" in r.name:  # the baseline still starts from phase 1
            assert any(a.startswith("input=runs/mini/p1-") for a in r.args)
    tatoeba = sorted(r.name for r in plan.runs if r.phase == "eval" and r.name.endswith("/tatoeba")
                     and "e5-small-multi-siqa" in r.name)
    assert tatoeba == [f"e5-small-multi-siqa-p2s{k}/tatoeba" for k in (11, 12, 13)]
    assert "e5-small-multi-none/tatoeba" in {r.name for r in plan.runs}
    # every run still has an output of its own and the script lists each once
    assert len({r.done for r in plan.runs}) == len(plan.runs)


def test_phase2_seeds_must_pair_with_the_phase3_seeds():
    for bad in ("phase2_seeds=[1,2]", "phase2_seeds=[1,1,2]"):
        with pytest.raises(RecipeError, match="phase2_seeds: give one distinct phase-2 seed per phase-3 seed"):
            load_sweep([f"{ARCHIVE}/replication.yaml", bad])
