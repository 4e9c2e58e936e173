"""Hand-made cases for every metric; expected numbers are derived by hand in the comments."""
from __future__ import annotations

import pytest

from xstilts import metrics
from xstilts.results import task_score

# --------------------------------------------------------------------------------------------------------------------
# accuracy


def test_accuracy_percent():
    assert metrics.accuracy(["a", "b", "c", "a"], ["a", "b", "b", "b"]) == 50.0
    assert metrics.accuracy([1, 0, 1], [1, 0, 1]) == 100.0


def test_accuracy_rejects_length_mismatch_and_empty():
    with pytest.raises(ValueError, match="3 predictions for 2 gold"):
        metrics.accuracy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])


# --------------------------------------------------------------------------------------------------------------------
# SQuAD v1.1


def test_squad_normalize_articles_punct_whitespace():
    assert metrics.squad_normalize("The  Cat, and a dog!") == "cat and dog"
    assert metrics.squad_normalize("An apple.") == "apple"
    # Articles only as whole words: "theater" and "another" keep their letters.
    assert metrics.squad_normalize("the theater, another") == "theater another"
    # ASCII punctuation only: guillemets and the CJK comma survive.
    assert metrics.squad_normalize("«Hola» 中，文") == "«hola» 中，文"
    # Removing punctuation can join words ("u.s." -> "us").
    assert metrics.squad_normalize("U.S. Army") == "us army"


def test_squad_em_f1_partial_overlap_and_max_over_golds():
    # pred tokens [big, red, dog], gold [red, dog]: overlap 2, P=2/3, R=1, F1=0.8.
    em, f1 = metrics.squad_em_f1("the big red dog", ["red dog"])
    assert em == 0.0 and f1 == pytest.approx(80.0)
    # Several gold answers: the best one counts for EM and (independently) for F1.
    em, f1 = metrics.squad_em_f1("red dog", ["a dog", "Red dog."])
    assert (em, f1) == (100.0, 100.0)
    em, f1 = metrics.squad_em_f1("big red", ["red", "big red dog"])
    # vs "red": P=1/2 R=1 -> 2/3; vs "big red dog": P=1 R=2/3 -> 0.8. Max 0.8.
    assert em == 0.0 and f1 == pytest.approx(80.0)


def test_squad_multiset_overlap():
    # pred [dog, dog, cat] vs gold [dog, cat, cat]: common = dog:1 + cat:1 = 2; P=R=2/3; F1=2/3.
    assert metrics.squad_em_f1("dog dog cat", ["dog cat cat"])[1] == pytest.approx(200 / 3)


def test_squad_chinese_without_spaces_behaves_like_em():
    # One whitespace token each and no overlap: F1 0 although half the characters match (the official behaviour).
    assert metrics.squad_em_f1("电化电池", ["电化"]) == (0.0, 0.0)


def test_squad_scores_missing_prediction_counts_zero():
    golds = {"q1": ["Paris"], "q2": ["1990"], "q3": ["red dog"]}
    preds = {"q1": "paris", "q3": "big red dog", "extra": "ignored"}
    # q1: EM 1 F1 1; q2 missing: 0; q3: EM 0, F1 0.8 -> EM 1/3, F1 1.8/3.
    scores = metrics.squad_scores(preds, golds)
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(60.0)


def test_squad_errors():
    with pytest.raises(ValueError, match="no gold answers"):
        metrics.squad_em_f1("x", [])
    with pytest.raises(ValueError, match="empty"):
        metrics.squad_scores({}, {})
    with pytest.raises(ValueError, match="list of strings"):
        metrics.squad_em_f1("x", "x")


# --------------------------------------------------------------------------------------------------------------------
# MLQA


def test_mlqa_chinese_character_tokenisation():
    assert metrics.mlqa_normalize("abc中文 def", "zh") == "abc 中 文 def"
    # Punctuation (here the CJK comma and a full stop) is deleted before segmentation.
    assert metrics.mlqa_normalize("中，文。", "zh") == "中 文"
    # pred chars [电 化 电 池] vs gold [电 化]: overlap 2, P=1/2, R=1, F1=2/3.
    em, f1 = metrics.mlqa_em_f1("电化电池", ["电化"], "zh")
    assert em == 0.0 and f1 == pytest.approx(200 / 3)
    # Only U+4E00..U+9FA5 are split; Japanese kana stay in one whitespace token.
    assert metrics.mlqa_normalize("ひらがな", "zh") == "ひらがな"


def test_mlqa_arabic_quirk_deletes_al_everywhere():
    assert metrics.mlqa_normalize("الطرق الترابية", "ar") == "طرق ترابية"
    # Even inside a word ("جمال", beauty, loses its final "ال").
    assert metrics.mlqa_normalize("جمال", "ar") == "جم"
    assert metrics.mlqa_em_f1("الكتاب", ["كتاب"], "ar") == (100.0, 100.0)
    # The SQuAD normalisation keeps the article, so the same pair is a miss there.
    assert metrics.squad_em_f1("الكتاب", ["كتاب"]) == (0.0, 0.0)


