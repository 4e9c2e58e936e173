"""Bad data rows and files: every case is one ``DataError`` naming the file and the line (or the JSON path / dataset
row) and the fix, or exit 2 through the real script; rows without gold label are dropped only where the official
data has them, counted, never trained or scored as label -1; QA answers that cannot be trained as spans are counted
and dropped, or stop training above the threshold."""
from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

import evaluate_xtreme
from xstilts import data, qa, tasktypes
from xstilts.encoders import build_tokenizer
from xstilts.tasks import get_task


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _xnli_dev(tmp_path: Path, text: str) -> list[dict]:
    _write(tmp_path / "xnli" / "dev-de.tsv", text)
    task = get_task("xnli")
    return data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path))


# ---- 1. labels: unknown, empty, out of range ------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["maybe", "contradictory", "3", "neutral neutral"])
def test_tsv_row_with_unknown_label_names_file_line_and_labels(tmp_path, label):
    with pytest.raises(data.DataError) as err:
        _xnli_dev(tmp_path, f"A\tB\tneutral\nC\tD\t{label}\n")
    msg = str(err.value)
    assert f"dev-de.tsv:2: unknown label {label!r}" in msg and "contradiction, entailment, neutral" in msg


def test_unlabelled_rows_are_dropped_with_a_count_where_the_official_data_has_them(tmp_path, monkeypatch):
    """SNLI marks rows without gold label "-": its local file drops them as its Hub copy (keep="gold") does, counted
    in the log and in the notes an evaluation records."""
    task = get_task("anli_plus")
    snli = task.train[3]
    _write(tmp_path / "snli" / "train-en.tsv", "p\th\tneutral\np\th\t-\np\th\t\np\th\tentailment\n")
    notes: list[str] = []
    rows = data.load_split(task, snli, "xtreme", "en", "train", str(tmp_path), notes=notes)
    assert [r["label"] for r in rows] == [1, 0]
    assert len(notes) == 1 and "2 of 4 rows without a gold label dropped" in notes[0] and "train-en.tsv" in notes[0]
    # The Hub copy: -1 rows dropped and counted the same way.
    ds = datasets.Dataset.from_list([{"premise": "p", "hypothesis": "h", "label": lab} for lab in (0, -1, 2)],
                                    features=data.hub_features(snli.hub))
    monkeypatch.setattr(data, "hub_loader", lambda *a: ds)
    hub_notes: list[str] = []
    rows = data.load_split(task, snli, "hub", "en", "train", notes=hub_notes)
    assert [r["label"] for r in rows] == [0, 2] and "1 of 3 rows without a gold label dropped" in hub_notes[0]


def test_xnli_file_and_hub_copy_treat_an_unlabelled_row_alike(tmp_path, monkeypatch, capsys):
    """XNLI's Hub split drops -1 rows (keep="gold"); its XTREME-folder file drops an empty label the same way, and
    says so, instead of scoring it as a wrong answer."""
    notes: list[str] = []
    _write(tmp_path / "xnli" / "dev-de.tsv", "A\tB\tneutral\nC\tD\t\nE\tF\t-1\n")
    task = get_task("xnli")
    rows = data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path), notes=notes)
    assert [r["label"] for r in rows] == [1] and "2 of 3 rows without a gold label dropped" in notes[0]
    assert "2 of 3 rows without a gold label dropped" in capsys.readouterr().out


def test_hub_row_without_label_where_none_may_lack_one_is_an_error(monkeypatch):
    """XCOPA's Hub split has no row filter: a label of -1 names the dataset row instead of being scored as wrong."""
    task = get_task("xcopa")
    split = task.eval["test"]
    row = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0, "changed": False}
    ds = datasets.Dataset.from_list([{**row, "label": 1}, {**row, "label": -1}], features=data.hub_features(split.hub))
    monkeypatch.setattr(data, "hub_loader", lambda *a: ds)
    with pytest.raises(data.DataError, match=r"cambridgeltl/xcopa .* row 1: no gold label \(-1\).* 0\.\.1"):
        data.load_split(task, split, "hub", "et", "test")


@pytest.mark.parametrize("line,problem", [
    ('{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 2}', "unknown label 2"),
    ('{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": ""}', "without a gold label"),
    ('{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause"}', "lacks field 'label'"),
    ('["not", "an", "object"]', "must be a JSON object"),
    ('{"premise": ', "invalid JSON line"),
])
def test_jsonl_rows_name_file_and_line(tmp_path, line, problem):
    good = '{"premise": "p", "choice1": "a", "choice2": "b", "question": "effect", "label": 0}'
    _write(tmp_path / "xcopa" / "data" / "et" / "test.et.jsonl", f"{good}\n\n{line}\n")
    task = get_task("xcopa")
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["test"], "xtreme", "et", "test", str(tmp_path))
    assert "test.et.jsonl:3" in str(err.value) and problem in str(err.value)


