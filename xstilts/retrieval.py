"""Retrieval without training: BUCC 2018 bitext mining and Tatoeba sentence retrieval.

Both tasks score a frozen encoder's sentence embeddings directly (no fine-tuning). Everything here is a pure function
of tensors, id lists and file contents; the encoder forward pass lives elsewhere and only hands over pooled
embeddings (see :func:`mean_pool`, :func:`cls_pool`, :func:`l2_normalize`).

Memory: nothing here ever builds an ``n x m`` similarity matrix (except :func:`margin_scores`, which says so). All
nearest-neighbour searches go through query blocks x key blocks of at most ``block_size`` rows each, so the extra
memory is ``O(block_size**2 + (n + m) * k)`` on top of the embeddings themselves; ``bench/bucc_mining.py`` measures it.

Percentages: every precision / recall / F1 / accuracy returned here is on the official 0-100 scale.

BUCC procedure (the ratio-margin "max" mining of LASER's ``mine_bitexts.py``, as used by XTREME's
``third_party/utils_retrieve.py``), exactly as :func:`mine_pairs` implements it:

1. Sentences are deduplicated first (:func:`dedup_sentences`); mining runs on unique texts.
2. Cosine similarity on L2-normalised embeddings. For every source x, its k = 4 nearest targets and their mean
   similarity ``mean_knn_sim(x)``; for every target y, its k nearest sources and ``mean_knn_sim(y)`` (k is clamped to
   the other side's size, as the reference does).
3. Ratio margin ``score(x, y) = cos(x, y) / ((mean_knn_sim(x) + mean_knn_sim(y)) / 2)``.
4. Forward candidate of x: the one of its k nearest targets with the highest margin; backward candidate of y likewise.
5. Union of the n forward and m backward candidates, sorted by score descending, accepted greedily one-to-one: a
   candidate is kept only if neither its source nor its target text was used by a higher-scoring kept candidate.
6. Each kept unique-text pair expands to its sentence ids (every source id x every target id of those texts).
7. A threshold (F1-optimal on the dev/"sample" gold, :func:`best_threshold`) keeps candidates with score >= threshold.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from xstilts.metrics import bucc_scores

__all__ = [
    "DedupResult",
    "apply_threshold",
    "best_threshold",
    "blocked_topk_cosine",
    "bucc_evaluate",
    "cls_pool",
    "dedup_sentences",
    "format_tatoeba_predictions",
    "knn_mean_similarity",
    "l2_normalize",
    "margin_scores",
    "mean_pool",
    "mine_pairs",
    "tatoeba_accuracy",
    "tatoeba_predictions",
]

Candidate = tuple[float, str, str]
Pair = tuple[str, str]

# Tolerance for "is this row L2-normalised": loose enough for float16/bfloat16 inputs, tight enough to catch raw
# (unnormalised) encoder outputs, whose norms are typically in the tens.
_NORM_TOLERANCE = 1e-2


# ----------------------------------------------------------------------------------------------------------------------
# Pooling and normalisation
# ----------------------------------------------------------------------------------------------------------------------
def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scales every row to unit L2 norm.

    Args:
        x: Float tensor ``[n, d]``.
        eps: Floor on the norm, so an all-zero row stays zero instead of producing NaN.

    Returns:
        A new tensor of the same shape and dtype.
    """
    _check_matrix(x, "x")
    return torch.nn.functional.normalize(x, p=2.0, dim=1, eps=eps)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor, check_empty: bool = True) -> torch.Tensor:
    """Averages token vectors over the positions where ``attention_mask`` is 1.

    This is XTREME's default pooling (``run_retrieval.py`` without ``--pool_skip_special_token``): the mask is the
    attention mask itself, so the special tokens (``<s>``/``[CLS]`` and ``</s>``/``[SEP]``) **are included** in the
    mean and only padding is excluded. To skip special tokens, pass a mask with those positions zeroed.

    Args:
        hidden: Hidden states ``[batch, length, dim]`` (one layer, e.g. ``hidden_states[14]``).
        attention_mask: ``[batch, length]``, 1 for real tokens and 0 for padding (bool or integer).
        check_empty: Refuse rows whose mask is all zero (reads the device: a caller that checked the mask on the host
            passes False, so a GPU loop never waits).

    Returns:
        ``[batch, dim]`` float32 sentence embeddings (not normalised).

    Raises:
        ValueError: On mismatched shapes or a row whose mask is all zero.
    """
    if hidden.dim() != 3:
        raise ValueError(f"hidden must be [batch, length, dim], got shape {tuple(hidden.shape)}")
    if attention_mask.shape != hidden.shape[:2]:
        raise ValueError(
            f"attention_mask shape {tuple(attention_mask.shape)} does not match hidden [batch, length] "
            f"{tuple(hidden.shape[:2])}"
        )
    mask = attention_mask.to(dtype=torch.float32, device=hidden.device)
    counts = mask.sum(dim=1, keepdim=True)
    if check_empty and bool((counts == 0).any()):  # a device read: callers that checked on the host skip it
        empty = (counts.squeeze(1) == 0).nonzero().flatten().tolist()
        raise ValueError(f"attention_mask is all zero for batch rows {empty}: nothing to pool")
    # float32 accumulation: summing hundreds of half-precision vectors loses digits.
    summed = (hidden.to(torch.float32) * mask.unsqueeze(-1)).sum(dim=1)
    return summed / counts


