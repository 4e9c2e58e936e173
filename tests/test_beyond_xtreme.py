"""Beyond XTREME: SIB-200, Belebele (trained on RACE) and MasakhaNER 2.0 (trained on PAN-X English, read from the Hub's
parquet conversion) as registry entries of the existing task types: their Hub schemas, labels and language lists,
their loads through the real Hub code path (in-memory datasets with the same features; MasakhaNER also through
``datasets.load_dataset`` on a folder laid out like the parquet branch), chance levels, benchmark group, recipes,
and phase 3 -> evaluation end to end on the tiny encoder."""
from __future__ import annotations

import datasets
import pytest
from fakehub import FakeHub, LocalHub, make_dataset
from helpers import FAST

import evaluate_xtreme
import phase3_target
from xstilts import anchors, data, languages, recipe, typespecs
from xstilts.config import EvalRecipe, Phase3Recipe
from xstilts.errors import DataError
from xstilts.results import read_result
from xstilts.tasks import BENCHMARK_TASKS, PANX_LABELS, TASKS, benchmark_categories, get_task

NEW = ("sib200", "belebele", "masakhaner")


def _race(n: int, seed: int) -> datasets.Dataset:
    """RACE rows in its Hub schema with exactly 4 options (the fake's lists vary in length)."""
    source = get_task("race").train[0].hub
    rows = make_dataset(source, n, seed=seed).to_list()
    for i, r in enumerate(rows):
        r["options"] = [f"option {k} of {i}" for k in range(4)]
        r["answer"] = "ABCD"[i % 4]
    return datasets.Dataset.from_list(rows, features=data.hub_features(source))


def _hub(n: int = 16) -> FakeHub:
    return FakeHub(n=n, overrides={("ehovy/race", "all", "train"): _race(n, 1),
                                   ("ehovy/race", "all", "validation"): _race(n, 2)})


# ---- the registry ---------------------------------------------------------------------------------------------------
def test_language_lists_are_the_datasets_configs():
    assert len(languages.SIB200) == 205 and len(set(languages.SIB200)) == 205
    assert len(languages.BELEBELE) == 122 and len(set(languages.BELEBELE)) == 122
    assert len(languages.MASAKHANER) == 20
    for lang in ("eng_Latn", "zho_Hans", "zho_Hant", "arb_Arab", "hin_Latn"):
        assert lang in languages.BELEBELE and lang in languages.SIB200 or lang == "hin_Latn"
    assert get_task("sib200").train_language == "eng_Latn"
    assert languages.script_of("hin_Deva") == "Devanagari" and languages.script_of("zho_Hant") == "Han"
    assert languages.script_of("hau") == "Latin"


def test_hub_sources_name_the_cards_ids_configs_and_columns():
    sib = get_task("sib200")
    assert (sib.train[0].hub.repo, sib.train[0].hub.config, sib.train[0].hub.split) == ("Davlan/sib200", "{lang}",
                                                                                       "train")
    assert sib.label_names == ("science/technology", "travel", "politics", "sports", "health", "entertainment",
                               "geography")
    bele = get_task("belebele")
    assert set(bele.eval) == {"test"} and bele.eval["test"].hub.repo == "facebook/belebele"
    assert bele.train[0].hub.repo == "ehovy/race" and "RACE" in bele.description  # trained on RACE, and says so
    ner = get_task("masakhaner").eval["test"].hub
    assert ner.parquet_branch and ner.config is None and ner.data_dir == "{lang}"
    assert get_task("masakhaner").label_names[:7] == PANX_LABELS  # PAN-X English tag ids mean the same classes
    assert get_task("masakhaner").label_names[7:] == ("B-DATE", "I-DATE")


def test_chance_and_benchmark_group():
    chance = {name: typespecs.chance(TASKS[name], {}, None) for name in NEW}
    assert chance["sib200"] == pytest.approx(100 / 7) and chance["belebele"] == 25.0
    assert chance["masakhaner"] is None  # chunk F1 has no closed-form chance
    # the report's label reads the registry without the task types: the same numbers for every task
    for name, task in TASKS.items():
        assert anchors.chance(name) == typespecs.chance(task, {}, None), name
    assert BENCHMARK_TASKS["beyond_xtreme"] == NEW
    assert benchmark_categories("beyond_xtreme") == {"classification": ["sib200"], "question_answering": ["belebele"],
                                                     "structured_prediction": ["masakhaner"]}


@pytest.mark.parametrize("name", NEW)
def test_recipes_load(name):
    cfg = recipe.load(Phase3Recipe, [f"recipes/phase3/{name}.yaml", "input=runs/p2", "output=runs/p3"])
    assert cfg.task == name
    ev = recipe.load(EvalRecipe, [f"recipes/eval/{name}.yaml", "input=runs/p3", "output=results/x"])
    assert ev.task == name and ev.split == "test"


