"""Phase 1 builds the same tiny encoder in every process: same tokenizer.json bytes, same weights for the same seed.

The Rust unigram trainer seeds its hash maps at random in each process, so without ``encoders.canonical_unigram`` the
scores of re-added characters and the last digits of the others changed from run to run (and with them every
quickstart number). Only separate processes show it, so the builds run in subprocesses.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts.encoders import UNIGRAM_DECIMALS, UNIGRAM_PENALTY_STEP, canonical_unigram

REPO = Path(__file__).resolve().parents[1]
SPECIALS = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("<mask>", 0.0)]


def _trained(tail_order: list[str], noise: float) -> list[tuple[str, float]]:
    """A unigram vocabulary as the trainer writes it: trained pieces, then re-added characters on the penalty grid
    in ``tail_order`` (hash order), every score off by ``noise`` in its last digits."""
    low = -9.123456789
    trained = [("▁the", -2.5 + noise), ("a", -3.25 - noise), ("b", -3.25 + noise), ("▁cat", -4.0), ("zz", low)]
    tail = [(c, low + k * UNIGRAM_PENALTY_STEP + noise) for k, c in enumerate(tail_order)]
    return SPECIALS + sorted(trained + tail, key=lambda ps: -ps[1])


def test_canonical_unigram_ignores_hash_order_and_summation_noise():
    one = canonical_unigram(_trained(["x", "é", "q", "ж"], 0.0), len(SPECIALS))
    two = canonical_unigram(_trained(["ж", "q", "x", "é"], 3e-11), len(SPECIALS))
    assert one == two
    assert one[:len(SPECIALS)] == SPECIALS  # special tokens keep their ids
    assert one[len(SPECIALS):len(SPECIALS) + 3] == [("▁the", -2.5), ("a", -3.25), ("b", -3.25)]  # ties by piece
    tail = [p for p, _ in one[-5:]]
    assert tail == ["q", "x", "é", "ж", "zz"] or tail == ["q", "x", "é", "zz", "ж"]
    assert all(s == round(s, UNIGRAM_DECIMALS) for _, s in one)


def test_canonical_unigram_keeps_trained_characters_off_the_grid():
    """A trained single character whose score is on the grid beyond a gap keeps it (it was not re-added)."""
    low = -9.0
    vocab = SPECIALS + [("k", low + 10 * UNIGRAM_PENALTY_STEP), ("y", low + UNIGRAM_PENALTY_STEP), ("x", low)]
    out = dict(canonical_unigram(vocab, len(SPECIALS)))
    assert out["k"] == round(low + 10 * UNIGRAM_PENALTY_STEP, UNIGRAM_DECIMALS)
    assert {out["x"], out["y"]} == {low, round(low + UNIGRAM_PENALTY_STEP, UNIGRAM_DECIMALS)}


BUILD = """
import sys
import phase1_pretrained
out = sys.argv[1]
for recipe, name in (("recipes/phase1/tiny_multilingual.yaml", "multi"), ("recipes/phase1/tiny_english.yaml", "en")):
    rc = phase1_pretrained.main([recipe, f"output={out}/{name}", "stats_languages=[en]", "tiny.num_layers=1",
                                 "tiny.hidden_size=32", "seed=7"])
    assert rc == 0, rc
"""


def _build(out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> list[Path]:
    """Both tiny recipes built in each of two processes."""
    roots = [tmp_path_factory.mktemp(f"build{i}") for i in (1, 2)]
    for root in roots:
        _build(root)
    return roots


@pytest.mark.parametrize("name", ["multi", "en"])
def test_phase1_tiny_builds_are_identical_across_processes(two_builds, name):
    from safetensors.torch import load_file

    one, two = (root / name for root in two_builds)
    assert (one / "tokenizer.json").read_bytes() == (two / "tokenizer.json").read_bytes()
    w1, w2 = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    assert w1.keys() == w2.keys()
    assert all(w1[k].equal(w2[k]) for k in w1), [k for k in w1 if not w1[k].equal(w2[k])]
