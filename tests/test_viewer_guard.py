"""Nothing read that should not be: every file the viewer (and the report) opens goes through one guard
(``results.read_guarded``): no link leading out of the results / runs folders, only regular files (a FIFO would
block the view forever), a size limit."""
from __future__ import annotations

import json
import os
import signal

import pytest

from xstilts import report
from xstilts.results import UnsafeFile, find_results, read_guarded
from xstilts.view import loading

HISTORY = json.dumps({"log_history": [{"step": 5, "loss": 1.0}]})


@pytest.fixture(autouse=True)
def no_hang():
    """A read that blocks (a FIFO opened for reading) fails the test after 10 s instead of hanging the suite."""
    def stop(*_):
        raise TimeoutError("blocked reading a file")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_metrics_json_linking_out_of_the_folders_is_never_read(tmp_path):
    """Issue 25: the viewer listed such a link as "not read" and then read it for the training curves."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "metrics.json").write_text(HISTORY)
    run = tmp_path / "results" / "p3"
    run.mkdir(parents=True)
    (run / "metrics.json").symlink_to(secret / "metrics.json")
    loaded = loading.load_results(tmp_path / "results")
    assert "p3/metrics.json" in dict(loaded.broken)
    history, why = loading.training_history(str(run), [tmp_path / "results"])
    assert history is None and "outside the folders that may be read" in why
    assert not loading.has_training_history(str(run), [tmp_path / "results"])


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    """Issue 25: a FIFO named metrics.json blocked the view forever; one named like a result blocked the report."""
    run = tmp_path / "results" / "p3"
    run.mkdir(parents=True)
    os.mkfifo(run / "metrics.json")
    os.mkfifo(run / "xnli.json")
    history, why = loading.training_history(str(run), [tmp_path / "results"])
    assert history is None and "not a regular file" in why
    assert not loading.has_training_history(str(run), [tmp_path / "results"])
    assert find_results(tmp_path / "results") == ([], [])
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_guarded(run / "xnli.json", [tmp_path], 100)


def test_files_over_the_limit_and_links_inside_are_handled(tmp_path):
    (tmp_path / "big.json").write_text("x" * 101)
    with pytest.raises(UnsafeFile, match="over the"):
        read_guarded(tmp_path / "big.json", [tmp_path], 100)
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "a.json")  # a link that stays inside: its target is read
    assert read_guarded(tmp_path / "link.json", [tmp_path], 100) == "{}"
    with pytest.raises(FileNotFoundError):
        read_guarded(tmp_path / "gone.json", [tmp_path], 100)


def test_the_report_lists_a_fifo_result_without_blocking(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    os.mkfifo(tmp_path / "r" / "xnli.json")
    assert report.main([str(tmp_path)]) == 2
    assert "no readable result files" in capsys.readouterr().err
