"""Checks of the synthetic quickstart data shipped in ``xstilts/quickstart_data``.

The files are written by ``tools/make_quickstart_data.py``; these tests check that every file parses, has the exact
Hugging Face Hub columns and value types of its task (a ``datasets.Dataset`` can be built with the Hub features),
that labels are balanced, languages and scripts are right, QA offsets are exact, and that the generator reproduces
the shipped files byte for byte.
"""
from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections import Counter
from pathlib import Path

import datasets
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "xstilts" / "quickstart_data"
GENERATOR = REPO / "tools" / "make_quickstart_data.py"

S = datasets.Value("string")
I32 = datasets.Value("int32")
NLI_LABELS = datasets.ClassLabel(names=["entailment", "neutral", "contradiction"])
PANX_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
ANSWERS = {"text": datasets.List(S), "answer_start": datasets.List(I32)}
# The Hub features of each task's dataset (the registry's HubSource.features); the loader builds embedded data with
# these.
HUB_FEATURES = {
    "xnli": {"premise": S, "hypothesis": S, "label": NLI_LABELS},
    "mnli": {"premise": S, "hypothesis": S, "label": NLI_LABELS, "idx": I32},
    "pawsx": {"id": I32, "sentence1": S, "sentence2": S, "label": datasets.ClassLabel(names=["0", "1"])},
    "squad": {"id": S, "title": S, "context": S, "question": S, "answers": ANSWERS},
    "xquad": {"id": S, "context": S, "question": S, "answers": ANSWERS},
    "panx": {"tokens": datasets.List(S), "ner_tags": datasets.List(datasets.ClassLabel(names=PANX_TAGS)),
             "langs": datasets.List(S)},
    "tatoeba": {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S},
    "siqa": {"context": S, "question": S, "answerA": S, "answerB": S, "answerC": S, "label": S},
    "copa": {"premise": S, "choice1": S, "choice2": S, "question": S, "idx": I32,
             "label": datasets.ClassLabel(names=["choice1", "choice2"])},
    "xcopa": {"premise": S, "choice1": S, "choice2": S, "question": S, "label": I32, "idx": I32,
              "changed": datasets.Value("bool")},
    "stsb": {"sentence1": S, "sentence2": S, "label": datasets.Value("float32"), "idx": I32},
}
SIX = ["en", "de", "es", "ru", "zh", "ar"]
# folder -> {file stem: rows}
EXPECTED = {
    "xnli": {"train-en": 300, "validation-en": 40, **{f"test-{lang}": 40 for lang in SIX}},
    "mnli": {"train-en": 300, "validation-en": 40},
    "pawsx": {"train-en": 300, "validation-en": 40,
              **{f"test-{lang}": 40 for lang in ["en", "de", "es", "ja", "zh", "ko"]}},
    "squad": {"train-en": 200, "validation-en": 40},
    "xquad": {f"test-{lang}": 40 for lang in SIX},
    "panx": {"train-en": 200, "validation-en": 40, **{f"test-{lang}": 40 for lang in SIX}},
    "tatoeba": {f"test-{iso3}": 50 for iso3 in ["deu", "spa", "rus", "cmn", "ara", "fra"]},
    "siqa": {"train-en": 300, "validation-en": 40},
    "copa": {"train-en": 100, "validation-en": 40},
    "xcopa": {f"{split}-{lang}": n for split, n in (("validation", 20), ("test", 40))
              for lang in ["et", "id", "it", "tr", "zh", "vi"]},
    "stsb": {"train-en": 200, "validation-en": 60},
}
CORPUS_LANGS = ["en", "de", "es", "fr", "ru", "zh", "ar", "ja", "ko", "et", "id", "it", "tr", "vi"]
JSONL = [(folder, stem) for folder, stems in EXPECTED.items() for stem in stems]
ISO3 = {"deu": "de", "spa": "es", "rus": "ru", "cmn": "zh", "ara": "ar", "fra": "fr"}


def rows(folder: str, stem: str) -> list[dict]:
    text = (DATA / folder / f"{stem}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def lang_of(stem: str) -> str:
    lang = stem.rsplit("-", 1)[1]
    return ISO3.get(lang, lang)


def _python_type_ok(value, feature) -> bool:
    if isinstance(feature, dict):
        return isinstance(value, dict) and set(value) == set(feature) and all(
            _python_type_ok(value[k], f) for k, f in feature.items())
    if isinstance(feature, datasets.List):
        return isinstance(value, list) and all(_python_type_ok(v, feature.feature) for v in value)
    if isinstance(feature, datasets.ClassLabel):
        return type(value) is int and 0 <= value < feature.num_classes
    if feature.dtype == "string":
        return isinstance(value, str) and value != ""
    if feature.dtype == "bool":
        return type(value) is bool
    if feature.dtype.startswith("float"):
        return isinstance(value, float)  # a score, written with its decimal point (3.0, never 3)
    return type(value) is int  # int32: a JSON integer, never a bool or a string


def script_share(text: str, script: str) -> float:
    """Share of letters whose Unicode name starts with ``script`` (e.g. CJK, ARABIC, CYRILLIC, HANGUL)."""
    letters = [c for c in text if c.isalpha()]
    names = [unicodedata.name(c, "") for c in letters]
    if script == "KANA":
        hits = sum(n.startswith(("HIRAGANA", "KATAKANA", "CJK")) for n in names)
    else:
        hits = sum(n.startswith(script) for n in names)
    return hits / max(1, len(letters))


SCRIPT = {"zh": "CJK", "ja": "KANA", "ko": "HANGUL", "ru": "CYRILLIC", "ar": "ARABIC"}


# ---------------------------------------------------------------------------------------------------------------
def test_exactly_the_expected_files_are_shipped():
    found = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()}
    expected = {f"{folder}/{stem}.jsonl" for folder, stem in JSONL} | {"README.md"}
    expected |= {f"corpus/{lang}.txt" for lang in CORPUS_LANGS} | {f"corpus/sample-{lang}.txt" for lang in CORPUS_LANGS}
    assert found == expected


