"""CCG supertagging from CCGbank AUTO files: the reader on a hand-written snippet, the train-built tag vocabulary with
rare tags mapped to one label, the clear error without CCGbank, and a phase-2 run on a tiny hand-made AUTO folder
(label names recorded in heads.json)."""
from __future__ import annotations

import json
from pathlib import Path

import helpers
import pytest
import yaml
from helpers import FAST

import phase2_intermediate
from xstilts import ccg, data
from xstilts.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
CORPUS = helpers.CORPUS[:40] + ["Pierre Vinken will join ."]

# wsj_0001.1, shortened (CCGbank's AUTO format: one ID line, one derivation line per sentence).
SENTENCE = ("ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1\n"
            "(<T S[dcl] 0 2> (<T S[dcl] 0 2> (<T NP 0 2> (<L N/N NNP NNP Pierre N_73/N_73>) (<L N NNP NNP Vinken N>) ) "
            "(<T S[dcl]\\NP 0 2> (<L (S[dcl]\\NP)/(S[b]\\NP) MD MD will (S[dcl]\\NP_10)/(S[b]_11\\NP_10:B)_11>) "
            "(<L S[b]\\NP VB VB join S[b]\\NP_20>) ) ) (<L . . . . .>) )\n")
RARE = ("ID=wsj_0201.2 PARSER=GOLD NUMPARSE=1\n"
        "(<T S[dcl] 0 2> (<L N NNP NNP Vinken N>) (<T S[dcl]\\NP 0 2> (<L conj CC CC and conj>) "
        "(<L S[dcl]\\NP VBZ VBZ sleeps S[dcl]\\NP_1>) ) )\n")


def make_ccgbank(root: Path, sections=range(25)) -> Path:
    """A CCGbank-like data/AUTO folder: every section one file with the sample sentence (twice), section 02 also a
    sentence with two tags seen once."""
    auto = root / "data" / "AUTO"
    for sec in sections:
        (auto / f"{sec:02d}").mkdir(parents=True)
        text = SENTENCE + SENTENCE.replace("wsj_0001.1", f"wsj_{sec:02d}01.2") + (RARE if sec == 2 else "")
        (auto / f"{sec:02d}" / f"wsj_{sec:02d}01.auto").write_text(text, encoding="utf-8")
    return auto


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


def test_reader_on_hand_written_auto_snippet():
    rows = ccg.read_auto(SENTENCE)
    assert rows == [{"tokens": ["Pierre", "Vinken", "will", "join", "."],
                     "tags": ["N/N", "N", "(S[dcl]\\NP)/(S[b]\\NP)", "S[b]\\NP", "."]}]
    with pytest.raises(data.DataError, match=r"x.auto:2: no \(<L"):
        ccg.read_auto("ID=1\n(<T S 0 2> broken)\n", "x.auto")


def test_sections_and_vocabulary_with_rare_tags(tmp_path):
    assert ccg.parse_sections("02-21") == tuple(range(2, 22)) and ccg.parse_sections("00,23") == (0, 23)
    vocab = ccg.build_vocabulary([["N", "N", "N/N"], ["N", "conj"]], min_count=2)
    assert vocab == ("N", ccg.RARE_TAG)
    assert ccg.tag_ids(["N", "N/N", "unseen"], vocab) == [0, 1, 1]

    auto = make_ccgbank(tmp_path)
    task = ccg.with_vocabulary(TASKS["ccg"], str(auto))
    # 20 training sections x 2 sentences: each tag of SENTENCE 40 times; "conj" and S[dcl]\NP once -> rare.
    assert set(task.label_names) == {"N/N", "N", "(S[dcl]\\NP)/(S[b]\\NP)", "S[b]\\NP", ".", ccg.RARE_TAG}
    assert task.label_names[0] == "N"  # 41 times: most frequent first
    train = data.load_train(task, "hub", str(auto))  # local whatever data.source: CCGbank is not on the Hub
    assert len(train) == 41
    rare = [r for r in train if len(r["tokens"]) == 3][0]
    assert rare["tags"][1:] == [task.label_names.index(ccg.RARE_TAG)] * 2
    assert len(data.load_dev(task, "hub", str(auto))) == 2  # section 00 only


