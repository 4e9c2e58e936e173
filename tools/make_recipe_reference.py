"""Regenerates the README's "Recipe reference" section from the recipe dataclasses in ``xstilts/config.py``.

    .venv/bin/python tools/make_recipe_reference.py           # rewrite the section in README.md
    .venv/bin/python tools/make_recipe_reference.py --check   # exit 1 if README.md is stale (tests/test_layout.py)

The section runs from its heading to the next second-level heading (or the end of the file); everything else in
README.md is left as it is.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
HEADING = "## Recipe reference"


def section() -> str:
    from xstilts import recipe
    from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe

    parts = [HEADING, "", "Every key, its type, default and meaning (generated from the dataclasses in "
             "`xstilts/config.py` by `tools/make_recipe_reference.py`).", ""]
    for script, cls in (("phase1_pretrained.py", Phase1Recipe), ("phase2_intermediate.py", Phase2Recipe),
                        ("phase3_target.py", Phase3Recipe), ("evaluate_xtreme.py", EvalRecipe)):
        parts += [f"### {script}", "", "```", *recipe.describe(cls), "```", ""]
    return "\n".join(parts)


def render(readme: str) -> str:
    start = readme.index(HEADING)
    end = readme.find("\n## ", start + len(HEADING))
    rest = readme[end + 1:] if end != -1 else ""
    return readme[:start] + section() + ("\n" + rest if rest else "")


def main(argv: list[str]) -> int:
    path = REPO / "README.md"
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md recipe reference is stale: run python tools/make_recipe_reference.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    print(f"{'rewrote' if new != text else 'unchanged:'} {path.relative_to(REPO)} ({HEADING[3:]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
