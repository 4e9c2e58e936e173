"""A subset of a task's languages is a partial result, whatever left the others out (``languages=``, absent data, a
rank), and a partial result never stands in for the task score in a benchmark score."""
from __future__ import annotations

import dataclasses

import pytest

import evaluate_xtreme
import phase3_target
from xstilts.evaluation import missing_languages
from xstilts.report import benchmark_table, score_grid
from xstilts.results import XTREME_CATEGORIES, benchmark_scores, read_result
from xstilts.tasks import get_task

XNLI = list(get_task("xnli").languages)


@pytest.fixture(scope="module")
def p3(tiny_phase1, tmp_path_factory):
    out = tmp_path_factory.mktemp("partial") / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={tiny_phase1}", f"output={out}",
                               "train.max_steps=1", "train.eval_steps=1", "train.dev_examples=4"]) == 0
    return out


def test_languages_subset_is_partial_naming_the_missing_languages(p3, tmp_path, capsys):
    assert evaluate_xtreme.main([f"input={p3}", f"output={tmp_path}/r", "data.source=embedded",
                                 "data.max_eval_samples=4", "languages=[en,de]"]) == 0
    r = read_result(tmp_path / "r" / "xnli.json")
    assert sorted(r.languages) == ["de", "en"]
    assert r.partial and r.missing_languages == [lang for lang in XNLI if lang not in ("en", "de")]
    assert any("not evaluated: ar bg el es fr" in n for n in r.notes)
    assert "(partial: missing ar bg" in capsys.readouterr().out
    # The benchmark score does not take the 2-language average as the XNLI score.
    others = [dataclasses.replace(r, task=t, partial=False, missing_languages=[],
                                  languages={lang: {"accuracy": 50.0} for lang in get_task(t).languages})
              for names in XTREME_CATEGORIES.values() for t in names if t != "xnli"]
    b = benchmark_scores([r, *others])
    assert b["tasks"]["xnli"] is None and b["partial_tasks"] == ["xnli"]
    assert b["categories"]["classification"] is None and b["score"] is None
    assert b["partial_languages"]["xnli"] == r.missing_languages
    assert b["categories"]["retrieval"] == 50.0
    # The viewer's table and the report read it and show it as partial.
    table = benchmark_table([r, *others])
    assert table.loc[0, "partial"] == "xnli" and table["score"].isna().all()
    grid = score_grid([r])
    assert grid["rows"][0]["partial"] == [True]


def test_absent_data_is_partial_and_named(p3, tmp_path):
    assert evaluate_xtreme.main([f"input={p3}", f"output={tmp_path}/r", "data.source=embedded",
                                 "data.max_eval_samples=4"]) == 0
    r = read_result(tmp_path / "r" / "xnli.json")
    # The embedded data covers a few languages: the others are absent data, named, and the result is partial.
    shipped = sorted(r.languages)
    assert r.partial and sorted(r.missing_languages) == sorted(set(XNLI) - set(shipped))
    assert all(any(n.startswith(f"{lang}: no data") for n in r.notes) for lang in r.missing_languages)


def test_a_malformed_file_is_an_error_not_a_missing_language(p3, tmp_path, capsys):
    """Only absent data makes a language missing; a broken file of a language nobody asked for by name still stops
    the evaluation (it would otherwise disappear into a partial result)."""
    folder = tmp_path / "xtreme" / "xnli"
    folder.mkdir(parents=True)
    (folder / "test-en.tsv").write_text("A\tB\tneutral\nC\tD\tentailment\n")
    (folder / "test-de.tsv").write_text("A\tB\tneutral\nonly two\tcolumns\n")
    rc = evaluate_xtreme.main([f"input={p3}", f"output={tmp_path}/r", "data.source=xtreme",
                               f"data.path={tmp_path}/xtreme"])
    err = capsys.readouterr().err
    assert rc == 2 and "test-de.tsv:2: expected 3 tab-separated columns" in err
    assert not (tmp_path / "r" / "xnli.json").exists()
    (folder / "test-de.tsv").unlink()  # absent: skipped, named, partial
    assert evaluate_xtreme.main([f"input={p3}", f"output={tmp_path}/r", "data.source=xtreme",
                                 f"data.path={tmp_path}/xtreme"]) == 0
    r = read_result(tmp_path / "r" / "xnli.json")
    assert list(r.languages) == ["en"] and r.partial and "de" in r.missing_languages


def test_a_result_written_before_subsets_counted_as_partial_is_still_not_averaged():
    """A result file that says partial=false but lacks languages of the benchmark's set (written by an older version)
    is named as partial by benchmark_scores, not averaged."""
    from xstilts.results import RunInfo, TaskResult

    def result(task: str, langs) -> TaskResult:
        return TaskResult(task=task, task_type="x", split="test", data_source="hub", main_metric="accuracy",
                          languages={lang: {"accuracy": 60.0} for lang in langs}, average={"accuracy": 60.0},
                          score=60.0, missing_languages=[], partial=False, checkpoint="c",
                          run=RunInfo("e", "multilingual", "none", task), chain=[], created="", version="0")

    full = [result(t, get_task(t).languages) for names in XTREME_CATEGORIES.values() for t in names]
    assert benchmark_scores(full)["score"] == pytest.approx(60.0)
    old = [result("pawsx", ["en", "de"]) if r.task == "pawsx" else r for r in full]
    b = benchmark_scores(old)
    assert b["partial_tasks"] == ["pawsx"] and b["score"] is None
    assert b["partial_languages"]["pawsx"] == ["es", "fr", "ja", "ko", "zh"]
    # XTREME-R extends Tatoeba: a 36-language Tatoeba result is partial there, complete for XTREME.
    tat = result("tatoeba", get_task("tatoeba").languages)
    assert benchmark_scores([tat], {"retrieval": ["tatoeba"]})["tasks"]["tatoeba"] == 60.0
    assert benchmark_scores([tat], {"retrieval": ["tatoeba"]}, benchmark="xtreme_r")["tasks"]["tatoeba"] is None


def test_missing_languages_follow_the_benchmark_set():
    udpos = get_task("udpos")
    assert missing_languages(udpos, udpos.languages, "xtreme") == []
    assert missing_languages(udpos, udpos.languages, "xtreme_r") == [
        lang for lang in udpos.languages_r if lang not in udpos.languages]
