"""First-sub-token label alignment and long-sentence windows for tagging, on tiny tokenizers trained here."""
from __future__ import annotations

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from xstilts.encoders import build_tokenizer
from xstilts.tagging import (
    IGNORE_INDEX,
    align_word_labels,
    encode_tagging,
    merge_window_predictions,
    split_into_windows,
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog .",
    "Marie Curie won the Nobel Prize in physics in 1903 .",
    "Paris is the capital of France .",
] * 30
SPECIALS = dict(
    bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    cls_token="<s>", sep_token="</s>",
)
LONG = "The quick brown fox jumps over the lazy dog . Marie Curie won the Nobel Prize in physics in 1903 .".split() * 3


@pytest.fixture(scope="module")
def sp_tok() -> PreTrainedTokenizerFast:
    """XLM-R style: SentencePiece unigram, `<s> A </s></s> B </s>` (the tokenizer phase 1 trains for tiny encoders)."""
    return build_tokenizer("xlm-roberta", CORPUS, 60)


@pytest.fixture(scope="module")
def bpe_tok() -> PreTrainedTokenizerFast:
    """RoBERTa style: byte-level BPE with a prefix space (what lets it take pre-split words)."""
    return build_tokenizer("roberta", CORPUS, 290)


TOKENIZERS = ["sp_tok", "bpe_tok"]


# ---------------------------------------------------------------- alignment


def test_align_word_labels_hand_made():
    #           <s>  w0  w0  w1  w2  w2  w2  </s>
    word_ids = [None, 0, 0, 1, 2, 2, 2, None]
    assert align_word_labels(word_ids, [5, 6, 7]) == [-100, 5, -100, 6, 7, -100, -100, -100]
    assert align_word_labels(word_ids, [5, 6, 7], ignore=-1) == [-1, 5, -1, 6, 7, -1, -1, -1]
    assert align_word_labels([None, None], []) == [IGNORE_INDEX, IGNORE_INDEX]
    with pytest.raises(ValueError, match="word index 2 has no label"):
        align_word_labels(word_ids, [5, 6])


@pytest.mark.parametrize("tok_name", TOKENIZERS)
def test_align_with_a_real_tokenizer_labels_first_subtokens_only(tok_name, request):
    tok = request.getfixturevalue(tok_name)
    words = ["Curie", "won", "physics", "."]
    enc = tok(words, is_split_into_words=True)
    word_ids = enc.word_ids()
    assert word_ids[0] is None and word_ids[-1] is None
    assert any(word_ids.count(w) > 1 for w in range(len(words)))  # the test needs a multi-piece word
    labels = align_word_labels(word_ids, [10, 11, 12, 13])
    assert [lab for lab in labels if lab != IGNORE_INDEX] == [10, 11, 12, 13]
    first = [t for t, w in enumerate(word_ids) if w is not None and word_ids.index(w) == t]
    assert [labels[t] for t in first] == [10, 11, 12, 13]


# ---------------------------------------------------------------- windows


@pytest.mark.parametrize("tok_name", TOKENIZERS)
def test_split_into_windows_is_word_aligned_and_fits(tok_name, request):
    tok = request.getfixturevalue(tok_name)
    max_length = 16
    windows = split_into_windows(tok, LONG, max_length)
    assert len(windows) > 2
    assert windows[0][0] == 0 and windows[-1][1] == len(LONG)
    assert all(a < b for a, b in windows)
    # contiguous: no word lost or repeated (each window against the next)
    assert all(b == c for (_, b), (c, _) in zip(windows, windows[1:], strict=False))
    for a, b in windows:
        assert len(tok(LONG[a:b], is_split_into_words=True)["input_ids"]) <= max_length
    # Greedy: the next word would not have fitted.
    for (a, b), _ in zip(windows, windows[1:], strict=False):  # every window but the last
        assert len(tok(LONG[a : b + 1], is_split_into_words=True)["input_ids"]) > max_length
    assert split_into_windows(tok, LONG[:3], 512) == [(0, 3)]
    assert split_into_windows(tok, [], 16) == []


