"""Bad input of every kind ends in one line ``<script>: error: ...``, exit code 2, no traceback, nothing written.

Recipes (strict YAML, declared ranges, dotted overrides, unreadable files) and model folders (phase-1/2/3 inputs with
damaged, pickled or inconsistent files), each class through the real phase scripts where it is cheap.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path

import pytest

import phase1_pretrained
import phase2_intermediate
import phase3_target
from xstilts import cli, config, recipe
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe
from xstilts.modeling import (
    ModelFolderError,
    MultiHeadModel,
    check_model_folder,
    load_encoder,
    load_heads_into,
    save_model,
)
from xstilts.typespecs import HEADS_JSON, HEADS_WEIGHTS, HeadSpec

REQUIRED = {Phase1Recipe: ["output=o"], Phase2Recipe: ["input=i", "output=o", "tasks=[mnli]"],
            Phase3Recipe: ["input=i", "output=o", "task=xnli"], EvalRecipe: ["input=i", "output=o"]}


def one_error(capsys, script: str) -> str:
    """The single error line a script printed (and asserts there is exactly one and no traceback)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"{script}: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- Recipe files ------------------------------------------------------------------------------------------------
def test_duplicate_keys_are_refused_naming_key_and_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("output: a\ntrain:\n  lr: 1.0e-5\n  lr: 3.0e-5\n")
    with pytest.raises(recipe.RecipeError, match=r"line 4, column 3: key lr is given twice in one mapping "
                                                 r"\(lines 3 and 4\)"):
        recipe.load(Phase1Recipe, [str(path)])
    with pytest.raises(recipe.RecipeError, match="key output is given twice"):
        recipe.load(Phase1Recipe, ["output={output: a, output: b}"])  # inside an override value too


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "output: *i\n"


@pytest.mark.parametrize("text, message", [
    (BILLION_LAUGHS, "anchors and aliases"),
    ("defaults: &d {lr: 1}\ntrain: *d\n", "anchors and aliases"),
    ("output: " + "[" * 200 + "]" * 200 + "\n", "nested more than 32 levels"),
    ("output: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    ("output: !!int 12abc\n", "cannot read the value '12abc'"),
    ("seed: " + "9" * 5000 + "\n", "cannot read the value"),
    ("output: !!timestamp 2024-13-45\n", "cannot read the value"),
    ("output: !!bool maybe\n", "cannot read the value 'maybe'"),
    ("output: a\x00b\n", "invalid YAML"),
    ("output: [a\n", "invalid YAML at line 2"),
    ("- a\n- b\n", "top level must be a mapping"),
])
def test_unreadable_yaml_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert phase1_pretrained.main([str(path)]) == 2
    line = one_error(capsys, "phase1_pretrained.py")
    assert message in line and len(line) < 600, line


@pytest.mark.parametrize("kind", ["binary", "latin-1", "folder", "huge", "missing"])
def test_unreadable_recipe_files_are_named(tmp_path, capsys, kind):
    path = tmp_path / "r.yaml"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "latin-1":
        path.write_bytes("output: caf\xe9\n".encode("latin-1"))
    elif kind == "folder":
        path.mkdir()
    elif kind == "huge":
        path.write_text("# padding\n" * 200_000)
    assert phase2_intermediate.main([str(path)]) == 2
    line = one_error(capsys, "phase2_intermediate.py")
    expected = {"binary": "not UTF-8 text (byte 0x80", "latin-1": "not UTF-8 text (byte 0xe9", "folder": "is a folder",
                "huge": "larger than 1,000,000 bytes", "missing": "does not exist"}[kind]
    assert expected in line, line


def test_date_like_values_stay_strings():
    cfg = recipe.load(Phase1Recipe, ["output=runs/2024-01-31", "name=2024-01-31"])
    assert cfg.name == "2024-01-31"


def test_recipe_paths_with_an_equals_sign(tmp_path, capsys):
    path = tmp_path / "lr=2e-5.yaml"
    path.write_text("output: x\nseed: 3\n")
    assert recipe.load(Phase1Recipe, [str(path)]).seed == 3  # read as the recipe, not as the override lr
    with pytest.raises(recipe.RecipeError, match=r"recipe file '.*other=1.yaml' does not exist \(a first argument "
                                                 r"ending in .yaml/.yml is read as a recipe"):
        recipe.load(Phase1Recipe, [str(tmp_path / "other=1.yaml")])
    assert recipe.load(Phase1Recipe, ["output=o", "name=x.yaml"]).name == "x.yaml"  # not first: an override
    with pytest.raises(recipe.RecipeError, match="'stray' is not of the form key=value .* only the first argument"):
        recipe.load(Phase1Recipe, ["output=o", "stray"])


# ---- Overrides -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, message", [
    (["train=5", "train.lr=1"], "train: is 5, not a mapping, so train.lr cannot be set inside it"),
    (["lora=true", "lora.r=8"], "lora: is True, not a mapping, so lora.r cannot be set inside it"),
    (["tasks=[mnli]", "tasks.x=1"], "tasks: is ['mnli'], not a mapping"),
    (["train..lr=1"], "the key 'train..lr' has an empty part"),
    (["=1"], "has an empty part"),
    (["train.lr=*x"], "anchors and aliases"),
])
def test_overrides_never_replace_a_section_silently(overrides, message):
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase2Recipe, ["input=i", "output=o", "tasks=[mnli]"] + overrides)
    assert message in str(err.value)


