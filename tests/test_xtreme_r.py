"""XTREME-R: the extended language sets (UD-POS 38, PAN-X 48, XQuAD 12, Tatoeba 41) from their own Hub datasets, the
dual-encoder tasks Mewsli-X and LAReQA end to end, the XTREME-R score, and the official Mewsli-X mock number.

Everything runs offline: Hub datasets are in-memory datasets with the exact features the registry declares (hand-made
rows where the values matter, ``fakehub`` rows elsewhere); the encoder is a tiny one built here.
XCOPA's chain is tested in tests/test_intermediate_tasks.py.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import datasets
import pytest
import torch
from fakehub import FakeHub, make_dataset

import evaluate_xtreme
import phase3_target
from xstilts import data, dual_encoder_rows, languages, submission
from xstilts.results import XTREME_CATEGORIES, XTREME_R_CATEGORIES, RunInfo, TaskResult, benchmark_scores, read_result
from xstilts.rows import canonical_rows
from xstilts.typespecs import SPECS
from xstilts.tasks import (
    BENCHMARK_TASKS,
    PARQUET_BRANCH,
    UD27_TREEBANKS,
    UD_HUB_UPOS,
    UPOS_LABELS,
    check_languages,
    get_task,
)
from xstilts.tasktypes import dual_encoder

REPO = Path(__file__).resolve().parents[1]
MOCK = REPO / "tests" / "fixtures" / "xtreme_mock"
CORPUS = [f"the cat sees the dog number {i} in the big city." for i in range(40)] + ["a red house by the river"]
FAST = ["train.precision=fp32", "train.max_steps=2", "train.eval_steps=2", "train.batch_size=4", "train.grad_accum=1",
        "train.max_length=40", "train.eval_batch_size=16", "train.logging_steps=1", "data.source=hub",
        "data.max_train_samples=12", "data.max_eval_samples=8"]


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub(n=10)
    monkeypatch.setattr(data, "hub_loader", fake)
    return fake


def _ds(source, rows):
    return datasets.Dataset.from_list(rows, features=data.hub_features(source))


# ---- Language sets ------------------------------------------------------------------------------------------------
def test_xtreme_r_language_sets():
    sizes = {"udpos": 38, "panx": 48, "xquad": 12, "tatoeba": 41, "xcopa": 11, "mewslix": 11, "lareqa": 11}
    for name, n in sizes.items():
        assert len(check_languages(get_task(name), None, "xtreme_r")) == n, name
    assert len(check_languages(get_task("udpos"), None)) == 33
    assert len(check_languages(get_task("panx"), None, "xtreme")) == 40
    assert set(languages.UDPOS_R) - set(languages.UDPOS) == {"lt", "pl", "ro", "uk", "wo"}
    assert set(get_task("panx").lang_sources["test"]) == {"az", "gu", "lt", "pa", "pl", "qu", "ro", "uk"}


def test_xtreme_r_language_outside_xtreme_names_the_benchmark_setting():
    with pytest.raises(KeyError, match="benchmark=xtreme_r"):
        check_languages(get_task("udpos"), ["de", "wo"])
    assert check_languages(get_task("udpos"), ["de", "wo"], "xtreme_r") == ["de", "wo"]
    with pytest.raises(KeyError, match="not in task panx"):
        check_languages(get_task("panx"), ["xx"], "xtreme_r")


def test_ud27_treebanks_concatenated_and_upos_remapped(hub):
    task = get_task("udpos")
    lt_sources = task.lang_sources["test"]["lt"]
    assert [s.hub.data_dir for s in lt_sources] == list(UD27_TREEBANKS["lt"])
    name = {n: i for i, n in enumerate(UD_HUB_UPOS)}
    base = {"idx": "1", "text": "t", "lemmas": [], "xpos": [], "feats": [], "head": [], "deprel": [], "deps": [],
            "misc": []}

    def ud(tokens, tags):
        return {**base, "tokens": tokens, "upos": [name[t] for t in tags],
                **{k: ["x"] * len(tokens) for k in ("lemmas", "xpos", "feats", "head", "deprel", "deps", "misc")}}

    src = lt_sources[0].hub
    hub.overrides[(src.repo, "lt_alksnis", "test")] = _ds(src, [
        ud(["Jis", "eina", "namo", "."], ["PRON", "VERB", "ADV", "PUNCT"]),
        ud(["Į", "_", "namą"], ["ADP", "_", "NOUN"]),  # a multiword-token line: dropped
    ])
    hub.overrides[(src.repo, "lt_hse", "test")] = _ds(src, [ud(["Ir", "jie", "pas", "-ą", "x"],
                                                                ["CCONJ", "PRON", "SCONJ", "AUX", "X"])])
    rows = data.load_split(task, task.eval["test"], "hub", "lt", "test")
    assert [r["tokens"] for r in rows] == [["Jis", "eina", "namo", "."], ["Į", "namą"], ["Ir", "jie", "pas", "-ą", "x"]]
    assert [[UPOS_LABELS[t] for t in r["tags"]] for r in rows] == [
        ["PRON", "VERB", "ADV", "PUNCT"], ["ADP", "NOUN"], ["CCONJ", "PRON", "SCONJ", "AUX", "X"]]
    # The parquet branch knows no config names: each treebank is read as its folder (data_dir).
    assert [c[1:] for c in hub.calls] == [(None, "test", "refs/convert/parquet", "lt_alksnis"),
                                          (None, "test", "refs/convert/parquet", "lt_hse")]
    # Every one of the 18 hub names maps onto the 17 UPOS labels ("_" alone is dropped).
    assert sorted(n for n in UD_HUB_UPOS if n != "_") == sorted(UPOS_LABELS)


def test_pl_validation_skips_the_test_only_pud_treebank(hub):
    task = get_task("udpos")
    data.load_split(task, task.eval["validation"], "hub", "pl", "validation")
    assert [c[4] for c in hub.calls] == ["pl_lfg", "pl_pdb"]  # the treebank folders (data_dir)
    data.load_split(task, task.eval["test"], "hub", "pl", "test")
    assert [c[4] for c in hub.calls[2:]] == ["pl_lfg", "pl_pdb", "pl_pud"]


def test_ud27_schema_mismatch_fails_loudly(hub):
    task = get_task("udpos")
    hub.overrides[("universal-dependencies/universal_dependencies", "uk_iu", "test")] = datasets.Dataset.from_list(
        [{"tokens": ["a"], "pos_tags": [0]}])
    with pytest.raises(data.DataError, match="missing column 'upos'"):
        data.load_split(task, task.eval["test"], "hub", "uk", "test")


def test_wikiann_and_mteb_tatoeba_sources(hub):
    panx = get_task("panx")
    src = panx.lang_sources["test"]["az"][0].hub
    hub.overrides[("unimelb-nlp/wikiann", "az", "test")] = _ds(src, [
        {"tokens": ["Bakı", "şəhəri"], "ner_tags": [5, 0], "langs": ["az", "az"], "spans": ["LOC: Bakı"]}])
    assert data.load_split(panx, panx.eval["test"], "hub", "az", "test") == [{"tokens": ["Bakı", "şəhəri"],
                                                                                "tags": [5, 0]}]
    tat = get_task("tatoeba")
    src = tat.lang_sources["test"]["uk"][0].hub
    hub.overrides[("mteb/tatoeba-bitext-mining", "ukr-eng", "test")] = _ds(src, [
        {"sentence1": "Привіт.\n", "sentence2": "Hello.\n"}])
    # sentence1 is the non-English side (the indexed one), sentence2 the English query
    assert data.load_split(tat, tat.eval["test"], "hub", "uk", "test") == [{"source": "Привіт.", "target": "Hello."}]
    xquad = get_task("xquad")
    data.load_split(xquad, xquad.eval["test"], "hub", "ro", "test")
    assert hub.calls[-1][:3] == ("google/xquad", "xquad.ro", "validation")


def test_xtreme_r_language_from_an_xtreme_folder_is_refused(tmp_path):
    task = get_task("udpos")
    with pytest.raises(data.DataError, match="XTREME-R language.*data.source=hub"):
        data.load_split(task, task.eval["test"], "xtreme", "wo", "test", str(tmp_path))


@pytest.mark.parametrize("task,n_langs", [("panx", 48), ("udpos", 38), ("xquad", 12)])
def test_extended_language_sets_run_end_to_end(task, n_langs, encoder, hub, tmp_path):
    out = tmp_path / "p3"
    qa = ["train.max_length=96"] if task == "xquad" else []
    recipe = f"recipes/phase3/{task}.yaml" if (REPO / f"recipes/phase3/{task}.yaml").is_file() else None
    args = ([recipe] if recipe else []) + [f"input={encoder}", f"output={out}", f"task={task}", *FAST, *qa]
    assert phase3_target.main(args) == 0
    res = tmp_path / "results"
    assert evaluate_xtreme.main(["recipes/eval/xtreme_r.yaml", f"input={out}", f"output={res}",
                                 "data.max_eval_samples=3", "batch_size=8"]) == 0
    result = read_result(res / f"{task}.json")
    assert sorted(result.languages) == sorted(check_languages(get_task(task), None, "xtreme_r"))
    assert len(result.languages) == n_langs and not result.partial


def test_tatoeba_41_languages_on_a_phase1_encoder(encoder, hub, tmp_path):
    res = tmp_path / "results"
    assert evaluate_xtreme.main(["recipes/eval/xtreme_r.yaml", f"input={encoder}", f"output={res}", "task=tatoeba",
                                 "data.max_eval_samples=5"]) == 0
    result = read_result(res / "tatoeba.json")
    assert len(result.languages) == 41 and {"az", "lt", "pl", "ro", "uk"} <= set(result.languages)
    assert ("mteb/tatoeba-bitext-mining", "aze-eng", "test") in [c[:3] for c in hub.calls]


# ---- Dual encoder: text preparation and data shapes ----------------------------------------------------------------
def test_split_sentences():
    text = "Dr. Smith came. He left! Did he? Yes…  The end"
    assert [text[s:e] for s, e in dual_encoder_rows.split_sentences(text)] == ["Dr.", "Smith came.", "He left!",
                                                                               "Did he?", "Yes…", "The end"]
    zh = "北京是首都。上海很大！对吗？"
    assert [zh[s:e] for s, e in dual_encoder_rows.split_sentences(zh)] == ["北京是首都。", "上海很大！", "对吗？"]
    assert dual_encoder_rows.split_sentences("no end here ") == [(0, 11)]
    greek = "a; b. c\u037e d"  # the Greek question mark ends a sentence, the ASCII semicolon does not
    assert [greek[s:e] for s, e in dual_encoder_rows.split_sentences(greek)] == ["a; b.", "c\u037e", "d"]
    assert dual_encoder_rows.split_sentences("   ") == []


def _context(text, spans):
    return {"document_title": "T", "document_url": "u", "document_id": "d", "language": "en", "text": text,
            "sentence_spans": [{"start": s, "end": e} for s, e in spans]}


def test_mention_query_marks_the_mention_in_its_sentence():
    text = "First one. The verdict for Smith {sic} came.\nLast."
    start = text.index("Smith")
    mention = {"example_id": "m1", "entity_id": "Q1", "mention_span": {"start": start, "end": start + 5,
                                                                       "text": "Smith"}}
    ctx = _context(text, [(0, 10), (11, 44), (45, 50)])
    assert dual_encoder_rows.mention_query(ctx, mention) == "Smith: The verdict for { Smith } (sic) came."
    bad = {**mention, "mention_span": {"start": start, "end": start + 5, "text": "Jones"}}
    with pytest.raises(dual_encoder_rows.DualEncoderDataError, match="reads 'Smith', not 'Jones'"):
        dual_encoder_rows.mention_query(ctx, bad)
    across = {**mention, "mention_span": {"start": 5, "end": 14, "text": text[5:14]}}
    with pytest.raises(dual_encoder_rows.DualEncoderDataError, match="no single sentence"):
        dual_encoder_rows.mention_query(ctx, across)


def test_entity_text_joins_its_sentences():
    entity = {"entity_id": "Q1", "title": "A", "description": "A is a city.\n It is  big. [ref]",
              "sentence_spans": [{"start": 0, "end": 12}, {"start": 14, "end": 26}]}
    assert dual_encoder_rows.entity_text(entity) == "A is a city. It is big."


def test_canonical_rows_of_every_source_shape(hub):
    mewslix, lareqa = get_task("mewslix"), get_task("lareqa")
    for split, role, lang in [(mewslix.train[0], "train", "en"), (mewslix.eval["test"], "test", "ja"),
                              (mewslix.candidates, "candidates", "en"), (lareqa.train[0], "train", "en"),
                              (lareqa.eval["test"], "test", "zh")]:
        rows = data.load_split(mewslix if split.hub.repo == "izhx/mewsli-x" else lareqa, split, "hub", lang, role)
        assert rows and all(set(r) == set(dual_encoder_rows.CANONICAL_FIELDS) for r in rows)
    assert ("google-research-datasets/xquad_r", "zh", "validation") in [c[:3] for c in hub.calls]
    assert ("izhx/mewsli-x", None, "train", PARQUET_BRANCH, "candidate_entities") in hub.calls


def test_squad_rows_become_question_answer_sentence_pairs():
    context = "Paris is big. The Eiffel tower is in Paris. It is tall."
    rows = [{"id": "q1", "context": context, "question": "Where is the tower?",
             "answers": {"text": ["Paris"], "answer_start": [context.index("in Paris") + 3]}},
            {"id": "q2", "context": context, "question": "Between?", "answers": {"text": [" "], "answer_start": [13]}}]
    out = canonical_rows(rows, {"id": "id", "context": "context", "question": "question", "answers": "answers"},
                         None, SPECS["dual_encoder"], "here")
    assert len(out) == 1  # q2's answer starts between two sentences: skipped, as XTREME's reader does
    assert out[0]["candidate"] == "The Eiffel tower is in Paris." and out[0]["context"] == context
    assert out[0]["candidate_id"] == f"{dual_encoder_rows.paragraph_key(context)}#14-43"


def test_mewslix_schema_mismatch_names_the_field(hub):
    task = get_task("mewslix")
    src = task.train[0].hub
    feats = data.hub_features(src)
    broken = datasets.Features({"contextual_mention": feats["contextual_mention"],
                                "entity": {k: v for k, v in feats["entity"].items() if k != "description"}})
    rows = make_dataset(src, 2).to_list()
    for r in rows:
        del r["entity"]["description"]
    hub.overrides[(src.repo, src.config, src.split)] = datasets.Dataset.from_list(rows, features=broken)
    with pytest.raises(data.DataError, match="column 'entity'.*expected"):
        data.load_split(task, task.train[0], "hub", "en", "train")
    # Extra optional fields (section_title, metadata) pass.
    ok = make_dataset(src, 3)
    extra = ok.cast(datasets.Features({**ok.features, "contextual_mention": {
        **ok.features["contextual_mention"],
        "context": {**ok.features["contextual_mention"]["context"], "section_title": datasets.Value("string")}}}))
    hub.overrides[(src.repo, src.config, src.split)] = extra
    assert len(data.load_split(task, task.train[0], "hub", "en", "train")) == 3


def test_in_batch_loss_masks_duplicate_candidates():
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), dim=-1)
    c = q.clone()
    scale = torch.tensor(2.0)
    logits = scale * q @ c.T
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(3))
    assert dual_encoder.in_batch_loss(q, c, scale, None) == pytest.approx(float(expected))
    # Rows 0 and 2 share a candidate: each no longer counts the other as a negative.
    keys = torch.tensor([7, 8, 7])
    masked = logits.clone()
    masked[0, 2] = masked[2, 0] = float("-inf")
    manual = -(torch.log_softmax(masked, dim=-1)[torch.arange(3), torch.arange(3)]).mean()
    assert dual_encoder.in_batch_loss(q, c, scale, keys) == pytest.approx(float(manual))


def test_rank_breaks_ties_by_candidate_order_and_handles_few_candidates():
    q = torch.tensor([[1.0, 0.0]])
    c = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    # fewer than 20 candidates: all of them, ranked
    assert dual_encoder.rank(q, c, ["a", "b", "c"]) == [["b", "c", "a"]]


def test_lareqa_pool_gold_is_the_answer_sentence_in_every_language():
    en = dual_encoder_rows.Paragraph("A b. C d. E f.", [(0, 4), (5, 9), (10, 14)],
                                     [("q1", "what c", 5), ("q2", "what e", 10)])
    de = dual_encoder_rows.Paragraph("X y. Z w.", [(0, 4), (5, 9)], [("q1", "was z", 6), ("q9", "between", 4)])
    pool = dual_encoder.build_pool({"en": [en], "de": [de]})
    assert [c[0] for c in pool.candidates] == ["en_0_0", "en_0_1", "en_0_2", "de_0_0", "de_0_1"]
    assert pool.questions == [("en", "q1", "what c"), ("en", "q2", "what e"), ("de", "q1", "was z")]
    assert pool.gold == [{"en_0_1", "de_0_1"}, {"en_0_2"}, {"en_0_1", "de_0_1"}]
    assert pool.skipped == 1


# ---- Dual encoder end to end ----------------------------------------------------------------------------------------
def _train(task, encoder, out):
    args = [f"recipes/phase3/{task}.yaml", f"input={encoder}", f"output={out}", *FAST]
    assert phase3_target.main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["dev"][f"{task}_map@20"] <= 100.0
    heads = json.loads((out / "final" / "heads.json").read_text())["heads"]
    assert heads == [{"task": task, "kind": "dual_encoder", "num_labels": 0}]


def test_mewslix_end_to_end(encoder, hub, tmp_path):
    out = tmp_path / "p3"
    _train("mewslix", encoder, out)
    res, sub_dir = tmp_path / "results", tmp_path / "submission"
    assert evaluate_xtreme.main([f"input={out}", f"output={res}", f"export_predictions={sub_dir}"]) == 0
    result = read_result(res / "mewslix.json")
    assert sorted(result.languages) == sorted(languages.MEWSLIX) and not result.partial
    assert result.main_metric == "map@20" and result.task_type == "dual_encoder"
    assert result.score == pytest.approx(sum(m["map@20"] for m in result.languages.values()) / 11)
    _check_reliability(result)
    # The exported rankings, scored by the official-scorer port against the gold entities, give the same numbers.
    task = get_task("mewslix")
    labels = tmp_path / "labels"
    for lang in languages.MEWSLIX:
        rows = data.load_split(task, task.eval["test"], "hub", lang, "test")
        submission.write_predictions("mewslix", lang, {r["query_id"]: [r["candidate_id"]] for r in rows}, labels)
        preds = json.loads((sub_dir / "mewslix" / f"test-{lang}.json").read_text())
        assert all(1 <= len(v) <= 20 for v in preds.values())
    scored = submission.score_folder(sub_dir, labels)["mewslix"]
    for lang, metrics in result.languages.items():
        assert scored["languages"][lang]["map@20"] == pytest.approx(metrics["map@20"])


def _check_reliability(result) -> None:
    """Every language has a bootstrap interval (over queries) around its score, the share of its most frequent
    top-1 candidate, no class balance; the task score has an interval too; chance is undefined."""
    assert set(result.reliability) == set(result.languages)
    for lang, fig in result.reliability.items():
        low, high = fig["ci95"]
        assert low - 1e-9 <= result.languages[lang]["map@20"] <= high + 1e-9
        assert fig["majority_share"] is None and 0 < fig["top_prediction_share"] <= 100
    low, high = result.score_ci95
    assert low - 1e-9 <= result.score <= high + 1e-9
    assert result.chance is None


def _xquad_r_file(folder: Path, lang: str, n_questions: int) -> None:
    context = f"{lang} alpha beta. {lang} gamma delta. {lang} eps."
    breaks = [[0, len(lang) + 12], [len(lang) + 13, 2 * len(lang) + 27], [2 * len(lang) + 28, len(context)]]
    qas = [{"id": f"q{i}", "question": f"{lang} question {i}",
            "answers": [{"text": "x", "answer_start": breaks[i % 3][0] + 1}]} for i in range(n_questions)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{lang}.json").write_text(json.dumps(
        {"data": [{"title": "t", "paragraphs": [{"context": context, "sentence_breaks": breaks, "qas": qas}]}]}))


def test_lareqa_end_to_end_with_and_without_sentence_breaks(encoder, hub, tmp_path):
    out = tmp_path / "p3"
    _train("lareqa", encoder, out)
    # Hub copy (no sentence_breaks): our splitter, a warning, and a note that the score is not comparable.
    res = tmp_path / "hub"
    assert evaluate_xtreme.main([f"input={out}", f"output={res}", "data.max_eval_samples=6"]) == 0
    result = read_result(res / "lareqa.json")
    assert sorted(result.languages) == sorted(languages.LAREQA)
    assert any("NOT comparable" in n for n in result.notes)
    # Original XQuAD-R files: their sentence breaks; the score is micro over the pooled questions.
    folder = tmp_path / "xquad-r"
    _xquad_r_file(folder, "en", 3)
    _xquad_r_file(folder, "de", 2)
    res2 = tmp_path / "orig"
    assert evaluate_xtreme.main([f"input={out}", f"output={res2}", "languages=[en,de]",
                                 f"retrieval.lareqa_data={folder}"]) == 0
    result = read_result(res2 / "lareqa.json")
    assert not any("NOT comparable" in n for n in result.notes)
    en, de = result.languages["en"], result.languages["de"]
    assert (en["n"], de["n"]) == (3, 2)
    assert result.score == pytest.approx((3 * en["map@20"] + 2 * de["map@20"]) / 5)
    _check_reliability(result)  # the interval of the micro score: languages weighted by their questions
    with pytest.raises(FileNotFoundError, match="lareqa_data"):
        dual_encoder_rows.read_xquad_r_file(folder / "zh.json")
    (folder / "zh.json").write_text('{"data": [{"paragraphs": [{"context": "x", "qas": []}]}]}')  # no breaks
    assert evaluate_xtreme.main([f"input={out}", f"output={tmp_path / 'bad'}", "languages=[zh]",
                                 f"retrieval.lareqa_data={folder}"]) == 2


def test_dual_encoder_evaluation_needs_a_phase3_folder(encoder, tmp_path):
    assert evaluate_xtreme.main([f"input={encoder}", f"output={tmp_path}", "task=mewslix"]) == 2


# ---- XTREME-R score and the official Mewsli-X number -----------------------------------------------------------------
def _result(task: str, score: float, partial: bool = False) -> TaskResult:
    langs = check_languages(get_task(task), None, "xtreme_r")  # every language: only `partial` makes it partial
    return TaskResult(task=task, task_type="x", split="test", data_source="hub", main_metric="accuracy",
                      languages={lang: {"accuracy": score} for lang in langs}, average={"accuracy": score},
                      score=score,
                      missing_languages=["de"] if partial else [], partial=partial, checkpoint="c",
                      run=RunInfo("e", "multilingual", "none", task), chain=[], created="", version="0")


def test_xtreme_r_score_names_a_missing_task_and_never_averages_fewer():
    tasks = [t for names in XTREME_R_CATEGORIES.values() for t in names]
    assert len(tasks) == 10 and {"xcopa", "mewslix", "lareqa"} <= set(tasks)
    full = benchmark_scores([_result(t, 50.0 + i) for i, t in enumerate(tasks)], XTREME_R_CATEGORIES)
    assert full["score"] == pytest.approx(sum(50.0 + i for i in range(10)) / 10)
    assert full["categories"]["retrieval"] == pytest.approx((57 + 58 + 59) / 3)
    partial = benchmark_scores([_result(t, 50.0) for t in tasks if t != "lareqa"], XTREME_R_CATEGORIES)
    assert partial["missing_tasks"] == ["lareqa"]
    assert partial["score"] is None and partial["categories"]["retrieval"] is None
    assert partial["categories"]["classification"] == 50.0
    marked = benchmark_scores([_result(t, 50.0, partial=t == "mewslix") for t in tasks], XTREME_R_CATEGORIES)
    assert marked["partial_tasks"] == ["mewslix"] and marked["score"] is None


def test_official_mewslix_mock_number(tmp_path):
    # The official Mewsli-X scorer (evaluate_all: per-language MRR@20, macro over the 11 languages) prints
    # MACRO_AVG 14.39 for the mock submission of google-research/xtreme; per language (x100):
    official = {"ar": 6.25, "de": 50.0, "en": 8.33, "es": 8.33, "fa": 25.0, "ja": 7.14, "pl": 5.26, "ro": 16.67,
                "ta": 7.69, "tr": 12.5, "uk": 11.11}
    for part in ("predictions", "labels"):
        shutil.copytree(MOCK / part / "mewslix", tmp_path / part / "mewslix")
    result = submission.score_folder(tmp_path / "predictions", tmp_path / "labels")["mewslix"]
    assert {lang: round(m["map@20"], 2) for lang, m in result["languages"].items()} == official
    assert round(result["score"], 2) == 14.39
    assert math.isclose(result["score"], 14.390251561304193, abs_tol=1e-9)


@pytest.mark.real
def test_real_mock_folder_mewslix_number(shared_data):
    root = shared_data / "xtreme-mock" / "mock_test_data"
    result = submission.score_folder(root / "predictions", root / "labels")["mewslix"]
    assert round(result["score"], 2) == 14.39 and not result["partial"]


def test_benchmark_categories_are_the_registrys():
    """The XTREME / XTREME-R category tables are built from the registry: BENCHMARK_TASKS and each Task.category."""
    for benchmark, categories in (("xtreme", XTREME_CATEGORIES), ("xtreme_r", XTREME_R_CATEGORIES)):
        assert [t for names in categories.values() for t in names] == list(BENCHMARK_TASKS[benchmark])
        assert all(get_task(t).category == category for category, names in categories.items() for t in names)
    assert XTREME_R_CATEGORIES == {"classification": ["xnli", "xcopa"], "structured_prediction": ["udpos", "panx"],
                                   "question_answering": ["xquad", "mlqa", "tydiqa"],
                                   "retrieval": ["mewslix", "lareqa", "tatoeba"]}