@pytest.mark.parametrize("tok_name", TOKENIZERS)
def test_long_sentence_round_trip_gives_one_prediction_per_word(tok_name, request):
    tok = request.getfixturevalue(tok_name)
    sentences = [LONG[:5], LONG, LONG[7:30]]
    labels = [[(7 * i + w) % 17 for w in range(len(s))] for i, s in enumerate(sentences)]
    feats = encode_tagging(tok, sentences, labels, max_length=16)
    n = len(feats["input_ids"])
    assert n > 4
    assert all(len(ids) <= 16 for ids in feats["input_ids"])
    assert feats["sentence_index"] == sorted(feats["sentence_index"]) and set(feats["sentence_index"]) == {0, 1, 2}
    for f in range(n):
        ids, wids, labs = feats["input_ids"][f], feats["word_ids"][f], feats["labels"][f]
        assert len(ids) == len(wids) == len(labs) == len(feats["attention_mask"][f])
        present = [w for w in wids if w is not None]
        assert min(present) == feats["word_offset"][f]
        # Labels sit on first sub-tokens, taken from the sentence's own labels.
        gold = labels[feats["sentence_index"][f]][min(present) : max(present) + 1]
        assert [lab for lab in labs if lab != IGNORE_INDEX] == gold
    # A "model" that predicts the gold label on every token: merging must give back exactly the gold labels.
    oracle = [[IGNORE_INDEX if w is None else labels[s][w] for w in wids]
              for s, wids in zip(feats["sentence_index"], feats["word_ids"], strict=True)]
    merged = merge_window_predictions(feats, oracle, [len(s) for s in sentences])
    assert merged == labels
    assert [len(m) for m in merged] == [len(s) for s in sentences]


def test_predictions_are_read_from_first_subtokens_and_padding_is_ignored(sp_tok):
    sentences = [["Curie", "physics"]]
    feats = encode_tagging(sp_tok, sentences, None, max_length=32)
    assert "labels" not in feats
    wids = feats["word_ids"][0]
    # Per-token ids: first sub-tokens carry 1 and 2, every other position junk; two columns of padding.
    row = [9] * (len(wids) + 2)
    row[wids.index(0)], row[wids.index(1)] = 1, 2
    assert merge_window_predictions(feats, [row], [2]) == [[1, 2]]
    # Logits (tokens x labels) are argmaxed.
    logits = np.zeros((1, len(wids) + 2, 4))
    logits[0, wids.index(0), 3] = logits[0, wids.index(1), 2] = 1.0
    assert merge_window_predictions(feats, logits, [2]) == [[3, 2]]


@pytest.mark.parametrize("tok_name", TOKENIZERS)
def test_word_longer_than_the_window_is_truncated_but_predicted_once(tok_name, request):
    tok = request.getfixturevalue(tok_name)
    giant = "Curiephysicsquickbrownfoxjumpsoverthelazydog" * 2
    words = ["The", "fox", giant, "won", "."]
    assert len(tok([giant], is_split_into_words=True)["input_ids"]) > 12  # longer than a whole window
    windows = split_into_windows(tok, words, 12)
    assert (2, 3) in windows  # alone in its window
    feats = encode_tagging(tok, [words], [[1, 2, 3, 4, 5]], max_length=12)
    assert all(len(ids) <= 12 for ids in feats["input_ids"])
    giant_feature = [f for f, a in enumerate(feats["word_offset"]) if a == 2][0]
    assert [lab for lab in feats["labels"][giant_feature] if lab != IGNORE_INDEX] == [3]
    preds = [[IGNORE_INDEX if w is None else 10 + w for w in wids] for wids in feats["word_ids"]]
    assert merge_window_predictions(feats, preds, [5]) == [[10, 11, 12, 13, 14]]


