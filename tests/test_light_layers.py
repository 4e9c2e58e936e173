"""Light layers stay light (issue 27, part 3): the sweep planner, the report, the claims, the analysis and the viewer's
loading answer without torch, datasets or transformers, each checked in a fresh interpreter (another test importing
torch first would hide the import here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "datasets", "transformers")
LIGHT = ("xstilts.sweep", "xstilts.report", "xstilts.claims", "xstilts.analysis", "xstilts.view.loading")


def _heavy_after(code: str) -> list[str]:
    """The heavy packages in ``sys.modules`` after a fresh interpreter runs ``code``."""
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", LIGHT)
def test_a_light_module_imports_neither_torch_nor_datasets(module):
    assert _heavy_after(f"import {module}") == [], f"{module} imports a heavy package"


@pytest.mark.skipif(not (REPO / "results" / "mini").is_dir(), reason="results/mini not in this checkout")
def test_the_report_command_summarises_a_results_folder_without_torch():
    """``xstilts report results/mini``: the whole analysis (grid, floors, effects, claims), not only the imports."""
    code = ("import contextlib, io\nfrom xstilts import command\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    assert command.main(['report', 'results/mini']) == 0")
    assert _heavy_after(code) == []


def test_the_viewer_s_overview_of_a_results_folder_needs_no_torch():
    code = ("from xstilts.view import loading\n"
            "loaded = loading.load_results('tests/fixtures/results_demo')\n"
            "assert not loading.overview_table(loaded.task_results).empty")
    assert _heavy_after(code) == []
