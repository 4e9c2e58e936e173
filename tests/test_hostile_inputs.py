"""Issue 25, as a hostile user tries it: one clear line and exit 2 (never a traceback), and hints that lead where
they say."""
from __future__ import annotations

import json
from pathlib import Path

import evaluate_xtreme
import phase1_pretrained
import phase3_target
import pytest
from helpers import CORPUS, FAST, P1_FAST

from xstilts import command, encoders, report, runfiles
from xstilts.config import SamplerConfig
from xstilts.recipe import RecipeError
from xstilts.sampling import task_probabilities

REPO = Path(__file__).resolve().parents[1]
EVAL = "recipes/quickstart/eval.yaml"


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


# ---- validate: the same answer as the script ------------------------------------------------------------------------
def test_validate_names_a_missing_file_as_missing(tmp_path, capsys):
    assert command.main(["validate", "phase3", str(tmp_path / "my_xnli.yaml")]) == 2
    err = _err(capsys)
    assert "recipe file " in err and "my_xnli.yaml' does not exist" in err and "no shipped recipe" not in err
    assert command.main(["validate", "phase3", "my_xnli.yml"]) == 2
    assert "my_xnli.yml' does not exist" in _err(capsys)
    assert command.main(["cp", "phase3/xnli.yaml", str(tmp_path)]) == 0  # shipped names still work
    capsys.readouterr()
    assert command.main(["validate", "phase3", str(tmp_path)]) == 2
    assert "is a folder, not a recipe file" in _err(capsys)


@pytest.mark.parametrize("task, expected", [("xnli", "needs a phase-3 model"),
                                            ("mlm", "has no zero-shot evaluation")])
def test_validate_refuses_what_the_evaluation_refuses_at_once(tiny_phase1, tmp_path, capsys, task, expected):
    args = [EVAL, f"input={tiny_phase1}", f"task={task}", f"output={tmp_path / 'r'}"]
    assert command.main(["validate", "evaluate", *args]) == 2
    said = _error_lines(_err(capsys))
    assert evaluate_xtreme.main(args) == 2
    did = _error_lines(_err(capsys))
    assert len(said) == len(did) == 1 and expected in said[0]
    assert said[0].split(": error: ", 1)[1] == did[0].split(": error: ", 1)[1]
    assert not (tmp_path / "r").exists()


# ---- one line, never a traceback ------------------------------------------------------------------------------------
def test_cp_of_a_file_that_is_not_utf8(tmp_path, capsys):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert command.main(["cp", str(bad), str(tmp_path / "copy.yaml")]) == 2
    assert "is not a UTF-8 text file" in _err(capsys) and not (tmp_path / "copy.yaml").exists()


def test_retrieval_max_length_beyond_the_position_embeddings(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    p1 = tmp_path / "p1"
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={p1}", *P1_FAST,
                                   "tiny.max_position=12"]) == 0
    capsys.readouterr()
    assert evaluate_xtreme.main([EVAL, f"input={p1}", "task=tatoeba", f"output={tmp_path / 'r'}"]) == 2
    err = _err(capsys)
    assert "retrieval.max_length: 512 is longer than the encoder" in err and "retrieval.max_length=10" in err
    assert evaluate_xtreme.main([EVAL, f"input={p1}", "task=tatoeba", f"output={tmp_path / 'r'}",
                                 "retrieval.max_length=10", "data.max_eval_samples=8"]) == 0, _err(capsys)


@pytest.mark.parametrize("temperature", [1e-3, 1e-30, 5e-324])
def test_a_tiny_sampler_temperature_is_one_line_not_an_overflow(temperature):
    sizes = {"mnli": 1000, "siqa": 10}
    with pytest.raises(RecipeError, match="sampler.temperature: .* gives siqa a probability below 1e-09"):
        task_probabilities(sizes, SamplerConfig(kind="temperature", temperature=temperature))
    # Equal sizes stay equal at any temperature; a moderate one is the formula's value, computed without overflow.
    assert task_probabilities({"a": 5, "b": 5}, SamplerConfig(kind="temperature", temperature=temperature)) == \
        {"a": 0.5, "b": 0.5}
    probs = task_probabilities(sizes, SamplerConfig(kind="temperature", temperature=0.25))
    assert probs["siqa"] == pytest.approx(10**4 / (10**4 + 1000**4))


def test_a_checkpoint_torch_could_not_finish_is_one_line(tiny_phase1, tmp_path, monkeypatch, capsys):
    """A full disk under torch.save (the Trainer's optimizer.pt) surfaces without its errno: reproduced on a 1 MB
    tmpfs as ``RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos 419200 vs 419088``."""
    import transformers.trainer

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 419200 vs 419088")

    monkeypatch.setattr(transformers.trainer.torch, "save", full)
    out = tmp_path / "p3"
    assert phase3_target.main(["recipes/quickstart/phase3_xnli.yaml", f"input={tiny_phase1}", f"output={out}",
                               *FAST, "data.max_train_samples=16"]) == 2
    lines = _error_lines(_err(capsys))
    assert len(lines) == 1 and f"cannot write in {out}: torch could not finish writing a file" in lines[0]
    assert "free some space" in lines[0] and not (out / runfiles.DONE).exists()


def test_report_write_to_an_unwritable_place_or_over_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    results = REPO / "results" / "mini"
    assert report.main([str(results), "--write", str(blocker / "SUMMARY.md")]) == 2
    lines = _error_lines(_err(capsys))
    assert len(lines) == 1 and f"cannot write {blocker}" in lines[0] and "regular file" in lines[0]
    mine = tmp_path / "SUMMARY.md"
    mine.write_text("my notes")
    assert report.main([str(results), "--write", str(mine)]) == 2
    assert f"{mine} already exists; choose another --write or pass --force" in _err(capsys)
    assert mine.read_text() == "my notes"
    assert report.main([str(results), "--write", str(mine), "--force"]) == 0
    assert mine.read_text() != "my notes" and json.loads((tmp_path / "summary.json").read_text())


def test_benchmark_output_never_replaces_a_file_unless_told(tmp_path, capsys):
    mine = tmp_path / "xnli.json"
    mine.write_text('{"mine": true}')
    results = str(REPO / "results" / "mini")
    assert evaluate_xtreme.main(["benchmark", f"results={results}", f"output={mine}"]) == 2
    assert f"{mine} already exists; choose another output= or pass overwrite=true" in _err(capsys)
    assert mine.read_text() == '{"mine": true}'
    assert evaluate_xtreme.main(["benchmark", f"results={results}", f"output={mine}", "overwrite=true"]) == 0
    assert "xtreme" in json.loads(mine.read_text())


def test_validate_checks_the_model_folder_as_the_evaluation_does(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    p1 = tmp_path / "p1"
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={p1}", *P1_FAST,
                                   "tiny.max_position=12"]) == 0
    capsys.readouterr()
    args = [EVAL, f"input={p1}", "task=tatoeba", f"output={tmp_path / 'r'}"]
    assert command.main(["validate", "evaluate", *args]) == 2
    said = _error_lines(_err(capsys))
    assert evaluate_xtreme.main(args) == 2
    did = _error_lines(_err(capsys))
    assert said[0].split(": error: ", 1)[1] == did[0].split(": error: ", 1)[1]
    assert "retrieval.max_length: 512 is longer than the encoder" in said[0]
    assert command.main(["validate", "evaluate", *args, "retrieval.max_length=10"]) == 0
    assert f"model folder {p1}" in capsys.readouterr().out
