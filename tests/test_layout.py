"""Scripts are leaves: the package never imports a phase script, and scripts never import each other."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"phase1_pretrained", "phase2_intermediate", "phase3_target", "evaluate_xtreme"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_scripts_exist_with_main():
    for name in SCRIPTS:
        text = (REPO / f"{name}.py").read_text()
        assert "def main(argv: list[str] | None = None) -> int:" in text
        assert text.startswith('"""'), f"{name}.py opens with a docstring giving its commands"


def test_package_never_imports_a_script():
    for path in list((REPO / "xstilts").rglob("*.py")) + list((REPO / "viewer").rglob("*.py")):
        assert not (_imports(path) & SCRIPTS), f"{path} imports a phase script"


def test_scripts_never_import_each_other():
    for name in SCRIPTS:
        assert not (_imports(REPO / f"{name}.py") & (SCRIPTS - {name})), name


def test_requirements_pin_torch_first():
    lines = [ln for ln in (REPO / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0].startswith("torch==")


def test_readme_recipe_reference_is_current():
    """The README's recipe reference is generated from the dataclasses; regenerate it when a key changes."""
    from xstilts import recipe
    from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe

    readme = (REPO / "README.md").read_text()
    for cls in (Phase1Recipe, Phase2Recipe, Phase3Recipe, EvalRecipe):
        for line in recipe.describe(cls):
            assert line in readme, f"README recipe reference is stale: {line}"


def test_readme_names_only_existing_recipes():
    import re

    for path in set(re.findall(r"recipes/[\w/]+\.yaml", (REPO / "README.md").read_text())):
        assert (REPO / path).is_file(), f"README names {path}, which does not exist"


def test_readme_guarantees_point_at_tests_that_exist():
    """Each guarantee in the README names its tests; a renamed or deleted test must not leave a dangling promise."""
    import re

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Guarantees"):]
    section = section[: section.index("\n## ", 1)]
    current, named = None, 0
    for path, test in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", section):
        if path:
            assert (REPO / path).is_file(), f"README Guarantees names {path}, which does not exist"
            current = path
        if test:
            assert current is not None
            assert re.search(rf"^def {test}\(", (REPO / current).read_text(), re.M), \
                f"README Guarantees names {current}::{test}, which does not exist"
            named += 1
    assert named >= 10


def test_license_and_citation_are_there():
    import yaml

    assert "Apache License" in (REPO / "LICENSE").read_text()
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "Apache-2.0"
    assert "Intermediate-Task Training" in cff["preferred-citation"]["title"]


def _package_imports(path: Path) -> set[str]:
    """The ``xstilts.*`` modules ``path`` imports (``from xstilts import x`` counted as ``xstilts.x``)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("xstilts"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xstilts"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_layers_import_one_way():
    """results <- report <- view: the viewer may import the report and results, never the reverse, and nothing below
    the viewer (the library, the scripts) imports ``xstilts.view``."""
    view = REPO / "xstilts" / "view"
    below_view = [p for p in (REPO / "xstilts").rglob("*.py") if view not in p.parents]
    below_view += [REPO / f"{name}.py" for name in SCRIPTS]
    for path in below_view:
        assert not any(m.startswith("xstilts.view") for m in _package_imports(path)), f"{path} imports xstilts.view"
    results = _package_imports(REPO / "xstilts" / "results.py")
    assert not any(m.startswith("xstilts.report") for m in results), "results imports report"
