"""The strict recipe loader: every problem reported at once, with key paths and valid keys; shipped recipes parse."""
from __future__ import annotations

from pathlib import Path

import pytest

from xstilts import recipe
from xstilts.config import EvalRecipe, Phase1Recipe, Phase2Recipe, Phase3Recipe

REPO = Path(__file__).resolve().parents[1]


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [mnli, nosuchtask]\ntrian: {lr: 1}\ntrain:\n  lr: fast\n  batch_size: 0.5\n"
                    "data: {source: xtreme}\n")
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase2Recipe, [str(path), "train.epochs=two"])
    text = str(err.value)
    assert "trian: unknown key; valid keys here: input, output, tasks, data, train, sampler, lora, overwrite" in text
    assert "train.lr: expected a number, got 'fast'" in text
    assert "train.batch_size: expected an integer, got 0.5" in text
    assert "train.epochs: expected a number, got 'two'" in text
    assert "input: required key is missing" in text and "output: required key is missing" in text
    assert len(err.value.problems) >= 6


def test_impossible_combinations_are_named(tmp_path):
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli, nosuchtask]", "data.source=xtreme"])
    text = str(err.value)
    assert "data.path: required when data.source is 'xtreme'" in text
    assert "tasks: unknown task 'nosuchtask'" in text
    with pytest.raises(recipe.RecipeError, match="model: required with source=hub"):
        recipe.load(Phase1Recipe, ["output=x", "source=hub"])


def test_phase3_reports_independent_problems_together():
    """An empty path, a QA window too short and a data.train_task of another kind are each reported, not only the
    first; checks that need a known task are the only ones skipped when the task is unknown."""
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase3Recipe, ["input=", "output=b", "task=xquad", "train.max_length=50", "data.train_task=xnli"])
    assert err.value.problems == [
        "input: must not be empty (a folder path)",
        "train.max_length: 50 is too short for xquad: its windows need at least 80 tokens (a question of up to 64 "
        "tokens plus context); 384 is standard",
        "data.train_task: xnli is a classification task; xquad needs span_qa"]
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase3Recipe, ["input=", "output=b", "task=nope", "qa.doc_stride=200"])
    assert [p.split(":")[0] for p in err.value.problems] == ["input", "qa.doc_stride", "task"]


def test_qa_settings_are_recipe_keys_with_todays_defaults():
    for cls, argv in ((Phase2Recipe, ["tasks=[squad]"]), (Phase3Recipe, ["task=xquad"])):
        cfg = recipe.load(cls, ["input=a", "output=b", "train.max_length=384", *argv])
        assert (cfg.qa.doc_stride, cfg.qa.n_best_size, cfg.qa.max_answer_length) == (None, 20, 30)
        assert recipe.load(cls, ["input=a", "output=b", "qa.doc_stride=100", *argv]).qa.doc_stride == 100
        with pytest.raises(recipe.RecipeError) as err:
            recipe.load(cls, ["input=a", "output=b", "train.max_length=384", "qa.doc_stride=384", "qa.n_best_size=0",
                              "qa.max_answer_length=-1", *argv])
        assert [p.split(":")[0] for p in err.value.problems] == ["qa.n_best_size", "qa.max_answer_length",
                                                                 "qa.doc_stride"]
        assert "qa.doc_stride: 384 is not less than train.max_length=384" in str(err.value)


def test_mlm_settings_without_the_mlm_task_are_refused_but_a_resolved_recipe_loads_back():
    with pytest.raises(recipe.RecipeError, match="mlm: settings given but tasks does not list mlm"):
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]", "mlm.files=[x.txt]"])
    cfg = recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]"])
    assert recipe.build(Phase2Recipe, __import__("yaml").safe_load(recipe.to_yaml(cfg))) == cfg  # mlm: {defaults}
    assert recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]", "mlm=null", "train=null"]) == cfg
    with pytest.raises(recipe.RecipeError, match=r"^command line: mlm\.files: give at least one file"):
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli,mlm]", "mlm.files=[]"])


