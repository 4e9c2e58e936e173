"""evaluate_xtreme.py beyond a single task: official-layout export and scoring, the benchmark report, and BUCC from
the original corpora (downloaded when data.source=hub, here from a local archive)."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from helpers import CORPUS

import evaluate_xtreme
import phase1_pretrained
import phase3_target
from xstilts import data, encoders, submission
from xstilts.results import read_result
from xstilts.tasks import get_task
from xstilts.tasktypes import retrieval as retrieval_task

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def p3(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    t = tmp_path_factory.mktemp("cli")
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={t}/p1", "stats_languages=[en]",
                                   "tiny.vocab_size=200"]) == 0
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={t}/p1", f"output={t}/p3",
                               "train.max_steps=4", "train.eval_steps=2"]) == 0
    mp.undo()
    return t


def test_exported_predictions_score_like_the_result(p3, tmp_path):
    """Export in the official layout, write gold labels in the same layout, score with the CLI: same accuracies."""
    assert evaluate_xtreme.main(["recipes/quickstart/eval.yaml", f"input={p3}/p3", f"output={tmp_path}/r",
                                 f"export_predictions={tmp_path}/sub", "languages=[de,zh,en]"]) == 0
    result = read_result(tmp_path / "r" / "xnli.json")
    task = get_task("xnli")
    for lang in ("de", "zh", "en"):
        rows = data.load_split(task, task.eval["test"], "embedded", lang, "test")
        labels = tmp_path / "labels" / "xnli" / f"test-{lang}.tsv"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("".join(task.label_names[r["label"]] + "\n" for r in rows))
    assert evaluate_xtreme.main(["score", f"predictions={tmp_path}/sub", f"labels={tmp_path}/labels",
                                 f"output={tmp_path}/scores.json"]) == 0
    scores = json.loads((tmp_path / "scores.json").read_text())["xnli"]
    for lang in ("de", "zh", "en"):
        assert scores["languages"][lang]["accuracy"] == pytest.approx(result.languages[lang]["accuracy"])


def test_score_command_on_the_official_mock_fixture(tmp_path):
    mock = REPO / "tests" / "fixtures" / "xtreme_mock"
    assert evaluate_xtreme.main(["score", f"predictions={mock}/predictions", f"labels={mock}/labels",
                                 f"output={tmp_path}/o.json"]) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out == submission.score_folder(mock / "predictions", mock / "labels")
    assert set(out) >= {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"}


def test_score_command_bad_usage(capsys):
    assert evaluate_xtreme.main(["score", "predictions=x"]) == 2
    assert "score needs predictions=DIR labels=DIR output=OUT.json" in capsys.readouterr().err


def test_benchmark_report(tmp_path, capsys):
    fixtures = REPO / "tests" / "fixtures" / "results_demo"
    assert evaluate_xtreme.main(["benchmark", f"results={fixtures}", f"output={tmp_path}/b.json"]) == 0
    report = json.loads((tmp_path / "b.json").read_text())
    full = [r for r in report["xtreme"] if r["encoder"] == "demo-xlmr-base" and r["intermediate"] == "none"
            and r["seed"] == 1 and not r["lora"]]
    assert len(full) == 1 and full[0]["score"] is not None and full[0]["missing"] == ""
    tasks = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
    assert full[0]["score"] == pytest.approx(sum(full[0][t] for t in tasks) / 9)
    assert all(r["score"] is None for r in report["xtreme_r"])  # no XCOPA/Mewsli-X/LAReQA results: never averaged
    assert "mewslix" in report["xtreme_r"][0]["missing"]
    assert evaluate_xtreme.main(["benchmark", f"results={tmp_path}/nope"]) == 2


def _bucc_archive(tmp_path: Path, lang: str, split: str) -> Path:
    """A folder laid out like an extracted original BUCC 2018 archive (bucc2018/<lang>-en/<lang>-en.<split>.*)."""
    root = tmp_path / f"extract-{split}" / "bucc2018" / f"{lang}-en"
    root.mkdir(parents=True)
    en = [f"sentence number {i} about the dog" for i in range(30)]
    (root / f"{lang}-en.{split}.en").write_text("".join(f"en-{i:09d}\t{s}\n" for i, s in enumerate(en)))
    (root / f"{lang}-en.{split}.{lang}").write_text("".join(f"{lang}-{i:09d}\t{s}\n" for i, s in enumerate(en[:10])))
    (root / f"{lang}-en.{split}.gold").write_text("".join(f"{lang}-{i:09d}\ten-{i:09d}\n" for i in range(10)))
    tar = tmp_path / f"{split}.tar.bz2"
    with tarfile.open(tar, "w:bz2") as t:
        t.add(tmp_path / f"extract-{split}" / "bucc2018", arcname="bucc2018")
    return tmp_path / f"extract-{split}"


def test_bucc_from_the_original_archives_when_source_is_hub(p3, tmp_path, monkeypatch):
    urls = []
    folders = {s: _bucc_archive(tmp_path, "de", s) for s in ("sample", "training")}

    def fake_download(url):
        urls.append(url)
        return str(folders["sample" if ".sample-" in url else "training"] / "bucc2018")

    monkeypatch.setattr(retrieval_task, "download", fake_download)
    assert evaluate_xtreme.main([f"input={p3}/p1", f"output={tmp_path}/r", "task=bucc2018", "data.source=hub",
                                 "languages=[de]"]) == 0
    assert urls == ["https://comparable.limsi.fr/bucc2018/bucc2018-de-en.sample-gold.tar.bz2",
                    "https://comparable.limsi.fr/bucc2018/bucc2018-de-en.training-gold.tar.bz2"]
    r = read_result(tmp_path / "r" / "bucc2018.json")
    # Identical sentences on both sides: every gold pair is mined, at the dev-tuned and the oracle threshold alike.
    assert r.languages["de"]["f1"] == 100.0 and r.languages["de"]["oracle_f1"] == 100.0
    assert r.run.intermediate == "none" and r.chain[0]["phase"] == "phase1"
    # Mining F1 at a tuned threshold is not a sum over examples: no interval, said as null rather than invented.
    assert r.reliability == {"de": {"majority_share": None, "top_prediction_share": None, "constant": False,
                                    "ci95": None}}
    assert r.score_ci95 is None and r.chance is None
    # The last layer mined from the same pass, with its own threshold.
    assert evaluate_xtreme.main([f"input={p3}/p1", f"output={tmp_path}/r2", "task=bucc2018", "data.source=hub",
                                 "languages=[de]", "retrieval.also_last_layer=true"]) == 0
    both = read_result(tmp_path / "r2" / "bucc2018.json")
    assert both.languages["de"]["f1"] == r.languages["de"]["f1"] and both.languages["de"]["f1_last_layer"] == 100.0


def test_bucc_download_failure_is_a_clear_error(p3, tmp_path, monkeypatch, capsys):
    def offline(url):
        raise ConnectionError("no network")

    monkeypatch.setattr(retrieval_task, "download", offline)
    assert evaluate_xtreme.main([f"input={p3}/p1", f"output={tmp_path}/r", "task=bucc2018", "languages=[fr]"]) == 2
    assert "could not download https://comparable.limsi.fr/bucc2018/bucc2018-fr-en.sample-gold.tar.bz2" in \
        capsys.readouterr().err


def test_a_task_without_zero_shot_evaluation_or_from_the_wrong_phase_is_one_clear_error(p3, tmp_path, capsys):
    """Whether a task is evaluated, and from which phases, is its task type's fact: mlm (phase 2's pseudo-task) is
    never evaluated; a task with heads needs a phase-3 folder. Nothing is written either way."""
    out = tmp_path / "r"
    assert evaluate_xtreme.main([f"input={p3 / 'p3'}", f"output={out}", "task=mlm"]) == 2
    assert "task mlm has no zero-shot evaluation" in capsys.readouterr().err
    assert evaluate_xtreme.main([f"input={p3 / 'p1'}", f"output={out}", "task=xnli"]) == 2
    assert "xnli needs a phase-3 model" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_a_damaged_model_folder_is_named_before_anything_reads_it(p3, tmp_path, capsys):
    """The evaluated folder is checked before any data is read or the tokenizer loads, for a model with heads and
    for retrieval's bare encoder alike."""
    import shutil

    for task, src in (("xnli", p3 / "p3"), ("tatoeba", p3 / "p1")):
        run = tmp_path / f"copy-{task}"
        shutil.copytree(src, run)
        model = run / "final" if (run / "final").is_dir() else run
        (model / "tokenizer.json").write_text('{"model": {"type": "Unig')
        out = tmp_path / f"r-{task}"
        assert evaluate_xtreme.main([f"input={run}", f"output={out}", f"task={task}", "languages=[de]",
                                     "data.source=hub"]) == 2  # the folder is named before the (offline) Hub is tried
        assert "tokenizer.json (tokenizer) is not readable JSON" in capsys.readouterr().err
        assert not (out / f"{task}.json").exists()