def test_a_null_section_takes_dotted_keys():
    cfg = recipe.load(Phase2Recipe, ["input=i", "output=o", "tasks=[mnli]", "lora=null", "lora.r=4"])
    assert cfg.lora is not None and cfg.lora.r == 4


# ---- Numbers -------------------------------------------------------------------------------------------------------
def _numeric_fields():
    """(recipe class, dotted key, field, its number type) for every int/float field reachable from a phase recipe."""
    out = []

    def walk(cls, prefix, root):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            args = typing.get_args(tp) or (tp,)
            inner = [a for a in args if dataclasses.is_dataclass(a)]
            if inner:
                walk(inner[0], f"{prefix}{f.name}.", root)
            number = next((a for a in args if a in (int, float)), None)
            if number is not None:
                out.append((root, f"{prefix}{f.name}", f, number))
    for root in REQUIRED:
        walk(root, "", root)
    return out


NUMERIC = _numeric_fields()


def test_every_numeric_field_declares_a_range():
    """Every number of every recipe has a lower bound, and every integer an upper one (floats must be finite)."""
    assert len(NUMERIC) > 40
    for _, key, f, number in NUMERIC:
        assert {"ge", "gt"} & set(f.metadata), f"{key}: no lower bound"
        if number is int:
            assert {"le", "lt"} & set(f.metadata), f"{key}: no upper bound"
    dataclasses_in_config = [v for v in vars(config).values() if dataclasses.is_dataclass(v)]
    walked = {f.name for _, _, f, _ in NUMERIC}
    for cls in dataclasses_in_config:  # none is left out of the walk above
        for f in dataclasses.fields(cls):
            if f.type in ("int", "float", "int | None", "float | None"):
                assert f.name in walked, f"{cls.__name__}.{f.name}"


def _outside(f, number):
    """Values just outside a field's declared range (with the message fragment they must produce)."""
    m = f.metadata
    step = 1 if number is int else 1e-9
    values = []
    if "ge" in m:
        values.append(m["ge"] - step if number is float else int(m["ge"]) - 1)
    if "gt" in m:
        values.append(m["gt"])
    if "le" in m:
        values.append(m["le"] + step if number is float else int(m["le"]) + 1)
    if "lt" in m:
        values.append(m["lt"])
    return values


@pytest.mark.parametrize("root, key, f, number", NUMERIC, ids=[f"{r.__name__}.{k}" for r, k, _, _ in NUMERIC])
def test_every_declared_range_is_enforced(root, key, f, number):
    for value in _outside(f, number):
        with pytest.raises(recipe.RecipeError, match=f"{key.replace('.', '[.]')}: must be "):
            recipe.load(root, REQUIRED[root] + [f"{key}={value!r}"]
                        + (["tasks=[mnli,mlm]"] if key.startswith("mlm.") else []))
    if number is float:
        for bad in (".nan", ".inf", "-.inf", "1e999"):
            with pytest.raises(recipe.RecipeError, match=f"{key.replace('.', '[.]')}: expected a finite number"):
                recipe.load(root, REQUIRED[root] + [f"{key}={bad}"]
                            + (["tasks=[mnli,mlm]"] if key.startswith("mlm.") else []))