def cls_pool(hidden: torch.Tensor) -> torch.Tensor:
    """Takes the first token's vector (``<s>`` / ``[CLS]``) of every sequence.

    Args:
        hidden: Hidden states ``[batch, length, dim]``.

    Returns:
        ``[batch, dim]`` (a view of ``hidden``; not normalised).
    """
    if hidden.dim() != 3 or hidden.shape[1] == 0:
        raise ValueError(f"hidden must be [batch, length>0, dim], got shape {tuple(hidden.shape)}")
    return hidden[:, 0, :]


# ----------------------------------------------------------------------------------------------------------------------
# Blocked nearest-neighbour search
# ----------------------------------------------------------------------------------------------------------------------
def _check_matrix(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be a 2-D tensor [rows, dim], got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check_unit_rows(x: torch.Tensor, name: str) -> None:
    _check_matrix(x, name)
    if x.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    norms = torch.linalg.vector_norm(x.to(torch.float32), dim=1)
    if not bool(torch.isfinite(norms).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    bad = (norms - 1.0).abs() > _NORM_TOLERANCE
    if bool(bad.any()):
        row = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name} is not L2-normalised (row {row} has norm {float(norms[row]):.4f}); "
            "call xstilts.retrieval.l2_normalize on the embeddings first"
        )


