"""Property tests: whatever recipe, override or model-folder file a user hands over, the answer is exit 0 or one
``<script>: error:`` line with exit 2, never a traceback, and nothing half-written in the output folder.

Generated recipes mix valid and invalid keys with values of every type (NaN, inf, huge and negative numbers, strings,
lists, nested maps) and YAML features (anchors and aliases, duplicate keys, Python and other tags, deep nesting,
binary and non-UTF-8 bytes). Every phase script runs in-process through ``main(argv)``. So that nothing heavy runs,
either the input does not exist (and the output folder must not be created) or the output already holds a finished
run and ``overwrite=false`` is forced last (and the output folder must be left byte for byte as it was).

Deterministic (``derandomize=True``) so CI sees the same examples every time; about 20 s on one CPU core.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import tempfile
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

import evaluate_xtreme
import phase1_pretrained
import phase2_intermediate
import phase3_target
from xstilts import recipe
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe
from xstilts.modeling import ModelFolderError, MultiHeadModel, check_model_folder, load_encoder, read_head_specs
from xstilts.typespecs import HEADS_JSON
from xstilts.tasks import TASKS

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCRIPTS = {"phase1": (phase1_pretrained, "phase1_pretrained.py", Phase1Recipe),
           "phase2": (phase2_intermediate, "phase2_intermediate.py", Phase2Recipe),
           "phase3": (phase3_target, "phase3_target.py", Phase3Recipe),
           "eval": (evaluate_xtreme, "evaluate_xtreme.py", EvalRecipe)}


def dotted_keys(cls: type, prefix: str = "") -> list[str]:
    """Every valid dotted key of a recipe class (sections and leaves)."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        keys.append(prefix + f.name)
        inner = [a for a in (typing.get_args(hints[f.name]) or (hints[f.name],)) if dataclasses.is_dataclass(a)]
        if inner:
            keys.extend(dotted_keys(inner[0], f"{prefix}{f.name}."))
    return keys


INVALID_KEYS = ["nonsense", "train.nonsense", "lr", "Train", "tiny.vocab_size.deeper", "lora.r.s", "k" * 300, "ü",
                "1", "null", "data.source.path", "retrieval.layer.x"]
SPECIAL_TEXT = ["1e-5", "nan", ".nan", "inf", "-.inf", "1e999", "mnli", "xnli", "[mnli, mlm]", "hub", "tiny", "local",
                "xtreme", "embedded", "en", "zh", "2024-13-45", "~", "yes", "0x1F", "0o17", ".5", "1_000", "*a", "&a",
                "!!python/object:os.system", "{a: 1, a: 2}", "q" * 500, "a\x00b", "", " ", "-1", "1e20"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.sampled_from([0, 1, -1, 2**31, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 0.5, -0.0, 1e-12, 1e300]),
    st.text(max_size=12), st.sampled_from(SPECIAL_TEXT))
KEYS = st.sampled_from(["lr", "r", "source", "x", "kind", "seed"]) | st.text(max_size=6)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=6)


