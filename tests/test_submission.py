"""The submission layout: scoring the official mock submission, partial folders, errors, write -> score round trips.

Expected numbers come from outside ``xstilts``: the task averages the XTREME repository's own ``evaluate_test.py``
asserts for this very mock data, and a small reference scorer below that follows the official ``evaluate.py``,
``evaluate_squad.py``, ``evaluate_mlqa.py``, seqeval 0.0.12 and Mewsli-X's ``evaluate`` step by step (it shares no
code with the package).
"""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import string
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from xstilts import submission as sub
from xstilts.errors import SubmissionError
from xstilts.tasks import TASKS, get_task, register

MOCK = Path(__file__).parent / "fixtures" / "xtreme_mock"

# google-research/xtreme evaluate_test.py, TASK2AVG_SCORES (the version matching this mock data).
OFFICIAL_AVERAGES = {
    "pawsx": {"accuracy": 51.42857142857143},
    "xnli": {"accuracy": 30.666666666666668},
    "panx": {"f1": 57.50793650793652, "precision": 54.729166666666664, "recall": 62.750000000000014},
    "udpos": {"f1": 70.21746048354693, "precision": 71.02232625883823, "recall": 69.54982073976082},
    "bucc2018": {"f1": 55.0, "precision": 55.0, "recall": 55.0},
    "tatoeba": {"accuracy": 53.611111111111114},
    "xquad": {"exact_match": 77.27272727272727, "f1": 79.9586776859504},
    "mlqa": {"exact_match": 57.142857142857146, "f1": 81.76870748299321},
    "tydiqa": {"exact_match": 88.88888888888889, "f1": 97.22222222222223},
}


# --------------------------------------------------------------------------------------------------------------------
# Reference scorer: the official scripts, step by step, kept deliberately literal.

_REF_PUNCT = None


def _ref_mlqa_punct():
    global _REF_PUNCT
    if _REF_PUNCT is None:
        _REF_PUNCT = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}.union(
            string.punctuation
        )
    return _REF_PUNCT


