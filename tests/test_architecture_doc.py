"""docs/ARCHITECTURE.md stays true to the code: its layer table names every module of the package in the layer
tests/test_layers.py enforces, and every task type's operations module and spec it points a reader to exist."""
from __future__ import annotations

import re
from pathlib import Path

from test_layers import LAYERS

from xstilts.tasktypes import TASK_TYPES
from xstilts.typespecs import SPECS

DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"


def _layer_table() -> dict[str, int]:
    """Module -> layer, from the doc's table rows ``| L<n> | `a` `b` `view/*` | ... |``."""
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        row = re.match(r"\| L(\d) \| ([^|]+) \|", line)
        if row:
            for name in re.findall(r"`([^`]+)`", row.group(2)):
                out[name] = int(row.group(1))
    return out


def test_the_layer_table_names_every_module_in_its_layer():
    table = _layer_table()
    for module, layer in LAYERS.items():
        if module == "xstilts":
            continue
        short = module.removeprefix("xstilts.")
        package = short.split(".")[0]
        # a package's modules may be named together (`tasktypes/*`, `view/*`)
        named = table.get(short, table.get(f"{package}/*"))
        assert named == layer, f"{module}: layer {layer} in tests/test_layers.py, {named} in docs/ARCHITECTURE.md"
    assert set(table) <= {m.removeprefix("xstilts.") for m in LAYERS} | {"tasktypes/*", "view/*"}


def test_the_task_type_table_points_at_real_modules():
    text = DOC.read_text(encoding="utf-8")
    for name in SPECS:
        module = TASK_TYPES[name].__module__.removeprefix("xstilts.").replace(".", "/")
        assert f"`{module}.py`" in text, f"docs/ARCHITECTURE.md does not name {module}.py (task type {name})"
