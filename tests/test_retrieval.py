"""Retrieval without training: blocked k-NN, ratio margin, BUCC mining and thresholds, Tatoeba, readers."""
from __future__ import annotations

import math

import pytest
import torch

from xstilts.data import read_bucc_files, read_tatoeba_files
from xstilts.metrics import bucc_scores
from xstilts.retrieval import (
    apply_threshold,
    best_threshold,
    blocked_topk_cosine,
    bucc_evaluate,
    cls_pool,
    dedup_sentences,
    format_tatoeba_predictions,
    knn_mean_similarity,
    l2_normalize,
    margin_scores,
    mean_pool,
    mine_pairs,
    tatoeba_accuracy,
    tatoeba_predictions,
)


def _random_unit(n: int, d: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return l2_normalize(torch.randn(n, d, generator=gen))


# ---------------------------------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------------------------------
def test_mean_pool_includes_every_unmasked_token_and_skips_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[0.0, 0.0], [3.0, 3.0], [6.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.allclose(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0], [3.0, 1.0]]))


def test_mean_pool_rejects_empty_mask_and_shape_mismatch():
    with pytest.raises(ValueError, match="all zero"):
        mean_pool(torch.ones(2, 3, 4), torch.tensor([[1, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="does not match"):
        mean_pool(torch.ones(2, 3, 4), torch.ones(2, 4))


def test_cls_pool_and_l2_normalize():
    hidden = torch.tensor([[[3.0, 4.0], [9.0, 9.0]]])
    assert torch.equal(cls_pool(hidden), torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(l2_normalize(cls_pool(hidden)), torch.tensor([[0.6, 0.8]]))
    assert torch.equal(l2_normalize(torch.zeros(1, 3)), torch.zeros(1, 3))


# ---------------------------------------------------------------------------------------------------------------------
# blocked top-k
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("block_size", [1, 3, 7, 16, 50, 4096])
@pytest.mark.parametrize("k", [1, 4, 37])
def test_blocked_topk_equals_dense(block_size, k):
    queries, keys = _random_unit(50, 8, 0), _random_unit(37, 8, 1)
    scores, indices = blocked_topk_cosine(queries, keys, k, block_size)
    dense_scores, dense_idx = torch.sort(queries @ keys.T, dim=1, descending=True, stable=True)
    assert indices.shape == (50, k)
    assert torch.equal(indices, dense_idx[:, :k])
    assert torch.allclose(scores, dense_scores[:, :k], atol=1e-6)


@pytest.mark.parametrize("block_size", [1, 2, 3, 5])
def test_blocked_topk_ties_go_to_the_lower_index(block_size):
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    keys = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    _, idx = blocked_topk_cosine(queries, keys, 3, block_size)
    assert idx.tolist() == [[1, 2, 4], [0, 3, 1]]


def test_blocked_topk_k_larger_than_keys_is_an_error():
    with pytest.raises(ValueError, match="k=5 is larger than the number of keys"):
        blocked_topk_cosine(_random_unit(3, 4, 0), _random_unit(4, 4, 1), 5)


def test_blocked_topk_rejects_unnormalised_and_mismatched_inputs():
    with pytest.raises(ValueError, match="l2_normalize"):
        blocked_topk_cosine(torch.randn(3, 4) * 10, _random_unit(4, 4, 1), 1)
    with pytest.raises(ValueError, match="dim"):
        blocked_topk_cosine(_random_unit(3, 4, 0), _random_unit(4, 5, 1), 1)
    with pytest.raises(ValueError, match="block_size"):
        blocked_topk_cosine(_random_unit(3, 4, 0), _random_unit(4, 4, 1), 1, block_size=0)


# ---------------------------------------------------------------------------------------------------------------------
# ratio margin
# ---------------------------------------------------------------------------------------------------------------------
SRC_3 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
TGT_3 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])


def test_margin_scores_hand_computed_3x3():
    # cos = [[1, 0, .8], [0, 1, .6], [.6, .8, .96]]; with k = 2 the neighbourhood means are
    # sources (.9, .8, .88) and targets (.8, .9, .88); score = cos / ((mean_x + mean_y) / 2).
    assert torch.allclose(knn_mean_similarity(SRC_3, TGT_3, k=2), torch.tensor([0.9, 0.8, 0.88]))
    assert torch.allclose(knn_mean_similarity(TGT_3, SRC_3, k=2), torch.tensor([0.8, 0.9, 0.88]))
    expected = torch.tensor(
        [
            [1 / 0.85, 0.0, 0.8 / 0.89],
            [0.0, 1 / 0.85, 0.6 / 0.84],
            [0.6 / 0.84, 0.8 / 0.89, 0.96 / 0.88],
        ]
    )
    assert torch.allclose(margin_scores(SRC_3, TGT_3, k=2), expected, atol=1e-6)


def test_margin_scores_clamp_k_to_the_other_side():
    # k = 4 > 3 rows: every neighbourhood is the whole other side, as in the reference's min(k, size).
    assert torch.allclose(margin_scores(SRC_3, TGT_3, k=4), margin_scores(SRC_3, TGT_3, k=3))


# ---------------------------------------------------------------------------------------------------------------------
# mining
# ---------------------------------------------------------------------------------------------------------------------
def test_mine_pairs_hand_computed_3x3():
    mined = mine_pairs(SRC_3, TGT_3, ["x0", "x1", "x2"], ["y0", "y1", "y2"], k=2)
    assert [(s, t) for _, s, t in mined] == [("x0", "y0"), ("x1", "y1"), ("x2", "y2")]
    assert [round(score, 5) for score, _, _ in mined] == [round(1 / 0.85, 5), round(1 / 0.85, 5), round(0.96 / 0.88, 5)]


def test_mine_pairs_greedy_one_to_one():
    # k = 1: x1's forward best is y0 (margin .8 / .9), but (x0, y0) scores 1 and takes y0 first, so x1 falls back to
    # the backward candidate of y1 (margin .6 / .7).
    src = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    tgt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mined = mine_pairs(src, tgt, ["x0", "x1"], ["y0", "y1"], k=1)
    assert [(s, t) for _, s, t in mined] == [("x0", "y0"), ("x1", "y1")]
    assert mined[0][0] == pytest.approx(1.0)
    assert mined[1][0] == pytest.approx(0.6 / 0.7)


def _dense_reference_mining(src, tgt, k):
    """Brute force on the full matrices: the procedure of the module docstring, written the obvious way."""
    cos = src @ tgt.T
    margin = margin_scores(src, tgt, k)
    k_f, k_b = min(k, tgt.shape[0]), min(k, src.shape[0])
    near_f = torch.sort(cos, dim=1, descending=True, stable=True).indices[:, :k_f]
    near_b = torch.sort(cos.T, dim=1, descending=True, stable=True).indices[:, :k_b]
    cands = []
    for i in range(src.shape[0]):
        j = max(near_f[i].tolist(), key=lambda j: margin[i, j].item())
        cands.append((margin[i, j].item(), i, j))
    for j in range(tgt.shape[0]):
        i = max(near_b[j].tolist(), key=lambda i: margin[i, j].item())
        cands.append((margin[i, j].item(), i, j))
    cands.sort(key=lambda c: -c[0])
    used_s, used_t, out = set(), set(), []
    for _score, i, j in cands:
        if i not in used_s and j not in used_t:
            used_s.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


@pytest.mark.parametrize("block_size", [1, 5, 16, 4096])
def test_mine_pairs_matches_dense_reference_for_any_block_size(block_size):
    src, tgt = _random_unit(40, 6, 3), _random_unit(29, 6, 4)
    mined = mine_pairs(src, tgt, [f"s{i}" for i in range(40)], [f"t{j}" for j in range(29)], k=4, block_size=block_size)
    assert [(int(s[1:]), int(t[1:])) for _, s, t in mined] == _dense_reference_mining(src, tgt, 4)
    scores = [score for score, _, _ in mined]
    assert scores == sorted(scores, reverse=True)
    margin = margin_scores(src, tgt, 4)
    for score, s, t in mined:
        assert score == pytest.approx(margin[int(s[1:]), int(t[1:])].item(), abs=1e-5)


def test_mine_pairs_rejects_wrong_id_count_and_mode():
    with pytest.raises(ValueError, match="src_ids has 2 entries"):
        mine_pairs(SRC_3, TGT_3, ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="duplicates"):
        mine_pairs(SRC_3, TGT_3, ["a", "b", "c"], ["x", "y", "z"], duplicates="first")


def test_dedup_sentences_maps_back_to_every_id():
    result = dedup_sentences(["a", "b", "c", "d"], ["x", "y", "x", "z"])
    assert result.texts == ["x", "y", "z"]
    assert result.ids == [("a", "c"), ("b",), ("d",)]
    assert result.index == [0, 1, 0, 2]
    with pytest.raises(ValueError, match="occurs more than once"):
        dedup_sentences(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="2 ids but 1 sentences"):
        dedup_sentences(["a", "b"], ["x"])


def test_mine_pairs_expands_or_drops_duplicate_texts():
    src = dedup_sentences(["s1", "s2", "s3", "s4"], ["hello", "bye", "hello", "other"])
    tgt = dedup_sentences(["t1", "t2", "t3"], ["HELLO", "BYE", "OTHER"])
    emb = SRC_3  # unique source texts hello / bye / other; targets embedded identically
    expanded = mine_pairs(emb, TGT_3, src.ids, tgt.ids, k=2)
    pairs = [(s, t) for _, s, t in expanded]
    assert pairs == [("s1", "t1"), ("s3", "t1"), ("s2", "t2"), ("s4", "t3")]
    assert expanded[0][0] == expanded[1][0]
    dropped = mine_pairs(emb, TGT_3, src.ids, tgt.ids, k=2, duplicates="drop")
    assert [(s, t) for _, s, t in dropped] == [("s2", "t2"), ("s4", "t3")]


# ---------------------------------------------------------------------------------------------------------------------
# thresholds and BUCC scores
# ---------------------------------------------------------------------------------------------------------------------
DEV_CANDIDATES = [(0.9, "a", "A"), (0.8, "b", "B"), (0.7, "c", "C"), (0.6, "d", "D")]
DEV_GOLD = {("a", "A"), ("c", "C"), ("e", "E")}


def test_best_threshold_on_hand_made_candidates():
    # F1 of the cuts after 1..4 candidates: .5, .4, 2/3, .571 -> keep three; threshold halfway between .7 and .6.
    threshold, f1, precision, recall = best_threshold(DEV_CANDIDATES, DEV_GOLD)
    assert threshold == pytest.approx(0.65)
    assert f1 == pytest.approx(200 / 3) and precision == pytest.approx(200 / 3) and recall == pytest.approx(200 / 3)
    assert apply_threshold(DEV_CANDIDATES, threshold) == {("a", "A"), ("b", "B"), ("c", "C")}
    # The incremental sweep agrees with the official pair-set scorer at the chosen threshold.
    assert bucc_scores(apply_threshold(DEV_CANDIDATES, threshold), DEV_GOLD)["f1"] == pytest.approx(f1)


def test_best_threshold_keeps_equal_scores_together_and_handles_no_hit():
    # (b, B) and (c, C) tie at .8: no threshold separates them, so the cut after (b, B) alone is never considered.
    candidates = [(0.9, "a", "A"), (0.8, "b", "B"), (0.8, "c", "C"), (0.1, "d", "D")]
    threshold, f1, _, _ = best_threshold(candidates, {("a", "A"), ("c", "C")})
    assert threshold == pytest.approx(0.45)
    assert f1 == pytest.approx(80.0)
    assert best_threshold(candidates, {("z", "Z")}) == (math.inf, 0.0, 0.0, 0.0)
    assert apply_threshold(candidates, math.inf) == set()
    with pytest.raises(ValueError, match="gold_pairs is empty"):
        best_threshold(candidates, set())


def test_bucc_evaluate_reports_dev_tuned_and_oracle_scores_apart():
    test_candidates = [(0.95, "p", "P"), (0.66, "q", "Q"), (0.64, "r", "R"), (0.5, "s", "S")]
    test_gold = {("p", "P"), ("q", "Q"), ("r", "R")}
    result = bucc_evaluate(DEV_CANDIDATES, DEV_GOLD, test_candidates, test_gold)
    assert result["threshold"] == pytest.approx(0.65)
    assert result["precision"] == pytest.approx(100.0)
    assert result["recall"] == pytest.approx(200 / 3)
    assert result["f1"] == pytest.approx(80.0)
    assert result["oracle_f1"] == pytest.approx(100.0)
    assert result["oracle_threshold"] == pytest.approx(0.57)
    assert result["dev_f1"] == pytest.approx(200 / 3)


# ---------------------------------------------------------------------------------------------------------------------
# Tatoeba
# ---------------------------------------------------------------------------------------------------------------------
def test_tatoeba_permuted_index_gives_expected_accuracy():
    english = torch.eye(5)
    perm = [0, 2, 1, 3, 4]  # non-English row r holds the translation of English line perm[r]
    non_english = english[perm]
    assert tatoeba_predictions(non_english, english) == [0, 2, 1, 3, 4]
    assert tatoeba_accuracy(non_english, english) == pytest.approx(60.0)
    assert tatoeba_accuracy(english, english, block_size=2) == pytest.approx(100.0)
    assert format_tatoeba_predictions([0, 2, 1]) == "0\n2\n1\n"


def test_tatoeba_direction_indexes_non_english_and_queries_english():
    non_english = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    english = torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    assert tatoeba_predictions(non_english, english) == [2, 1]  # one prediction (a non-English row) per English line
    with pytest.raises(ValueError, match="same number of rows"):
        tatoeba_accuracy(non_english, english)


# ---------------------------------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------------------------------
def _write(path, text):
    path.write_text(text, encoding="utf-8")


def test_read_bucc_files(tmp_path):
    _write(tmp_path / "de-en.dev.de", "de-1\tHallo Welt\nde-2\tTschüss\n\n")
    _write(tmp_path / "de-en.dev.en", "en-1\t Hello world \nen-2\tBye\nen-3\tOther\n")
    _write(tmp_path / "de-en.dev.gold", "de-1\ten-1\n")
    split = read_bucc_files(tmp_path, "de", "dev")
    assert split.src_ids == ["de-1", "de-2"] and split.src_sentences == ["Hallo Welt", "Tschüss"]
    assert split.tgt_ids == ["en-1", "en-2", "en-3"] and split.tgt_sentences[0] == "Hello world"
    assert split.gold == {("de-1", "en-1")}


def test_read_bucc_files_original_subfolder_and_missing_files(tmp_path):
    sub = tmp_path / "fr-en"
    sub.mkdir()
    _write(sub / "fr-en.sample.fr", "fr-1\tBonjour\n")
    _write(sub / "fr-en.sample.en", "en-1\tHello\n")
    assert read_bucc_files(tmp_path, "fr", "sample", require_gold=False).gold is None
    with pytest.raises(FileNotFoundError, match=r"fr-en\.sample\.gold"):
        read_bucc_files(tmp_path, "fr", "sample")
    with pytest.raises(FileNotFoundError, match=r"ru-en\.dev\.ru"):
        read_bucc_files(tmp_path, "ru", "dev")


def test_read_bucc_files_rejects_malformed_lines_and_foreign_gold(tmp_path):
    _write(tmp_path / "zh-en.dev.zh", "zh-1 no tab here\n")
    _write(tmp_path / "zh-en.dev.en", "en-1\tHello\n")
    _write(tmp_path / "zh-en.dev.gold", "zh-9\ten-1\n")
    with pytest.raises(ValueError, match=r"zh-en\.dev\.zh:1"):
        read_bucc_files(tmp_path, "zh", "dev")
    _write(tmp_path / "zh-en.dev.zh", "zh-1\t你好\n")
    with pytest.raises(ValueError, match="missing from the sentence files"):
        read_bucc_files(tmp_path, "zh", "dev")


def test_read_tatoeba_files(tmp_path):
    _write(tmp_path / "tatoeba.deu-eng.deu", "Hallo.\n\nTschüss.\n")
    _write(tmp_path / "tatoeba.deu-eng.eng", "Hello.\nEmpty line on the other side.\nBye.\n")
    non_english, english = read_tatoeba_files(tmp_path, "deu")
    assert non_english == ["Hallo.", "", "Tschüss."]
    assert english[2] == "Bye."
    _write(tmp_path / "tatoeba.deu-eng.eng", "Hello.\n")
    with pytest.raises(ValueError, match="aligned by line"):
        read_tatoeba_files(tmp_path, "deu")
    with pytest.raises(FileNotFoundError, match=r"tatoeba\.fra-eng\.fra"):
        read_tatoeba_files(tmp_path, "fra")
    with pytest.raises(ValueError, match="3-letter"):
        read_tatoeba_files(tmp_path, "de")


# ---------------------------------------------------------------------------------------------------------------------
# real data (opt-in)
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.real
def test_real_bucc_zh_dev_reads_and_mines(shared_data):
    split = read_bucc_files(shared_data / "bucc2018", "zh", "dev")
    assert (len(split.src_ids), len(split.tgt_ids), len(split.gold)) == (8624, 13589, 257)
    src, tgt = dedup_sentences(split.src_ids, split.src_sentences), dedup_sentences(split.tgt_ids, split.tgt_sentences)
    assert sum(len(g) for g in src.ids) == 8624 and sum(len(g) for g in tgt.ids) == 13589
    gen = torch.Generator().manual_seed(0)
    src_emb = l2_normalize(torch.randn(len(src.texts), 32, generator=gen))
    tgt_emb = l2_normalize(torch.randn(len(tgt.texts), 32, generator=gen))
    mined = mine_pairs(src_emb, tgt_emb, src.ids, tgt.ids, k=4, block_size=2048)
    # One-to-one over texts: each unique text's ids appear together with exactly one partner text.
    src_text_of = {sid: pos for pos, group in enumerate(src.ids) for sid in group}
    tgt_text_of = {tid: pos for pos, group in enumerate(tgt.ids) for tid in group}
    text_pairs = {(src_text_of[s], tgt_text_of[t]) for _, s, t in mined}
    assert len({i for i, _ in text_pairs}) == len(text_pairs) == len({j for _, j in text_pairs})
    assert len(text_pairs) > 0.5 * min(len(src.texts), len(tgt.texts))
    threshold, f1, _, _ = best_threshold(mined, split.gold)
    assert 0 <= f1 < 10  # random embeddings find (almost) nothing


@pytest.mark.real
def test_real_tatoeba_reader(shared_data):
    non_english, english = read_tatoeba_files(shared_data / "tatoeba", "deu")
    assert len(non_english) == len(english) == 1000
