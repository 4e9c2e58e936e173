"""Dual-encoder retrieval (XTREME-R's Mewsli-X and LAReQA): features, head and loss, ranking and evaluation.

One shared encoder embeds queries and candidates (mean pooling of the last layer over non-padding tokens, then L2
normalisation); training is an in-batch softmax over cosine scores times a learned scale (``DualEncoderHead``): each
query's own candidate is the positive, the other candidates of the batch are negatives, and a batch neighbour with
the *same* candidate (one entity or answer sentence paired with several queries) is masked out rather than counted as
a negative. Canonical rows and the readers of their sources are in ``xstilts.dual_encoder_rows``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import data, metrics
from xstilts.config import EvalRecipe
from xstilts.dual_encoder_rows import Paragraph, paragraphs_from_rows, read_xquad_r_file
from xstilts.errors import DataError
from xstilts.log import language_line, log
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.retrieval import blocked_topk_cosine
from xstilts.tasktypes.base import Batch, RowTaskType, unsupported
from xstilts.tasktypes.common import (
    EVAL_GPU_PAD_MULTIPLE,
    Encoded,
    EvalInputs,
    Evaluated,
    eval_batch_size,
    load_dataset_rows,
    pad_multiple,
    to_device,
)
from xstilts.typespecs import HeadSpec
from xstilts.typespecs import SPECS

TOP_K = 20  # Mewsli-X and LAReQA are scored on the top 20 candidates of each query


class DualEncoderHead(nn.Module):
    """The learned scale of a dual encoder's in-batch softmax (cosine scores x scale); embeddings are the mean-pooled
    last layer, so the head holds no projection. The scale is kept as its log (initial scale 20) so it stays
    positive."""

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(20.0)))

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()  # capped: an unbounded scale destabilises training


def pool_embeddings(encoder: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """L2-normalised mean of the last hidden states over non-padding tokens (special tokens included)."""
    hidden = encoder(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return nn.functional.normalize(pooled.float(), dim=-1)


def candidate_key(candidate_id: str) -> int:
    """A 62-bit integer key of a candidate id (batch neighbours with equal keys are not negatives)."""
    return int(hashlib.sha1(candidate_id.encode("utf-8")).hexdigest()[:15], 16)


# ---- Features -----------------------------------------------------------------------------------------------------
def encode_pairs(rows: list[dict], tokenizer: Any, max_length: int, task_id: int) -> list[dict[str, Any]]:
    """Features of (query, candidate) pairs: query ids as ``input_ids``, candidate ids as ``candidate_input_ids``
    (a LAReQA candidate is the pair (answer sentence, paragraph)), and the candidate's key."""
    if not rows:
        return []
    q = tokenizer([r["query"] for r in rows], truncation=True, max_length=max_length)
    has_context = rows[0].get("context") is not None
    if has_context:  # longest_first: the paragraph is cut before the answer sentence is
        c = tokenizer([r["candidate"] for r in rows], [r["context"] for r in rows], truncation="longest_first",
                      max_length=max_length)
    else:
        c = tokenizer([r["candidate"] for r in rows], truncation=True, max_length=max_length)
    feats = []
    for i, r in enumerate(rows):
        f = {"input_ids": q["input_ids"][i], "attention_mask": q["attention_mask"][i],
             "candidate_input_ids": c["input_ids"][i], "candidate_attention_mask": c["attention_mask"][i],
             "pair_key": candidate_key(str(r["candidate_id"])), "task_id": task_id}
        feats.append(f)
    return feats


def in_batch_loss(q: torch.Tensor, c: torch.Tensor, scale: torch.Tensor, keys: torch.Tensor | None) -> torch.Tensor:
    """Softmax cross-entropy of each query over the batch's candidates (cosine x scale); the diagonal is the positive.

    Off-diagonal candidates with the query's own key are masked: they are the same candidate, not negatives.
    """
    logits = scale * (q @ c.T)
    if keys is not None:
        same = keys[:, None] == keys[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, torch.finfo(logits.dtype).min)
    target = torch.arange(q.shape[0], device=q.device)
    return torch.nn.functional.cross_entropy(logits.float(), target)