def nest(entries: list[tuple[str, typing.Any]]) -> dict:
    """Dotted keys into nested mappings (a later key replaces whatever an earlier one left on its path)."""
    out: dict = {}
    for key, value in entries:
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def flow(value: typing.Any) -> str:
    """A value as one YAML flow line, as a user would type it after ``key=``."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


FEATURES = {
    "plain": lambda t: t,
    "anchor": lambda t: "shared: &s {lr: 1}\nother: *s\n" + t,
    "billion laughs": lambda t: "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n" + t,
    "duplicate": lambda t: t + t if t.strip() else "x: 1\nx: 2\n",
    "python tag": lambda t: "output: !!python/object/apply:os.system ['true']\n" + t,
    "binary tag": lambda t: "name: !!binary aGVsbG8=\n" + t,
    "set tag": lambda t: "tasks: !!set {mnli: null}\n" + t,
    "bad timestamp": lambda t: "name: !!timestamp 2024-13-45\n" + t,
    "bad int": lambda t: "seed: !!int 12abc\n" + t,
    "long int": lambda t: "seed: " + "9" * 5000 + "\n" + t,
    "deep": lambda t: "train: " + "[" * 300 + "]" * 300 + "\n" + t,
    "deep block": lambda t: "".join("  " * i + f"k{i}:\n" for i in range(60)) + t,
    "multi document": lambda t: t + "---\nx: 1\n",
    "list top level": lambda t: "- a\n- b\n",
    "scalar top level": lambda t: "just a string\n",
    "tab indent": lambda t: "train:\n\tlr: 1\n" + t,
    "merge key": lambda t: "train:\n  <<: {lr: 1}\n  lr: 2\n" + t,
}


@st.composite
def recipe_bytes(draw: typing.Callable, keys: list[str]) -> bytes:
    entries = draw(st.lists(st.tuples(st.sampled_from(keys + INVALID_KEYS), values), max_size=6))
    text = yaml.safe_dump(nest(entries), allow_unicode=True, sort_keys=False) if entries else ""
    text = FEATURES[draw(st.sampled_from(sorted(FEATURES)))](text)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "utf-16", "random bytes", "nul"]))
    if encoding == "random bytes":
        return draw(st.binary(max_size=200))
    if encoding == "nul":
        return text.encode("utf-8") + b"\x00"
    return text.encode(encoding, errors="replace")


@st.composite
def command_lines(draw: typing.Callable, cls: type) -> tuple[str, bytes | None, list[str]]:
    """(how the recipe file is given, its bytes, the generated overrides)."""
    keys = dotted_keys(cls)
    given = draw(st.sampled_from(["file", "file with =", "folder", "missing", "none"]))
    content = draw(recipe_bytes(keys)) if given in ("file", "file with =") else None
    overrides = [f"{k}={flow(v)}" for k, v in draw(st.lists(st.tuples(st.sampled_from(keys + INVALID_KEYS), values),
                                                             max_size=4))]
    overrides += draw(st.lists(st.sampled_from(["stray", "=x", "a==b", "train.lr", "lora.r=", ".=1", "x.=1"])
                               | st.text(max_size=15), max_size=1))
    return given, content, overrides


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


def finished_output(folder: Path) -> None:
    """An output folder holding a finished run (and a result for every task), which no phase may touch."""
    folder.mkdir()
    (folder / "DONE").write_text('{"phase": "phase3"}\n')
    (folder / "keep.txt").write_text("untouched\n")
    for name in TASKS:
        (folder / f"{name}.json").write_text("{}\n")


def run_main(module: typing.Any, argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = module.main(argv)
        except BaseException as exc:  # noqa: BLE001 -- the property under test: nothing escapes main()
            pytest.fail(f"main({argv!r}) raised {type(exc).__name__}: {str(exc)[:500]}")
    return code, err.getvalue()


def check_one_run(kind: str, tiny_phase1: Path, given: str, content: bytes | None, overrides: list[str],
                  refuse_at_output: bool) -> None:
    module, script, _ = SCRIPTS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        argv = []
        if given != "none":
            path = tmp / {"file": "r.yaml", "file with =": "train.lr=1.yaml", "folder": "dir.yaml",
                          "missing": "absent.yaml"}[given]
            if content is not None:
                path.write_bytes(content)
            elif given == "folder":
                path.mkdir()
            argv.append(str(path))
        out = tmp / "out"
        if refuse_at_output:
            finished_output(out)
            forced = [f"output={out}", "overwrite=false"] + ([] if kind == "phase1" else [f"input={tiny_phase1}"])
        else:
            forced = [f"output={out}"] + (["source=local", f"model={tmp}/absent"] if kind == "phase1"
                                          else [f"input={tmp}/absent"])
        before = snapshot(out) if out.exists() else None
        code, err = run_main(module, argv + overrides + forced)

        assert code in (0, 2), (code, err)
        assert "Traceback" not in err, err
        if code == 2:
            lines = [line for line in err.splitlines() if line.startswith(f"{script}: error: ")]
            assert len(lines) == 1, err
            assert all(len(line) <= 2_000 for line in err.splitlines()), "a value was quoted in full"
        if refuse_at_output:
            assert snapshot(out) == before, "a refused run changed its output folder"
        else:
            assert not out.exists(), "a refused run created its output folder"
        if code == 0:  # cannot happen with the forced arguments, but if it did, it must have finished
            assert (out / "DONE").is_file()


@pytest.mark.parametrize("kind", list(SCRIPTS))
def test_no_recipe_ends_in_a_traceback(kind, tiny_phase1):
    cls = SCRIPTS[kind][2]

    @SETTINGS
    @given(case=command_lines(cls), refuse_at_output=st.booleans())
    def run(case, refuse_at_output):
        check_one_run(kind, tiny_phase1, *case, refuse_at_output)

    run()


@SETTINGS
@given(content=st.binary(max_size=300) | recipe_bytes(dotted_keys(Phase2Recipe)))
def test_recipe_reader_gives_a_mapping_or_a_recipe_error(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.yaml"
        path.write_bytes(content)
        try:
            data = recipe.read_yaml(path)
        except recipe.RecipeError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1_000
        else:
            assert isinstance(data, dict)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["classification", "span_qa", "xnli", "heads", "kind", "num_labels", "task"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["heads", "task", "kind", "num_labels", "labels", "model_type", "x"]), inner, max_size=4),
    max_leaves=10)


@pytest.fixture(scope="module")
def folder_copy(tiny_phase1, tmp_path_factory):
    dst = tmp_path_factory.mktemp("fuzz-folder") / "p1"
    shutil.copytree(tiny_phase1, dst)
    return dst


@pytest.mark.parametrize("name", [HEADS_JSON, "config.json", "tokenizer_config.json", "tokenizer.json",
                                  "model.safetensors"])
def test_a_model_folder_that_passes_the_check_loads(folder_copy, tiny_phase1, name):
    """Whatever a model folder's file holds, ``check_model_folder`` names it in a ModelFolderError, or the folder
    loads (tokenizer, encoder, heads) with at most a ModelFolderError from the loaders."""
    original = (tiny_phase1 / name).read_bytes() if (tiny_phase1 / name).is_file() else None

    try:
        fields = json.loads(original) if original else {}
    except ValueError:  # model.safetensors
        fields = {}

    def mutate(change: tuple[str, typing.Any]) -> bytes:  # one field of the real file set to another value
        return json.dumps({**fields, change[0]: change[1]}).encode()

    small = st.recursive(st.none() | st.booleans() | st.integers(-3, 600) | st.floats(-2, 2) | st.text(max_size=8),
                         lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=2), max_leaves=4)
    mutated = st.tuples(st.sampled_from(sorted(fields) or ["x"]), small).map(mutate) if isinstance(
        fields, dict) else st.nothing()

    @settings(SETTINGS, max_examples=40)
    @given(content=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                             st.integers(0, 5000).map(lambda n: (original or b"")[:n]), mutated))
    def run(content):
        (folder_copy / name).write_bytes(content)
        try:
            check_model_folder(folder_copy, "input")
        except ModelFolderError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1_500
            return
        try:
            AutoTokenizer.from_pretrained(folder_copy)
            MultiHeadModel(load_encoder(folder_copy), read_head_specs(folder_copy))
        except ModelFolderError:
            pass

    try:
        run()
    finally:
        if original is None:
            (folder_copy / name).unlink(missing_ok=True)
        else:
            (folder_copy / name).write_bytes(original)
