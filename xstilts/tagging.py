"""Pre- and post-processing for word-level tagging (UD-POS, PAN-X / WikiANN NER).

The model predicts one label per word from the word's **first sub-token** (jiant's and XTREME's heads); other
sub-tokens and special tokens are ignored in the loss (label -100) and in prediction.

Sentences longer than the model's window are split into word-aligned windows and the predictions are merged back,
as XTREME does, so every word gets exactly one prediction (jiant truncated instead and silently dropped words from
evaluation). A word is never split across windows; a single word longer than a whole window is cut to its first
sub-tokens, which is harmless because only its first sub-token is predicted.

Framework-free: Python lists / numpy in, Python structures out; a Hugging Face *fast* tokenizer is needed for
``word_ids``. Byte-level BPE tokenizers (RoBERTa style) must be created with ``add_prefix_space=True`` to accept
pre-split words.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

IGNORE_INDEX = -100  # the label torch's cross-entropy skips


def align_word_labels(
    word_ids: Sequence[int | None], word_labels: Sequence[int], ignore: int = IGNORE_INDEX
) -> list[int]:
    """Per-token labels: each word's label on its first sub-token, ``ignore`` everywhere else.

    Args:
        word_ids: per token, the index of its word (``BatchEncoding.word_ids()``), None for special tokens.
        word_labels: one label per word, indexed by those word indices.
        ignore: the label for special tokens and non-first sub-tokens.

    Returns:
        A list as long as ``word_ids``.

    Raises:
        ValueError: a word index outside ``word_labels``.
    """
    seen: set[int] = set()
    labels = []
    for w in word_ids:
        if w is None or w in seen:
            labels.append(ignore)
            continue
        if not 0 <= w < len(word_labels):
            raise ValueError(f"word index {w} has no label: only {len(word_labels)} word labels were given")
        seen.add(w)
        labels.append(int(word_labels[w]))
    return labels


def _require_fast(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"{type(tokenizer).__name__} is not a fast tokenizer: word alignment needs word_ids(); "
            "load it with AutoTokenizer.from_pretrained(..., use_fast=True)"
        )


def _tokenize_words(tokenizer: Any, sentences: list[list[str]], **kwargs: Any) -> Any:
    try:
        return tokenizer(sentences, is_split_into_words=True, **kwargs)
    except Exception as err:  # the backends raise plain Exception/AssertionError; say what to do instead
        raise ValueError(
            f"the tokenizer could not encode pre-split words ({err}); byte-level BPE tokenizers need "
            "add_prefix_space=True for word-level tagging"
        ) from err


def _word_piece_counts(tokenizer: Any, sentences: list[list[str]]) -> tuple[list[list[str]], list[list[int]]]:
    """Sub-token counts per word, after replacing words that would produce no sub-token.

    Some words vanish under a tokenizer's normalizer (an empty string, a lone zero-width or control character,
    which UD treebanks do contain); such a word would get no prediction. It is replaced by the unknown token, so it
    gets exactly one sub-token (XTREME does the same).
    """
    fixed = [list(words) for words in sentences]
    counts: list[list[int]] = [[] for _ in sentences]
    todo = [i for i, words in enumerate(fixed) if words]
    for attempt in range(2):
        if not todo:
            break
        enc = _tokenize_words(tokenizer, [fixed[i] for i in todo], add_special_tokens=False)
        redo = []
        for j, i in enumerate(todo):
            c = [0] * len(fixed[i])
            for w in enc.word_ids(j):
                if w is not None:
                    c[w] += 1
            counts[i] = c
            empty = [w for w, n in enumerate(c) if n == 0]
            if empty:
                if attempt == 1 or tokenizer.unk_token is None:
                    raise ValueError(
                        f"sentence {i}: words {[fixed[i][w] for w in empty]!r} produce no sub-token and the "
                        "tokenizer has no unknown token to stand in for them; clean these words from the data"
                    )
                for w in empty:
                    fixed[i][w] = tokenizer.unk_token
                redo.append(i)
        todo = redo
    return fixed, counts


def _windows_from_counts(counts: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Greedy word-aligned windows whose sub-token total stays within ``budget`` (a lone longer word gets its own)."""
    windows, start, used = [], 0, 0
    for w, n in enumerate(counts):
        if w > start and used + n > budget:
            windows.append((start, w))
            start, used = w, 0
        used += n
    if counts:
        windows.append((start, len(counts)))
    return windows


def _budget(tokenizer: Any, max_length: int) -> int:
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise ValueError(f"max_length={max_length} leaves no room for words after the special tokens; raise it")
    return budget


def split_into_windows(tokenizer: Any, words: Sequence[str], max_length: int) -> list[tuple[int, int]]:
    """Splits a sentence into word-aligned windows that fit ``max_length`` tokens (special tokens included).

    Args:
        tokenizer: a Hugging Face fast tokenizer.
        words: the sentence's words.
        max_length: tokens per window including special tokens.

    Returns:
        ``[(first_word, end_word), ...]`` (end exclusive), covering every word exactly once, in order. An empty
        sentence gives ``[]``. A word longer than a window sits alone in its window (its tokens get truncated).
    """
    _require_fast(tokenizer)
    budget = _budget(tokenizer, max_length)
    _, counts = _word_piece_counts(tokenizer, [list(words)])
    return _windows_from_counts(counts[0], budget)