@pytest.mark.parametrize("folder,stem", JSONL, ids=[f"{f}/{s}" for f, s in JSONL])
def test_file_has_exact_hub_columns_and_types(folder, stem):
    data = rows(folder, stem)
    assert len(data) == EXPECTED[folder][stem]
    features = HUB_FEATURES[folder]
    for i, row in enumerate(data):
        assert list(row) == list(features), f"row {i}: columns {list(row)} != {list(features)}"
        for key, feature in features.items():
            assert _python_type_ok(row[key], feature), f"row {i}: {key}={row[key]!r} is not {feature}"
    ds = datasets.Dataset.from_list(data, features=datasets.Features(features))
    assert ds.num_rows == len(data) and ds.features == datasets.Features(features)
    assert len({json.dumps(r, sort_keys=True) for r in data}) == len(data), "duplicate rows"


@pytest.mark.parametrize("folder,stem", JSONL, ids=[f"{f}/{s}" for f, s in JSONL])
def test_labels_are_balanced(folder, stem):
    data = rows(folder, stem)
    if folder in ("squad", "xquad", "panx", "tatoeba", "stsb"):  # spans, tags, pairs, scores: no classes to balance
        return
    counts = Counter(r["label"] for r in data)
    classes = {"xnli": 3, "mnli": 3, "siqa": 3}.get(folder, 2)
    assert len(counts) == classes, counts
    assert min(counts.values()) >= 0.8 * len(data) / classes, counts
    if folder == "siqa":
        assert set(counts) == {"1", "2", "3"}


# Columns written in the file's language (the rest are ids, labels, language codes or fixed English words).
TEXT_COLUMNS = {"xnli": ["premise", "hypothesis"], "pawsx": ["sentence1", "sentence2"],
                "xquad": ["context", "question"], "panx": ["tokens"], "tatoeba": ["source_sentence"],
                "xcopa": ["premise", "choice1", "choice2"]}
SCRIPT_FILES = [j for j in JSONL if lang_of(j[1]) in SCRIPT]


@pytest.mark.parametrize("folder,stem", SCRIPT_FILES, ids=[f"{f}/{s}" for f, s in SCRIPT_FILES])
def test_non_latin_files_are_in_their_script(folder, stem):
    text = " ".join(str(r[c]) for r in rows(folder, stem) for c in TEXT_COLUMNS[folder])
    assert script_share(text, SCRIPT[lang_of(stem)]) > 0.8


def test_translated_test_sets_are_parallel():
    for folder, langs in (("xnli", SIX), ("pawsx", ["en", "de", "es", "ja", "zh", "ko"])):
        ref = [r["label"] for r in rows(folder, "test-en")]
        for lang in langs:
            assert [r["label"] for r in rows(folder, f"test-{lang}")] == ref
    assert len({tuple(r["id"] for r in rows("pawsx", f"test-{lang}")) for lang in ["en", "de", "ja"]}) == 1
    for split in ("validation", "test"):
        ref = [(r["label"], r["question"], r["idx"]) for r in rows("xcopa", f"{split}-et")]
        for lang in ["id", "it", "tr", "zh", "vi"]:
            assert [(r["label"], r["question"], r["idx"]) for r in rows("xcopa", f"{split}-{lang}")] == ref
    ref = [(len(r["tokens"]) > 0, Counter(t for t in r["ner_tags"] if t % 2 == 1)) for r in rows("panx", "test-en")]
    for lang in SIX:  # same entities (counted by their B- tags) in every language
        assert [(len(r["tokens"]) > 0, Counter(t for t in r["ner_tags"] if t % 2 == 1))
                for r in rows("panx", f"test-{lang}")] == ref


def test_qa_answers_are_exact_spans_and_ids_are_shared():
    for folder, stems in (("squad", ["train-en", "validation-en"]), ("xquad", [f"test-{lang}" for lang in SIX])):
        for stem in stems:
            for r in rows(folder, stem):
                (text,), (start,) = r["answers"]["text"], r["answers"]["answer_start"]
                assert r["context"][start:start + len(text)] == text, (stem, r["id"])
                assert r["context"] == r["context"].strip()
    ids = [r["id"] for r in rows("xquad", "test-en")]
    assert len(set(ids)) == len(ids)
    for lang in SIX:
        assert [r["id"] for r in rows("xquad", f"test-{lang}")] == ids
    assert all(" " not in r["context"] for r in rows("xquad", "test-zh"))
    squad_ids = [r["id"] for stem in ("train-en", "validation-en") for r in rows("squad", stem)]
    assert len(set(squad_ids)) == len(squad_ids) and not set(squad_ids) & set(ids)


