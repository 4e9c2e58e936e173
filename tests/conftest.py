"""Shared test fixtures.

Every test runs offline: the Hub is never contacted (HF_HUB_OFFLINE=1 is set before transformers/datasets load).
Real-data tests are marked `real` and find the benchmark files through XSTILTS_SHARED_DATA (default: a `shared/data`
folder beside the repository, which only the project's own machines have); they skip when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import pytest
from helpers import CORPUS, P1_FAST

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("XSTILTS_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real benchmark files; skips the test when it is not there."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real benchmark data not found at {path} (set XSTILTS_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def tiny_phase1(tmp_path_factory):
    """A finished phase-1 folder with a tiny XLM-R-style encoder (1 layer, hidden 32), built once per test session.

    Tests only read it (they pass it as ``input=``); build your own where a test must change the folder.
    """
    import phase1_pretrained
    from xstilts import encoders

    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    out = tmp_path_factory.mktemp("tiny-phase1") / "p1"
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={out}", *P1_FAST]) == 0
    mp.undo()
    return out