def test_siqa_letter_outside_the_choices(tmp_path):
    row = {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c"}
    _write(tmp_path / "siqa" / "socialIQa_v1.4_dev.jsonl",
           json.dumps({**row, "correct": "B"}) + "\n" + json.dumps({**row, "correct": "D"}) + "\n")
    task = get_task("siqa")
    with pytest.raises(data.DataError, match=r"socialIQa_v1.4_dev.jsonl:2: unknown label 'D'; expected one of A, B, C"):
        data.load_split(task, task.dev, "xtreme", "en", "validation", str(tmp_path))


@pytest.mark.parametrize("tag,problem", [("", "without a gold label"), ("B-FOO", "unknown label 'B-FOO'")])
def test_conll_tag_names_its_line(tmp_path, tag, problem):
    _write(tmp_path / "panx" / "dev-de.tsv", f"de:Berlin\tB-LOC\nde:ist\tO\n\nde:Paris\tB-LOC\nde:x\t{tag}\n")
    task = get_task("panx")
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["validation"], "xtreme", "de", "validation", str(tmp_path))
    assert "dev-de.tsv:5" in str(err.value) and problem in str(err.value) and "B-PER" in str(err.value)


def test_integer_labels_without_a_name_table_are_range_checked(tmp_path):
    """SST-2's local file stores 0/1: anything else is named, never a class the head does not have."""
    task = get_task("sst2")
    _write(tmp_path / "sst2" / "dev-en.tsv", "good\t\t1\nbad\t\t5\n")
    # sst2's tsv has text_a, text_b, label columns; text_b empty
    with pytest.raises(data.DataError, match=r"dev-en.tsv:2: unknown label '5'; expected one of 0\.\.1"):
        data.load_split(task, task.dev, "xtreme", "en", "validation", str(tmp_path))


def test_embedded_rows_name_file_and_line(tmp_path, monkeypatch):
    """The embedded quickstart data goes through the same checks, naming the shipped file and its line."""
    task = get_task("xcopa")
    row = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0, "changed": False}
    path = _write(tmp_path / "xcopa" / "test-et.jsonl", json.dumps({**row, "label": 0}) + "\n"
                  + json.dumps({**row, "label": 3}) + "\n")
    monkeypatch.setattr(data, "embedded_path", lambda rel: tmp_path / rel)
    with pytest.raises(data.DataError, match=rf"{path}:2: unknown label 3; expected one of 0\.\.1"):
        data.load_split(task, task.eval["test"], "embedded", "et", "test")
    _write(path, json.dumps({**row, "label": 0}) + "\n{oops\n")
    with pytest.raises(data.DataError, match=rf"{path}:2: invalid JSON line"):
        data.load_split(task, task.eval["test"], "embedded", "et", "test")


# ---- the featurizer's guard: no -1 / None label reaches a head -------------------------------------------------------
@pytest.fixture(scope="module")
def tok():
    corpus = ["the cat sees the dog in the big city", "Paris is the capital of France", "who won the prize"] * 20
    return build_tokenizer("xlm-roberta", corpus, 120)


@pytest.mark.parametrize("label", [-1, None, 3])
def test_encode_refuses_a_label_outside_the_head(tok, label):
    rows = [{"text_a": "the cat", "text_b": "the dog", "label": 0}, {"text_a": "a", "text_b": "b", "label": label}]
    with pytest.raises(data.DataError, match=r"task xnli: row 1 has label .* not a class id 0\.\.2"):
        tasktypes.build(get_task("xnli")).encode(rows, tok, 32, train=False)


def test_encode_refuses_an_untagged_word(tok):
    rows = [{"tokens": ["the", "cat"], "tags": [0, -1]}]
    with pytest.raises(data.DataError, match=r"task panx: sentence 0 has tag\(s\) \[-1\]"):
        tasktypes.build(get_task("panx")).encode(rows, tok, 32, train=True)


# ---- 2. QA answers that do not sit in the context --------------------------------------------------------------------
CONTEXT = "Paris is the capital of France. The cat sees the dog in the big city."


def _qa_rows(n_good: int, bad: list[dict]) -> list[dict]:
    good = {"context": CONTEXT, "question": "what is the capital of France?",
            "answers": {"text": ["Paris"], "answer_start": [0]}}
    rows = [{**good, "id": f"q{i}"} for i in range(n_good)]
    return rows + [{"context": CONTEXT, "question": "who?", "id": f"bad{i}", "answers": a} for i, a in enumerate(bad)]