def test_last_layer_scored_from_the_same_pass_equals_its_own_evaluation(p3, tmp_path):
    """``retrieval.also_last_layer``: the paper-layer score is unchanged and ``accuracy_last_layer`` equals an
    evaluation at the last layer itself (the tiny encoder has 2 layers: the default layer is also 2, so layer=1 is
    the paper-layer stand-in here)."""
    common = [f"input={p3}/p1", "task=tatoeba", "data.source=embedded", "languages=[de,zh]"]
    assert evaluate_xtreme.main([*common, f"output={tmp_path}/both", "retrieval.layer=1",
                                 "retrieval.also_last_layer=true"]) == 0
    assert evaluate_xtreme.main([*common, f"output={tmp_path}/one", "retrieval.layer=1"]) == 0
    assert evaluate_xtreme.main([*common, f"output={tmp_path}/last", "retrieval.layer=2"]) == 0
    both, one, last = (read_result(tmp_path / d / "tatoeba.json") for d in ("both", "one", "last"))
    for lang in ("de", "zh"):
        assert both.languages[lang]["accuracy"] == one.languages[lang]["accuracy"]
        assert both.languages[lang]["accuracy_last_layer"] == last.languages[lang]["accuracy"]
    assert both.score == one.score and both.average["accuracy_last_layer"] == last.score
    assert "accuracy_last_layer" not in one.languages["de"]
    assert any("hidden_states[2] (the last layer)" in n for n in both.notes)