def test_mlqa_language_articles():
    assert metrics.mlqa_normalize("El gato y la casa", "es") == "gato y casa"
    assert metrics.mlqa_normalize("Der Hund, die Katze", "de") == "hund katze"
    assert metrics.mlqa_normalize("của tôi là", "vi") == "tôi"
    assert metrics.mlqa_normalize("The dog", "en") == "dog"
    # Hindi and Chinese have no articles; English articles are not removed for them.
    assert metrics.mlqa_normalize("a b the", "hi") == "a b the"
    # German articles are not removed in Spanish.
    assert metrics.mlqa_normalize("der el", "es") == "der"


def test_mlqa_unicode_punctuation():
    assert metrics.mlqa_normalize("«Hola», ¿qué?", "es") == "hola qué"
    # ASCII symbols outside Unicode P* ("$", "+") go too, because ASCII punctuation is added to the set.
    assert metrics.mlqa_normalize("$5+", "en") == "5"


def test_mlqa_scores_and_unknown_language():
    golds = {"a": ["电化电池"], "b": ["北京"]}
    scores = metrics.mlqa_scores({"a": "电化电池"}, golds, "zh")
    assert scores == {"exact_match": 50.0, "f1": 50.0}
    with pytest.raises(ValueError, match="got language 'fr'"):
        metrics.mlqa_normalize("x", "fr")


def test_qa_task_score():
    assert task_score("exact_match+f1", {"exact_match": 60.0, "f1": 80.0}) == 70.0
    assert task_score("f1", {"f1": 55.0, "precision": 1.0}) == 55.0


# --------------------------------------------------------------------------------------------------------------------
# seqeval 0.0.12 chunks


