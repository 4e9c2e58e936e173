"""Files lost or replaced: a tool deletes or replaces only what its manifest proves it wrote, at any depth, and
every writer of a single file refuses an existing one unless told to replace it (``runfiles.check_new_file``)."""
from __future__ import annotations

import json
from pathlib import Path

import phase1_pretrained
import pytest
from helpers import CORPUS, P1_FAST

from xstilts import command, encoders, quickstart, runfiles
from xstilts.errors import XstiltsError

P1 = "recipes/phase1/tiny_multilingual.yaml"
TATOEBA_ON_P1 = (quickstart.EVAL, "recipes/quickstart/eval.yaml", "results/multi-none",
                 ("input=p1-multi", "task=tatoeba", "data.max_eval_samples=8"))


@pytest.fixture
def corpus(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)


def _err(capsys) -> str:
    return capsys.readouterr().err


# ---- the manifest itself --------------------------------------------------------------------------------------------
def test_a_claim_is_proof_at_any_depth_and_nothing_else_is(tmp_path):
    top = tmp_path / "qs"
    runfiles.claim(top, "results", runfiles.FOLDER)
    runfiles.claim(top / "results", "run", runfiles.FOLDER)
    runfiles.claim(top / "results" / "run", "xnli.json")
    runfiles.claim(top, "p1", runfiles.TREE)
    (top / "results" / "run" / "xnli.json").write_text("{}")
    (top / "results" / "run" / "mine.json").write_text("precious")  # a user's own result beside ours
    (top / "results" / "run" / ".xnli.json.abc.tmp").write_text("")  # an atomic write cut short: ours
    (top / "p1" / "deep").mkdir(parents=True)
    (top / "p1" / "deep" / "w.bin").write_text("w")
    (top / "notes.txt").write_text("mine")
    assert runfiles.foreign_paths(top) == [top / "notes.txt", top / "results" / "run" / "mine.json"]
    kept = runfiles.remove_written(top)
    assert kept == [top / "notes.txt", top / "results" / "run" / "mine.json"]
    assert (top / "results" / "run" / "mine.json").read_text() == "precious" and (top / "notes.txt").is_file()
    assert not (top / "p1").exists() and not (top / "results" / "run" / "xnli.json").exists()
    assert not (top / runfiles.MANIFEST).exists()


def test_a_claimed_name_that_became_a_symlink_is_never_followed(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years")
    top = tmp_path / "qs"
    runfiles.claim(top, "results", runfiles.FOLDER)
    (top / "results").symlink_to(precious)
    assert runfiles.foreign_paths(top) == [top / "results"]
    runfiles.remove_written(top)
    assert (precious / "thesis.tex").read_text() == "years"


def test_a_manifest_line_cut_short_by_a_kill_claims_nothing(tmp_path):
    runfiles.claim(tmp_path, "a.json")
    with open(tmp_path / runfiles.MANIFEST, "a") as f:
        f.write('{"name": "b.js')  # killed mid-append: b.json was never created by us
    assert runfiles.claims(tmp_path) == {"a.json": "file"}


# ---- run folders ----------------------------------------------------------------------------------------------------
def test_overwrite_keeps_what_appeared_in_the_folder_while_the_run_ran(tmp_path, corpus, monkeypatch):
    """DONE used to list every top-level entry present at the end; now only the manifest's claims are deleted."""
    out = tmp_path / "p1"
    original = runfiles.mark_finished

    def meanwhile(folder, summary):  # a colleague drops a result into the folder while the run is still going
        (Path(folder) / "colleague.json").write_text("{}")
        original(folder, summary)

    monkeypatch.setattr(runfiles, "mark_finished", meanwhile)
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 0
    monkeypatch.setattr(runfiles, "mark_finished", original)
    assert "colleague.json" not in json.loads((out / runfiles.DONE).read_text())["files"]
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST, "seed=7", "overwrite=true"]) == 0
    assert (out / "colleague.json").read_text() == "{}"
    assert "seed: 7" in (out / runfiles.RECIPE).read_text()


def test_a_folder_holding_only_a_users_recipe_is_not_adopted(tmp_path, corpus, capsys):
    out = tmp_path / "p1"
    out.mkdir()
    (out / "recipe.yaml").write_text("# my own recipe, carefully tuned\nseed: 3\n")
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 2
    assert "is not an xstilts run folder (it holds recipe.yaml)" in _err(capsys)
    assert (out / "recipe.yaml").read_text().startswith("# my own recipe")
    # A run of ours cut short right after its recipe.yaml (its manifest was written first) is taken up again.
    runfiles.claim_run(out, "phase1")
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 0
    assert (out / runfiles.DONE).is_file()