@pytest.mark.parametrize("overrides, message", [
    (["train.lr=-1"], "train.lr: must be > 0, got -1.0"),
    (["train.lr=nan"], "train.lr: expected a finite number, got 'nan'"),
    (["train.epochs=.inf"], "train.epochs: expected a finite number, got inf"),
    (["train.batch_size=0"], "train.batch_size: must be in [1, 65536], got 0"),
    (["train.batch_size=100000000000000000000"], "train.batch_size: must be in [1, 65536], got 100000000000000000000"),
    (["train.seed=-3"], "train.seed: must be in [0, 4294967295], got -3"),
    (["lora.dropout=1.5"], "lora.dropout: must be in [0, 1), got 1.5"),
    (["train.warmup_ratio=1.01"], "train.warmup_ratio: must be in [0, 1], got 1.01"),
    (["data.holdout_fraction=0"], "data.holdout_fraction: must be in (0, 1), got 0.0"),
    (["output="], "output: must not be empty"),
    (["output=" + "x" * 300], "is longer than file systems allow"),
    (["output=a\x00b"], "contains a control character"),
    # One line of printable text: a name with a newline used to split its results' lines (skipped as broken).
    (['output="runs/a\\nb"'], "contains a control character (newline, tab, NUL, ...)"),
    # ~ is not expanded in recipes: refused, with the full path it probably meant.
    (["output=~/runs/p2"], "output: '~/runs/p2' starts with ~, which recipes do not expand"),
    (["input=~/p1"], "input: '~/p1' starts with ~"),
    (["data.path=~user/xtreme", "data.source=xtreme"], "data.path: '~user/xtreme' starts with ~"),
])
def test_numbers_and_paths_out_of_range_through_the_script(tmp_path, capsys, overrides, message):
    argv = [f"input={tmp_path}/nope", f"output={tmp_path}/out", "tasks=[mnli]"] + overrides
    assert phase2_intermediate.main(argv) == 2
    assert message in one_error(capsys, "phase2_intermediate.py")
    assert not (tmp_path / "out").exists()


def test_tiny_encoder_shape_and_languages_are_checked(capsys, tmp_path):
    assert phase1_pretrained.main([f"output={tmp_path}/o", "tiny.hidden_size=30", "tiny.num_heads=4",
                                   "tiny.languages=[en,xx]", "stats_languages=[en,klingon]"]) == 2
    err = capsys.readouterr().err
    assert "tiny.hidden_size: 30 is not divisible by num_heads=4" in err
    assert "tiny.languages: no embedded corpus for 'xx'" in err
    assert "stats_languages: no embedded corpus for 'klingon'" in err
    assert not (tmp_path / "o").exists()


def test_values_are_quoted_to_200_characters():
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase3Recipe, ["input=i", "output=o", "task=" + "q" * 10_000, "train.lr=" + "z" * 10_000,
                                   "k" * 10_000 + "=1"])
    text = str(err.value)
    assert len(text) < 2_000 and text.count("... (10002 characters)") == 3  # key, number and task, each cut


def test_many_problems_are_capped():
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase1Recipe, ["output=o"] + [f"k{i}=1" for i in range(100)])
    assert len(err.value.problems) == 100 and "... and 70 more" in str(err.value)
    assert str(err.value).count("\n") == 31