def test_unusable_answers_are_found_and_named(tok):
    answers = [{"text": ["Paris"], "answer_start": [0]},
               {"text": ["Paris"], "answer_start": [5]},     # answer_start off: the context reads " is t"
               {"text": ["France"], "answer_start": [500]},  # beyond the context
               {"text": [], "answer_start": []}]             # unanswerable (SQuAD v2): CLS is right
    enc = qa.prepare_qa_features(tok, ["q"] * 4, [CONTEXT] * 4, max_length=48, doc_stride=8, max_query_length=8,
                                 answers=answers)
    problems = qa.unusable_answers([CONTEXT] * 4, answers, enc)
    assert sorted(problems) == [1, 2]
    assert "answer_start 5: the context reads ' is t' there" in problems[1]
    # An answer longer than any window is in no window: named with the fix.
    long_text = CONTEXT[:60]
    answers = [{"text": [long_text], "answer_start": [0]}]
    enc = qa.prepare_qa_features(tok, ["q"], [CONTEXT], max_length=16, doc_stride=4, max_query_length=4,
                                 answers=answers)
    assert "lies in no single window" in qa.unusable_answers([CONTEXT], answers, enc)[0]


def test_few_unusable_answers_are_dropped_with_a_warning_never_trained_as_no_answer(tok, capsys):
    task = get_task("squad")
    rows = _qa_rows(39, [{"text": ["Paris"], "answer_start": [7]}])  # 1 of 40 = 2.5%
    enc = tasktypes.build(task).encode(rows, tok, 96, train=True)
    out = capsys.readouterr().out
    assert "1 of 40 training questions (2.5%)" in out and "bad0: answer_start 7" in out and "dropped" in out
    assert enc.unusable_answers == 1
    # The bad question contributes no training feature (neither a wrong span nor a "no answer" CLS label).
    qa_enc = enc.windows
    expected = [qa_enc["input_ids"][i] for i, ex in enumerate(qa_enc["example_index"]) if ex != 39]
    assert [f["input_ids"] for f in enc.features] == expected and len(expected) < len(qa_enc["input_ids"])


def test_many_unusable_answers_stop_training(tok):
    task = get_task("squad")
    rows = _qa_rows(10, [{"text": ["France"], "answer_start": [0]}] * 2)  # 2 of 12 = 16.7% > 5%
    with pytest.raises(data.DataError, match=r"2 of 12 training questions \(16\.7%\).*more than 5%"):
        tasktypes.build(task).encode(rows, tok, 96, train=True)
    # Evaluation rows are scored by their answer texts: not checked, not dropped.
    assert len(tasktypes.build(task).encode(rows, tok, 96, train=False).features) >= 12


# ---- 3. malformed files ----------------------------------------------------------------------------------------------
def _squad(qas: list | None = None, context: object = CONTEXT) -> dict:
    qas = qas if qas is not None else [{"id": "a", "question": "q", "answers": [{"text": "Paris", "answer_start": 0}]}]
    return {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}


GOOD_QA = {"id": "a", "question": "q", "answers": [{"text": "Paris", "answer_start": 0}]}


@pytest.mark.parametrize("doc,at,problem", [
    ([], "top level", "is list, expected an object"),
    ({"version": "1.1"}, "data", "missing"),
    ({"data": {"paragraphs": []}}, "data", "expected a list of articles"),
    (_squad(context=""), "data[0].paragraphs[0].context", "is empty"),
    (_squad(context=None), "data[0].paragraphs[0].context", "expected a string"),
    (_squad([GOOD_QA, {"id": "b", "question": "q",
                       "answers": [{"text": "Paris", "answer_start": "zero"}]}]),
     "data[0].paragraphs[0].qas[1].answers[0].answer_start", "expected a character offset"),
    (_squad([GOOD_QA, {"id": "b", "answers": []}]), "data[0].paragraphs[0].qas[1].question", "missing"),
    (_squad([{"id": "b", "question": "q"}]), "data[0].paragraphs[0].qas[0].answers", "missing"),
    (_squad([{"id": "b", "question": "q", "answers": [{"answer_start": 0}]}]),
     "data[0].paragraphs[0].qas[0].answers[0].text", "missing"),
])
def test_malformed_squad_json_names_the_json_path(tmp_path, doc, at, problem):
    _write(tmp_path / "xquad" / "xquad.de.json", json.dumps(doc))
    task = get_task("xquad")
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["test"], "xtreme", "de", "test", str(tmp_path))
    msg = str(err.value)
    assert f"xquad.de.json: {at}: " in msg and problem in msg.split(f"{at}: ", 1)[1] and '"answer_start"' in msg