def encode_tagging(
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    labels: Sequence[Sequence[int]] | None,
    max_length: int,
) -> dict[str, list]:
    """Tokenises word-split sentences into model features, one per window.

    Args:
        tokenizer: a Hugging Face fast tokenizer (byte-level BPE ones need ``add_prefix_space=True``).
        sentences: per sentence, its words.
        labels: per sentence, one label id per word (training/dev), or None (prediction).
        max_length: tokens per feature, special tokens included.

    Returns:
        A dict of equal-length lists, one entry per feature, in sentence then window order: ``input_ids``,
        ``attention_mask`` (and ``token_type_ids`` if made), ``sentence_index``, ``word_offset`` (the sentence index
        of the window's first word), ``word_ids`` (per token, the word's index **in the sentence**, None for special
        tokens), and with labels ``labels`` (aligned with :func:`align_word_labels`). An empty sentence produces no
        feature; :func:`merge_window_predictions` gives it an empty prediction list, so sentence positions are kept.

    Raises:
        ValueError: labels that do not match the sentences, a slow tokenizer, or a too small ``max_length``.
    """
    _require_fast(tokenizer)
    sentences = [list(s) for s in sentences]
    if labels is not None:
        if len(labels) != len(sentences):
            raise ValueError(f"got {len(labels)} label lists for {len(sentences)} sentences; pass one per sentence")
        for i, (words, labs) in enumerate(zip(sentences, labels, strict=True)):
            if len(words) != len(labs):
                raise ValueError(f"sentence {i} has {len(words)} words but {len(labs)} labels")
    budget = _budget(tokenizer, max_length)
    fixed, counts = _word_piece_counts(tokenizer, sentences)

    spans = [(i, a, b) for i, c in enumerate(counts) for a, b in _windows_from_counts(c, budget)]
    out: dict[str, list] = {}
    if not spans:
        return {"input_ids": [], "attention_mask": [], "sentence_index": [], "word_offset": [], "word_ids": []} | (
            {"labels": []} if labels is not None else {}
        )
    # Truncation only ever bites a window holding one over-long word: the others fit by construction.
    enc = _tokenize_words(tokenizer, [fixed[i][a:b] for i, a, b in spans], truncation=True, max_length=max_length)
    model_keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    for f, (i, a, b) in enumerate(spans):
        word_ids = [None if w is None else a + w for w in enc.word_ids(f)]
        if {w for w in word_ids if w is not None} != set(range(a, b)):
            # Cannot happen when words are tokenised independently (what is_split_into_words does); fail loudly
            # rather than lose words if a tokenizer ever behaves otherwise.
            raise RuntimeError(f"sentence {i}: window of words {a}..{b - 1} lost words during tokenisation")
        for k in model_keys:
            out.setdefault(k, []).append(list(enc[k][f]))
        out.setdefault("sentence_index", []).append(i)
        out.setdefault("word_offset", []).append(a)
        out.setdefault("word_ids", []).append(word_ids)
        if labels is not None:
            out.setdefault("labels", []).append(align_word_labels(word_ids, labels[i]))
    return out


def merge_window_predictions(
    features: Mapping[str, Sequence],
    predictions_per_feature: Any,
    num_words_per_sentence: Sequence[int],
) -> list[list[int]]:
    """Back from window features to one prediction per word per sentence.

    Args:
        features: the output of :func:`encode_tagging` (``sentence_index`` and ``word_ids`` are used).
        predictions_per_feature: per feature, per token either a label id (e.g. an argmax) or a row of logits
            (then the argmax is taken); rows may be longer than the feature (padding is ignored).
        num_words_per_sentence: the number of words of every sentence (sentences without features get []).

    Returns:
        Per sentence, one predicted label id per word, in word order.

    Raises:
        ValueError: a word predicted twice or never, or predictions that do not line up with the features.
    """
    sentence_index = list(features["sentence_index"])
    word_ids_all = list(features["word_ids"])
    preds = list(predictions_per_feature)
    if len(preds) != len(sentence_index):
        raise ValueError(f"got predictions for {len(preds)} features but there are {len(sentence_index)} features")
    merged: list[list[int | None]] = [[None] * int(n) for n in num_words_per_sentence]
    for f, (sent, word_ids) in enumerate(zip(sentence_index, word_ids_all, strict=True)):
        if not 0 <= sent < len(merged):
            raise ValueError(f"feature {f} belongs to sentence {sent}, beyond the {len(merged)} sentences given")
        row = np.asarray(preds[f])
        if row.ndim == 2:
            row = row.argmax(axis=-1)
        if row.shape[0] < len(word_ids):
            raise ValueError(f"feature {f} has {len(word_ids)} tokens but only {row.shape[0]} predictions")
        seen: set[int] = set()
        for t, w in enumerate(word_ids):
            if w is None or w in seen:
                continue
            seen.add(w)
            if not 0 <= w < len(merged[sent]):
                raise ValueError(f"feature {f}: word {w} beyond the {len(merged[sent])} words of sentence {sent}")
            if merged[sent][w] is not None:
                raise ValueError(f"sentence {sent}: word {w} is predicted by more than one window")
            merged[sent][w] = int(row[t])
    for sent, words in enumerate(merged):
        missing = [w for w, p in enumerate(words) if p is None]
        if missing:
            raise ValueError(f"sentence {sent}: words {missing} got no prediction (features missing or truncated?)")
    return merged  # type: ignore[return-value]
