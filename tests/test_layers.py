"""The package's layers import one way (down), and never from inside a function.

Each module of ``xstilts`` sits in one layer and imports only from its own layer or the layers below it; a module
imports the package's own modules at the top of the file, so the import graph is what the file says it is (an import
hidden in a function is how an upward dependency, and with it an import cycle, creeps back in). Optional heavy
third-party imports (peft, datasets, tokenizers) may stay deferred. docs/ARCHITECTURE.md explains the layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xstilts"

LAYERS: dict[str, int] = {
    # L0: no knowledge of tasks or recipes.
    "xstilts": 0, "xstilts.errors": 0, "xstilts.log": 0, "xstilts.languages": 0, "xstilts.runfiles": 0,
    "xstilts.distributed": 0, "xstilts.reliability": 0, "xstilts.families": 0, "xstilts.markdown": 0,
    # L1: the recipe dataclasses, the task registry (tasks as data), the task types' light specs and the canonical
    # row shapes they name (no torch, no datasets).
    "xstilts.recipe": 1, "xstilts.config": 1, "xstilts.tasks": 1, "xstilts.typespecs": 1, "xstilts.rows": 1,
    "xstilts.dual_encoder_rows": 1,
    # L2: every file and dataset reader, into canonical rows.
    "xstilts.data": 2, "xstilts.ccg": 2,
    # L3: metrics, the pure pre/post-processing of the task types, and the task types themselves.
    "xstilts.metrics": 3, "xstilts.qa": 3, "xstilts.squad_v2": 3, "xstilts.tagging": 3, "xstilts.retrieval": 3,
    "xstilts.tasktypes": 3, "xstilts.tasktypes.common": 3, "xstilts.tasktypes.classification": 3,
    "xstilts.tasktypes.multiple_choice": 3, "xstilts.tasktypes.span_qa": 3, "xstilts.tasktypes.tagging": 3,
    "xstilts.tasktypes.retrieval": 3, "xstilts.tasktypes.dual_encoder": 3, "xstilts.tasktypes.mlm": 3,
    "xstilts.tasktypes.base": 3, "xstilts.tasktypes.heads": 3, "xstilts.tasktypes.regression": 3,
    # L4: the model (one encoder, a head per task) and its folders.
    "xstilts.modeling": 4, "xstilts.modelfolder": 4, "xstilts.lora": 4,
    # L5: the steps the scripts chain: training, evaluation, phase-1 encoders, provenance, results, submissions.
    "xstilts.training": 5, "xstilts.sampling": 5, "xstilts.pipeline": 5, "xstilts.evaluation": 5,
    "xstilts.encoders": 5, "xstilts.provenance": 5, "xstilts.results": 5, "xstilts.submission": 5,
    "xstilts.modelcard": 5, "xstilts.anchors": 5, "xstilts.preflight": 5, "xstilts.analysis": 5,
    "xstilts.checkpoints": 5, "xstilts.callbacks": 5,
    # L6: the command line, planning, reports and the viewer's loading and figures (they import results, never the
    # reverse).
    "xstilts.cli": 6, "xstilts.command": 6, "xstilts.hubcheck": 6, "xstilts.quickstart": 6, "xstilts.sweep": 6,
    "xstilts.report": 6, "xstilts.mteb": 6, "xstilts.claims": 6, "xstilts.view": 6, "xstilts.view.loading": 6,
    "xstilts.view.figures": 6,
}


# Package imports allowed inside a function, each with its reason (still checked to point down). None: the model
# folder checks the xstilts command needs without torch live in the light xstilts.modelfolder.
DEFERRED: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(tree: ast.AST) -> list[tuple[ast.AST, list[str]]]:
    """Every import statement with the package modules it names (``from xstilts import a, b`` names a and b)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.append((node, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node, [node.module] + [f"{node.module}.{a.name}" for a in node.names]))
    return found


def test_every_module_has_a_layer():
    assert sorted(set(_modules()) - set(LAYERS)) == [], "new module: give it a layer in LAYERS (and in ARCHITECTURE.md)"
    assert sorted(set(LAYERS) - set(_modules())) == [], "a module in LAYERS no longer exists"


def test_imports_point_down_and_sit_at_the_top():
    modules = _modules()
    problems = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f)}
        for node, targets in _imports(tree):
            own = [t for t in targets if t in modules and t != name]
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            if [t for t in own if (name, t) not in DEFERRED] and id(node) in inner:
                problems.append(f"{where}: imports {own[0]} inside a function (move it to the top)")
            for target in own:
                if LAYERS[target] > LAYERS[name]:
                    problems.append(f"{where}: {name} (layer {LAYERS[name]}) imports {target} (layer "
                                    f"{LAYERS[target]})")
    assert problems == []


def test_the_layer_check_catches_an_upward_and_a_hidden_import(tmp_path):
    """The check above is not vacuous: the same scan flags both kinds of problem in a made-up module."""
    tree = ast.parse("from xstilts import evaluation\n\ndef f():\n    from xstilts import data\n")
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
    found = [(targets, id(node) in inner) for node, targets in _imports(tree)]
    assert found == [(["xstilts", "xstilts.evaluation"], False), (["xstilts", "xstilts.data"], True)]
    assert LAYERS["xstilts.evaluation"] > LAYERS["xstilts.data"]


def test_every_spec_has_one_operations_class_with_the_whole_interface():
    """Each light spec (``typespecs.SPECS``) has exactly one operations class, whose ``spec`` is that spec, which has
    every operation of ``TaskType`` (static where a model folder calls it without a task), and which builds for every
    registered task of its type with its own settings section only."""
    import inspect

    from xstilts import tasktypes
    from xstilts.tasks import TASKS
    from xstilts.tasktypes.base import TaskType
    from xstilts.typespecs import SPECS

    assert set(tasktypes.TASK_TYPES) == set(SPECS)
    assert len(set(tasktypes.TASK_TYPES.values())) == len(SPECS)  # one class per type, none shared
    operations = [name for name in dir(TaskType) if not name.startswith("_") and callable(getattr(TaskType, name))]
    assert {"head_spec", "make_head", "forward", "encode", "predict", "evaluate", "hf_weights"} <= set(operations)
    for name, cls in tasktypes.TASK_TYPES.items():
        assert cls.spec is SPECS[name], name
        assert tasktypes.named(name) is cls
        for op in operations:
            assert callable(getattr(cls, op, None)), (name, op)
        for op in ("make_head", "forward", "hf_weights", "hf_logits"):  # called on the class (heads.json's type)
            assert isinstance(inspect.getattr_static(cls, op), staticmethod), (name, op)
    for task in TASKS.values():
        built = tasktypes.build(task)
        assert isinstance(built, TaskType) and type(built) is tasktypes.named(task.task_type), task.name
        assert built.task is task
        # Settings are bound at construction and only where the spec names a section: nobody else takes one.
        params = list(inspect.signature(type(built)).parameters)
        assert params == (["task", "settings"] if task.spec.settings else ["task"]), (task.name, params)