def _ref_squad_norm(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _ref_mlqa_norm(s, lang):
    punct = _ref_mlqa_punct()
    s = "".join(ch for ch in s.lower() if ch not in punct)
    patterns = {
        "en": r"\b(a|an|the)\b",
        "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
        "vi": r"\b(của|là|cái|chiếc|những)\b",
        "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
        "ar": "\\sال^|ال",
    }
    if lang in patterns:
        s = re.sub(patterns[lang], " ", s)
    if lang == "zh":
        segs, tmp = [], ""
        for char in s:
            if re.search(r"[\u4e00-\u9fa5]", char) or char in punct:
                if tmp != "":
                    segs.extend(tmp.split())
                    tmp = ""
                segs.append(char)
            else:
                tmp += char
        if tmp != "":
            segs.extend(tmp.split())
        tokens = segs
    else:
        tokens = s.split()
    return " ".join([t for t in tokens if t.strip() != ""])


def _ref_f1(pred_tokens, gold_tokens):
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _ref_qa(dataset, predictions, norm):
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                golds = [x["text"] for x in qa["answers"]]
                pred = predictions[qa["id"]]
                exact_match += max(norm(pred) == norm(g) for g in golds)
                f1 += max(_ref_f1(norm(pred).split(), norm(g).split()) for g in golds)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def _ref_end_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_end = False
    if prev_tag == "E":
        chunk_end = True
    if prev_tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag == "B":
        chunk_end = True
    if prev_tag == "B" and tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag == "O":
        chunk_end = True
    if prev_tag == "I" and tag == "B":
        chunk_end = True
    if prev_tag == "I" and tag == "S":
        chunk_end = True
    if prev_tag == "I" and tag == "O":
        chunk_end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        chunk_end = True
    return chunk_end


def _ref_start_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_start = False
    if tag == "B":
        chunk_start = True
    if tag == "S":
        chunk_start = True
    if prev_tag == "E" and tag == "E":
        chunk_start = True
    if prev_tag == "E" and tag == "I":
        chunk_start = True
    if prev_tag == "S" and tag == "E":
        chunk_start = True
    if prev_tag == "S" and tag == "I":
        chunk_start = True
    if prev_tag == "O" and tag == "E":
        chunk_start = True
    if prev_tag == "O" and tag == "I":
        chunk_start = True
    if tag != "O" and tag != "." and prev_type != type_:
        chunk_start = True
    return chunk_start


def _ref_entities(seq):
    if any(isinstance(s, list) for s in seq):
        seq = [item for sublist in seq for item in sublist + ["O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for i, chunk in enumerate(seq + ["O"]):
        tag, type_ = chunk[0], chunk.split("-")[-1]
        if _ref_end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _ref_start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _ref_tagging(labels, predictions):
    true_entities, pred_entities = set(_ref_entities(labels)), set(_ref_entities(predictions))
    nb_correct = len(true_entities & pred_entities)
    p = nb_correct / len(pred_entities) if len(pred_entities) > 0 else 0
    r = nb_correct / len(true_entities) if len(true_entities) > 0 else 0
    f = 2 * p * r / (p + r) if p + r > 0 else 0
    return {"f1": f * 100, "precision": p * 100, "recall": r * 100}


def _ref_read_tag(path):
    labels, example = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                example.append(line)
            else:
                labels.append(example)
                example = []
    if example:
        labels.append(example)
    return labels


def _ref_read_label(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def _ref_score(task, pred_file, label_file, lang):
    """One language, the official way."""
    if task in ("xnli", "pawsx", "tatoeba"):
        p, g = _ref_read_label(pred_file), _ref_read_label(label_file)
        return {"accuracy": float(sum(int(a == b) for a, b in zip(p, g, strict=True))) / len(p) * 100}
    if task in ("udpos", "panx"):
        return _ref_tagging(_ref_read_tag(label_file), _ref_read_tag(pred_file))
    if task == "bucc2018":
        g = {tuple(line.split("\t")) for line in _ref_read_label(label_file)}
        p = {tuple(line.split("\t")) for line in _ref_read_label(pred_file)}
        n = len(g & p)
        if n == 0:
            return {"f1": 0, "precision": 0, "recall": 0}
        prec, rec = n / len(p), n / len(g)
        return {"f1": 2 * prec * rec / (prec + rec) * 100, "precision": prec * 100, "recall": rec * 100}
    pred = json.loads(Path(pred_file).read_text(encoding="utf-8"))
    gold = json.loads(Path(label_file).read_text(encoding="utf-8"))
    if task in ("xquad", "tydiqa"):
        return _ref_qa(gold["data"], pred, _ref_squad_norm)
    if task == "mlqa":
        return _ref_qa(gold["data"], pred, lambda s: _ref_mlqa_norm(s, lang))
    assert task == "mewslix"
    ranks = []
    for ex_id, labels in gold.items():
        g = labels[0].strip()
        top = pred.get(ex_id, [])[:20]
        rr = 0.0
        for rank, p in enumerate(top, start=1):
            if p == g:
                rr = 1.0 / rank
                break
        ranks.append(rr)
    return {"map@20": (sum(ranks) / len(ranks) if ranks else 0.0) * 100}


# --------------------------------------------------------------------------------------------------------------------
# The mock submission


@pytest.fixture(scope="module")
def mock_results():
    return sub.score_folder(MOCK / "predictions", MOCK / "labels")


def test_mock_task_averages_equal_the_official_test(mock_results):
    for task, expected in OFFICIAL_AVERAGES.items():
        average = dict(mock_results[task]["average"])
        if task == "udpos":
            average.pop("accuracy")  # our extra UD-POS token accuracy; the official scorer reports only F1
        assert average == expected, task  # exact: same arithmetic as the official scorer
        assert mock_results[task]["partial"] is False
        assert mock_results[task]["missing_languages"] == []


def test_mock_every_language_equals_the_reference_scorer(mock_results):
    assert set(mock_results) == set(OFFICIAL_AVERAGES) | {"mewslix"}
    for task, result in mock_results.items():
        assert set(result["languages"]) == set(sub.SUBMISSION_TASKS[task].official_languages), task
        for lang, scores in result["languages"].items():
            ext = sub.extension(task)
            expected = _ref_score(
                task, MOCK / "predictions" / task / f"test-{lang}.{ext}", MOCK / "labels" / task / f"test-{lang}.{ext}",
                lang,
            )
            got = {k: v for k, v in scores.items() if not (task == "udpos" and k == "accuracy")}
            assert got == pytest.approx(expected, abs=1e-12), (task, lang)


def test_mock_task_scores(mock_results):
    xquad = OFFICIAL_AVERAGES["xquad"]
    assert mock_results["xquad"]["score"] == (xquad["exact_match"] + xquad["f1"]) / 2
    assert mock_results["udpos"]["score"] == OFFICIAL_AVERAGES["udpos"]["f1"]
    assert mock_results["bucc2018"]["score"] == 55.0
    assert mock_results["xnli"]["score"] == OFFICIAL_AVERAGES["xnli"]["accuracy"]
    # Mewsli-X: the mean over its 11 languages of the per-language reference MRR@20.
    per_lang = [
        _ref_score(
            "mewslix", MOCK / "predictions/mewslix" / f"test-{lang}.json",
            MOCK / "labels/mewslix" / f"test-{lang}.json", lang,
        )
        for lang in sub.SUBMISSION_TASKS["mewslix"].official_languages
    ]
    assert mock_results["mewslix"]["score"] == pytest.approx(sum(s["map@20"] for s in per_lang) / 11, abs=1e-12)


def test_udpos_reports_token_accuracy_too(mock_results):
    en = mock_results["udpos"]["languages"]["en"]
    preds = _ref_read_tag(MOCK / "predictions/udpos/test-en.tsv")
    golds = _ref_read_tag(MOCK / "labels/udpos/test-en.tsv")
    flat = [(p, g) for ps, gs in zip(preds, golds, strict=True) for p, g in zip(ps, gs, strict=True)]
    assert en["accuracy"] == pytest.approx(100 * sum(p == g for p, g in flat) / len(flat))


@pytest.mark.real
def test_real_mock_folder_scores_like_the_official_test(shared_data):
    root = shared_data / "xtreme-mock" / "mock_test_data"
    results = sub.score_folder(root / "predictions", root / "labels")
    for task, expected in OFFICIAL_AVERAGES.items():
        average = {k: v for k, v in results[task]["average"].items() if not (task == "udpos" and k == "accuracy")}
        assert average == expected, task


# --------------------------------------------------------------------------------------------------------------------
# Partial folders


def _copy_task(tmp_path: Path, task: str) -> tuple[Path, Path]:
    preds, labels = tmp_path / "preds", tmp_path / "labels"
    shutil.copytree(MOCK / "predictions" / task, preds / task)
    shutil.copytree(MOCK / "labels" / task, labels / task)
    return preds, labels


def test_missing_prediction_file_makes_task_partial(tmp_path, mock_results):
    preds, labels = _copy_task(tmp_path, "xnli")
    (preds / "xnli" / "test-sw.tsv").unlink()
    result = sub.score_folder(preds, labels)["xnli"]
    assert result["missing_languages"] == ["sw"]
    assert result["partial"] is True
    assert "sw" not in result["languages"]
    # Per-language numbers are unchanged; the average is over the 14 scored languages.
    full = mock_results["xnli"]["languages"]
    for lang, scores in result["languages"].items():
        assert scores == full[lang]
    expected = sum(full[lang]["accuracy"] for lang in full if lang != "sw") / 14
    assert result["average"]["accuracy"] == pytest.approx(expected)
    assert result["score"] == result["average"]["accuracy"]


def test_languages_absent_from_labels_are_missing_too(tmp_path):
    preds, labels = _copy_task(tmp_path, "pawsx")
    for path in (labels / "pawsx").iterdir():
        if path.name not in ("test-de.tsv", "test-en.tsv"):
            path.unlink()
    result = sub.score_folder(preds, labels)["pawsx"]
    assert sorted(result["languages"]) == ["de", "en"]
    assert result["missing_languages"] == ["es", "fr", "ja", "ko", "zh"]
    assert result["partial"] is True


def test_task_without_prediction_folder(tmp_path):
    preds, labels = _copy_task(tmp_path, "bucc2018")
    shutil.copytree(MOCK / "labels" / "tydiqa", labels / "tydiqa")
    result = sub.score_folder(preds, labels)
    assert result["bucc2018"]["partial"] is False
    assert result["tydiqa"]["languages"] == {}
    assert result["tydiqa"]["score"] is None
    assert result["tydiqa"]["missing_languages"] == sorted(sub.SUBMISSION_TASKS["tydiqa"].official_languages)


def test_extra_language_is_scored_but_not_averaged(tmp_path, mock_results):
    preds, labels = _copy_task(tmp_path, "xquad")
    # XTREME-R's Romanian: here simply a copy of the English files.
    shutil.copy(preds / "xquad" / "test-en.json", preds / "xquad" / "test-ro.json")
    shutil.copy(labels / "xquad" / "test-en.json", labels / "xquad" / "test-ro.json")
    result = sub.score_folder(preds, labels)["xquad"]
    assert result["extra_languages"] == ["ro"]
    assert result["languages"]["ro"] == result["languages"]["en"]
    assert result["average"] == mock_results["xquad"]["average"]
    assert result["partial"] is False


def test_unknown_folders_are_ignored_and_empty_label_root_is_an_error(tmp_path):
    preds, labels = _copy_task(tmp_path, "bucc2018")
    (labels / "notatask").mkdir()
    assert set(sub.score_folder(preds, labels)) == {"bucc2018"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sub.SubmissionError, match="no task folder"):
        sub.score_folder(preds, empty)
    with pytest.raises(FileNotFoundError, match="predictions folder"):
        sub.score_folder(tmp_path / "nope", labels)


# --------------------------------------------------------------------------------------------------------------------
# Errors


def test_line_count_mismatch_names_file_and_counts(tmp_path):
    preds, labels = _copy_task(tmp_path, "xnli")
    pred_file = preds / "xnli" / "test-de.tsv"
    lines = pred_file.read_text().splitlines()
    pred_file.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(sub.SubmissionError) as err:
        sub.score_folder(preds, labels)
    message = str(err.value)
    assert str(pred_file) in message and "test-de.tsv" in message
    assert f"{len(lines) - 1} lines" in message and f"has {len(lines)}" in message


def test_tag_count_mismatch(tmp_path):
    preds, labels = _copy_task(tmp_path, "udpos")
    pred_file = preds / "udpos" / "test-en.tsv"
    pred_file.write_text("NOUN\n" + pred_file.read_text())
    with pytest.raises(sub.SubmissionError, match=r"test-en\.tsv has \d+ tags in \d+ sentences"):
        sub.score_folder(preds, labels)


def test_malformed_bucc_line(tmp_path):
    preds, labels = _copy_task(tmp_path, "bucc2018")
    (preds / "bucc2018" / "test-de.tsv").write_text("de-1 en-1\n")
    with pytest.raises(sub.SubmissionError, match="line 1"):
        sub.score_folder(preds, labels)


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(sub.SubmissionError, match="unknown task 'squad'"):
        sub.write_predictions("squad", "en", {}, tmp_path)
    with pytest.raises(sub.SubmissionError, match="language code"):
        sub.write_predictions("xnli", "../en", ["entailment"], tmp_path)
    with pytest.raises(sub.SubmissionError, match="tabs, newlines"):
        sub.write_predictions("xnli", "en", ["entail\nment"], tmp_path)
    with pytest.raises(sub.SubmissionError, match="non-empty list of tags"):
        sub.write_predictions("panx", "en", [["O"], []], tmp_path)
    with pytest.raises(sub.SubmissionError, match="answer text"):
        sub.write_predictions("xquad", "en", {"q": ["a"]}, tmp_path)
    with pytest.raises(sub.SubmissionError, match="choice index"):
        sub.write_predictions("xcopa", "et", ["1"], tmp_path)


# --------------------------------------------------------------------------------------------------------------------
# write -> score round trips (hand-made labels, hand-derived numbers)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _squad_labels(qas: dict[str, list[str]]) -> str:
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in answers]}
        for qid, answers in qas.items()
    ]}]}]}, ensure_ascii=False)


