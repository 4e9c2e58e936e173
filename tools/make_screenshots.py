"""Regenerates the README's viewer screenshots (docs/*.png) and records what drew them (docs/screenshots.json).

    python tools/make_screenshots.py            # every screenshot (make screenshots)
    python tools/make_screenshots.py mini       # only those of one results folder

Each screenshot is taken by the browser test (tests/test_viewer_browser.py: streamlit serves the viewer, headless
Chromium renders it) on the results folder it shows. ``docs/screenshots.json`` records, per picture, the SHA-256 of
the PNG, of the code that draws it (``DRAWING_CODE``) and of the result files it shows; tests/test_screenshots.py fails
when the drawing code or a committed results folder changed since, so a README picture is never older than the code
that draws it. The quickstart's results are not committed: run ``make quickstart`` first.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMPS = REPO / "docs" / "screenshots.json"
# What decides how a screenshot looks: the app's layout, its tables and figures, and the Markdown escaping they use.
DRAWING_CODE = ("viewer/app.py", "xstilts/view/__init__.py", "xstilts/view/figures.py", "xstilts/view/loading.py",
                "xstilts/markdown.py")
# name -> (results folder, floors file or None, {environment variable of the browser test: screenshot})
SETS = {
    "quickstart": ("results/quickstart/results", None,
                   {"XSTILTS_SCREENSHOT": "docs/viewer_quickstart_overview.png"}),
    "mini": ("results/mini", "recipes/mini/floors.yaml",
             {"XSTILTS_SCREENSHOT": "docs/viewer_mini_overview.png",
              "XSTILTS_SCREENSHOT_ENCODERS": "docs/viewer_mini_encoders.png"}),
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drawing_code_hash(repo: Path = REPO) -> str:
    """One hash over the drawing code's files (names and bytes), in a fixed order."""
    h = hashlib.sha256()
    for name in DRAWING_CODE:
        h.update(name.encode() + b"\0" + (repo / name).read_bytes() + b"\0")
    return h.hexdigest()


def results_hash(folder: Path) -> str:
    """One hash over the result files (``*.json``) of a folder, by relative path and bytes."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.json")):
        if path.is_file() and not path.is_symlink():
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def make(name: str) -> dict[str, dict[str, str]]:
    """Takes the screenshots of one set; returns their stamps. Exits with one line when it cannot."""
    results, floors, shots = SETS[name]
    folder = REPO / results
    if not any(folder.rglob("*.json")):
        sys.exit(f"make_screenshots: {results} holds no results" + (": run make quickstart first" if
                                                                     name == "quickstart" else ""))
    env = {**os.environ, "XSTILTS_VIEWER_RESULTS": str(folder),
           **{var: str(REPO / png) for var, png in shots.items()}}
    if floors:
        env["XSTILTS_VIEWER_FLOORS"] = str(REPO / floors)
    else:
        env.pop("XSTILTS_VIEWER_FLOORS", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-rs", "-p", "no:cacheprovider",
                          "tests/test_viewer_browser.py"], cwd=REPO, env=env, capture_output=True, text=True)
    if run.returncode != 0 or " skipped" in run.stdout:
        sys.exit(f"make_screenshots: the browser test did not take the {name} screenshots (install chromium, see "
                 f"tests/test_viewer_browser.py):\n{run.stdout[-2000:]}")
    code = drawing_code_hash()
    return {png: {"sha256": sha256_file(REPO / png), "drawing_code": code, "results": results,
                  "results_sha256": results_hash(folder), "floors": floors} for png in shots.values()}


def main(argv: list[str]) -> int:
    names = argv or list(SETS)
    unknown = [n for n in names if n not in SETS]
    if unknown:
        sys.exit(f"make_screenshots: unknown set {unknown}; choose from {list(SETS)}")
    stamps = json.loads(STAMPS.read_text()) if STAMPS.is_file() else {}
    for name in names:
        stamps.update(make(name))
        print(f"{name}: {', '.join(SETS[name][2].values())}")
    STAMPS.write_text(json.dumps(dict(sorted(stamps.items())), indent=2, sort_keys=True) + "\n")
    print(f"stamps -> {STAMPS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
