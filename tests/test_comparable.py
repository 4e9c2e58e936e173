"""Numbers comparable with the field: BUCC's gold-pairs-only score (MTEB's protocol) beside the mining F1 (XTREME's),
each labelled; Tatoeba and BUCC exported in MTEB's result format; published anchors beside report and viewer cells;
the beyond-XTREME group and chance level in the report."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

import evaluate_xtreme
from xstilts import anchors, mteb, report, retrieval
from xstilts.errors import DataError
from xstilts.results import RunInfo, TaskResult, average_metrics, read_result, task_score, write_result
from xstilts.tasktypes import retrieval as retrieval_task
from xstilts.view import figures, loading


# ---- MTEB's bitext-mining score -------------------------------------------------------------------------------------
def test_bitext_mining_scores_are_sklearn_weighted_averages():
    # gold 0..3; predictions 0, 0, 2, 1: row 0 right, row 1 -> 0 (label 0 predicted twice), 2 right, 3 -> 1
    got = retrieval.bitext_mining_scores([0, 1, 2, 3], [0, 0, 2, 1])
    # per label: 0: p=1/2 r=1 f1=2/3; 1: p=0 r=0; 2: p=1 r=1 f1=1; 3: p=0 r=0 (never predicted: zero_division=0)
    assert got["accuracy"] == pytest.approx(50.0)
    assert got["precision"] == pytest.approx(100 * (0.5 + 1) / 4)
    assert got["recall"] == pytest.approx(50.0)
    assert got["f1"] == pytest.approx(100 * (2 / 3 + 1) / 4)
    with pytest.raises(ValueError, match="aligned"):
        retrieval.bitext_mining_scores([0, 1], [0])


def test_gold_pairs_query_with_the_source_side():
    eye = torch.eye(3)
    tgt = torch.stack([eye[0], eye[1], eye[1]])  # English rows 1 and 2 identical: row 2's query finds row 1
    assert retrieval.gold_pairs_scores(eye, tgt)["accuracy"] == pytest.approx(200 / 3)
    assert retrieval.gold_pairs_scores(eye, eye) == {"accuracy": 100.0, "precision": 100.0, "recall": 100.0,
                                                     "f1": 100.0}


def _bucc_folder(root: Path) -> Path:
    """Original BUCC layout (<lang>-en/<lang>-en.<split>.*): 10 gold pairs among 30 English distractors."""
    folder = root / "de-en"
    folder.mkdir(parents=True)
    en = [f"sentence number {i} about the dog" for i in range(30)]
    for split in ("sample", "training"):
        (folder / f"de-en.{split}.en").write_text("".join(f"en-{i:09d}\t{s}\n" for i, s in enumerate(en)))
        (folder / f"de-en.{split}.de").write_text("".join(f"de-{i:09d}\t{s}\n" for i, s in enumerate(en[:10])))
        (folder / f"de-en.{split}.gold").write_text("".join(f"de-{i:09d}\ten-{i:09d}\n" for i in range(10)))
    return root


@pytest.fixture(scope="module")
def bucc_result(tiny_phase1, tmp_path_factory):
    t = tmp_path_factory.mktemp("bucc")
    assert evaluate_xtreme.main([f"input={tiny_phase1}", f"output={t}/r", "task=bucc2018", "languages=[de]",
                                 f"retrieval.bucc_data={_bucc_folder(t / 'bucc')}"]) == 0
    return t / "r" / "bucc2018.json"


def test_bucc_reports_mining_and_gold_pairs_each_labelled(bucc_result):
    r = read_result(bucc_result)
    de = r.languages["de"]
    assert de["f1"] == 100.0 and de["f1_gold_pairs"] == 100.0  # identical sentences: both perfect, both present
    assert {"accuracy_gold_pairs", "precision_gold_pairs", "recall_gold_pairs"} <= set(de)
    assert r.score == de["f1"]  # the task score stays the mining F1
    assert retrieval_task.GOLD_PAIRS_NOTE in r.notes


@pytest.fixture(scope="module")
def tatoeba_result(tiny_phase1, tmp_path_factory):
    t = tmp_path_factory.mktemp("tatoeba")
    assert evaluate_xtreme.main([f"input={tiny_phase1}", f"output={t}/r", "task=tatoeba", "data.source=embedded",
                                 "languages=[de,zh]"]) == 0
    return t / "r" / "tatoeba.json"


def test_tatoeba_records_mtebs_protocol_beside_xtremes(tatoeba_result):
    r = read_result(tatoeba_result)
    for m in r.languages.values():
        assert {"accuracy", "f1_mteb", "accuracy_mteb"} <= set(m) and 0 <= m["f1_mteb"] <= 100
    assert r.score == r.average["accuracy"]  # the task score stays XTREME's
    assert retrieval_task.TATOEBA_MTEB_NOTE in r.notes
    grid = report.score_grid([r])
    assert "tatoeba (MTEB's protocol: non-English queries)" in [row["task"] for row in grid["rows"]]
    doc, left_out = mteb.export_result(r)
    de = next(s for s in doc["scores"]["test"] if s["hf_subset"] == "deu-eng")
    assert de["main_score"] == pytest.approx(r.languages["de"]["f1_mteb"] / 100) and not left_out
    assert de["xtreme_accuracy"] == pytest.approx(r.languages["de"]["accuracy"] / 100)


def test_report_shows_the_gold_pairs_row_apart(bucc_result):
    grid = report.score_grid([read_result(bucc_result)])
    tasks = [row["task"] for row in grid["rows"]]
    assert tasks == ["bucc2018", "bucc2018 (gold pairs only, MTEB's protocol: not comparable)"]


# ---- MTEB export --------------------------------------------------------------------------------------------------
ENV = {"cpu": "c", "cpu_count": 2, "torch_threads": 2, "memory_gb": 1.0, "gpus": [], "world_size": 1,
       "python": "3", "platform": "p", "packages": {}, "xstilts": "0"}


def _result(task: str, encoder: str, inter: str, langs: dict[str, dict[str, float]], metric: str) -> TaskResult:
    average = average_metrics(langs)
    return TaskResult(task=task, task_type="x", split="test", data_source="hub", main_metric=metric, languages=langs,
                      average=average, score=task_score(metric, average), missing_languages=[], partial=False,
                      checkpoint="c", run=RunInfo(encoder, "multilingual", inter, task, 42),
                      chain=[{"phase": "phase1", "folder": "/p1", "recipe": {}, "environment": ENV}],
                      created="2026-01-01", version="0", environment=ENV, wall_time_s=3.0)


def test_tatoeba_and_bucc_in_mtebs_layout(bucc_result, tmp_path):
    results = tmp_path / "results"
    write_result(results / "e5" / "tatoeba.json", _result(
        "tatoeba", "intfloat/multilingual-e5-small", "none",
        {"de": {"accuracy": 95.0, "n": 1000}, "zh": {"accuracy": 90.0, "n": 1000}}, "accuracy"))
    (results / "bucc").mkdir()
    (results / "bucc" / "bucc2018.json").write_text(bucc_result.read_text())
    written, _ = mteb.export_folder(results, tmp_path / "out")
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in written)
    assert names == ["intfloat__multilingual-e5-small/seed42/Tatoeba.json",
                     "tiny-multilingual/no_revision_available/BUCC.json"]
    tat = json.loads((tmp_path / "out" / names[0]).read_text())
    assert tat["task_name"] == "Tatoeba" and tat["mteb_version"] is None
    zh = next(s for s in tat["scores"]["test"] if s["hf_subset"] == "cmn-eng")
    assert zh["languages"] == ["cmn-Hans", "eng-Latn"] and zh["main_score"] == pytest.approx(0.9)
    assert "evaluated before xstilts recorded MTEB's protocol" in zh["xstilts_note"]  # accuracy only: said so
    bucc = json.loads((tmp_path / "out" / names[1]).read_text())
    de = bucc["scores"]["test"][0]
    assert (de["hf_subset"], de["languages"]) == ("de-en", ["deu-Latn", "eng-Latn"])
    assert de["main_score"] == de["f1"] == 1.0 and de["xtreme_mining_f1"] == 1.0
    assert "gold pairs only" in de["xstilts_note"]
    # A file is replaced only when asked to.
    with pytest.raises(mteb.MtebExportError, match="overwrite=true"):
        mteb.export_folder(results, tmp_path / "out")


def test_bucc_without_a_gold_pairs_score_is_left_out_and_named(tmp_path):
    old = _result("bucc2018", "e5", "none", {"de": {"f1": 50.0, "n": 10}}, "f1")
    with pytest.raises(mteb.MtebExportError, match="no gold-pairs score"):
        mteb.export_result(old)


def test_mteb_command_line_bad_input_is_one_line(tmp_path, capsys):
    assert mteb.main(["results=" + str(tmp_path / "nope"), "output=x"]) == 2
    assert mteb.main(["results"]) == 2
    (tmp_path / "empty").mkdir()
    assert mteb.main([f"results={tmp_path / 'empty'}", f"output={tmp_path / 'o'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)


# ---- anchors --------------------------------------------------------------------------------------------------------
def test_shipped_anchors_load_and_name_their_sources():
    loaded = anchors.load()
    assert {a.task for a in loaded} >= {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018",
                                        "tatoeba"}
    assert all(a.source for a in loaded)
    xlmr = {a.task: a.mean() for a in loaded if "xlm-roberta-large" in a.encoders}
    assert (xlmr["xnli"], xlmr["bucc2018"], xlmr["tatoeba"]) == (79.2, 66.0, 57.3)
    e5 = anchors.find("intfloat/multilingual-e5-small", "bucc2018")[0]
    assert e5.metric == "f1_gold_pairs" and e5.languages["zh"] == 94.0 and "Not comparable" in e5.disagreement


def test_a_published_number_sits_only_beside_what_it_measures():
    assert anchors.cell_note("multilingual-e5-small", "bucc2018") == ""  # gold-pairs number, mining row: none
    note = anchors.cell_note("multilingual-e5-small", "bucc2018 (gold pairs only, MTEB's protocol: not comparable)")
    assert note.startswith("published 95.3")
    assert anchors.cell_note("xlmr-large", "xnli").startswith("published 79.2") and "disagree" in \
        anchors.cell_note("xlmr-large", "xnli")
    assert anchors.cell_note("xlmr-large", "xnli", intermediate="mnli") == ""  # a paper reports the encoder alone
    assert anchors.cell_note("xlmr-large", "tatoeba (last layer)") == ""
    assert anchors.cell_note("multilingual-e5-small", "tatoeba") == ""  # MTEB's F1 is not XTREME's accuracy
    assert anchors.cell_note("multilingual-e5-small", "tatoeba (MTEB's protocol: non-English queries)").startswith(
        "published 89.7 over 14 languages")
    assert anchors.cell_note("some-other-encoder", "xnli") == ""
    # A QA cell is (EM + F1) / 2: the published number beside it is the same mean, never the F1 alone (76.6).
    assert anchors.cell_note("xlmr-large", "xquad").startswith("published 68.7 = (EM 60.8 + F1 76.6) / 2")
    f1_only = [anchors.Anchor(("enc",), "mlqa", "f1", 70.0, source="s")]
    assert anchors.cell_note("enc", "mlqa", anchors=f1_only) == ""
    # The encoder is matched by the phase-1 model it was made from, not by the name a user gave the run: a tiny
    # encoder named "xlmr-large" or an XLM-R Base renamed so gets no XLM-R Large number.
    assert anchors.cell_note("xlmr-large", "xnli", model="") == ""
    assert anchors.cell_note("xlmr-large", "xnli", model="FacebookAI/xlm-roberta-base") == ""
    assert anchors.cell_note("my-run", "xnli", model="models/xlm-roberta-large").startswith("published 79.2")
    tiny = [{"phase": "phase1", "recipe": {"source": "tiny", "model": None, "name": "xlmr-large"}}]
    assert anchors.phase1_model(tiny) == ""
    assert anchors.phase1_model([{"phase": "phase1", "recipe": {"source": "hub", "model": "org/m"}}]) == "org/m"
    # A row over other languages than the published mean says both counts (XTREME's XNLI: 15 languages).
    assert anchors.cell_note("xlmr-large", "xnli", languages=15).startswith("published 79.2 (")
    assert anchors.cell_note("xlmr-large", "xnli", languages=6).startswith("published 79.2 over 15 languages (this "
                                                                           "row: 6)")


def test_malformed_anchor_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "a.json"
    bad.write_text(json.dumps({"anchors": [{"encoder": "x", "task": "xnli", "metric": "accuracy", "value": 180,
                                            "source": "s"}]}))
    with pytest.raises(DataError, match=r"anchors\[0\]: scores must be percentages"):
        anchors.load(bad)
    unknown_task = {"encoder": "x", "task": "nope", "metric": "a", "value": 1, "source": "s"}
    bad.write_text(json.dumps({"anchors": [unknown_task]}))
    with pytest.raises(DataError, match="unknown task 'nope'"):
        anchors.load(bad)


def test_report_and_viewer_show_anchor_group_and_chance(tmp_path):
    results = tmp_path / "results"
    xnli = _result("xnli", "xlmr-large", "none", {"en": {"accuracy": 80.0, "n": 10}}, "accuracy")
    xnli.chain = [{**xnli.chain[0], "recipe": {"source": "hub", "model": "FacebookAI/xlm-roberta-large"}}]
    write_result(results / "a" / "xnli.json", xnli)
    write_result(results / "a" / "sib200.json", _result("sib200", "xlmr-large", "none",
                                                        {"eng_Latn": {"accuracy": 70.0, "n": 10}}, "accuracy"))
    text = report.render(report.summarize(results))
    assert "published 79.2 over 15 languages (this row: 1) (Hu et al. 2020; sources disagree)" in text
    assert "sib200 (beyond XTREME; chance 14.3)" in text
    assert loading.BENCHMARK_TASKS["beyond XTREME"] == ["sib200", "belebele", "masakhaner"]
    row = loading.overview_table([read_result(p) for p in sorted(results.rglob("*.json"))])
    xnli = row[row["task"] == "xnli"].iloc[0]
    hover = figures._cell_hover(xnli)
    assert "published accuracy 79.2" in hover and "Hu et al. 2020" in hover
    # The same run name on a tiny encoder built offline: no published number beside it, in the report or the viewer.
    hub = read_result(results / "a" / "xnli.json")
    tiny = dataclasses.replace(hub, chain=[{**hub.chain[0], "recipe": {"source": "tiny", "model": None}}])
    write_result(results / "a" / "xnli.json", tiny)
    assert "published 79.2" not in report.render(report.summarize(results))
    rows = loading.overview_table([tiny])
    assert "published" not in figures._cell_hover(rows[rows["task"] == "xnli"].iloc[0])