def test_round_trip_every_task_kind(tmp_path):
    labels, preds = tmp_path / "labels", tmp_path / "preds"
    _write_text(labels / "xnli" / "test-en.tsv", "entailment\nneutral\ncontradiction\nneutral\n")
    _write_text(labels / "tatoeba" / "test-de.tsv", "3\n0\n1\n2\n")
    _write_text(labels / "udpos" / "test-en.tsv", "DET\nNOUN\nVERB\n\nPRON\nVERB\n")
    _write_text(labels / "panx" / "test-en.tsv", "B-PER\nI-PER\nO\n\nB-LOC\n")
    _write_text(labels / "bucc2018" / "test-fr.tsv", "fr-1\ten-1\nfr-2\ten-2\n")
    _write_text(labels / "xquad" / "test-en.json", _squad_labels({"q1": ["the Seine"], "q2": ["1889"]}))
    _write_text(labels / "mlqa" / "test-zh.json", _squad_labels({"z1": ["电化电池"]}))
    _write_text(labels / "mewslix" / "test-en.json", json.dumps({"m1": ["Q1"], "m2": ["Q2"]}))
    rows = [{"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": lab, "idx": i + 1}
            for i, lab in enumerate([0, 1, 1, 0])]
    _write_text(labels / "xcopa" / "test-et.jsonl", "".join(json.dumps(r) + "\n" for r in rows))

    written = [
        sub.write_predictions("xnli", "en", ["entailment", "neutral", "neutral", "neutral"], preds),
        sub.write_predictions("tatoeba", "de", [3, 0, 2, 2], preds),
        sub.write_predictions("udpos", "en", [["DET", "NOUN", "NOUN"], ["PRON", "VERB"]], preds),
        sub.write_predictions("panx", "en", [["B-PER", "I-PER", "O"], ["O"]], preds),
        sub.write_predictions("bucc2018", "fr", [("fr-2", "en-2"), ("fr-3", "en-1")], preds),
        sub.write_predictions("xquad", "en", {"q1": "Seine", "q2": "in 1889"}, preds),
        sub.write_predictions("mlqa", "zh", {"z1": "电化电池组"}, preds),
        sub.write_predictions("mewslix", "en", {"m1": ["Q9", "Q1"], "m2": ["Q2"]}, preds),
        sub.write_predictions("xcopa", "et", [0, 1, 0, 0], preds),
    ]
    assert all(p.is_file() for p in written)
    assert {p.relative_to(preds).as_posix() for p in written} == {
        "xnli/test-en.tsv", "tatoeba/test-de.tsv", "udpos/test-en.tsv", "panx/test-en.tsv",
        "bucc2018/test-fr.tsv", "xquad/test-en.json", "mlqa/test-zh.json", "mewslix/test-en.json",
        "xcopa/test-et.jsonl",
    }
    # The tagging layout: one tag per line, a blank line between sentences.
    assert (preds / "panx" / "test-en.tsv").read_text() == "B-PER\nI-PER\nO\n\nO\n"

    r = sub.score_folder(preds, labels)

    def lang(task: str, language: str) -> dict[str, float]:
        return r[task]["languages"][language]

    assert lang("xnli", "en") == {"accuracy": 75.0}
    assert lang("tatoeba", "de") == {"accuracy": 75.0}
    # udpos gold DET(0) NOUN(1) VERB(2) | PRON(4) VERB(5); pred DET(0) NOUN(1-2) | PRON(4) VERB(5): 3 of 4 and 5.
    ud = lang("udpos", "en")
    assert ud["precision"] == pytest.approx(75.0) and ud["recall"] == pytest.approx(60.0)
    assert ud["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35 * 100)
    assert ud["accuracy"] == pytest.approx(80.0)
    # panx gold PER(0-1), LOC(4); pred PER(0-1): P 1, R 1/2.
    assert lang("panx", "en") == pytest.approx({"f1": 200 / 3, "precision": 100.0, "recall": 50.0})
    # bucc: 1 of 2 predicted correct, 1 of 2 gold found.
    assert lang("bucc2018", "fr") == pytest.approx({"f1": 50.0, "precision": 50.0, "recall": 50.0})
    # xquad: q1 "Seine" vs "the Seine" EM (article dropped); q2 "in 1889" F1 2/3.
    assert lang("xquad", "en") == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 2 / 3) / 2})
    # mlqa zh: chars 电化电池组 vs 电化电池: overlap 4, P 4/5, R 1, F1 8/9.
    assert lang("mlqa", "zh") == pytest.approx({"exact_match": 0.0, "f1": 800 / 9})
    # mewslix: ranks 2 and 1 -> MRR 0.75.
    assert lang("mewslix", "en") == pytest.approx({"map@20": 75.0})
    assert lang("xcopa", "et") == {"accuracy": 75.0}
    assert r["xquad"]["score"] == pytest.approx((50.0 + 100 * (1 + 2 / 3) / 2) / 2)
    assert r["mewslix"]["score"] == pytest.approx(75.0)
    assert all(v["partial"] for v in r.values())  # one language per task only