def test_panx_tags_are_valid_bio_with_long_sentences():
    for stem in EXPECTED["panx"]:
        lang = lang_of(stem)
        data = rows("panx", stem)
        for r in data:
            assert len(r["tokens"]) == len(r["ner_tags"]) == len(r["langs"])
            assert r["langs"] == [lang] * len(r["tokens"])
            assert all(t.strip() == t and t for t in r["tokens"])
            previous = 0
            for tag in r["ner_tags"]:
                if tag % 2 == 0 and tag > 0:  # I-X must continue B-X or I-X
                    assert previous in (tag - 1, tag), (stem, r["tokens"])
                previous = tag
        assert sum(len(r["tokens"]) >= 40 for r in data) >= 3, stem
        assert sum(any(r["ner_tags"]) for r in data) >= 0.8 * len(data)
    assert all(len(t) == 1 for r in rows("panx", "test-zh") for t in r["tokens"])  # zh is per character


def test_tatoeba_rows_are_aligned_pairs_in_the_hub_format():
    for iso3, lang in ISO3.items():
        data = rows("tatoeba", f"test-{iso3}")
        assert {r["source_lang"] for r in data} == {iso3} and {r["target_lang"] for r in data} == {"eng"}
        for r in data:  # the Hub copy keeps each line's newline
            assert r["source_sentence"].endswith("\n") and r["target_sentence"].endswith("\n")
        assert len({r["source_sentence"] for r in data}) == len(data)
        assert len({r["target_sentence"] for r in data}) == len(data)
        if lang in SCRIPT:
            assert script_share("".join(r["source_sentence"] for r in data), SCRIPT[lang]) > 0.8
        assert script_share("".join(r["target_sentence"] for r in data), "LATIN") > 0.95


def test_no_overlap_between_training_and_evaluation_items():
    def key(folder, stem, field):
        return {r[field] for r in rows(folder, stem)}
    assert not key("xnli", "train-en", "premise") & key("xnli", "test-en", "premise")
    assert not key("xnli", "train-en", "premise") & key("xnli", "validation-en", "premise")
    assert not key("mnli", "train-en", "premise") & key("mnli", "validation-en", "premise")
    assert not key("mnli", "train-en", "premise") & key("xnli", "train-en", "premise")
    assert not key("pawsx", "train-en", "sentence1") & key("pawsx", "test-en", "sentence1")
    assert not key("squad", "train-en", "context") & key("xquad", "test-en", "context")
    assert not key("squad", "train-en", "context") & key("squad", "validation-en", "context")

    def panx(stem: str) -> set[tuple[str, ...]]:
        return {tuple(r["tokens"]) for r in rows("panx", stem)}

    assert not panx("train-en") & panx("test-en")


def test_corpus_and_held_out_samples():
    for lang in CORPUS_LANGS:
        corpus = (DATA / "corpus" / f"{lang}.txt").read_text(encoding="utf-8")
        sample = (DATA / "corpus" / f"sample-{lang}.txt").read_text(encoding="utf-8")
        assert corpus.endswith("\n") and sample.endswith("\n")
        lines, held = corpus.splitlines(), sample.splitlines()
        assert len(lines) == 300 and len(held) == 30
        assert all(line.strip() == line and line for line in lines + held)
        assert len(set(lines)) == 300 and len(set(held)) == 30 and not set(lines) & set(held)
        if lang in SCRIPT:
            assert script_share(corpus, SCRIPT[lang]) > 0.8, lang


def test_folder_is_small_and_readme_states_licence_and_purpose():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 1_500_000
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for phrase in ("synthetic", "CC0", "tools/make_quickstart_data.py", "only prove that the pipeline runs"):
        assert phrase in readme


def _generator():
    spec = importlib.util.spec_from_file_location("make_quickstart_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_the_shipped_files(tmp_path):
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    shipped = {p.relative_to(DATA).as_posix(): p.read_bytes() for p in DATA.rglob("*") if p.is_file()}
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert fresh.keys() == shipped.keys()
    stale = [rel for rel in shipped if shipped[rel] != fresh[rel]]
    assert not stale, f"regenerate with `python tools/make_quickstart_data.py`: {stale}"
    assert gen.main(["--check", "--out", str(DATA)]) == 0
    assert gen.build_all(seed=7)["xnli/test-en.jsonl"] != gen.build_all()["xnli/test-en.jsonl"]


def test_generator_check_reports_a_stale_file(tmp_path, capsys):
    gen = _generator()
    gen.write_all({"xnli/test-en.jsonl": "{}\n"}, tmp_path)
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "differs: xnli/test-en.jsonl" in err and "missing: xnli/train-en.jsonl" in err