def test_words_that_vanish_in_the_tokenizer_still_get_a_prediction(sp_tok):
    # An empty word and a lone zero-width space produce no sub-token with many tokenizers; UD data has such words.
    words = ["The", "", "fox", "\u200b", "."]
    feats = encode_tagging(sp_tok, [words], [[1, 2, 3, 4, 5]], max_length=32)
    assert {w for w in feats["word_ids"][0] if w is not None} == set(range(5))
    assert [lab for lab in feats["labels"][0] if lab != IGNORE_INDEX] == [1, 2, 3, 4, 5]


def test_empty_sentences_give_no_feature_and_an_empty_prediction(sp_tok):
    sentences = [["The", "fox"], [], ["won"]]
    feats = encode_tagging(sp_tok, sentences, [[1, 2], [], [3]], max_length=32)
    assert feats["sentence_index"] == [0, 2]
    preds = [[0 if w is None else 5 for w in wids] for wids in feats["word_ids"]]
    assert merge_window_predictions(feats, preds, [2, 0, 1]) == [[5, 5], [], [5]]
    empty = encode_tagging(sp_tok, [[]], [[]], max_length=32)
    assert empty["input_ids"] == [] and empty["labels"] == []
    assert merge_window_predictions(empty, [], [0]) == [[]]


# ---------------------------------------------------------------- bad input


def test_merge_detects_missing_and_duplicated_words(sp_tok):
    sentences = [LONG[:40]]
    feats = encode_tagging(sp_tok, sentences, None, max_length=16)
    preds = [[0] * len(ids) for ids in feats["input_ids"]]
    with pytest.raises(ValueError, match="got no prediction"):
        dropped = {k: v[:-1] for k, v in feats.items()}
        merge_window_predictions(dropped, preds[:-1], [40])
    with pytest.raises(ValueError, match="more than one window"):
        doubled = {k: v + v[-1:] for k, v in feats.items()}
        merge_window_predictions(doubled, preds + preds[-1:], [40])
    with pytest.raises(ValueError, match="predictions for"):
        merge_window_predictions(feats, preds[:-1], [40])


def test_bad_inputs_raise_clear_errors(sp_tok):
    with pytest.raises(ValueError, match="sentence 0 has 2 words but 1 labels"):
        encode_tagging(sp_tok, [["The", "fox"]], [[1]], max_length=16)
    with pytest.raises(ValueError, match="2 label lists for 1 sentences"):
        encode_tagging(sp_tok, [["The"]], [[1], [2]], max_length=16)
    with pytest.raises(ValueError, match="no room for words"):
        split_into_windows(sp_tok, ["The"], max_length=2)

    class Slow:
        is_fast = False

    with pytest.raises(ValueError, match="not a fast tokenizer"):
        encode_tagging(Slow(), [["The"]], None, max_length=16)


# ---------------------------------------------------------------- opt-in: real data, real XLM-R vocabulary


@pytest.mark.real
@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_real_udpos_round_trip_keeps_every_word(shared_data, lang):
    import os
    from pathlib import Path

    root = os.environ.get("XSTILTS_REAL_MODELS")
    path = Path(root) / "multilingual-e5-small" if root else None
    if path is None or not (path / "tokenizer.json").is_file():
        pytest.skip("set XSTILTS_REAL_MODELS to a folder built by make models")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    sentences, labels, words, tags = [], [], [], []
    for line in (shared_data / "udpos" / f"dev-{lang}.tsv").read_text(encoding="utf-8").split("\n") + [""]:
        if not line.strip():
            if words:
                sentences.append(words)
                labels.append(tags)
            words, tags = [], []
            continue
        word, tag = line.split("\t")[:2]
        words.append(word)
        tags.append(len(tag))  # any deterministic id will do
    feats = encode_tagging(tok, sentences, labels, max_length=128)
    assert all(len(ids) <= 128 for ids in feats["input_ids"])
    oracle = [[IGNORE_INDEX if w is None else labels[s][w] for w in wids]
              for s, wids in zip(feats["sentence_index"], feats["word_ids"], strict=True)]
    assert merge_window_predictions(feats, oracle, [len(s) for s in sentences]) == labels
