"""What the official-layout scorer (``evaluate_xtreme.py score``) accepts as input and where it may write.

The output: an existing file only with ``overwrite=true``, never a folder, never one of the files being scored (not
even through a link). The inputs: strict UTF-8 (a bad byte is one error naming the file and offset), a UTF-8 BOM
changes nothing, and linked files or task folders are refused rather than followed or skipped.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import evaluate_xtreme
from xstilts import submission as sub

MOCK = Path(__file__).parent / "fixtures" / "xtreme_mock"
BOM = b"\xef\xbb\xbf"


def _copy(tmp_path: Path, *tasks: str) -> tuple[Path, Path]:
    preds, labels = tmp_path / "preds", tmp_path / "labels"
    for task in tasks:
        shutil.copytree(MOCK / "predictions" / task, preds / task)
        shutil.copytree(MOCK / "labels" / task, labels / task)
    return preds, labels


def _score(capsys, preds: Path, labels: Path, output: Path | str, *extra: str) -> tuple[int, str]:
    rc = evaluate_xtreme.main(["score", f"predictions={preds}", f"labels={labels}", f"output={output}", *extra])
    return rc, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluate_xtreme.py: error: "), err
    return lines[0]


# ---------------------------------------------------------------------------------------------------------- output


def test_existing_output_is_refused_unless_overwrite(tmp_path, capsys):
    preds, labels = _copy(tmp_path, "xnli")
    out = tmp_path / "scores.json"
    out.write_text("earlier scores\n")
    rc, err = _score(capsys, preds, labels, out)
    assert rc == 2 and "already exists; choose another output= or pass overwrite=true" in _one_error_line(err)
    assert out.read_text() == "earlier scores\n"
    rc, err = _score(capsys, preds, labels, out, "overwrite=maybe")
    assert rc == 2 and "overwrite=true or overwrite=false" in _one_error_line(err)
    assert out.read_text() == "earlier scores\n"
    assert _score(capsys, preds, labels, out, "overwrite=true")[0] == 0
    assert json.loads(out.read_text())["xnli"]["score"] == pytest.approx(30.666666666666668)


def test_output_that_is_a_folder_or_below_a_file_is_refused(tmp_path, capsys):
    preds, labels = _copy(tmp_path, "xnli")
    folder = tmp_path / "out"
    folder.mkdir()
    for extra in ((), ("overwrite=true",)):
        rc, err = _score(capsys, preds, labels, folder, *extra)
        assert rc == 2 and "is a folder" in _one_error_line(err)
    assert list(folder.iterdir()) == []
    (tmp_path / "notes.txt").write_text("x")
    rc, err = _score(capsys, preds, labels, tmp_path / "notes.txt" / "scores.json")
    assert rc == 2 and "notes.txt is a file, not a folder" in _one_error_line(err)


def test_a_scored_file_is_never_written_over(tmp_path, capsys):
    preds, labels = _copy(tmp_path, "xnli")
    label, pred = labels / "xnli" / "test-de.tsv", preds / "xnli" / "test-de.tsv"
    before = {p: p.read_bytes() for p in (label, pred)}
    link = tmp_path / "link.json"
    link.symlink_to(label)
    hard = tmp_path / "hard.json"
    os.link(pred, hard)
    # The files themselves, a new file beside them, a symlink to one and a hard link to one: all refused, even with
    # overwrite=true.
    for out in (label, pred, labels / "xnli" / "scores.json", preds / "xnli" / "test-xx.tsv", link, hard):
        rc, err = _score(capsys, preds, labels, out, "overwrite=true")
        assert rc == 2 and "the files being scored" in _one_error_line(err), out
    assert {p: p.read_bytes() for p in (label, pred)} == before
    assert not (labels / "xnli" / "scores.json").exists() and not (preds / "xnli" / "test-xx.tsv").exists()
    # Beside the task folders is fine: scores kept with the submission they describe.
    assert _score(capsys, preds, labels, preds / "scores.json")[0] == 0
    assert sub.score_folder(preds, labels)["xnli"]["languages"]["de"] == \
        json.loads((preds / "scores.json").read_text())["xnli"]["languages"]["de"]


# ---------------------------------------------------------------------------------------------------------- inputs


def _hand_made(tmp_path: Path) -> tuple[Path, Path]:
    """Labels and predictions of the task kinds the mock fixture lacks (xcopa jsonl, mewslix json)."""
    labels, preds = tmp_path / "hlabels", tmp_path / "hpreds"
    rows = [{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": lab, "idx": i}
            for i, lab in enumerate([0, 1, 1, 0])]
    (labels / "xcopa").mkdir(parents=True)
    (labels / "xcopa" / "test-et.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (labels / "mewslix").mkdir(parents=True)
    (labels / "mewslix" / "test-en.json").write_text(json.dumps({"m1": ["Q1"], "m2": ["Q2"]}), encoding="utf-8")
    sub.write_predictions("xcopa", "et", [0, 1, 0, 0], preds)
    sub.write_predictions("mewslix", "en", {"m1": ["Q9", "Q1"], "m2": ["Q2"]}, preds)
    return preds, labels


def _rewrite_all(root: Path, change) -> int:
    files = [p for p in root.rglob("test-*") if p.is_file()]
    for p in files:
        p.write_bytes(change(p.read_bytes()))
    return len(files)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_byte_order_mark_changes_no_score(tmp_path, newline):
    tasks = ("xnli", "pawsx", "tatoeba", "udpos", "panx", "bucc2018", "xquad", "mlqa", "tydiqa")
    plain = sub.score_folder(MOCK / "predictions", MOCK / "labels")
    hand_plain = sub.score_folder(*_hand_made(tmp_path / "plain"))
    preds, labels = _copy(tmp_path / "bom", *tasks)
    hpreds, hlabels = _hand_made(tmp_path / "bom")

    def with_bom(data: bytes) -> bytes:
        return BOM + data.replace(b"\n", newline)

    assert sum(_rewrite_all(root, with_bom) for root in (preds, labels, hpreds, hlabels)) > 100
    assert sub.score_folder(preds, labels) == {t: plain[t] for t in tasks}
    assert sub.score_folder(hpreds, hlabels) == hand_plain
    assert hand_plain["xcopa"]["languages"]["et"] == {"accuracy": 75.0}


@pytest.mark.parametrize("task,name", [("xnli", "test-de.tsv"), ("udpos", "test-en.tsv"), ("xquad", "test-es.json")])
@pytest.mark.parametrize("side", ["predictions", "labels"])
def test_non_utf8_file_is_one_error_naming_file_and_offset(tmp_path, capsys, task, name, side):
    preds, labels = _copy(tmp_path, task)
    bad = (preds if side == "predictions" else labels) / task / name
    data = bad.read_bytes()
    cut = data.index(b"\n") + 1  # the start of the second line
    bad.write_bytes(data[:cut] + b"caf\xe9" + data[cut:])  # Latin-1 é
    rc, err = _score(capsys, preds, labels, tmp_path / "o.json")
    line = _one_error_line(err)
    assert rc == 2 and f"{bad} is not UTF-8: byte {cut + 3} (line 2)" in line and "save the file as UTF-8" in line
    assert not (tmp_path / "o.json").exists()


def test_non_utf8_offset_counts_the_byte_order_mark(tmp_path):
    preds, labels = _hand_made(tmp_path)
    bad = labels / "xcopa" / "test-et.jsonl"
    bad.write_bytes(BOM + b"\xff" + bad.read_bytes())
    with pytest.raises(sub.SubmissionError, match=r"test-et\.jsonl is not UTF-8: byte 3 \(line 1\)"):
        sub.score_folder(preds, labels)


def _link_instead(path: Path, target: Path) -> None:
    shutil.copy(path, target)
    path.unlink()
    path.symlink_to(target)


def _unlink(path: Path, target: Path) -> None:
    path.unlink()
    shutil.copy(target, path)


def test_linked_prediction_and_label_files_are_refused(tmp_path, capsys):
    preds, labels = _copy(tmp_path, "xnli", "pawsx")
    # A prediction linked to a copy inside its own folder, a label file linked in from elsewhere: refused, not read.
    for path, target in ((preds / "xnli" / "test-de.tsv", preds / "xnli" / "de-copy"),
                         (labels / "pawsx" / "test-fr.tsv", tmp_path / "elsewhere.tsv")):
        _link_instead(path, target)
        rc, err = _score(capsys, preds, labels, tmp_path / "o.json")
        assert rc == 2 and f"{path} is a symbolic link" in _one_error_line(err)
        assert not (tmp_path / "o.json").exists()
        _unlink(path, target)
    assert _score(capsys, preds, labels, tmp_path / "o.json")[0] == 0

    # A dangling link must not quietly turn its language into a missing one.
    dangling = preds / "xnli" / "test-fr.tsv"
    dangling.unlink()
    dangling.symlink_to(tmp_path / "gone.tsv")
    with pytest.raises(sub.SubmissionError, match=r"test-fr\.tsv is a symbolic link"):
        sub.score_folder(preds, labels)
    dangling.unlink()
    # A linked task folder.
    shutil.move(preds / "pawsx", tmp_path / "pawsx-real")
    (preds / "pawsx").symlink_to(tmp_path / "pawsx-real", target_is_directory=True)
    with pytest.raises(sub.SubmissionError, match=r"task folder .*pawsx is a symbolic link"):
        sub.score_folder(preds, labels)
    # The public readers refuse links too.
    (tmp_path / "lnk.tsv").symlink_to(tmp_path / "elsewhere.tsv")
    with pytest.raises(sub.SubmissionError, match=r"prediction file .*lnk\.tsv is a symbolic link"):
        sub.read_predictions("pawsx", tmp_path / "lnk.tsv")
    with pytest.raises(sub.SubmissionError, match=r"label file .*lnk\.tsv is a symbolic link"):
        sub.score_files("pawsx", "fr", tmp_path / "elsewhere.tsv", tmp_path / "lnk.tsv")


@pytest.mark.parametrize("task", ["xnli", "pawsx", "tatoeba"])
def test_line_count_mismatch_names_both_counts(tmp_path, capsys, task):
    preds, labels = _copy(tmp_path, task)
    pred = next((preds / task).glob("test-*.tsv"))
    label = labels / task / pred.name
    n = len(label.read_text(encoding="utf-8").splitlines())
    pred.write_text(pred.read_text(encoding="utf-8") + "extra\n", encoding="utf-8")
    rc, err = _score(capsys, preds, labels, tmp_path / "o.json")
    assert rc == 2 and f"{pred} has {n + 1} lines but {label} has {n}" in _one_error_line(err)


def test_xcopa_count_mismatch_names_both_counts(tmp_path):
    preds, labels = _hand_made(tmp_path)
    sub.write_predictions("xcopa", "et", [0, 1, 0], preds)
    with pytest.raises(sub.SubmissionError, match=r"test-et\.jsonl has 3 lines but .*test-et\.jsonl has 4"):
        sub.score_folder(preds, labels)