# ---- Model folders -------------------------------------------------------------------------------------------------
@pytest.fixture
def p1_copy(tiny_phase1, tmp_path):
    """A private copy of the finished tiny phase-1 run folder, to damage."""
    dst = tmp_path / "p1"
    shutil.copytree(tiny_phase1, dst)
    return dst


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {
    "truncated weights": (lambda p: _truncate(p / "model.safetensors"), "model.safetensors is truncated"),
    "empty weights": (lambda p: (p / "model.safetensors").write_bytes(b""), "model.safetensors is empty or truncated"),
    "garbage weights": (lambda p: (p / "model.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"not json"),
                        "model.safetensors is not a readable safetensors file"),
    "pickle only": (lambda p: ((p / "model.safetensors").unlink(), (p / "pytorch_model.bin").write_bytes(b"x")),
                    "holds only pickled weights (pytorch_model.bin)"),
    "config not JSON": (lambda p: (p / "config.json").write_text("{'model_type':"), "config.json"),
    "config a list": (lambda p: (p / "config.json").write_text("[1]"), "config.json is not a model config"),
    "config binary": (lambda p: (p / "config.json").write_bytes(b"\xff\xfe"), "is not readable JSON"),
    "tokenizer truncated": (lambda p: _truncate(p / "tokenizer.json"), "tokenizer.json"),
    "tokenizer empty object": (lambda p: (p / "tokenizer.json").write_text("{}"),
                               "tokenizer.json is not a valid tokenizer"),
    "tokenizer settings a list": (lambda p: (p / "tokenizer_config.json").write_text("[]"),
                                  "tokenizer_config.json is not a JSON object"),
    "heads not JSON": (lambda p: (p / HEADS_JSON).write_text("{"), "heads.json"),
    "heads a string": (lambda p: (p / HEADS_JSON).write_text('{"heads": "x"}'), "no list of heads"),
    "head unknown kind": (lambda p: (p / HEADS_JSON).write_text(
        '{"heads": [{"task": "xnli", "kind": "ranking", "num_labels": 3}]}'), "kind 'ranking' is not one of"),
    "head bad labels": (lambda p: (p / HEADS_JSON).write_text(
        '{"heads": [{"task": "xnli", "kind": "classification", "num_labels": -3}]}'), "num_labels -3"),
    "head extra field": (lambda p: (p / HEADS_JSON).write_text('{"heads": [{"task": "xnli", "size": 3}]}'),
                         "unexpected keyword argument"),
    "heads without weights": (lambda p: (p / HEADS_JSON).write_text(
        '{"heads": [{"task": "xnli", "kind": "classification", "num_labels": 3}]}'), "heads.safetensors is missing"),
    "adapter pickled": (lambda p: ((p / "adapter").mkdir(), (p / "adapter" / "adapter_model.bin").write_bytes(b"x")),
                        "adapter/ holds only pickled weights"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_input_folders_are_named_before_any_work(p1_copy, tmp_path, capsys, name):
    damage, message = DAMAGE[name]
    damage(p1_copy)
    out = tmp_path / "out"
    assert phase3_target.main([f"input={p1_copy}", f"output={out}", "task=xnli"]) == 2
    line = one_error(capsys, "phase3_target.py")
    assert message in line and str(p1_copy) in line, line
    assert not out.exists()  # refused before the output folder was touched


def test_max_length_beyond_the_position_embeddings(tiny_phase1, tmp_path, capsys):
    out = tmp_path / "out"
    assert phase2_intermediate.main([f"input={tiny_phase1}", f"output={out}", "tasks=[mnli]",
                                     "train.max_length=600"]) == 2
    line = one_error(capsys, "phase2_intermediate.py")
    assert "train.max_length: 600 is longer than the encoder in" in line
    assert "(512 tokens: max_position_embeddings=514); use train.max_length=512 or less" in line
    assert not out.exists()
    check_model_folder(tiny_phase1, "input", max_length=512)  # the limit itself is fine


def test_loading_errors_become_model_folder_errors(p1_copy):
    cfg = json.loads((p1_copy / "config.json").read_text())
    (p1_copy / "config.json").write_text(json.dumps({**cfg, "model_type": "no-such-architecture"}))
    with pytest.raises(ModelFolderError, match="cannot load the encoder in .*no-such-architecture"):
        load_encoder(p1_copy)
    (p1_copy / "config.json").write_text(json.dumps({**cfg, "hidden_size": cfg["hidden_size"] * 2}))
    with pytest.raises(ModelFolderError, match="cannot load the encoder in"):  # weights do not fit the config
        load_encoder(p1_copy)


def test_head_weights_that_do_not_fit_are_named(tiny_phase1, tmp_path):
    from transformers import AutoTokenizer

    model = MultiHeadModel(load_encoder(tiny_phase1), [HeadSpec("xnli", "classification", 3)])
    save_model(model, AutoTokenizer.from_pretrained(tiny_phase1), tmp_path / "m")
    other = MultiHeadModel(load_encoder(tiny_phase1), [HeadSpec("xnli", "classification", 5)])
    with pytest.raises(ModelFolderError, match="heads.safetensors does not fit the xnli head"):
        load_heads_into(other, tmp_path / "m")
    _truncate(tmp_path / "m" / HEADS_WEIGHTS)
    with pytest.raises(ModelFolderError, match="heads.safetensors is truncated"):
        check_model_folder(tmp_path / "m", "model folder")
    with pytest.raises(ModelFolderError, match="heads.safetensors cannot be read"):
        load_heads_into(model, tmp_path / "m")


@pytest.mark.parametrize("model, message", [
    ("{tmp}/absent", "phase-1 model folder {tmp}/absent does not exist; pass model= the folder"),
    ("{tmp}/pickled", "holds only pickled weights"),
])
def test_phase1_local_folders_are_checked_before_output(p1_copy, tmp_path, capsys, model, message):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(p1_copy / name, pickled / name)
    (pickled / "pytorch_model.bin").write_bytes(b"pickle")
    out = tmp_path / "out"
    assert phase1_pretrained.main(["recipes/phase1/local.yaml", f"model={model.format(tmp=tmp_path)}",
                                   f"output={out}"]) == 2
    assert message.format(tmp=tmp_path) in one_error(capsys, "phase1_pretrained.py")
    assert not out.exists()


def test_an_unreachable_hub_model_is_one_line(tmp_path, capsys):
    assert phase1_pretrained.main(["recipes/phase1/hub.yaml", "model=no-such-org/no-such-model",
                                   f"output={tmp_path}/o"]) == 2
    line = one_error(capsys, "phase1_pretrained.py")
    assert "cannot load the tokenizer of 'no-such-org/no-such-model'" in line
    assert not (tmp_path / "o" / "DONE").exists()


def test_a_vocabulary_too_small_for_the_corpus_names_the_key(tmp_path, capsys):
    assert phase1_pretrained.main([f"output={tmp_path}/o", "tiny.languages=[zh]", "tiny.vocab_size=20",
                                   "stats_languages=[en]"]) == 2
    assert "tiny.vocab_size: 20 is too small" in one_error(capsys, "phase1_pretrained.py")
    assert not (tmp_path / "o" / "DONE").exists()


def test_position_limits_of_encoder_families(tiny_phase1):
    from xstilts.modelfolder import check_max_length, position_limit

    assert position_limit({"model_type": "bert", "max_position_embeddings": 512}) == 512
    assert position_limit({"model_type": "xlm-roberta", "max_position_embeddings": 514, "pad_token_id": 1}) == 512
    assert position_limit({"model_type": "deberta-v2", "max_position_embeddings": 512}) is None  # relative only
    with pytest.raises(recipe.RecipeError, match="^max_length: 513 is longer than the encoder"):
        check_max_length(tiny_phase1, 513, "max_length")  # what evaluate_xtreme.py checks before scoring


def test_an_internal_bug_still_shows_its_traceback():
    def body(argv):
        return 1 // 0

    with pytest.raises(ZeroDivisionError):
        cli.run(body, [], "x.py")


# As YAML's double-quoted escapes write them (a bare newline in key=value is folded into a space by YAML).
@pytest.mark.parametrize("name", [r"multi\nxlmr", r"tab\there", r"bell\a", r"del\x7f", r"next-line\N", r"nul\0"])
def test_a_name_with_a_control_character_is_refused_at_validation(tmp_path, capsys, name):
    assert phase1_pretrained.main([f"output={tmp_path}/o", f'name="{name}"']) == 2
    assert "name: " in one_error(capsys, "phase1_pretrained.py") and not (tmp_path / "o").exists()


def test_tilde_in_a_recipe_file_and_a_sweep_is_refused(tmp_path, capsys, monkeypatch):
    from xstilts import sweep

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p1.yaml").write_text("output: ~/runs/p1\nname: mine\n")
    assert phase1_pretrained.main([str(tmp_path / "p1.yaml")]) == 2
    assert "output: '~/runs/p1' starts with ~" in one_error(capsys, "phase1_pretrained.py")
    assert not (tmp_path / "~").exists()
    repo = Path(__file__).resolve().parents[1]
    with pytest.raises(recipe.RecipeError, match="results: '~/res' starts with ~"):
        sweep.load_sweep([str(repo / "recipes/sweeps/tiny_grid.yaml"), "results=~/res"])