def rank(query_emb: torch.Tensor, cand_emb: torch.Tensor, cand_ids: list[str], k: int = TOP_K,
         block_size: int = 4096) -> list[list[str]]:
    """Top candidates of each query by cosine similarity, without an ``n x m`` matrix (``blocked_topk_cosine``).

    Args:
        query_emb: L2-normalised ``[n, d]`` query embeddings.
        cand_emb: L2-normalised ``[m, d]`` candidate embeddings, on the same device.
        cand_ids: the id of each candidate row.
        k: cut-off; fewer candidates than ``k`` means all of them are ranked.
        block_size: rows per similarity block (memory only; the result does not depend on it).

    Returns:
        Per query, ``min(k, m)`` candidate ids best first; ties go to the lower candidate index.
    """
    k = min(k, cand_emb.shape[0])
    _, idx = blocked_topk_cosine(query_emb.float(), cand_emb.float(), k, block_size)
    return [[cand_ids[j] for j in row] for row in idx.tolist()]


def dev_rankings(rows: list[dict], embeddings: list[Any]) -> list[list[str]]:
    """Rankings of the distinct candidates of a dev set for each of its queries (model selection)."""
    emb = torch.as_tensor(np.stack(embeddings)).float()
    d = emb.shape[1] // 2
    q, c = _normalize(emb[:, :d]), _normalize(emb[:, d:])
    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(str(r["candidate_id"]), i)
    ids = list(first)
    return rank(q, c[list(first.values())], ids)


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def dev_score(rows: list[dict], rankings: list[list[str]]) -> dict[str, float]:
    return {"map@20": metrics.map_at_k(rankings, [str(r["candidate_id"]) for r in rows], TOP_K), "n": float(len(rows))}


# ---- Embedding with a trained model ---------------------------------------------------------------------------------
@torch.inference_mode()
def embed(model: Any, tokenizer: Any, texts: list[str], contexts: list[str] | None, max_length: int,
          batch_size: int, device: Any = "cpu") -> torch.Tensor:
    """L2-normalised embeddings of texts (or (text, context) pairs) with the model's dual-encoder pooling, computed in
    length-sorted batches and returned in input order."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(contexts[i]) if contexts else 0))
    out = torch.empty(len(texts), model.config.hidden_size)
    # On a GPU: widths rounded up to 8 (few shapes), copies without waiting, one copy back at the end (pooling
    # averages over the attention mask, so padding changes nothing). On CPU: as before.
    multiple = pad_multiple("auto", device, EVAL_GPU_PAD_MULTIPLE)
    if max_length % multiple:
        multiple = 1  # never past max_length (the tokenizer would pad beyond it)
    parts = []
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if contexts is not None:
            enc = tokenizer([texts[i] for i in idx], [contexts[i] for i in idx], truncation="longest_first",
                            max_length=max_length, padding=True, return_tensors="pt",
                            pad_to_multiple_of=multiple if multiple > 1 else None)
        else:
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt", pad_to_multiple_of=multiple if multiple > 1 else None)
        enc = to_device({k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")},
                        device)
        parts.append(pool_embeddings(model.encoder, enc).float())
    if parts:
        out[order] = torch.cat(parts).cpu()
    return out


# ---- LAReQA pool ----------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Pool:
    """The pooled LAReQA retrieval problem: questions, candidates and each question's correct candidates."""

    questions: list[tuple[str, str, str]]  # (lang, question id, text)
    candidates: list[tuple[str, str, str]]  # (uid, sentence, paragraph)
    gold: list[set[str]]  # per question: the answer-sentence uids of its id in every language
    skipped: int  # questions whose answer lies in no sentence


def build_pool(paragraphs: dict[str, list[Paragraph]]) -> Pool:
    """Every sentence of every paragraph of every language is a candidate; a question's correct candidates are the
    answer sentences of the questions with the same id, in all languages (XTREME's LAReQA)."""
    questions, candidates, answers = [], [], {}
    by_qid: dict[str, set[str]] = {}
    skipped = 0
    for lang, paras in paragraphs.items():
        for pi, p in enumerate(paras):
            uids = [f"{lang}_{pi}_{si}" for si in range(len(p.sentences))]
            candidates += [(u, p.context[s:e], p.context) for u, (s, e) in zip(uids, p.sentences, strict=True)]
            for qid, text, start in p.questions:
                si = next((i for i, (s, e) in enumerate(p.sentences) if s <= start < e), None)
                if si is None:
                    skipped += 1
                    continue
                questions.append((lang, qid, text))
                answers[(lang, qid)] = uids[si]
                by_qid.setdefault(qid, set()).add(uids[si])
    gold = [by_qid[qid] for _, qid, _ in questions]
    return Pool(questions, candidates, gold, skipped)


