"""Translated intermediate data (alternative (ii)): <task>/train-<lang>.<ext> files in the task's XTREME-folder format
added to the English rows, each row tagged with its language; offline with tiny hand-written files."""
from __future__ import annotations

import json

import helpers
import pytest

import phase2_intermediate
from xstilts import data, recipe
from xstilts.config import Phase2Recipe
from xstilts.tasks import TASKS

CORPUS = helpers.CORPUS[:40] + ["der Hund sieht die Katze"]
FAST = helpers.FAST + ["data.source=embedded", "data.max_train_samples=8", "data.max_eval_samples=8"]
MNLI_DE = ("Der Hund schläft.\tEin Tier schläft.\tentailment\n"
           "Die Katze läuft.\tDie Katze schläft.\tcontradiction\n"
           "Ein Mann liest.\tEr liest ein Buch.\tneutral\n")
MNLI_ZH = "狗在睡觉。\t一只动物在睡觉。\tentailment\n猫在跑。\t猫在睡觉。\tcontradiction\n"


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


@pytest.fixture
def translated(tmp_path):
    folder = tmp_path / "translated"
    (folder / "mnli").mkdir(parents=True)
    (folder / "mnli" / "train-de.tsv").write_text(MNLI_DE, encoding="utf-8")
    (folder / "mnli" / "train-zh.tsv").write_text(MNLI_ZH, encoding="utf-8")
    (folder / "siqa").mkdir()
    (folder / "siqa" / "train-de.jsonl").write_text(json.dumps(
        {"context": "Anna gab Tom ein Buch.", "question": "Was fühlt Tom?", "answerA": "Dankbar", "answerB": "Wütend",
         "answerC": "Müde", "correct": "A"}, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "hellaswag").mkdir()
    (folder / "hellaswag" / "train-fr.jsonl").write_text(json.dumps(
        {"ind": 1, "activity_label": "a", "ctx_a": "Un homme", "ctx_b": "court", "ctx": "Un homme court",
         "endings": ["vite.", "lentement.", "en rond.", "loin."], "source_id": "s", "split": "train",
         "split_type": "indomain", "label": "2"}) + "\n", encoding="utf-8")
    return folder


def test_translated_rows_in_each_tasks_format_carry_their_language(translated):
    rows = data.load_translated(TASKS["mnli"], translated, ["de", "zh"])
    assert [r["lang"] for r in rows] == ["de"] * 3 + ["zh"] * 2
    assert rows[0] == {"text_a": "Der Hund schläft.", "text_b": "Ein Tier schläft.", "label": 0, "lang": "de"}
    assert rows[4]["label"] == 2
    assert len(data.load_translated(TASKS["mnli"], translated, ["de"], limit=1)) == 1

    siqa = data.load_translated(TASKS["siqa"], translated, ["de"])  # the jsonl layout of SIQA (letter labels)
    assert siqa[0]["choices"] == ["Dankbar", "Wütend", "Müde"] and siqa[0]["label"] == 0 and siqa[0]["lang"] == "de"
    hs = data.load_translated(TASKS["hellaswag"], translated, ["fr"])  # no XTREME layout: Hub-schema JSON lines
    assert hs[0]["label"] == 2 and hs[0]["choices"][0] == "vite." and hs[0]["lang"] == "fr"


def test_missing_translation_is_a_clear_error(translated):
    with pytest.raises(data.DataError, match=r"mnli/train-ru.tsv not found; data.translated_path must hold "
                                             r"mnli/train-<lang>.tsv"):
        data.load_translated(TASKS["mnli"], translated, ["de", "ru"])
    with pytest.raises(data.DataError, match="not supported"):
        data.load_translated(TASKS["ccg"], translated, ["de"])
    with pytest.raises(recipe.RecipeError, match="translated_path: required with translated_languages"):
        recipe.load(Phase2Recipe, ["input=a", "output=b", "tasks=[mnli]", "data.translated_languages=[de]"])


def test_phase2_adds_translated_rows_to_the_english_ones(encoder, translated, tmp_path, capsys):
    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={encoder}", f"output={out}", *FAST,
                                     "data.translated_languages=[de,zh]", f"data.translated_path={translated}"]) == 0
    log = capsys.readouterr().out
    assert "mnli: translated training rows added: de 3, zh 2" in log
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_sizes"]["mnli"] == 8 + 3 + 2  # English (capped at 8) + the translations
    assert 0 <= metrics["dev"]["mnli_accuracy"] <= 100  # selection stays on English dev
