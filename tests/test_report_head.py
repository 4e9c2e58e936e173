"""The head of SUMMARY.md (issue 29, item 6): a title, three to five sentences generated from the analysis, the
confounds (encoder depth and size from the chain's phase-1 stats, contrastive pretraining, stand-in training sets from
the floors file), then the tables, with the floors' metrics named as the floors name them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from xstilts import analysis, report
from xstilts.recipe import RecipeError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


# The grid before issue 29 (archived): real results whose intermediates and most targets did not learn.
ARCHIVE = "results/archive/mini-before-issue29"


def _mini() -> dict:
    floors = f"{ARCHIVE}/floors.yaml"
    return report.summarize(ARCHIVE, floors=analysis.read_floors(floors),
                            intermediate_floors=analysis.read_intermediate_floors(floors),
                            stand_ins=analysis.read_stand_ins(floors))


def test_the_mini_summary_opens_with_a_title_sentences_confounds_then_tables():
    summary = _mini()
    text = report.render(summary)
    head, _, tables = text.partition("\n## Tables\n")
    lines = head.splitlines()
    assert lines[0] == "# X-STILTs results: mini-before-issue29"
    sentences = re.split(r"(?<=\.) (?=[A-Z])", lines[2])
    assert 3 <= len(sentences) <= 5, sentences
    assert "supported" in lines[2] and "Not testable here: sentence retrieval" in lines[2]
    assert "No intermediate task reached its own English dev floor" in lines[2]
    # encoder depth and size read from the phase-1 stats the results' chains recorded
    assert summary["encoder_stats"]["multilingual-e5-small"]["num_layers"] == 12
    assert "multilingual-e5-small 12 layers, 118M parameters" in head and "all-MiniLM-L6-v2 6 layers, 23M" in head
    assert "differ in depth or size" in head
    assert "Stand-in training data, tydiqa: the QA intermediate trains on TyDiQA-GoldP English" in head
    assert "| task | metric |" in tables and "| task | metric |" not in head
    # XQuAD's floor is on F1: the tables show F1 under that name beside the EM/F1 mean row
    assert re.search(r"\| xquad \| f1 \(floor's\) \| 11 \| 5\.0 \|", tables)
    assert "| xquad | multilingual-e5-small | f1 | 20 | 5.0 |" in tables
    assert "| xnli | multilingual-e5-small | accuracy | 50 |" in tables  # the task score named by its metric
    assert "| pawsx | multilingual-e5-small | English dev accuracy | 68 |" in tables


def test_the_committed_seeded_grid_reads_in_a_minute_and_judges_only_learned_cells():
    """results/mini (issue 29's grid) with recipes/mini/floors.yaml: every intermediate and every target a verdict
    rests on met its floor, every judged effect paired three seeds that each had their own phase-2 run, and the head
    says what was found, what could not be tested and why, before the tables."""
    floors = "recipes/mini/floors.yaml"
    summary = report.summarize("results/mini", floors=analysis.read_floors(floors),
                               intermediate_floors=analysis.read_intermediate_floors(floors),
                               stand_ins=analysis.read_stand_ins(floors), confounds=analysis.read_confounds(floors))
    head, _, tables = report.render(summary).partition("\n## Tables\n")
    lines = head.splitlines()
    assert lines[0] == "# X-STILTs results: mini"
    assert 3 <= len(re.split(r"(?<=\.) (?=[A-Z])", lines[2])) <= 5
    assert "Not testable here: sentence retrieval" in lines[2] and "No intermediate task reached" not in lines[2]
    assert all(c["met"] for c in summary["intermediate_floors"]) and len(summary["intermediate_floors"]) == 2
    met = {f["task"]: f["met"] for f in summary["floors"]}
    assert met == {"xnli": True, "panx": True, "xquad": True, "pawsx": False, "xcopa": False}
    judged = [e for e in summary["effects"] if e["verdict"] in ("up", "down", "within noise")]
    assert judged and all(e["low"] is not None and e["low"] <= e["delta"] <= e["high"] for e in judged)
    assert all(e["phase2_seeds"] == 3 and e["pairs"] >= 1 for e in judged)
    # every verdict holds the items' noise too (a derived row without per-item scores gets no verdict)
    assert all(" and items" in e["why"] for e in judged), [e["why"] for e in judged]
    assert all(e["pairs"] == 3 for e in judged if e["task"] != "tatoeba")  # tatoeba: 3 trained vs the untrained one
    assert {e["task"] for e in judged} >= {"xnli", "panx", "xquad", "tatoeba"}
    assert "No encoder pretrained only with masked-language modelling" in head and "Test sets are samples" in head
    assert "| xquad | f1 (floor's) |" in tables


def test_the_sentences_follow_the_analysis():
    summary = _mini()
    summary["claims"] = [{"verdict": "contradicted", "claim": "Retrieval gains most.", "scope": "", "evidence": []}]
    summary["floors"] = [{**f, "met": True} for f in summary["floors"]]
    summary["intermediate_floors"] = [{**c, "met": c["intermediate"] != "siqa"} for c in summary["intermediate_floors"]]
    text = " ".join(report.headline(summary))
    assert "The claim of the paper decided beyond noise: retrieval gains most: contradicted." in text
    assert "met their floor." in text and analysis.NOT_LEARNED not in text
    assert "The intermediate task(s) siqa stayed below their English dev floor" in text
    assert "Not testable" not in text
    summary["claims"] = []
    assert "No claim of the paper is supported or contradicted beyond noise here." in report.headline(summary)


def test_the_effects_sentence_names_what_lies_beyond_noise_and_counts_the_rest():
    def e(task, verdict, delta, inter="qa"):
        return {"task": task, "verdict": verdict, "delta": delta, "intermediate": inter}

    assert report.effects_sentence([]) is None
    assert report.effects_sentence([e("xnli", analysis.NOT_LEARNED, 5.0)]) is None  # not judged: not counted
    assert report.effects_sentence([e("xnli", "within noise", 1.0), e("panx", "within noise", -1.0)]) == \
        "Every intermediate-task effect judged (2) is within noise."
    text = report.effects_sentence([e("xnli", "within noise", 1.0), e("tatoeba", "down", -15.5),
                                    e("tatoeba (last layer)", "down", -15.0), e("panx", "up", 3.25, "nli")])
    assert text == ("Of 3 intermediate-task effects judged, 2 lie beyond the noise of seeds and items: tatoeba down "
                    "after qa (-15.5), panx up after nli (+3.2); the other 1 is within noise.")


def test_a_summary_json_from_before_the_head_renders_its_tables_only():
    summary = _mini()
    for key in ("encoder_stats", "stand_ins", "title", "floor_rows"):
        summary.pop(key)
    assert report.render(summary).startswith("| task | metric |")


def test_stand_ins_are_one_line_per_name_and_not_a_floor(tmp_path):
    floors = tmp_path / "floors.yaml"
    floors.write_text("xnli: {min: 50}\nstand_ins: {xnli: 'dev rows\n  not MNLI'}\n")
    assert set(analysis.read_floors(floors)) == {"xnli"}
    assert analysis.read_stand_ins(floors) == {"xnli": "dev rows not MNLI"}
    floors.write_text("stand_ins: [xnli]\n")
    with pytest.raises(RecipeError, match="stand_ins: a mapping of intermediate or target name"):
        analysis.read_stand_ins(floors)
    assert report.main(["results/mini", "--floors", str(floors)]) == 2


def test_confounds_no_result_records_are_lines_of_the_floors_file(tmp_path):
    """What a grid could not have (an encoder not obtainable, sampled test sets) is said among the confounds, from the
    floors file's ``confounds:`` list; anything else there is refused with the key named."""
    floors = tmp_path / "floors.yaml"
    floors.write_text("xnli: {min: 50}\nconfounds: ['No MLM-only\n  encoder here.', Samples.]\n")
    assert set(analysis.read_floors(floors)) == {"xnli"}
    assert analysis.read_confounds(floors) == ["No MLM-only encoder here.", "Samples."]
    summary = _mini()
    summary["confounds"] = analysis.read_confounds(floors)
    head = report.render(summary).partition("\n## Tables\n")[0]
    assert head.endswith("- No MLM-only encoder here.\n- Samples.\n")
    for bad in ("confounds: {a: b}\n", "confounds: ['']\n", "confounds: [1]\n"):
        floors.write_text(bad)
        with pytest.raises(RecipeError, match="confounds: a list of lines"):
            analysis.read_confounds(floors)
        assert report.main([ARCHIVE, "--floors", str(floors)]) == 2


def test_a_target_with_no_run_yet_is_named_as_not_run_not_as_below_its_floor():
    """A grid run block by block (issue 29) has targets whose runs are still to come: the head names them as not run,
    never as targets that stayed below their floor."""
    summary = _mini()
    xnli = next(f for f in summary["floors"] if f["task"] == "xnli")
    summary["floors"] = [f for f in summary["floors"] if f["task"] != "xnli"] + [
        {**xnli, "measured": None, "met": False, "why": "no multilingual none run"}]
    text = " ".join(report.headline(summary))
    assert "xnli not run yet (no run to measure its floor on)" in text
    below = text.split(" stayed below")[0]
    assert "xnli" not in below.rsplit(";", 1)[-1]