def _figures(lang: str, per_query: list[tuple[float, float]], rankings: list[list[str]]) -> LanguageFigures:
    """One language's reliability figures: its bootstrap over queries (per-query reciprocal rank / AP), no class
    balance (each query has its own gold), and the share of the most frequent top-1 candidate, near 100 when the
    encoder collapsed and every query retrieves the same "hub" candidate."""
    return language_figures(lang, np.array(per_query), None, [r[0] if r else None for r in rankings])


class DualEncoder(RowTaskType):
    """A dual encoder trained on (query, candidate) pairs: its dev steps rank the dev set's candidates; its evaluation
    ranks Mewsli-X's candidate entities or LAReQA's pooled answer sentences (``spec.pooled``: one search space over all
    languages, a single process's work). transformers has no head of its kind (``spec.hf_auto_class`` is None)."""

    spec = SPECS["dual_encoder"]

    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        """No label head: only the learned scale of the in-batch softmax."""
        return HeadSpec(self.task.name, self.task.task_type, 0)

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        return DualEncoderHead()

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        """Query (and candidate) embeddings; with candidates, the in-batch softmax loss. ``logits`` holds the
        concatenated [query, candidate] embeddings per pair (what dev ranking needs)."""
        q = pool_embeddings(encoder, {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")
                                      if batch.get(k) is not None})
        if batch.get("candidate_input_ids") is None:
            return {"logits": q}
        c = pool_embeddings(encoder, {k: batch[f"candidate_{k}"] for k in ("input_ids", "attention_mask",
                                                                          "token_type_ids")
                                      if batch.get(f"candidate_{k}") is not None})
        return {"loss": in_batch_loss(q, c, head.scale(), batch.get("pair_key")), "logits": torch.cat([q, c], dim=-1)}

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        unsupported(SPECS["dual_encoder"], "transformers head")

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        unsupported(SPECS["dual_encoder"], "transformers head")

    # ---- features, dev predictions and scores (model selection) ----
    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        return Encoded(encode_pairs(rows, tokenizer, max_length, task_id))

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[list[str]]:
        """Each dev query's ranking of the dev set's distinct candidates (``logits`` = [query, candidate]
        embedding)."""
        return dev_rankings(rows, logits)

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        return dev_score(rows, predictions)

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """Of a phase-3 dev score (:func:`dev_score`); evaluation makes its own figures (:meth:`evaluate`)."""
        per = metrics.ap_contributions(predictions, [str(r["candidate_id"]) for r in rows], TOP_K)
        return language_figures(lang, np.array(per), None, [rk[0] if rk else None for rk in predictions])

    # ---- evaluation (evaluate_xtreme.py) ----
    def export_payload(self, rows: Any, predictions: Any) -> Any:
        """Mewsli-X: query id -> its ranked candidate ids (the official layout); LAReQA has no submission file
        (None)."""
        return predictions

    def load_rows(self, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> Any:
        """Mewsli-X: the language's mention queries. LAReQA: the language's XQuAD-R paragraphs, from the original
        files (``retrieval.lareqa_data``, with their sentence breaks) or from the dataset's rows (sentence breaks of
        ``dual_encoder_rows.split_sentences``)."""
        if self.task.candidates is None and cfg.retrieval.lareqa_data:
            return read_xquad_r_file(f"{cfg.retrieval.lareqa_data}/{lang}.json")
        rows = load_dataset_rows(self.task, cfg, lang, limit, notes)
        return rows if self.task.candidates is not None else paragraphs_from_rows(rows)

    def evaluate(self, inputs: EvalInputs, rows: dict[str, Any]) -> Evaluated:
        """Ranks candidates with the dual encoder: Mewsli-X or LAReQA.

        Mewsli-X: each language's mentions rank the whole candidate entity set; per language ``map@20`` (MRR@20, as the
        official scorer names it), task score = the macro mean. LAReQA: the questions of all languages rank the pooled
        answer-sentence candidates of all languages; per language the mAP@20 of its questions, task score = mAP@20 over
        all questions (micro).
        """
        task = self.task
        out = Evaluated(notes=["representation: mean pooling of the last layer (the dual encoder's own pooling)"])
        if not rows:
            return out
        cfg, block = inputs.cfg, inputs.cfg.retrieval.block_size

        def emb(texts: list[str], contexts: list[str] | None = None) -> torch.Tensor:
            batch = eval_batch_size(cfg.batch_size, inputs.device, inputs.max_length)
            return embed(inputs.model, inputs.tokenizer, texts, contexts, inputs.max_length, batch,
                         inputs.device).to(inputs.device)

        if task.candidates is not None:  # Mewsli-X: one candidate set for every language
            cands = data.load_split(task, task.candidates, cfg.data.source, "en", "candidates", cfg.data.path)
            cand_ids = [r["candidate_id"] for r in cands]
            log(f"{task.name}: embedding {len(cand_ids):,} candidate entities")
            cand_emb = emb([r["candidate"] for r in cands])
            out.notes.append(f"{len(cand_ids)} candidate entities")
            for i, (lang, lang_rows) in enumerate(rows.items(), start=1):
                start = time.time()
                rankings = rank(emb([r["query"] for r in lang_rows]), cand_emb, cand_ids, TOP_K, block)
                golds = [r["candidate_id"] for r in lang_rows]
                out.languages[lang] = {"map@20": metrics.mrr_at_k(rankings, golds, TOP_K), "n": float(len(lang_rows))}
                out.figures[lang] = _figures(lang, metrics.rr_contributions(rankings, golds, TOP_K), rankings)
                out.predictions[lang] = {r["query_id"]: rk for r, rk in zip(lang_rows, rankings, strict=True)}
                log(language_line(task.name, lang, i, len(rows), out.languages[lang], len(lang_rows),
                                  time.time() - start))
            return out
        if cfg.retrieval.lareqa_data:
            out.notes.append(f"sentence breaks from the original XQuAD-R files in {cfg.retrieval.lareqa_data}")
        else:
            warning = ("sentence breaks from xstilts.dual_encoder_rows.split_sentences, not XQuAD-R's sentence_breaks "
                       "(the Hub copy drops them): this mAP@20 is NOT comparable to published LAReQA numbers; set "
                       "retrieval.lareqa_data=<folder with the original xquad-r/<lang>.json files>")
            log(f"warning: {warning}")
            out.notes.append(warning)
        pool = build_pool(rows)
        if not pool.questions:
            raise DataError("lareqa: no question has its answer inside a sentence")
        log(f"{task.name}: embedding {len(pool.questions):,} questions and {len(pool.candidates):,} candidate "
            f"sentences of {len(rows)} languages (pooled)")
        q_emb = emb([q[2] for q in pool.questions])
        c_emb = emb([c[1] for c in pool.candidates], [c[2] for c in pool.candidates])
        rankings = rank(q_emb, c_emb, [c[0] for c in pool.candidates], TOP_K, block)
        out.score = metrics.map_at_k(rankings, pool.gold, TOP_K)
        for lang in rows:
            idx = [i for i, q in enumerate(pool.questions) if q[0] == lang]
            if idx:
                mine, gold = [rankings[i] for i in idx], [pool.gold[i] for i in idx]
                out.languages[lang] = {"map@20": metrics.map_at_k(mine, gold, TOP_K), "n": float(len(idx))}
                out.figures[lang] = _figures(lang, metrics.ap_contributions(mine, gold, TOP_K), mine)
                log(language_line(task.name, lang, len(out.languages), len(rows), out.languages[lang], len(idx))
                    + " (its questions, pooled candidates)")
        out.notes += [f"score = mAP@20 over all {len(pool.questions)} questions of the {len(out.languages)} languages "
                      f"pooled (micro); per-language values are each language's questions against the same pooled "
                      f"{len(pool.candidates)} candidates",
                      *([f"{pool.skipped} question(s) skipped: answer in no sentence"] if pool.skipped else [])]
        # The score is the micro mean over questions = the mean of the languages' mAP weighted by their questions.
        out.weights = {lang: m["n"] for lang, m in out.languages.items()}
        return out