def test_missing_ccgbank_is_a_clear_error(tmp_path):
    task = TASKS["ccg"]
    for path, detail in [(None, "data.path is not set"), (str(tmp_path / "nope"), "does not exist")]:
        with pytest.raises(ccg.CCGBankMissing, match="LDC2005T13") as exc:
            ccg.with_vocabulary(task, path)
        assert detail in str(exc.value) and "data/AUTO" in str(exc.value)
    auto = make_ccgbank(tmp_path / "partial", sections=[0, 2, 3])
    with pytest.raises(ccg.CCGBankMissing, match="section 04"):
        ccg.with_vocabulary(task, str(auto))


def test_phase2_ccg_records_its_label_names(encoder, tmp_path, capsys):
    auto = make_ccgbank(tmp_path / "ccgbank")
    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/ccg.yaml", f"input={encoder}", f"output={out}",
                                     f"data.path={auto}", *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["dev"]["ccg_accuracy"] <= 100.0
    assert metrics["dev"]["score"] == pytest.approx(metrics["dev"]["ccg_accuracy"]) and metrics["heads"] == ["ccg"]
    heads = json.loads((out / "final" / "heads.json").read_text())["heads"]
    vocab = ccg.with_vocabulary(TASKS["ccg"], str(auto)).label_names
    assert heads == [{"task": "ccg", "kind": "tagging", "num_labels": len(vocab), "labels": list(vocab)}]

    # Without CCGbank: one line naming what to provide, exit 2.
    capsys.readouterr()
    assert phase2_intermediate.main(["recipes/phase2/ccg.yaml", f"input={encoder}", f"output={tmp_path}/p2b",
                                     *FAST]) == 2
    err = capsys.readouterr().err
    assert "LDC2005T13" in err and "data.path" in err and "Traceback" not in err


def test_recipes():
    first = (REPO / "recipes" / "phase2" / "ccg.yaml").read_text().splitlines()[0]
    assert first.startswith("# python phase2_intermediate.py recipes/phase2/ccg.yaml ")
    nine = yaml.safe_load((REPO / "recipes" / "phase2" / "all_nine.yaml").read_text())
    assert nine["tasks"] == ["mnli", "anli_plus", "qqp", "sst2", "squad", "hellaswag", "commonsenseqa", "cosmosqa",
                             "ccg"]


def test_all_nine_recipe_with_ccg_offline(encoder, tmp_path, monkeypatch):
    """The paper's nine-task recipe as shipped: eight tasks from (in-memory) Hub data, CCG from a CCGbank folder."""
    from fakehub import FakeHub

    monkeypatch.setattr(data, "hub_loader", FakeHub(n=12))
    auto = make_ccgbank(tmp_path / "ccgbank")
    out = tmp_path / "p2"
    assert phase2_intermediate.main([
        "recipes/phase2/all_nine.yaml", f"input={encoder}", f"output={out}", f"data.path={auto}", "train.max_steps=2",
        "train.eval_steps=2", "train.grad_accum=1", "train.precision=fp32", "train.batch_size=4",
        "train.eval_batch_size=16", "train.logging_steps=1", "data.max_train_samples=12", "data.max_eval_samples=8",
        "train.max_length=96"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    tasks = ["mnli", "anli_plus", "qqp", "sst2", "squad", "hellaswag", "commonsenseqa", "cosmosqa", "ccg"]
    assert metrics["heads"] == tasks and 0 <= metrics["dev"]["ccg_accuracy"] <= 100
    assert metrics["dev"]["score"] == pytest.approx(sum(metrics["dev"][f"{t}_score"] for t in tasks) / len(tasks))