def test_tatoeba_files_of_unequal_length_name_both_files_and_counts(tmp_path):
    _write(tmp_path / "tatoeba" / "tatoeba.deu-eng.deu", "Hallo.\nDanke.\nJa.\n")
    _write(tmp_path / "tatoeba" / "tatoeba.deu-eng.eng", "Hello.\nThanks.\n")
    task = get_task("tatoeba")
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval["test"], "xtreme", "de", "test", str(tmp_path))
    msg = str(err.value)
    assert "tatoeba.deu-eng.deu has 3 lines" in msg and "tatoeba.deu-eng.eng has 2" in msg


def test_tsv_with_wrong_column_count_names_file_and_line(tmp_path):
    with pytest.raises(data.DataError, match=r"dev-de.tsv:3: expected 3 tab-separated columns .* found 4"):
        _xnli_dev(tmp_path, "A\tB\tneutral\nC\tD\tneutral\nE\tF\tneutral\textra\n")


@pytest.mark.parametrize("name", ["xnli", "tatoeba"])
def test_non_utf8_file_names_file_and_byte_offset(tmp_path, name):
    bad = "Ein Satz\tNoch\tneutral\n".encode() + b"Gr\xfc\xdfe\tB\tneutral\n"
    if name == "xnli":
        path = _write(tmp_path / "xnli" / "dev-de.tsv", bad)
        task, split = get_task("xnli"), "validation"
    else:
        path = _write(tmp_path / "tatoeba" / "tatoeba.deu-eng.deu", bad)
        _write(tmp_path / "tatoeba" / "tatoeba.deu-eng.eng", "a\nb\n")
        task, split = get_task("tatoeba"), "test"
    with pytest.raises(data.DataError) as err:
        data.load_split(task, task.eval[split], "xtreme", "de", split, str(tmp_path))
    assert f"{path}: not UTF-8 text: byte offset 24 (line 2)" in str(err.value)


def test_malformed_tatoeba_exits_2_through_the_script_not_a_skipped_language(tiny_phase1, tmp_path, capsys):
    """A broken file is an error even where an absent one would only make the result partial."""
    _write(tmp_path / "x" / "tatoeba" / "tatoeba.deu-eng.deu", "Hallo.\nDanke.\n")
    _write(tmp_path / "x" / "tatoeba" / "tatoeba.deu-eng.eng", "Hello.\n")
    rc = evaluate_xtreme.main([f"input={tiny_phase1}", f"output={tmp_path}/r", "task=tatoeba",
                               "data.source=xtreme", f"data.path={tmp_path}/x"])
    err = capsys.readouterr().err
    assert rc == 2 and "tatoeba.deu-eng.deu has 2 lines" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "tatoeba.json").exists()


def test_pawsx_test_reads_the_releases_labelled_files_when_xtremes_are_absent(tmp_path):
    """XTREME's download strips PAWS-X test labels; the PAWS-X release's test_2k.tsv (header id, sentence1,
    sentence2, label), kept as pawsx/test-<lang>.labeled.tsv, is read in its place."""
    from xstilts.errors import DataMissing

    task = get_task("pawsx")
    folder = tmp_path / "pawsx"
    folder.mkdir()
    (folder / "test-de.labeled.tsv").write_text("id\tsentence1\tsentence2\tlabel\n7\tEin Satz.\tZwei Sätze.\t1\n"
                                                "9\tDrei.\tVier.\t0\n", encoding="utf-8")
    rows = data.load_split(task, task.eval["test"], "xtreme", "de", "test", str(tmp_path))
    assert [(r["text_a"], r["text_b"], r["label"]) for r in rows] == [("Ein Satz.", "Zwei Sätze.", 1),
                                                                      ("Drei.", "Vier.", 0)]
    # XTREME's own layout wins where it is there.
    (folder / "test-de.tsv").write_text("A.\tB.\t0\n", encoding="utf-8")
    assert [r["text_a"] for r in data.load_split(task, task.eval["test"], "xtreme", "de", "test", str(tmp_path))] \
        == ["A."]
    with pytest.raises(DataMissing, match=r"pawsx/\{split\}-\{lang\}.tsv or pawsx/\{split\}-\{lang\}.labeled.tsv"):
        data.load_split(task, task.eval["test"], "xtreme", "zh", "test", str(tmp_path))


def test_an_unusable_answer_is_named_in_a_short_line():
    from xstilts.qa import _quoted

    assert _quoted("Paris") == "'Paris'"
    long = "blight " * 100
    assert _quoted(long) == repr(long[:80]) + "... (700 characters)"