def _compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    # Half precision matmuls are slow on CPU and lose the digits that separate near-ties; float64 stays float64.
    dtype = torch.float32
    for t in tensors:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def _sort_rows(vals: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Orders each row by value descending, ties by index ascending."""
    by_index = torch.argsort(idx, dim=1)
    vals, idx = vals.gather(1, by_index), idx.gather(1, by_index)
    by_value = torch.sort(vals, dim=1, descending=True, stable=True).indices
    return vals.gather(1, by_value), idx.gather(1, by_value)


def _block_topk(sims: torch.Tensor, k: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of each row of a similarity block with the lowest column index winning every tie.

    ``torch.topk`` neither orders ties nor says which tied columns it keeps at the k-th place. Taking k + 1 values
    exposes a tie at the boundary (the (k+1)-th value equals the k-th); only such rows, rare with real-valued
    embeddings, are redone with a stable full sort. Counting ``sims >= kth`` instead would cost a full extra pass.
    """
    cols = sims.shape[1]
    kk = min(k, cols)
    vals, idx = torch.topk(sims, min(kk + 1, cols), dim=1, largest=True, sorted=True)
    if vals.shape[1] > kk:
        tied = vals[:, kk] == vals[:, kk - 1]
        vals, idx = vals[:, :kk].clone(), idx[:, :kk].clone()
        if bool(tied.any()):
            rows = tied.nonzero().flatten()
            s_vals, s_idx = torch.sort(sims[rows], dim=1, descending=True, stable=True)
            vals[rows] = s_vals[:, :kk]
            idx[rows] = s_idx[:, :kk]
    vals, idx = _sort_rows(vals, idx)
    return vals, idx + offset


def _merge_topk(
    run_vals: torch.Tensor | None, run_idx: torch.Tensor | None, vals: torch.Tensor, idx: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merges a running top-k with a new block's top-k (both sorted; the running one holds lower indices)."""
    if run_vals is None or run_idx is None:
        return vals, idx
    all_vals = torch.cat([run_vals, vals], dim=1)
    all_idx = torch.cat([run_idx, idx], dim=1)
    # Stable: among equal values the running entries (lower indices, already ordered) stay first.
    order = torch.sort(all_vals, dim=1, descending=True, stable=True).indices[:, :k]
    return all_vals.gather(1, order), all_idx.gather(1, order)


def _check_k_block(k: int, block_size: int, m: int, keys_name: str) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > m:
        raise ValueError(
            f"k={k} is larger than the number of {keys_name} ({m}); pass k <= {m} "
            "(mine_pairs and margin_scores clamp k themselves, as the LASER/XTREME reference does)"
        )
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")


def blocked_topk_cosine(
    queries: torch.Tensor, keys: torch.Tensor, k: int, block_size: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k cosine similarities of every query against all keys, without an ``n x m`` matrix.

    Queries and keys are both processed in blocks of ``block_size`` rows, so the working memory is one
    ``block_size x block_size`` similarity block plus the running ``n x k`` result.

    Args:
        queries: L2-normalised float tensor ``[n, d]``.
        keys: L2-normalised float tensor ``[m, d]`` on the same device.
        k: Neighbours per query; must satisfy ``1 <= k <= m`` (a larger k is an error here, not silently clamped).
        block_size: Rows per block on both sides; any positive value gives the same result.

    Returns:
        ``(scores, indices)``, both ``[n, k]``: similarities in descending order and the key row indices, ties
        broken by lower key index first (deterministic, independent of ``block_size``). Scores are float32 (float64
        for float64 inputs); indices are int64.

    Raises:
        ValueError: On non-2-D, non-float, non-normalised or dimension-mismatched inputs, or a bad k / block_size.
    """
    _check_unit_rows(queries, "queries")
    _check_unit_rows(keys, "keys")
    if queries.shape[1] != keys.shape[1]:
        raise ValueError(f"queries have dim {queries.shape[1]} but keys have dim {keys.shape[1]}")
    if queries.device != keys.device:
        raise ValueError(f"queries are on {queries.device} but keys are on {keys.device}; move both to one device")
    _check_k_block(k, block_size, keys.shape[0], "keys")
    dtype = _compute_dtype(queries, keys)
    out_vals, out_idx = [], []
    with torch.no_grad():
        for q0 in range(0, queries.shape[0], block_size):
            q = queries[q0 : q0 + block_size].to(dtype)
            run_vals = run_idx = None
            for k0 in range(0, keys.shape[0], block_size):
                sims = q @ keys[k0 : k0 + block_size].to(dtype).T
                vals, idx = _block_topk(sims, k, k0)
                run_vals, run_idx = _merge_topk(run_vals, run_idx, vals, idx, k)
            out_vals.append(run_vals)
            out_idx.append(run_idx)
    return torch.cat(out_vals), torch.cat(out_idx)


def _bidirectional_topk(
    x: torch.Tensor, y: torch.Tensor, k_fwd: int, k_bwd: int, block_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward (x against y) and backward (y against x) top-k from one pass over the similarity blocks.

    Each ``x_block @ y_block.T`` serves both directions, which halves the matrix-multiply work of two separate
    :func:`blocked_topk_cosine` calls and makes cos(x, y) bit-identical in both directions. Results equal
    ``blocked_topk_cosine(x, y, k_fwd)`` and ``blocked_topk_cosine(y, x, k_bwd)``.
    """
    dtype = _compute_dtype(x, y)
    n, m = x.shape[0], y.shape[0]
    bwd_vals: list[torch.Tensor | None] = [None] * math.ceil(m / block_size)
    bwd_idx: list[torch.Tensor | None] = [None] * len(bwd_vals)
    fwd_vals, fwd_idx = [], []
    with torch.no_grad():
        for q0 in range(0, n, block_size):
            xb = x[q0 : q0 + block_size].to(dtype)
            run_vals = run_idx = None
            for b, k0 in enumerate(range(0, m, block_size)):
                sims = xb @ y[k0 : k0 + block_size].to(dtype).T
                vals, idx = _block_topk(sims, k_fwd, k0)
                run_vals, run_idx = _merge_topk(run_vals, run_idx, vals, idx, k_fwd)
                # Query blocks arrive in index order, so the running backward entries always hold lower x indices.
                vals, idx = _block_topk(sims.T, k_bwd, q0)
                bwd_vals[b], bwd_idx[b] = _merge_topk(bwd_vals[b], bwd_idx[b], vals, idx, k_bwd)
            fwd_vals.append(run_vals)
            fwd_idx.append(run_idx)
    return torch.cat(fwd_vals), torch.cat(fwd_idx), torch.cat(bwd_vals), torch.cat(bwd_idx)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------------------
# Ratio margin
# ----------------------------------------------------------------------------------------------------------------------
def knn_mean_similarity(queries: torch.Tensor, keys: torch.Tensor, k: int = 4, block_size: int = 4096) -> torch.Tensor:
    """Mean cosine similarity of each query to its k nearest keys (``mean_knn_sim`` of the ratio margin).

    Args:
        queries: L2-normalised ``[n, d]``.
        keys: L2-normalised ``[m, d]``.
        k: Neighbourhood size, clamped to ``m`` as in the LASER/XTREME reference.
        block_size: See :func:`blocked_topk_cosine`.

    Returns:
        ``[n]`` mean similarities.
    """
    _check_matrix(keys, "keys")
    scores, _ = blocked_topk_cosine(queries, keys, min(k, keys.shape[0]), block_size)
    return scores.mean(dim=1)


def margin_scores(src_emb: torch.Tensor, tgt_emb: torch.Tensor, k: int = 4, block_size: int = 4096) -> torch.Tensor:
    """The full ratio-margin matrix ``score(x, y) = cos(x, y) / ((mean_knn_sim(x) + mean_knn_sim(y)) / 2)``.

    ``mean_knn_sim(x)`` averages x's k nearest targets, ``mean_knn_sim(y)`` y's k nearest sources (k clamped to the
    other side's size). This builds an ``n x m`` matrix, so it is for small problems, tests and inspection only;
    :func:`mine_pairs` computes the same scores for its candidates without it.

    Args:
        src_emb: L2-normalised source embeddings ``[n, d]``.
        tgt_emb: L2-normalised target embeddings ``[m, d]``.
        k: Neighbourhood size (the BUCC setting is 4).
        block_size: See :func:`blocked_topk_cosine`.

    Returns:
        ``[n, m]`` margin scores.
    """
    _check_unit_rows(src_emb, "src_emb")
    _check_unit_rows(tgt_emb, "tgt_emb")
    src_mean = knn_mean_similarity(src_emb, tgt_emb, k, block_size)
    tgt_mean = knn_mean_similarity(tgt_emb, src_emb, k, block_size)
    dtype = _compute_dtype(src_emb, tgt_emb)
    cos = src_emb.to(dtype) @ tgt_emb.to(dtype).T
    return cos / ((src_mean[:, None] + tgt_mean[None, :]) / 2)


# ----------------------------------------------------------------------------------------------------------------------
# Deduplication and mining
# ----------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DedupResult:
    """Unique sentences of one side and the way back to the original rows.

    Attributes:
        texts: Unique sentences in order of first appearance (embed these).
        ids: For each unique sentence, the ids of every row that carries it, in file order.
        index: For each original row, the position of its sentence in ``texts``.
    """

    texts: list[str]
    ids: list[tuple[str, ...]]
    index: list[int]


def dedup_sentences(ids: Sequence[str], sentences: Sequence[str]) -> DedupResult:
    """Collapses identical sentences (exact string match) so each text is embedded and mined once.

    The reference unifies lines before embedding (LASER/XTREME ``text_load_unify``); without it a repeated sentence
    competes with itself in the k-NN neighbourhoods and in the one-to-one matching.

    Args:
        ids: Row ids, e.g. ``zh-000000001``; must be unique.
        sentences: One sentence per id.

    Returns:
        A :class:`DedupResult`; pass ``result.ids`` to :func:`mine_pairs` as the id list of the embedded texts.

    Raises:
        ValueError: On length mismatch or a repeated id.
    """
    if len(ids) != len(sentences):
        raise ValueError(f"got {len(ids)} ids but {len(sentences)} sentences; they must pair up one to one")
    position: dict[str, int] = {}
    texts: list[str] = []
    groups: list[list[str]] = []
    index: list[int] = []
    seen_ids: set[str] = set()
    for sid, text in zip(ids, sentences, strict=True):
        if sid in seen_ids:
            raise ValueError(f"id {sid!r} occurs more than once; sentence ids must be unique")
        seen_ids.add(sid)
        pos = position.setdefault(text, len(texts))
        if pos == len(texts):
            texts.append(text)
            groups.append([])
        groups[pos].append(sid)
        index.append(pos)
    return DedupResult(texts=texts, ids=[tuple(g) for g in groups], index=index)


def _id_groups(ids: Sequence[str | Sequence[str]], n: int, name: str) -> list[tuple[str, ...]]:
    if len(ids) != n:
        raise ValueError(f"{name} has {len(ids)} entries but the embeddings have {n} rows; give one entry per row")
    groups = []
    for row, entry in enumerate(ids):
        group = (entry,) if isinstance(entry, str) else tuple(entry)
        if not group or not all(isinstance(i, str) for i in group):
            raise ValueError(f"{name}[{row}] must be an id string or a non-empty sequence of id strings, got {entry!r}")
        groups.append(group)
    return groups


def mine_pairs(
    src_emb: torch.Tensor,
    tgt_emb: torch.Tensor,
    src_ids: Sequence[str | Sequence[str]],
    tgt_ids: Sequence[str | Sequence[str]],
    k: int = 4,
    block_size: int = 4096,
    duplicates: str = "expand",
) -> list[Candidate]:
    """Ratio-margin bidirectional ("max") bitext mining with greedy one-to-one selection.

    Procedure (module docstring, steps 2 to 6): k-NN both ways (k clamped to the other side's size), ratio margin
    on each direction's k candidates, best forward candidate per source and best backward candidate per target,
    union sorted by score descending (a stable sort: forward candidates in source order, then backward candidates in
    target order, so equal scores resolve deterministically), then greedy acceptance where each source row and each
    target row is used at most once. No threshold is applied: the result is the full candidate list that
    :func:`best_threshold` / :func:`apply_threshold` work on.

    Args:
        src_emb: L2-normalised embeddings of the unique source texts ``[n, d]``.
        tgt_emb: L2-normalised embeddings of the unique target texts ``[m, d]``.
        src_ids: Per source row, its id or the tuple of ids sharing that text (``dedup_sentences(...).ids``).
        tgt_ids: Same for targets.
        k: Neighbourhood size of the margin (BUCC: 4).
        block_size: Rows per block of the k-NN search (memory ~ ``block_size**2`` floats, see module docstring).
        duplicates: How a kept pair of texts becomes id pairs when a text has several ids. ``"expand"``: every source
            id x every target id, all with the pair's score. ``"drop"``: XTREME's ``bucc_eval`` behaviour, whose
            ``read_sent2id`` discards any sentence that occurs under more than one id, so such pairs yield nothing.

    Returns:
        ``[(score, src_id, tgt_id), ...]`` in acceptance order (score descending). The one-to-one constraint holds
        over texts; with ``"expand"`` one text may appear under several ids.

    Raises:
        ValueError: On bad embeddings (see :func:`blocked_topk_cosine`), id lists of the wrong length, or an unknown
            ``duplicates`` mode.
    """
    if duplicates not in ("expand", "drop"):
        raise ValueError(f"duplicates must be 'expand' or 'drop', got {duplicates!r}")
    _check_unit_rows(src_emb, "src_emb")
    _check_unit_rows(tgt_emb, "tgt_emb")
    if src_emb.shape[1] != tgt_emb.shape[1]:
        raise ValueError(f"src_emb has dim {src_emb.shape[1]} but tgt_emb has dim {tgt_emb.shape[1]}")
    if src_emb.device != tgt_emb.device:
        raise ValueError(f"src_emb is on {src_emb.device} but tgt_emb on {tgt_emb.device}; move both to one device")
    n, m = src_emb.shape[0], tgt_emb.shape[0]
    src_groups = _id_groups(src_ids, n, "src_ids")
    tgt_groups = _id_groups(tgt_ids, m, "tgt_ids")
    k_fwd, k_bwd = min(k, m), min(k, n)
    _check_k_block(k_fwd, block_size, m, "targets")
    _check_k_block(k_bwd, block_size, n, "sources")

    fwd_sim, fwd_ind, bwd_sim, bwd_ind = _bidirectional_topk(src_emb, tgt_emb, k_fwd, k_bwd, block_size)
    fwd_mean, bwd_mean = fwd_sim.mean(dim=1), bwd_sim.mean(dim=1)
    # Margin of every k-NN candidate. Both directions read cos(x, y) from the same similarity block and the denominator
    # is a commutative sum, so a pair found from both sides gets bit-identical scores.
    fwd_margin = fwd_sim / ((fwd_mean[:, None] + bwd_mean[fwd_ind]) / 2)
    bwd_margin = bwd_sim / ((bwd_mean[:, None] + fwd_mean[bwd_ind]) / 2)
    # argmax returns the first maximum; rows are ordered by similarity then index, so ties stay deterministic.
    fwd_arg = fwd_margin.argmax(dim=1, keepdim=True)
    bwd_arg = bwd_margin.argmax(dim=1, keepdim=True)
    fwd_best = fwd_ind.gather(1, fwd_arg).squeeze(1)
    bwd_best = bwd_ind.gather(1, bwd_arg).squeeze(1)

    device = src_emb.device
    cand_src = torch.cat([torch.arange(n, device=device), bwd_best])
    cand_tgt = torch.cat([fwd_best, torch.arange(m, device=device)])
    scores = torch.cat([fwd_margin.gather(1, fwd_arg).squeeze(1), bwd_margin.gather(1, bwd_arg).squeeze(1)])
    order = torch.sort(scores, descending=True, stable=True).indices

    scores_l = scores[order].tolist()
    src_l = cand_src[order].tolist()
    tgt_l = cand_tgt[order].tolist()
    used_src: set[int] = set()
    used_tgt: set[int] = set()
    mined: list[Candidate] = []
    for score, i, j in zip(scores_l, src_l, tgt_l, strict=True):
        if i in used_src or j in used_tgt:
            continue
        used_src.add(i)
        used_tgt.add(j)
        s_group, t_group = src_groups[i], tgt_groups[j]
        if duplicates == "drop" and (len(s_group) > 1 or len(t_group) > 1):
            continue
        mined.extend((score, s, t) for s in s_group for t in t_group)
    return mined


# ----------------------------------------------------------------------------------------------------------------------
# Thresholds and BUCC scoring
# ----------------------------------------------------------------------------------------------------------------------
def _as_pair_set(pairs: Iterable[Sequence[str]], name: str) -> set[Pair]:
    out: set[Pair] = set()
    for p in pairs:
        if len(p) != 2:
            raise ValueError(f"{name} must hold (src_id, tgt_id) pairs, got {p!r}")
        out.add((p[0], p[1]))
    return out


def _best_scores(candidates: Iterable[Candidate]) -> dict[Pair, float]:
    """One score per id pair: the maximum, as the reference does when a pair is listed twice."""
    best: dict[Pair, float] = {}
    for cand in candidates:
        if len(cand) != 3:
            raise ValueError(f"candidates must be (score, src_id, tgt_id) triples, got {cand!r}")
        score, src, tgt = cand
        score = float(score)
        if math.isnan(score):
            raise ValueError(f"candidate {(src, tgt)!r} has a NaN score")
        key = (src, tgt)
        if key not in best or score > best[key]:
            best[key] = score
    return best


def apply_threshold(candidates: Iterable[Candidate], threshold: float) -> set[Pair]:
    """The id pairs whose score is at least ``threshold`` (inclusive, as the reference ``bucc_extract``)."""
    return {pair for pair, score in _best_scores(candidates).items() if score >= threshold}


def best_threshold(
    candidates: Iterable[Candidate], gold_pairs: Iterable[Sequence[str]]
) -> tuple[float, float, float, float]:
    """The score threshold that maximises BUCC F1 of ``apply_threshold(candidates, t)`` against ``gold_pairs``.

    Every cut between two distinct candidate scores is tried (candidates with equal scores are kept or dropped
    together, since no threshold can split them). The returned threshold is the midpoint between the lowest kept
    score and the next lower score (the lowest kept score itself when everything is kept), like the reference's
    ``bucc_optimize``; among cuts with equal F1 the highest threshold wins. When no candidate is correct the
    threshold is ``inf`` (keep nothing) and all numbers are 0.

    Args:
        candidates: ``(score, src_id, tgt_id)`` triples, e.g. from :func:`mine_pairs`; a pair listed twice keeps its
            highest score.
        gold_pairs: Gold ``(src_id, tgt_id)`` pairs.

    Returns:
        ``(threshold, f1, precision, recall)``, the last three in percent.

    Raises:
        ValueError: If the gold set is empty or an input is malformed.
    """
    gold = _as_pair_set(gold_pairs, "gold_pairs")
    if not gold:
        raise ValueError("gold_pairs is empty: an F1-optimal threshold needs at least one gold pair")
    scored = sorted(_best_scores(candidates).items(), key=lambda item: -item[1])
    best = (math.inf, 0.0, 0.0, 0.0)
    extracted = correct = 0
    pos = 0
    while pos < len(scored):
        score = scored[pos][1]
        while pos < len(scored) and scored[pos][1] == score:
            extracted += 1
            correct += scored[pos][0] in gold
            pos += 1
        if correct == 0:
            continue
        precision, recall = correct / extracted, correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
        if 100 * f1 > best[1]:
            threshold = score
            if pos < len(scored):
                mid = (score + scored[pos][1]) / 2
                # Adjacent floats: the midpoint can round onto the lower score, which would let that group in.
                threshold = mid if mid > scored[pos][1] else score
            best = (threshold, 100 * f1, 100 * precision, 100 * recall)
    return best


def bucc_evaluate(
    dev_candidates: Iterable[Candidate],
    dev_gold: Iterable[Sequence[str]],
    test_candidates: Iterable[Candidate],
    test_gold: Iterable[Sequence[str]],
) -> dict[str, float]:
    """BUCC scores the honest way (threshold from dev) and the jiant way (threshold from the scored gold), named apart.

    Args:
        dev_candidates: Mined candidates of the dev ("sample") split.
        dev_gold: Gold pairs of the dev split; the threshold is tuned on these.
        test_candidates: Mined candidates of the test split (mine them from the test corpora, never reuse dev ones).
        test_gold: Gold pairs of the test split.

    Returns:
        ``f1``, ``precision``, ``recall``: test at the dev-tuned ``threshold`` (the number to report);
        ``dev_f1``: dev F1 at that threshold; ``oracle_f1``, ``oracle_precision``, ``oracle_recall`` at
        ``oracle_threshold``, tuned on the test gold itself (what jiant reports; optimistic). Scores in percent.
    """
    test_list = list(test_candidates)
    test_gold_set = _as_pair_set(test_gold, "test_gold")
    if not test_gold_set:
        raise ValueError("test_gold is empty: BUCC recall and F1 are undefined without gold pairs")
    threshold, dev_f1, _, _ = best_threshold(dev_candidates, dev_gold)
    test_scores = bucc_scores(apply_threshold(test_list, threshold), test_gold_set)
    o_threshold, o_f1, o_precision, o_recall = best_threshold(test_list, test_gold_set)
    return {
        "f1": test_scores["f1"],
        "precision": test_scores["precision"],
        "recall": test_scores["recall"],
        "threshold": threshold,
        "dev_f1": dev_f1,
        "oracle_f1": o_f1,
        "oracle_precision": o_precision,
        "oracle_recall": o_recall,
        "oracle_threshold": o_threshold,
    }


# ----------------------------------------------------------------------------------------------------------------------
# BUCC as MTEB scores it: the gold pairs only (not comparable with mining)
# ----------------------------------------------------------------------------------------------------------------------
def bitext_mining_scores(labels: Sequence[int], predictions: Sequence[int]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 (percent) of nearest-neighbour predictions as MTEB's bitext-mining evaluator
    computes them (scikit-learn, ``average="weighted"``, ``zero_division=0``): per gold label, precision = correct /
    predicted as it and recall = correct / its support; each averaged with the label's support as weight.

    Args:
        labels: The gold row of each query.
        predictions: The retrieved row of each query.

    Raises:
        ValueError: empty or of different lengths.
    """
    if len(labels) != len(predictions) or not labels:
        raise ValueError(f"labels and predictions must be non-empty and aligned; got {len(labels)} and "
                         f"{len(predictions)}")
    support: dict[int, int] = {}
    predicted: dict[int, int] = {}
    correct: dict[int, int] = {}
    for gold, pred in zip(labels, predictions, strict=True):
        support[gold] = support.get(gold, 0) + 1
        predicted[pred] = predicted.get(pred, 0) + 1
        if gold == pred:
            correct[gold] = correct.get(gold, 0) + 1
    n = len(labels)
    precision = recall = f1 = 0.0
    for label, count in support.items():
        c = correct.get(label, 0)
        p = c / predicted[label] if predicted.get(label) else 0.0
        r = c / count
        precision += count * p
        recall += count * r
        f1 += count * (2 * p * r / (p + r) if p + r else 0.0)
    return {"accuracy": 100 * sum(correct.values()) / n, "precision": 100 * precision / n,
            "recall": 100 * recall / n, "f1": 100 * f1 / n}


def gold_pairs_scores(src_emb: torch.Tensor, tgt_emb: torch.Tensor, block_size: int = 4096) -> dict[str, float]:
    """BUCC scored as MTEB scores it: only the gold pairs' sentences, each source sentence (the query) retrieving its
    nearest English sentence among the gold pairs' English sentences (cosine, top-1); no mining, no threshold, no
    distractors from the rest of the corpora, so the number is far higher than full-corpus mining's F1 and not
    comparable with it.

    Args:
        src_emb: L2-normalised embeddings of the gold pairs' source sentences ``[n, d]``, row i of gold pair i.
        tgt_emb: L2-normalised embeddings of their English sentences ``[n, d]``, row i of gold pair i.
        block_size: See :func:`blocked_topk_cosine`.

    Returns:
        ``accuracy``, ``precision``, ``recall``, ``f1`` in percent (:func:`bitext_mining_scores`).
    """
    _check_matrix(src_emb, "src_emb")
    _check_matrix(tgt_emb, "tgt_emb")
    if src_emb.shape[0] != tgt_emb.shape[0]:
        raise ValueError(f"gold pairs align by row; got {src_emb.shape[0]} source and {tgt_emb.shape[0]} English rows")
    _, idx = blocked_topk_cosine(src_emb, tgt_emb, 1, block_size)
    return bitext_mining_scores(list(range(src_emb.shape[0])), idx[:, 0].tolist())


# ----------------------------------------------------------------------------------------------------------------------
# Tatoeba
# ----------------------------------------------------------------------------------------------------------------------
def tatoeba_predictions(src_emb: torch.Tensor, tgt_emb: torch.Tensor, block_size: int = 4096) -> list[int]:
    """For each English sentence, the row of the nearest non-English sentence (cosine, top-1).

    Direction, as XTREME's ``similarity_search(x, y)``: the non-English sentences (``src``, file
    ``tatoeba.<iso3>-eng.<iso3>``) are the index and the English ones (``tgt``, ``.eng``) are the queries. The official
    submission file ``tatoeba/test-<lang>.tsv`` has one line per English query in query order, holding the 0-based
    row of the retrieved non-English sentence (see :func:`format_tatoeba_predictions`); the gold file has the same
    layout with the aligned row. Ties go to the lower row.

    Args:
        src_emb: L2-normalised non-English embeddings ``[n, d]``.
        tgt_emb: L2-normalised English embeddings ``[m, d]``.
        block_size: See :func:`blocked_topk_cosine`.

    Returns:
        ``m`` row indices into ``src_emb``.
    """
    _, idx = blocked_topk_cosine(tgt_emb, src_emb, 1, block_size)
    return idx[:, 0].tolist()


def tatoeba_accuracy(src_emb: torch.Tensor, tgt_emb: torch.Tensor, block_size: int = 4096) -> float:
    """Tatoeba accuracy in percent: share of English lines i whose retrieved non-English row is i.

    Args:
        src_emb: L2-normalised non-English embeddings ``[n, d]``, line i aligned with English line i.
        tgt_emb: L2-normalised English embeddings ``[n, d]``.
        block_size: See :func:`blocked_topk_cosine`.

    Raises:
        ValueError: If the two sides have different numbers of rows (the gold alignment is by row).
    """
    _check_matrix(src_emb, "src_emb")
    _check_matrix(tgt_emb, "tgt_emb")
    if src_emb.shape[0] != tgt_emb.shape[0]:
        raise ValueError(
            f"Tatoeba gold is the row index, so both sides need the same number of rows; got {src_emb.shape[0]} "
            f"non-English and {tgt_emb.shape[0]} English"
        )
    preds = tatoeba_predictions(src_emb, tgt_emb, block_size)
    return 100 * sum(p == i for i, p in enumerate(preds)) / len(preds)


def format_tatoeba_predictions(predictions: Sequence[int]) -> str:
    """The submission file body: one 0-based non-English row per line, in English query order."""
    return "".join(f"{int(p)}\n" for p in predictions)
