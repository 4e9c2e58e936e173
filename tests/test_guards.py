"""Guards of the run folders: a resumed run is the run its recipe says, a replaced parent is noticed, nothing that is
not the toolkit's is deleted or replaced, and every bad output folder is one line and exit 2 (no traceback).

The phase scripts run for real (``main(argv)``) on the shared tiny encoder with the embedded quickstart data; where a
guard acts before any training, training is replaced by a stub that only records it was reached.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from helpers import CORPUS, P1_FAST

import evaluate_xtreme
import phase1_pretrained
import phase2_intermediate
import phase3_target
import xstilts.data  # noqa: F401  (imported before a test drops privileges: cli imports it to catch its errors)
import xstilts.modeling  # noqa: F401
import xstilts.submission  # noqa: F401
import xstilts.training  # noqa: F401
from xstilts import encoders, pipeline, provenance, runfiles
from xstilts.results import read_result

REPO = Path(__file__).resolve().parents[1]
P1 = str(REPO / "recipes" / "phase1" / "tiny_multilingual.yaml")
P2 = ["recipes/quickstart/phase2_mnli.yaml", "train.max_steps=2", "train.eval_steps=2", "train.batch_size=8",
      "train.max_length=32", "data.max_train_samples=16", "data.max_eval_samples=8"]
P3 = ["recipes/quickstart/phase3_xnli.yaml", "train.max_steps=2", "train.eval_steps=2", "train.batch_size=8",
      "train.max_length=32", "data.max_train_samples=16", "data.max_eval_samples=8"]
EVAL = ["recipes/quickstart/eval.yaml", "languages=[de,en]", "data.max_eval_samples=8"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)


@pytest.fixture(scope="module")
def runs(tiny_phase1, tmp_path_factory):
    """p2 from the shared phase-1 encoder, p3 from p2 and p3b straight from phase 1 (tests only read them)."""
    t = tmp_path_factory.mktemp("guards")
    assert phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={t}/p2"]) == 0
    assert phase3_target.main([*P3, f"input={t}/p2", f"output={t}/p3"]) == 0
    assert phase3_target.main([*P3, f"input={tiny_phase1}", f"output={t}/p3b"]) == 0
    return t


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err


class Reached(Exception):
    """Raised by the training stub: the guards let the run through."""


@pytest.fixture
def stub_training(monkeypatch):
    def train_and_save(*a, **k):
        raise Reached()

    monkeypatch.setattr(pipeline, "train_and_save", train_and_save)


def _unfinished_phase2(p1: Path, out: Path, *extra: str) -> None:
    """A phase-2 folder whose first attempt stopped in training (header written, no DONE)."""
    with pytest.raises(Reached):
        phase2_intermediate.main([*P2, f"input={p1}", f"output={out}", *extra])
    assert (out / runfiles.RUN_JSON).is_file() and not (out / runfiles.DONE).exists()


# ---- 1. a resumed run is the run its recipe says -------------------------------------------------------------------
def test_resume_with_another_recipe_is_refused_listing_each_difference(tiny_phase1, tmp_path, stub_training, capsys):
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    before = (out / runfiles.RECIPE).read_text()
    assert phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}", "train.lr=1e-4",
                                     "tasks=[qqp]"]) == 2
    err = _err(capsys)
    assert "holds an unfinished phase2 run of another recipe" in err and len(err.strip().splitlines()) == 1
    assert "train.lr: 0.001 -> 0.0001" in err and 'tasks: ["mnli"] -> ["qqp"]' in err
    assert "overwrite=true" in err
    assert (out / runfiles.RECIPE).read_text() == before  # nothing rewritten: the folder still says what it holds


def test_resume_with_another_input_is_refused(tiny_phase1, tmp_path, stub_training, capsys):
    other = tmp_path / "p1-copy"
    shutil.copytree(tiny_phase1, other)
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    assert phase2_intermediate.main([*P2, f"input={other}", f"output={out}"]) == 2
    assert f"input: {tiny_phase1.resolve()} -> {other.resolve()}" in _err(capsys)


def test_resume_ignores_keys_that_cannot_change_the_result(tiny_phase1, tmp_path, stub_training, capsys):
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    run_id = json.loads((out / runfiles.RUN_JSON).read_text())["run_id"]
    with pytest.raises(Reached):  # resumed: the guard let it through to training
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}", "train.logging_steps=7",
                                  "train.eval_batch_size=3", "train.save_total_limit=5"])
    assert json.loads((out / runfiles.RUN_JSON).read_text())["run_id"] == run_id  # the same run, another attempt


def test_overwrite_discards_the_unfinished_run_and_starts_over(tiny_phase1, tmp_path, stub_training):
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)  # the old optimizer state
    (out / "notes.txt").write_text("mine")
    run_id = json.loads((out / runfiles.RUN_JSON).read_text())["run_id"]
    with pytest.raises(Reached):
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}", "train.lr=1e-4", "overwrite=true"])
    assert not (out / "checkpoints").exists() and (out / "notes.txt").read_text() == "mine"
    assert "lr: 0.0001" in (out / runfiles.RECIPE).read_text()
    assert json.loads((out / runfiles.RUN_JSON).read_text())["run_id"] != run_id


def test_recipe_of_an_older_version_without_a_new_key_still_resumes(tiny_phase1, tmp_path, stub_training):
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    text = (out / runfiles.RECIPE).read_text()
    (out / runfiles.RECIPE).write_text("\n".join(line for line in text.splitlines() if "group_by_length" not in line))
    with pytest.raises(Reached):
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}"])


def test_recipe_of_the_version_before_the_mlm_and_qa_sections_still_resumes(tiny_phase1, tmp_path, stub_training):
    """That version wrote ``mlm: null`` (its settings then defaulted outside the dataclass) and no ``qa`` section."""
    out = tmp_path / "p2"
    _unfinished_phase2(tiny_phase1, out)
    stored = yaml.safe_load((out / runfiles.RECIPE).read_text())
    assert isinstance(stored["mlm"], dict) and stored["qa"]["doc_stride"] is None
    stored["mlm"] = None
    del stored["qa"]
    (out / runfiles.RECIPE).write_text(yaml.safe_dump(stored, sort_keys=False))
    with pytest.raises(Reached):
        phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={out}"])


# ---- 2. provenance notices a replaced parent -------------------------------------------------------------------------
def test_replaced_parent_is_an_error_naming_both_folders(tiny_phase1, tmp_path, capsys):
    p2, p3 = tmp_path / "p2", tmp_path / "p3"
    assert phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={p2}"]) == 0
    assert phase3_target.main([*P3, f"input={p2}", f"output={p3}"]) == 0
    recorded = json.loads((p3 / runfiles.RUN_JSON).read_text())["parent_fingerprint"]
    assert recorded["done_sha256"] and recorded["run_id"] and "final/model.safetensors" in recorded["weights"]
    assert provenance.chain(p3)[0]["parent_check"] == "verified"

    # The weights of the parent swapped by hand (same size): noticed from the modification time alone.
    weights = p2 / "final" / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, (stat.st_atime, stat.st_mtime + 100))
    with pytest.raises(runfiles.RunFolderError, match="weights files"):
        provenance.chain(p3)
    os.utime(weights, (stat.st_atime, stat.st_mtime))
    assert provenance.chain(p3)[0]["parent_check"] == "verified"

    # The parent re-run with another intermediate task: evaluating the child refuses instead of naming the new task.
    assert phase2_intermediate.main([*P2, f"input={tiny_phase1}", f"output={p2}", "tasks=[siqa]",
                                     "overwrite=true"]) == 0
    assert evaluate_xtreme.main([*EVAL, f"input={p3}", f"output={tmp_path}/r"]) == 2
    err = _err(capsys)
    assert f"the parent {p2.resolve()} of {p3.resolve()} was replaced" in err
    assert "re-run" in err and "restore" in err and not (tmp_path / "r" / "xnli.json").exists()
    # ...and so does any phase that would start from it (check_input walks the chain).
    with pytest.raises(runfiles.RunFolderError, match="was replaced after"):
        provenance.check_input(p3, ("phase3",), "a next phase")


def test_run_json_without_fingerprint_stays_readable_and_is_marked_unverified(runs, tmp_path):
    p3 = tmp_path / "p3-old"
    shutil.copytree(runs / "p3", p3)
    run = json.loads((p3 / runfiles.RUN_JSON).read_text())
    del run["parent_fingerprint"], run["run_id"]
    (p3 / runfiles.RUN_JSON).write_text(json.dumps(run))
    assert evaluate_xtreme.main([*EVAL, f"input={p3}", f"output={tmp_path}/r"]) == 0
    chain = read_result(tmp_path / "r" / "xnli.json").chain
    assert [c["parent_check"] for c in chain] == ["unverified", "verified", None]


# ---- 3. nothing lost -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overwrite", ["false", "true"])
def test_non_empty_folder_that_is_not_a_run_of_this_phase_is_refused(runs, tmp_path, capsys, overwrite):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert phase1_pretrained.main([P1, f"output={mine}", f"overwrite={overwrite}", *P1_FAST]) == 2
    assert "is not empty and is not an xstilts run folder (it holds thesis.tex)" in _err(capsys)
    # A run folder of another phase is not this phase's to replace, even with overwrite=true.
    assert phase2_intermediate.main([*P2, f"input={runs}/p2", f"output={runs}/p3", f"overwrite={overwrite}"]) == 2
    assert "holds a phase3 run, not a phase2 run" in _err(capsys)
    assert (mine / "thesis.tex").read_text() == "years of work" and (runs / "p3" / runfiles.DONE).is_file()


def test_dangerous_output_locations_are_refused(runs, tiny_phase1, tmp_path, monkeypatch, capsys):
    p2 = runs / "p2"
    cases = [  # (script, argv, expected message part)
        (phase1_pretrained, [P1, "output="], "output: must not be empty"),
        (phase1_pretrained, [P1, "output=."], "output= is empty or the current directory"),
        (phase1_pretrained, [P1, "output=/"], "is the file-system root"),
        (phase1_pretrained, [P1, f"output={tmp_path}/home"], "is the home folder"),
        (phase1_pretrained, [P1, f"output={tmp_path}/cwd"], "is the current directory"),
        (phase3_target, [*P3, f"input={p2}", f"output={p2}", "overwrite=true"], "is the input folder"),
        (phase3_target, [*P3, f"input={p2}", f"output={p2}/sub"], "is inside the input folder"),
        (phase3_target, [*P3, f"input={p2}", f"output={runs}", "overwrite=true"], "contains the input folder"),
        # the input's own ancestors are part of it too: the folder around the phase-1 encoder p2 was trained from
        (phase2_intermediate, [*P2, f"input={p2}", f"output={tiny_phase1.parent}", "overwrite=true"],
         f"contains the input folder {tiny_phase1.resolve()}"),
        (evaluate_xtreme, [*EVAL, f"input={runs}/p3", f"output={runs}"], "contains the input folder"),
        (evaluate_xtreme, [*EVAL, f"input={runs}/p3", f"output={runs}/p2"], "is a run folder"),
        (evaluate_xtreme, [*EVAL, f"input={runs}/p3", f"output={tmp_path}/r", f"export_predictions={runs}"],
         "contains the input folder"),
    ]
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for script, argv, expected in cases:
        cwd = tmp_path / "cwd" if "cwd" in argv[-1] else REPO
        monkeypatch.chdir(cwd)
        assert script.main(argv) == 2, argv
        err = _err(capsys)
        assert expected in err, (argv, err)
    assert (p2 / runfiles.DONE).is_file() and (runs / "p3" / runfiles.DONE).is_file() and not (p2 / "sub").exists()


def test_overwrite_deletes_only_what_the_run_wrote(tmp_path, capsys):
    out = tmp_path / "p1"
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 0
    done = json.loads((out / runfiles.DONE).read_text())
    assert "model.safetensors" in done["files"] and "recipe.yaml" in done["files"]
    (out / "results").mkdir()
    (out / "results" / "xnli.json").write_text("{}")  # put there by a person after the run finished
    (out / "stale.safetensors").write_text("x")
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST, "seed=7", "overwrite=true"]) == 0
    assert (out / "results" / "xnli.json").read_text() == "{}" and (out / "stale.safetensors").exists()
    assert "seed: 7" in (out / runfiles.RECIPE).read_text()


def test_two_evaluations_cannot_replace_each_others_result(runs, tmp_path, capsys, monkeypatch):
    res = tmp_path / "r"
    res.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (res / "xnli.json.lock").write_text(json.dumps({"pid": holder.pid, "host": os.uname().nodename, "since": 0}))
        assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3", f"output={res}"]) == 2
        assert f"{res / 'xnli.json'} is in use by pid {holder.pid}" in _err(capsys)
    finally:
        holder.kill()
        holder.wait()
    (res / "xnli.json.lock").unlink()
    # Another evaluation finished between the first check and the lock: checked again under the lock.
    acquire = runfiles.RunLock.acquire

    def acquire_after_another_finished(self):
        acquire(self)
        (res / "xnli.json").write_text("{}")

    monkeypatch.setattr(runfiles.RunLock, "acquire", acquire_after_another_finished)
    assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3", f"output={res}"]) == 2
    assert "xnli.json already exists" in _err(capsys)
    assert (res / "xnli.json").read_text() == "{}" and not (res / "xnli.json.lock").exists()


def test_export_refuses_another_models_predictions_unless_overwrite(runs, tmp_path, capsys):
    sub = tmp_path / "sub"
    assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3", f"output={tmp_path}/a", f"export_predictions={sub}"]) == 0
    marker = json.loads((sub / runfiles.SUBMISSION_MARKER).read_text())
    assert marker["tasks"]["xnli"]["run_folder"] == str((runs / "p3").resolve())
    first = (sub / "xnli" / "test-de.tsv").read_text()
    # The same model again (e.g. into another results folder): its own files, no question asked.
    assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3", f"output={tmp_path}/a2", f"export_predictions={sub}"]) == 0
    # Another model: refused, the first model's files untouched.
    assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3b", f"output={tmp_path}/b", f"export_predictions={sub}"]) == 2
    err = _err(capsys)
    assert f"holds predictions written by the model in {(runs / 'p3').resolve()}" in err
    assert (sub / "xnli" / "test-de.tsv").read_text() == first and not (tmp_path / "b" / "xnli.json").exists()
    # overwrite=true replaces them, and the marker says whose they are now; a language only the first model had goes.
    (sub / "xnli" / "test-fr.tsv").write_text("entailment\n")
    assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3b", f"output={tmp_path}/b", f"export_predictions={sub}",
                                 "overwrite=true"]) == 0
    marker = json.loads((sub / runfiles.SUBMISSION_MARKER).read_text())
    assert marker["tasks"]["xnli"]["run_folder"] == str((runs / "p3b").resolve())
    assert sorted(p.name for p in (sub / "xnli").iterdir()) == ["test-de.tsv", "test-en.tsv"]


def test_files_the_toolkit_writes_respect_the_umask(runs, tmp_path):
    """mkstemp (atomic writes) and safetensors create 0600 files; what the toolkit writes gets what a plain open would
    give (the runs were written under this process's umask, the evaluation under 027)."""
    run_mode = 0o666 & ~runfiles.umask()
    old = os.umask(0o027)
    try:
        assert evaluate_xtreme.main([*EVAL, f"input={runs}/p3", f"output={tmp_path}/r",
                                     f"export_predictions={tmp_path}/sub"]) == 0
    finally:
        os.umask(old)
    for name in (runfiles.RUN_JSON, runfiles.RECIPE, runfiles.DONE, "metrics.json", "final/model.safetensors",
                 "final/heads.safetensors"):
        assert (runs / "p3" / name).stat().st_mode & 0o777 == run_mode != 0o600, name
    sub = tmp_path / "sub"
    for f in (tmp_path / "r" / "xnli.json", sub / "xnli" / "test-de.tsv", sub / runfiles.SUBMISSION_MARKER):
        assert f.stat().st_mode & 0o777 == 0o640, f


# ---- 4. bad output folders: one line, exit 2 -------------------------------------------------------------------------
def test_output_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert phase1_pretrained.main([P1, f"output={tmp_path}/file/sub", *P1_FAST]) == 2
    assert f"is under {tmp_path / 'file'}, which is a file" in _err(capsys)
    assert phase1_pretrained.main([P1, f"output={tmp_path}/file", *P1_FAST]) == 2
    assert "is a file, not a folder" in _err(capsys)


def test_read_only_output_folder(tmp_path, capsys):
    """As root every permission bit is ignored, so the check runs with the effective uid of nobody (a real write
    test, which also covers read-only mounts); as another user the folder is simply made read-only."""
    base = Path(tempfile.mkdtemp(prefix="xstilts-ro-"))
    try:
        base.chmod(0o755)
        ro = base / "ro"
        ro.mkdir(mode=0o555)
        ro.chmod(0o555)
        as_root = os.geteuid() == 0
        if as_root:
            os.seteuid(65534)
        try:
            code = phase1_pretrained.main([P1, f"output={ro}/p1", *P1_FAST])
        finally:
            if as_root:
                os.seteuid(0)
        assert code == 2
        err = _err(capsys)
        assert f"cannot write in {ro}" in err and "Permission denied" in err
        assert not (ro / "p1").exists()
    finally:
        (base / "ro").chmod(0o755)
        shutil.rmtree(base)


def test_disk_full_while_writing_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "p1"
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 2
    err = _err(capsys)
    # The first write of a run is its manifest (claims before anything is created).
    assert err.startswith(f"phase1_pretrained.py: error: cannot write {out / runfiles.MANIFEST}: No space left on "
                          "device; the disk is full")
    # no temp file, no half-written header: at most the manifest's claims, which count as nothing written
    assert not (out / runfiles.LOCK).exists() and {p.name for p in out.iterdir()} <= {runfiles.MANIFEST}
    monkeypatch.undo()
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)

    # A write outside the helpers (the model save): the lock's with block turns it into the same line.
    def save_encoder(model, tokenizer, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "model.safetensors"))

    monkeypatch.setattr(encoders, "save_encoder", save_encoder)
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 2
    assert f"cannot write {out / 'model.safetensors'}: No space left on device" in _err(capsys)
    assert not (out / runfiles.DONE).exists() and not (out / runfiles.LOCK).exists()

    # ...and as safetensors reports it (its own error type around the OSError).
    def save_encoder_rust(model, tokenizer, folder):
        raise RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: \"No space "
                           "left on device\" })")

    monkeypatch.setattr(encoders, "save_encoder", save_encoder_rust)
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 2
    assert f"cannot write in {out}: the disk is full" in _err(capsys)