# ---- loads through the Hub code path -----------------------------------------------------------------------------
def test_sib200_reads_the_topic_strings(monkeypatch):
    source = get_task("sib200").eval["test"].hub
    rows = [{"index_id": i, "category": c, "text": f"sentence {i}"} for i, c in enumerate(["travel", "geography"])]
    monkeypatch.setattr(data, "hub_loader", FakeHub(overrides={
        ("Davlan/sib200", "hin_Deva", "test"): datasets.Dataset.from_list(rows, features=data.hub_features(source))}))
    got = data.load_split(get_task("sib200"), get_task("sib200").eval["test"], "hub", "hin_Deva", "test")
    assert [r["label"] for r in got] == [1, 6] and got[0]["text_a"] == "sentence 0"


def test_sib200_unknown_topic_is_one_clear_error(monkeypatch):
    source = get_task("sib200").eval["test"].hub
    bad = datasets.Dataset.from_list([{"index_id": 0, "category": "nature", "text": "x"}],
                                     features=data.hub_features(source))
    monkeypatch.setattr(data, "hub_loader", FakeHub(overrides={("Davlan/sib200", "eng_Latn", "test"): bad}))
    with pytest.raises(DataError, match="unknown label 'nature'"):
        data.load_split(get_task("sib200"), get_task("sib200").eval["test"], "hub", "eng_Latn", "test")


def test_belebele_answer_numbers_are_one_based(monkeypatch):
    task = get_task("belebele")
    source = task.eval["test"].hub
    rows = [{"link": "l", "question_number": 1, "flores_passage": "p", "question": "q", "mc_answer1": "a",
             "mc_answer2": "b", "mc_answer3": "c", "mc_answer4": "d", "correct_answer_num": num, "dialect": "d"}
            for num in ("1", "4")]
    monkeypatch.setattr(data, "hub_loader", FakeHub(overrides={
        ("facebook/belebele", "swh_Latn", "test"): datasets.Dataset.from_list(rows,
                                                                             features=data.hub_features(source))}))
    got = data.load_split(task, task.eval["test"], "hub", "swh_Latn", "test")
    assert [r["label"] for r in got] == [0, 3] and got[0]["choices"] == ["a", "b", "c", "d"]
    assert got[0]["context"] == "p"


def test_belebele_trains_on_race(monkeypatch):
    monkeypatch.setattr(data, "hub_loader", _hub(8))
    rows = data.load_train(get_task("belebele"), "hub", None)
    assert len(rows) == 8 and all(len(r["choices"]) == 4 for r in rows) and rows[1]["label"] == 1


def test_masakhaner_reads_the_parquet_branch_through_datasets(tmp_path, monkeypatch):
    """A folder laid out like the branch (<config>/<split>/0000.parquet, no README), read by datasets.load_dataset
    with the config as data_dir; DATE tags keep their ids."""
    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(data, "hub_path", hub.path)
    monkeypatch.setattr(data, "hub_loader", data.default_hub_loader)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    task = get_task("masakhaner")
    source = task.eval["test"].hub
    rows = [{"id": "0", "tokens": ["Ní", "ọdún", "2020", "Lagos"], "ner_tags": [0, 7, 8, 5]}]
    hub.add(source, "yor", ds=datasets.Dataset.from_list(rows, features=data.hub_features(source)))
    hub.add(source, "hau", n=3)  # a neighbouring config: never read for yor
    got = data.load_split(task, task.eval["test"], "hub", "yor", "test")
    assert got == [{"tokens": ["Ní", "ọdún", "2020", "Lagos"], "tags": [0, 7, 8, 5]}]


def test_masakhaner_label_order_is_checked(tmp_path, monkeypatch):
    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(data, "hub_path", hub.path)
    monkeypatch.setattr(data, "hub_loader", data.default_hub_loader)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    task = get_task("masakhaner")
    source = task.eval["test"].hub
    other = datasets.Features({"id": datasets.Value("string"), "tokens": datasets.List(datasets.Value("string")),
                               "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-DATE", "I-DATE"]))})
    hub.add(source, "wol", ds=datasets.Dataset.from_list([{"id": "0", "tokens": ["a"], "ner_tags": [0]}],
                                                         features=other))
    with pytest.raises(DataError, match="labels"):
        data.load_split(task, task.eval["test"], "hub", "wol", "test")


# ---- end to end on the tiny encoder ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,langs", [("sib200", "[eng_Latn,hin_Deva]"), ("belebele", "[eng_Latn,zho_Hans]"),
                                        ("masakhaner", "[hau,yor]")])
def test_phase3_and_evaluation(name, langs, tiny_phase1, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "hub_loader", _hub(12))
    assert phase3_target.main([f"recipes/phase3/{name}.yaml", f"input={tiny_phase1}", f"output={tmp_path}/p3",
                               *FAST]) == 0
    assert evaluate_xtreme.main([f"recipes/eval/{name}.yaml", f"input={tmp_path}/p3", f"output={tmp_path}/r",
                                 "data.max_eval_samples=6", f"languages={langs}"]) == 0
    result = read_result(tmp_path / "r" / f"{name}.json")
    assert sorted(result.languages) == sorted(langs.strip("[]").split(","))
    expected_chance = typespecs.chance(TASKS[name], {}, None)
    assert (result.chance is None) == (expected_chance is None)