def test_precedence_default_yaml_cli(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("input: a\noutput: b\ntasks: [mnli]\ntrain: {lr: 3.0e-5, epochs: 2}\n")
    cfg = recipe.load(Phase2Recipe, [str(path), "train.lr=1e-4", "lora.r=4"])
    assert cfg.train.lr == 1e-4  # CLI over YAML
    assert cfg.train.epochs == 2.0  # YAML over default
    assert cfg.train.batch_size == 32  # default
    assert cfg.lora is not None and cfg.lora.r == 4 and cfg.lora.target_modules == ["query", "value"]
    assert isinstance(cfg.train.epochs, float)


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [mnli\n")
    with pytest.raises(recipe.RecipeError, match="invalid YAML"):
        recipe.load(Phase2Recipe, [str(bad)])
    with pytest.raises(recipe.RecipeError, match="does not exist"):
        recipe.load(Phase2Recipe, [str(tmp_path / "nope.yaml")])
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(recipe.RecipeError, match="top level must be a mapping"):
        recipe.load(Phase2Recipe, [str(listy)])


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("input: !!python/object/apply:os.system ['echo pwned']\noutput: b\ntasks: [mnli]\n")
    with pytest.raises(recipe.RecipeError, match="invalid YAML"):
        recipe.load(Phase2Recipe, [str(evil)])


def test_round_trip_and_describe():
    cfg = recipe.load(Phase3Recipe, ["input=a", "output=b", "task=xnli", "train.seed=7"])
    again = recipe.build(Phase3Recipe, __import__("yaml").safe_load(recipe.to_yaml(cfg)))
    assert again == cfg
    lines = recipe.describe(Phase3Recipe)
    assert any(line.startswith("train.lr: float = 2e-05  # peak learning rate") for line in lines)


RECIPE_CLASSES = {"phase1": Phase1Recipe, "phase2": Phase2Recipe, "phase3": Phase3Recipe, "eval": EvalRecipe}
REQUIRED = {"phase1": ["output=x"], "phase2": ["input=a", "output=b"], "phase3": ["input=a", "output=b"],
            "eval": ["input=a", "output=b"]}


def _recipe_class(path: Path):
    folder = path.parent.name
    if folder in RECIPE_CLASSES:
        return folder, RECIPE_CLASSES[folder]
    stem = path.stem
    for prefix in ("phase1", "phase2", "phase3", "eval"):
        if stem.startswith(prefix):
            return prefix, RECIPE_CLASSES[prefix]
    return None, None


SHIPPED = sorted(p for p in (REPO / "recipes").rglob("*.yaml") if _recipe_class(p)[1] is not None)


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(REPO)) for p in SHIPPED])
def test_every_shipped_recipe_parses(path):
    kind, cls = _recipe_class(path)
    text = path.read_text()
    assert text.startswith("# python "), f"{path} must open with its exact launch command"
    recipe.load(cls, [str(path)] + REQUIRED[kind])


def test_shipped_recipes_found():
    assert len(SHIPPED) >= 10


def _entry(phase: str, stored: dict) -> dict:
    """A provenance chain entry as ``provenance.chain`` makes it from a run folder's recipe.yaml."""
    return {"phase": phase, "folder": "/runs/p", "recipe": stored, "environment": {"xstilts": "0.0.1"}}


def test_chain_recipes_are_read_back_typed_with_the_dataclass_defaults():
    from xstilts import provenance

    p1 = recipe.load(Phase1Recipe, ["output=x", "name=tiny-enc", "kind=multilingual"])
    p2 = recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]", "lora.r=4"])
    p3 = recipe.load(Phase3Recipe, ["input=b", "output=c", "task=xquad", "train.max_length=384", "train.seed=7"])
    chain = [_entry("phase3", recipe.to_dict(p3)), _entry("phase2", recipe.to_dict(p2)),
             _entry("phase1", recipe.to_dict(p1))]
    assert [provenance.typed_recipe(e) for e in chain] == [p3, p2, p1]
    assert provenance.run_info(chain, "xquad") == {"encoder": "tiny-enc", "encoder_kind": "multilingual",
                                                   "intermediate": "mnli", "target": "xquad", "seed": 7, "lora": True}

    # A recipe.yaml of an older version: no qa section, mlm written as null, a train key missing: today's defaults.
    older = recipe.to_dict(p2)
    del older["qa"], older["train"]["max_length"]
    older["mlm"] = None
    assert provenance.typed_recipe(_entry("phase2", older)) == p2


def test_a_chain_recipe_with_a_key_this_version_lacks_is_one_clear_error():
    from xstilts import provenance
    from xstilts.errors import RunFolderError

    stored = recipe.to_dict(recipe.load(Phase3Recipe, ["input=b", "output=c", "task=xnli"]))
    stored["train"]["max_seq_length"] = 128
    with pytest.raises(RunFolderError) as err:
        provenance.typed_recipe(_entry("phase3", stored))
    assert str(err.value).startswith("recipe /runs/p/recipe.yaml (written by xstilts 0.0.1) does not fit xstilts ")
    assert "train.max_seq_length: unknown key" in str(err.value)
    assert "re-run the phase that wrote /runs/p" in str(err.value)


def test_a_task_is_trained_only_where_the_registry_says():
    """trained_in: retrieval has no training, the mlm pseudo-task is phase 2's; min_length: span QA's windows need
    room for the question. Each is reported under the key that lists the task, all at once."""
    with pytest.raises(recipe.RecipeError) as err:
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[tatoeba,squad,mnli]", "train.max_length=50"])
    assert err.value.problems == [
        "tasks: tatoeba has no training (its encoder is evaluated as it is); evaluate a phase-1 or phase-2 folder "
        "with evaluate_xtreme.py task=tatoeba",
        "train.max_length: 50 is too short for squad: its windows need at least 80 tokens (a question of up to 64 "
        "tokens plus context); 384 is standard"]
    with pytest.raises(recipe.RecipeError, match="task: mlm cannot be trained in phase 3; list it in a phase-2 recipe"):
        recipe.load(Phase3Recipe, ["input=a", "output=b", "task=mlm"])
    with pytest.raises(recipe.RecipeError, match="task: bucc2018 has no training"):
        recipe.load(Phase3Recipe, ["input=a", "output=b", "task=bucc2018"])