@pytest.mark.parametrize("done", ['{"files": [{"a": 1}], "finished": 3}', "[1, 2]", "\x00\xff garbage", ""])
def test_overwrite_of_a_run_whose_done_is_malformed(tmp_path, corpus, capsys, done):
    out = tmp_path / "p1"
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 0
    (out / runfiles.DONE).write_text(done)
    (out / "notes.md").write_text("mine")
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST, "overwrite=true"]) == 0, _err(capsys)
    assert (out / "notes.md").read_text() == "mine"
    # a folder of a version without a manifest: only the phase's known names go, whatever DONE lists
    (out / runfiles.MANIFEST).unlink()
    (out / runfiles.DONE).write_text(json.dumps({"files": ["notes.md", {"x": 1}]}))
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST, "overwrite=true"]) == 0, _err(capsys)
    assert (out / "notes.md").read_text() == "mine"


# ---- the quickstart -------------------------------------------------------------------------------------------------
def test_quickstart_fresh_refuses_a_users_file_at_any_depth(tmp_path, corpus, capsys):
    plan = [(quickstart.P1, P1, "p1-multi", tuple(P1_FAST)), TATOEBA_ON_P1]
    out = tmp_path / "qs"
    assert quickstart.run(out, plan=plan) == 0
    mine = out / "results" / "multi-none" / "my-eval.json"  # where the printed viewer command looks
    mine.write_text('{"precious": true}')
    with pytest.raises(XstiltsError, match=r"--fresh would remove .* which holds .*my-eval\.json"):
        quickstart.run(out, fresh=True, plan=plan)
    assert mine.read_text() == '{"precious": true}' and (out / "p1-multi" / runfiles.DONE).is_file()
    # ... and one line, exit 2, from the command
    assert command.main(["quickstart", "--fresh", "--output", str(out)]) == 2
    assert "my-eval.json" in _err(capsys) and mine.is_file()
    # Without it, --fresh removes every earlier output (run folders, results) and runs the chain again.
    mine.unlink()
    assert quickstart.run(out, fresh=True, plan=plan) == 0
    assert "finished earlier" not in capsys.readouterr().err
    assert (out / "results" / "multi-none" / "tatoeba.json").is_file()


def test_quickstart_lock_message_names_the_folder_the_user_gave(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with runfiles.RunLock(tmp_path, ".qs.quickstart.lock", guards="x"):
        lock = json.loads((tmp_path / ".qs.quickstart.lock").read_text())
    (tmp_path / ".qs.quickstart.lock").write_text(json.dumps({**lock, "host": "elsewhere"}))
    assert command.main(["quickstart", "--output", "qs"]) == 2
    err = _err(capsys)
    assert "--output qs is in use by pid" in err and ".qs.quickstart is in use" not in err


# ---- writers of single files ----------------------------------------------------------------------------------------
def test_one_guard_for_every_writer_of_a_single_file(tmp_path):
    f = tmp_path / "a.json"
    runfiles.check_new_file(f, False)
    f.write_text("mine")
    with pytest.raises(XstiltsError, match="a.json already exists; choose another output= or pass overwrite=true"):
        runfiles.check_new_file(f, False)
    runfiles.check_new_file(f, True)
    (tmp_path / "link").symlink_to(f)
    (tmp_path / "dir").mkdir()
    for bad, what in (("link", "a symlink"), ("dir", "a folder")):
        with pytest.raises(XstiltsError, match=what):
            runfiles.check_new_file(tmp_path / bad, True)


def test_overwrite_of_a_trained_run_keeps_a_result_evaluated_into_it(tiny_phase1, tmp_path, monkeypatch, capsys):
    import phase3_target
    from helpers import FAST

    out = tmp_path / "p3"
    argv = ["recipes/quickstart/phase3_xnli.yaml", f"input={tiny_phase1}", f"output={out}", *FAST,
            "data.max_train_samples=16"]
    original = runfiles.mark_finished

    def meanwhile(folder, summary):  # an evaluation written into the run folder while it was finishing
        (Path(folder) / "results").mkdir()
        (Path(folder) / "results" / "xnli.json").write_text("{}")
        original(folder, summary)

    monkeypatch.setattr(runfiles, "mark_finished", meanwhile)
    assert phase3_target.main(argv) == 0
    monkeypatch.setattr(runfiles, "mark_finished", original)
    assert phase3_target.main([*argv, "train.seed=7", "overwrite=true"]) == 0, _err(capsys)
    assert (out / "results" / "xnli.json").read_text() == "{}"
    assert "seed: 7" in (out / runfiles.RECIPE).read_text() and (out / "final").is_dir()