@pytest.mark.parametrize("task", ["pawsx", "sib200"])
def test_a_head_of_another_task_is_refused_before_anything_is_scored(p3, tmp_path, capsys, task):
    """An XNLI model evaluated as PAWS-X or SIB-200 used "the only head of the same kind": XNLI's 3 classes scored as
    the other task's labels, a result that looked like one. The script and ``xstilts validate`` refuse it alike."""
    from xstilts import command

    out = tmp_path / "r"
    args = [f"input={p3}/p3", f"output={out}", f"task={task}", "data.source=hub"]
    assert evaluate_xtreme.main(args) == 2
    assert f"no head for {task} (classification); its heads: xnli (classification)" in capsys.readouterr().err
    assert not out.exists()
    assert command.main(["validate", "evaluate", *args]) == 2
    assert f"no head for {task}" in capsys.readouterr().err


def test_the_head_rule_allows_a_head_trained_on_the_same_english_data():
    """XTREME's shared heads stay: SQuAD's for XQuAD and MLQA, RACE's for Belebele, PAN-X's for MasakhaNER."""
    from types import SimpleNamespace

    from xstilts import preflight

    def head(task: str, kind: str) -> list:
        return [SimpleNamespace(task=task, task_type=kind)]

    for trained, evaluated, kind in (("xquad", "mlqa", "span_qa"), ("race", "belebele", "multiple_choice"),
                                     ("panx", "masakhaner", "tagging"), ("copa", "xcopa", "multiple_choice")):
        assert preflight.head_for(head(trained, kind), get_task(evaluated)) == 0
    for trained, evaluated, kind in (("xquad", "tydiqa", "span_qa"), ("xcopa", "belebele", "multiple_choice"),
                                     ("panx", "udpos", "tagging"), ("xnli", "pawsx", "classification")):
        with pytest.raises(KeyError, match=f"no head for {evaluated}"):
            preflight.head_for(head(trained, kind), get_task(evaluated))
    # A MasakhaNER head (9 tags, PAN-X's 7 and DATE) never scores PAN-X; a PAN-X head (7) tags MasakhaNER.
    nine = [SimpleNamespace(task="masakhaner", task_type="tagging", num_labels=9)]
    with pytest.raises(KeyError, match="no head for panx"):
        preflight.head_for(nine, get_task("panx"))
    assert preflight.head_for([SimpleNamespace(task="panx", task_type="tagging", num_labels=7)],
                              get_task("masakhaner")) == 0