def test_get_entities_bio():
    assert metrics.get_entities_0012(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # An I- after O starts a chunk; a type change splits; B after B splits.
    assert metrics.get_entities_0012(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]
    assert metrics.get_entities_0012(["B-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]
    assert metrics.get_entities_0012(["B-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]
    # The type is the part after the *last* dash.
    assert metrics.get_entities_0012(["B-X-Y", "I-Y"]) == [("Y", 0, 1)]


def test_get_entities_pos_tags_merge_runs():
    tags = ["NOUN", "NOUN", "VERB", "DET", "NOUN"]
    assert metrics.get_entities_0012(tags) == [("NOUN", 0, 1), ("VERB", 2, 2), ("DET", 3, 3), ("NOUN", 4, 4)]
    # First letter S (SCONJ, SYM) acts like an S- tag: every token is its own chunk.
    assert metrics.get_entities_0012(["SCONJ", "SCONJ"]) == [("SCONJ", 0, 0), ("SCONJ", 1, 1)]
    # First letter I (INTJ) acts like an I- tag: a run merges.
    assert metrics.get_entities_0012(["INTJ", "INTJ", "PUNCT"]) == [("INTJ", 0, 1), ("PUNCT", 2, 2)]
    # CCONJ and SCONJ stay different types (seqeval 1.x would call both "CONJ").
    assert metrics.get_entities_0012(["CCONJ", "SCONJ"]) == [("CCONJ", 0, 0), ("SCONJ", 1, 1)]


def test_get_entities_rejects_empty_tag():
    with pytest.raises(ValueError, match="position 1"):
        metrics.get_entities_0012(["O", ""])


def test_tagging_cconj_vs_sconj_differs_from_seqeval_1x():
    # seqeval 1.x reads both as type "CONJ" and would score this 100; 0.0.12 (XTREME's) scores 0.
    assert metrics.tagging_scores([["SCONJ"]], [["CCONJ"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_tagging_sentences_joined_with_o():
    # Two one-word NOUN sentences are two chunks, not one merged run: the "O" between them separates them.
    result = metrics.tagging_scores([["NOUN"], ["NOUN"]], [["NOUN"], ["NOUN"]])
    assert result == {"f1": 100.0, "precision": 100.0, "recall": 100.0}
    assert metrics.get_entities_0012(["NOUN", "O", "NOUN"]) == [("NOUN", 0, 0), ("NOUN", 2, 2)]


def test_tagging_precision_recall_f1_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    # pred chunks PER(0,1), ORG(2,2), LOC(3,3); gold PER(0,1), LOC(3,3): 2 correct, P=2/3, R=1, F1=0.8.
    pred = [["B-PER", "I-PER", "B-ORG", "B-LOC"]]
    scores = metrics.tagging_scores(pred, gold)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(100.0)
    assert scores["f1"] == pytest.approx(80.0)
    # A truncated chunk (PER(0,0) instead of PER(0,1)) is wrong.
    scores = metrics.tagging_scores([["B-PER", "O", "O", "B-LOC"]], gold)
    assert scores == {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    # No predicted chunks at all: everything 0 (no division by zero).
    assert metrics.tagging_scores([["O", "O", "O", "O"]], gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_tagging_pos_f1_vs_token_accuracy():
    gold = [["NOUN", "NOUN", "VERB"], ["DET"]]
    pred = [["NOUN", "VERB", "VERB"], ["DET"]]
    # gold chunks NOUN(0,1) VERB(2,2) DET(4,4); pred NOUN(0,0) VERB(1,2) DET(4,4): 1 correct of 3 and 3.
    scores = metrics.tagging_scores(pred, gold)
    assert scores["f1"] == pytest.approx(100 / 3)
    # Token accuracy: 3 of 4 tokens right.
    assert metrics.token_accuracy(pred, gold) == 75.0


def test_tagging_shape_errors():
    with pytest.raises(ValueError, match="1 predicted sentences for 2 gold"):
        metrics.tagging_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 0 has 1 predicted tags but 2 gold"):
        metrics.token_accuracy([["O"]], [["O", "O"]])


# --------------------------------------------------------------------------------------------------------------------
# BUCC


def test_bucc_scores_by_hand():
    pred = {("de-1", "en-1"), ("de-2", "en-2"), ("de-3", "en-9")}
    gold = {("de-1", "en-1"), ("de-2", "en-2"), ("de-4", "en-4"), ("de-5", "en-5")}
    # 2 correct: P=2/3, R=1/2, F1=2*(1/3)/(7/6)=4/7.
    scores = metrics.bucc_scores(pred, gold)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(400 / 7)


def test_bucc_no_correct_or_empty():
    zero = {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    assert metrics.bucc_scores({("a", "b")}, {("a", "c")}) == zero
    assert metrics.bucc_scores(set(), {("a", "c")}) == zero
    # Duplicates collapse: a list with a repeated pair counts it once.
    assert metrics.bucc_scores([("a", "b"), ("a", "b")], [("a", "b")])["precision"] == 100.0


# --------------------------------------------------------------------------------------------------------------------
# Retrieval ranking


def test_mrr_at_k_by_hand():
    rankings = [["a", "b", "c"], ["x", "y"], ["p"]]
    # Ranks 2, none, 1 -> (1/2 + 0 + 1) / 3 = 0.5. Fewer than 20 candidates is fine.
    assert metrics.mrr_at_k(rankings, ["b", "z", "p"]) == pytest.approx(50.0)


def test_mrr_at_k_cutoff_and_duplicates():
    ranking = [f"c{i}" for i in range(1, 30)]
    assert metrics.mrr_at_k([ranking], ["c20"], k=20) == pytest.approx(100 / 20)
    assert metrics.mrr_at_k([ranking], ["c21"], k=20) == 0.0
    # A repeated candidate counts at its first position; an empty ranking scores 0.
    assert metrics.mrr_at_k([["a", "g", "g"], []], [{"g"}, {"g"}]) == pytest.approx(25.0)


def test_map_at_k_several_correct_answers():
    # gold {a, b, c}, ranking [a, x, b]: hits at 1 (P=1) and 3 (P=2/3); AP = (1 + 2/3) / 3 = 5/9.
    assert metrics.map_at_k([["a", "x", "b"]], [{"a", "b", "c"}]) == pytest.approx(500 / 9)
    # A duplicate is not a second hit: [a, a, b] vs {a, b}: (1 + 2/3) / 2.
    assert metrics.map_at_k([["a", "a", "b"]], [{"a", "b"}]) == pytest.approx(250 / 3)
    # More correct candidates than k: divide by k, not by the gold size.
    assert metrics.map_at_k([["a", "b"]], [{"a", "b", "c"}], k=2) == 100.0


def test_map_at_k_ties_are_the_callers_order():
    # Two candidates with tied scores: whichever order the caller passes is the ranking that is scored.
    assert metrics.map_at_k([["x", "a"]], [{"a"}]) == 50.0
    assert metrics.map_at_k([["a", "x"]], [{"a"}]) == 100.0


def test_map_equals_mrr_with_one_gold():
    rankings = [["q", "w", "e", "r"], ["e", "q"], ["z"]]
    golds = ["e", "q", "y"]
    assert metrics.map_at_k(rankings, golds) == pytest.approx(metrics.mrr_at_k(rankings, golds))
    # (1/3 + 1/2 + 0) / 3 * 100
    assert metrics.mrr_at_k(rankings, golds) == pytest.approx(100 * (1 / 3 + 1 / 2) / 3)


def test_ranking_errors():
    with pytest.raises(ValueError, match="one ranking per query"):
        metrics.mrr_at_k([["a"]], ["a", "b"])
    with pytest.raises(ValueError, match="no correct candidate"):
        metrics.map_at_k([["a"]], [set()])
    with pytest.raises(ValueError, match="positive"):
        metrics.mrr_at_k([["a"]], ["a"], k=0)