@pytest.mark.parametrize("lock", ["folder", "garbage", '{"pid": "x"}'])
def test_a_lock_that_is_not_one_is_refused_not_deleted(tmp_path, capsys, lock):
    out = tmp_path / "p1"
    out.mkdir()
    if lock == "folder":
        (out / runfiles.LOCK).mkdir()
        expected = "is a folder, not a lock file"
    else:
        (out / runfiles.LOCK).write_text(lock)
        expected = "is not an xstilts lock"
    assert phase1_pretrained.main([P1, f"output={out}", *P1_FAST]) == 2
    err = _err(capsys)
    assert f"{out / runfiles.LOCK} {expected}" in err
    assert (out / runfiles.LOCK).exists() and not (out / runfiles.DONE).exists()


@pytest.mark.parametrize("run_json, expected", [
    ("[1, 2]", "is malformed (its top level is a list, not a mapping)"),
    ('{"phase": "phase2", "parent": 5}', "is malformed (parent is 5, not a folder)"),
    ('{"phase": "phase9"}', "is malformed (phase is 'phase9'"),
    ('{"phase": "phase2", "par', "is corrupted or truncated"),
])
def test_malformed_run_json_in_an_input_folder(runs, tmp_path, capsys, run_json, expected):
    bad = tmp_path / "p2"
    shutil.copytree(runs / "p2", bad)
    (bad / runfiles.RUN_JSON).write_text(run_json)
    assert phase3_target.main([*P3, f"input={bad}", f"output={tmp_path}/p3"]) == 2
    err = _err(capsys)
    assert f"{bad / runfiles.RUN_JSON}" in err and expected in err
    assert not (tmp_path / "p3").exists()