def test_a_sweep_evaluating_a_task_its_model_has_no_head_for_is_refused_at_planning(capsys):
    """``evaluate: [xquad, mlqa, tydiqa]`` planned an evaluation the script refuses (TyDiQA trains its own head);
    the sweep names it before any run."""
    from xstilts import sweep

    paper = "recipes/sweeps/paper_grid.yaml"
    assert sweep.main([paper, "--dry-run", "runs=/nonexistent/paper", "throughput_files=[]",
                       "targets.squad_qa.evaluate=[xquad,mlqa,tydiqa]"]) == 2
    err = capsys.readouterr().err
    assert "targets.squad_qa: evaluate tydiqa: the model has no head for tydiqa" in err and "mlqa:" not in err
    assert sweep.main([paper, "--dry-run", "runs=/nonexistent/paper", "throughput_files=[]",
                       "targets.squad_qa.evaluate=[xquad,nope]"]) == 2  # was planned, to fail when it ran
    assert "targets.squad_qa: evaluate nope: unknown task" in capsys.readouterr().err


@pytest.mark.parametrize("task,split,problem", [
    ("race", "test", "task race has no evaluation data in other languages"),
    ("mnli", "test", "task mnli has no evaluation data in other languages"),
    ("belebele", "validation", "task belebele has no 'validation' split; its splits: test")])
def test_a_split_the_task_lacks_is_refused_by_validate_and_the_script_alike(p3, tmp_path, capsys, task, split,
                                                                            problem):
    """``xstilts validate`` answered ok; the script loaded the model, then said "available: " (nothing)."""
    from xstilts import command

    args = [f"input={p3}/p3", f"output={tmp_path / 'r'}", f"task={task}", f"split={split}"]
    assert command.main(["validate", "evaluate", *args]) == 2
    assert problem in capsys.readouterr().err
    assert evaluate_xtreme.main(args) == 2
    assert problem in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("task,source,fix", [("sib200", "embedded", "use data.source=hub"),
                                             ("udpos", "embedded", "use data.source=hub or data.source=xtreme"),
                                             ("belebele", "xtreme", "use data.source=hub")])
def test_a_source_without_the_tasks_data_is_refused_before_loading(p3, tmp_path, capsys, task, source, fix):
    """SIB-200 from the embedded quickstart data: every one of 205 languages was skipped as missing after the model
    loaded, and the error listed them all; validate answered ok."""
    from xstilts import command

    args = [f"input={p3}/p3", f"output={tmp_path / 'r'}", f"task={task}", f"data.source={source}",
            *(["data.path=/nonexistent"] if source == "xtreme" else [])]
    for run in (lambda: command.main(["validate", "evaluate", *args]), lambda: evaluate_xtreme.main(args)):
        assert run() == 2
        err = capsys.readouterr().err
        assert f"data.source={source}: task {task} has no test data there" in err and fix in err
        assert len(err.strip().splitlines()) == 1