def test_read_predictions_inverts_write(tmp_path):
    cases = {
        ("xnli", "en"): ["entailment", "neutral"],
        ("udpos", "en"): [["DET", "NOUN"], ["VERB"]],
        ("bucc2018", "de"): {("de-1", "en-3"), ("de-2", "en-1")},
        ("tydiqa", "en"): {"a": "some answer", "b": "ответ"},
        ("mewslix", "ar"): {"m": ["Q1", "Q2"]},
        ("xcopa", "zh"): [1, 0, 1],
    }
    for (task, lang), predictions in cases.items():
        path = sub.write_predictions(task, lang, predictions, tmp_path)
        assert sub.read_predictions(task, path) == predictions, task
    assert sub.read_predictions("tatoeba", sub.write_predictions("tatoeba", "fr", [5, 7], tmp_path)) == ["5", "7"]
    # No temporary files are left behind.
    assert not list(tmp_path.rglob("*.tmp"))


def test_main_score_writes_sorted_json_atomically(tmp_path):
    preds, labels = _copy_task(tmp_path, "bucc2018")
    out = tmp_path / "out" / "scores.json"
    results = sub.main_score(str(preds), str(labels), str(out))
    text = out.read_text()
    assert json.loads(text) == results
    assert text == json.dumps(results, indent=2, sort_keys=True) + "\n"
    assert results["bucc2018"]["average"] == OFFICIAL_AVERAGES["bucc2018"]
    assert [p.name for p in out.parent.iterdir()] == ["scores.json"]


