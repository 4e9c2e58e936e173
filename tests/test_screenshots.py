"""The README's screenshots are never older than the code that draws them: each docs/*.png is recorded in
docs/screenshots.json by the command that takes it (tools/make_screenshots.py, ``make screenshots``) with a hash of
the drawing code and of the results it shows; a change to either without new pictures fails here."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAMPS = REPO / "docs" / "screenshots.json"


def _tool():
    spec = importlib.util.spec_from_file_location("make_screenshots", REPO / "tools" / "make_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stamps() -> dict:
    return json.loads(STAMPS.read_text())


def test_every_readme_picture_is_made_by_the_screenshot_command():
    tool = _tool()
    made = {png for _, _, shots in tool.SETS.values() for png in shots.values()}
    shown = set(re.findall(r"\]\((docs/[^)]+\.png)\)", (REPO / "README.md").read_text()))
    assert shown <= made, f"README pictures no command makes: {sorted(shown - made)}"
    assert {p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.png")} <= made


@pytest.mark.parametrize("png", sorted(json.loads(STAMPS.read_text())) if STAMPS.is_file() else [])
def test_a_screenshot_is_not_older_than_the_code_that_draws_it(png):
    tool = _tool()
    stamp = _stamps()[png]
    assert tool.sha256_file(REPO / png) == stamp["sha256"], (
        f"{png} was replaced by hand: run `make screenshots` (tools/make_screenshots.py) to take it")
    assert stamp["drawing_code"] == tool.drawing_code_hash(), (
        f"{png} is older than the code that draws it ({', '.join(tool.DRAWING_CODE)} changed since): run "
        "`make screenshots` and commit the pictures with docs/screenshots.json")
    results = REPO / stamp["results"]
    if any(results.rglob("*.json")) and stamp["results"] != "results/quickstart/results":  # committed results only
        assert stamp["results_sha256"] == tool.results_hash(results), (
            f"{png} shows older results than {stamp['results']} holds now: run `make screenshots`")


def test_every_picture_has_a_stamp():
    stamped = set(_stamps())
    assert {p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.png")} <= stamped


def test_the_stamp_check_fails_when_the_drawing_code_changes(tmp_path):
    """The check can fail: the same hash over a copy of the drawing code with one byte changed differs."""
    tool = _tool()
    for name in tool.DRAWING_CODE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((REPO / name).read_bytes())
    assert tool.drawing_code_hash(tmp_path) == tool.drawing_code_hash()
    (tmp_path / "xstilts/view/figures.py").write_bytes((REPO / "xstilts/view/figures.py").read_bytes() + b"#")
    assert tool.drawing_code_hash(tmp_path) != tool.drawing_code_hash()
