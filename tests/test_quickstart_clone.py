"""The quickstart runs the phase scripts and recipes of a clone (they sit beside the package, never in it): without
them, as in an installed wheel, ``xstilts quickstart`` says so and names the fix before it locks, removes or writes
anything."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import quickstart

REPO = Path(__file__).resolve().parents[1]


def test_without_a_clone_the_quickstart_names_the_fix_and_touches_nothing(tmp_path):
    site = tmp_path / "site-packages"
    site.mkdir()
    out = tmp_path / "qs"
    with pytest.raises(quickstart.QuickstartError, match=r"clone of the repository, and .*site-packages has no "
                                                         r"phase1_pretrained\.py, .*make quickstart"):
        quickstart.run(out, fresh=True, root=site)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-packages"]


def test_the_clone_has_everything_the_chain_runs():
    quickstart.check_clone(REPO, quickstart.STEPS)


def test_an_installed_package_without_its_clone_exits_2_with_the_fix(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "xstilts", site / "xstilts", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys, xstilts\nfrom xstilts import command\nprint(xstilts.__file__)\n"
            f"sys.exit(command.main(['quickstart', '--output', {str(tmp_path / 'qs')!r}]))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.startswith(str(site)), done.stdout  # the copy, not the clone's package
    assert done.returncode == 2, done.stderr
    assert "clone the repository and run `make quickstart` in it" in done.stderr, done.stderr
    assert not (tmp_path / "qs").exists()