def test_metric_errors_name_the_files(tmp_path):
    labels, preds = tmp_path / "labels", tmp_path / "preds"
    _write_text(labels / "tydiqa" / "test-en.json", _squad_labels({"q1": []}))
    sub.write_predictions("tydiqa", "en", {"q1": "x"}, preds)
    with pytest.raises(sub.SubmissionError, match=r"test-en\.json.*no gold answers for question 'q1'"):
        sub.score_folder(preds, labels)
    # A sentence whose tag count differs (same totals overall) is named with its index.
    _write_text(labels / "panx" / "test-en.tsv", "O\nO\n\nO\n")
    sub.write_predictions("panx", "en", [["O"], ["O", "O"]], preds)
    with pytest.raises(sub.SubmissionError, match="sentence 0 has 1 predicted tags but 2 gold"):
        sub.score_files("panx", "en", preds / "panx" / "test-en.tsv", labels / "panx" / "test-en.tsv")


def test_submission_layout_is_the_registrys():
    """Which tasks the layout holds, their file type and the official language order are task-registry fields."""
    assert {name: sub.extension(name) for name in sub.SUBMISSION_TASKS} == {
        "xnli": "tsv", "pawsx": "tsv", "udpos": "tsv", "panx": "tsv", "xquad": "json", "mlqa": "json",
        "tydiqa": "json", "xcopa": "jsonl", "tatoeba": "tsv", "bucc2018": "tsv", "mewslix": "json"}
    assert get_task("mlqa").official_languages == ("en", "es", "de", "ar", "hi", "vi", "zh")
    assert get_task("xnli").official_languages == get_task("xnli").languages  # no order of its own: the task's
    with pytest.raises(SubmissionError, match="valid task folders"):
        sub.extension("lareqa")  # a registry task the official scorer does not know
    with pytest.raises(ValueError, match="submission_order is not a reordering"):
        register(dataclasses.replace(get_task("mlqa"), name="mlqa_misordered", submission_order=("en", "de")))
    assert "mlqa_misordered" not in TASKS
