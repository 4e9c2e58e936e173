"""Dual-encoder retrieval (XTREME-R's Mewsli-X and LAReQA): data shapes, text preparation, ranking and evaluation.

One shared encoder embeds queries and candidates (mean pooling of the last layer over non-padding tokens, then L2
normalisation); training is an in-batch softmax over cosine scores times a learned scale (``DualEncoderHead`` in
``xstilts.modeling``): each query's own candidate is the positive, the other candidates of the batch are negatives,
and a batch neighbour with the *same* candidate (one entity or answer sentence paired with several queries) is masked
out rather than counted as a negative.

Canonical rows of the ``dual_encoder`` kind (what ``xstilts.data`` returns) are uniform, whatever the source:
``{"query_id", "query", "candidate_id", "candidate", "context"}`` (``None`` where a source has no such part):

- Mewsli-X ``wikipedia_pairs`` row -> one pair: the mention in its sentence, the entity description;
- Mewsli-X ``wikinews_mentions`` row (a context with several mentions) -> one query row per mention, its gold entity
  id as ``candidate_id`` and no candidate text (candidates come from the ``candidate_entities`` set);
- Mewsli-X ``candidate_entities`` row -> a candidate without query;
- SQuAD-shaped row (SQuAD v1.1 for LAReQA training, XQuAD-R for its evaluation) -> the question and its answer
  *sentence*, found with :func:`split_sentences`, with the paragraph as ``context``; ``candidate_id`` is
  ``<paragraph key>#<start>-<end>`` (the sentence's character span). A question whose answer lies in no single
  sentence is skipped, as XTREME's LAReQA reader skips it.

Mewsli-X's Hub schema (community copy ``izhx/mewsli-x``) is [inferred]: every field used below is checked and a
missing or differently typed one is a ``DataError`` naming the field.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch

from xstilts import metrics as M
from xstilts.data import DataError
from xstilts.reliability import LanguageFigures, language_figures

TOP_K = 20  # Mewsli-X and LAReQA are scored on the top 20 candidates of each query
MARKER_L, MARKER_R = "{", "}"  # Mewsli-X's mention markers
_MARKED = re.compile(r"\{(.*?)\}")

# ---- Mewsli-X schema (nested Hub features, referenced from the registry as "mewslix:<name>") ---------------------
_STR = datasets.Value("string")
_INT = datasets.Value("int64")
_SPAN = {"start": _INT, "end": _INT}
_MENTION = {"example_id": _STR, "mention_span": {"start": _INT, "end": _INT, "text": _STR}, "entity_id": _STR}
_CONTEXT = {"document_title": _STR, "document_url": _STR, "document_id": _STR, "language": _STR, "text": _STR,
            "sentence_spans": datasets.List(_SPAN)}
_ENTITY = {"entity_id": _STR, "title": _STR, "description": _STR, "sentence_spans": datasets.List(_SPAN),
           "description_language": _STR, "description_url": _STR}
# Optional fields of the original schema (``section_title``, ``metadata``) are not required: extra fields pass.
MEWSLIX_FEATURES: dict[str, Any] = {
    "spans": datasets.List(_SPAN),
    "context": _CONTEXT,
    "mentions": datasets.List(_MENTION),
    "contextual_mention": {"context": _CONTEXT, "mention": _MENTION},
    "entity": _ENTITY,
}

CANONICAL_FIELDS = ("query_id", "query", "candidate_id", "candidate", "context")


class DualEncoderDataError(DataError):
    """A dual-encoder row does not have the shape its source should have (the message names field and fix)."""


def _need(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj or obj[key] is None:
        raise DualEncoderDataError(f"{where}: field {key!r} is missing; the Mewsli-X schema is inferred "
                                   "(DATASETS.md), check the dataset's columns against xstilts.dual_encoder")
    return obj[key]


def _spans(raw: Any, text: str, where: str) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise DualEncoderDataError(f"{where}: sentence_spans must be a list of {{start, end}}")
    spans = []
    for s in raw:
        start, end = int(_need(s, "start", where)), int(_need(s, "end", where))
        if not 0 <= start < end <= len(text):
            raise DualEncoderDataError(f"{where}: sentence span {start}-{end} is outside the text ({len(text)} chars)")
        spans.append((start, end))
    return spans


def _clean(text: str) -> str:
    # Newlines and double spaces normalised away, as Mewsli-X's baseline preprocessing does.
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mention_query(context: dict, mention: dict, where: str = "Mewsli-X mention") -> str:
    """The query string of a mention: its sentence with the mention marked, the mention text prepended.

    ``"Smith: The verdict came back for { Smith }, who stepped down."`` (Mewsli-X's baseline format: one sentence of
    context, ``{``/``}`` markers, pre-existing ``{...}`` in the sentence escaped to ``(...)``, the mention prepended so
    truncation never cuts it off).
    """
    text = _need(context, "text", where)
    span = _need(mention, "mention_span", where)
    start, end = int(_need(span, "start", where)), int(_need(span, "end", where))
    surface = _need(span, "text", where)
    if text[start:end] != surface:
        raise DualEncoderDataError(f"{where}: mention_span {start}-{end} reads {text[start:end]!r}, not {surface!r}")
    sentence = next(((s, e) for s, e in _spans(_need(context, "sentence_spans", where), text, where)
                     if s <= start and end <= e), None)
    if sentence is None:
        raise DualEncoderDataError(f"{where}: mention {surface!r} lies in no single sentence of its context")
    s, e = sentence
    left = _MARKED.sub(r"(\1)", text[s:start])
    right = _MARKED.sub(r"(\1)", text[end:e])
    return _clean(f"{surface}: {left} {MARKER_L} {surface} {MARKER_R} {right}")


def entity_text(entity: dict, where: str = "Mewsli-X entity") -> str:
    """An entity's candidate text: its description's sentences joined by spaces, whitespace normalised."""
    description = _need(entity, "description", where)
    spans = _spans(_need(entity, "sentence_spans", where), description, where)
    return _clean(" ".join(description[s:e] for s, e in spans))


# ---- Sentence breaks (LAReQA without the original XQuAD-R files) ---------------------------------------------------
# A sentence ends after ., !, ? or … (plus closing quotes/brackets) followed by whitespace, or after a mark that needs
# no space after it: the CJK full stops 。！？, the Arabic question mark ؟, the Devanagari danda । and the Greek
# question mark ; (not the ASCII semicolon). Thai, written without sentence punctuation, stays one
# sentence per paragraph. Not what XQuAD-R's `sentence_breaks` were made with, so scores computed with it are not
# comparable to published LAReQA numbers.
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*(?=\s))|(?:[。！？؟।;]+[\"'”’」』)\]]*)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` (see ``_SENTENCE_END``), whitespace trimmed.

    Every non-space character lies in exactly one span; a text without a sentence end is one sentence.
    """
    spans, start = [], 0
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for cut in cuts:
        s, e = start, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
        start = cut
    return spans


def paragraph_key(context: str) -> str:
    """A short stable key of a paragraph (candidate ids are ``<key>#<start>-<end>``)."""
    return hashlib.sha1(context.encode("utf-8")).hexdigest()[:12]


def answer_sentence(spans: list[tuple[int, int]], answer_start: int) -> tuple[int, int] | None:
    """The sentence span holding ``answer_start`` (None: between sentences, the question is skipped)."""
    return next(((s, e) for s, e in spans if s <= answer_start < e), None)


# ---- Canonical rows ----------------------------------------------------------------------------------------------
def _row(query_id: Any = None, query: Any = None, candidate_id: Any = None, candidate: Any = None,
         context: Any = None) -> dict:
    return {"query_id": query_id, "query": query, "candidate_id": candidate_id, "candidate": candidate,
            "context": context}


def canonical_pairs(row: dict, where: str) -> list[dict]:
    """The canonical dual-encoder rows of one source row (see the module docstring for each source shape).

    Args:
        row: one source row, mapped onto the registry's field names.
        where: the dataset/split/row named in error messages.

    Returns:
        Zero (a SQuAD question whose answer lies in no sentence), one, or several (one per Mewsli-X mention) rows
        with the keys of ``CANONICAL_FIELDS``.

    Raises:
        DualEncoderDataError: a field the schema requires is missing or inconsistent (e.g. a mention span whose text
            differs from its context), naming the field.
    """
    try:
        if "contextual_mention" in row:  # Mewsli-X wikipedia_pairs
            cm, entity = row["contextual_mention"], _need(row, "entity", where)
            mention = _need(cm, "mention", where)
            return [_row(str(_need(mention, "example_id", where)), mention_query(_need(cm, "context", where), mention,
                                                                                 where),
                         str(_need(entity, "entity_id", where)), entity_text(entity, where))]
        if "mentions" in row:  # Mewsli-X wikinews_mentions: one query per mention
            context = _need(row, "context", where)
            return [_row(str(_need(m, "example_id", where)), mention_query(context, m, where),
                         str(_need(m, "entity_id", where)).strip()) for m in row["mentions"]]
        if "entity_id" in row:  # Mewsli-X candidate_entities
            return [_row(candidate_id=str(row["entity_id"]), candidate=entity_text(row, where))]
        if "question" in row and "answers" in row:  # SQuAD / XQuAD-R
            context = row["context"]
            starts = list(row["answers"]["answer_start"])
            if not starts:
                return []
            span = answer_sentence(split_sentences(context), int(starts[0]))
            if span is None:
                return []
            return [_row(str(row["id"]), row["question"], f"{paragraph_key(context)}#{span[0]}-{span[1]}",
                         context[span[0]:span[1]], context)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise DualEncoderDataError(f"{where}: malformed row ({type(exc).__name__}: {exc})") from None
    raise DualEncoderDataError(f"{where}: a dual-encoder row needs Mewsli-X fields (contextual_mention/entity, "
                               f"context/mentions, entity_id) or SQuAD fields (question/answers); got {sorted(row)}")


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
    from xstilts.retrieval import blocked_topk_cosine

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
    return {"map@20": M.map_at_k(rankings, [str(r["candidate_id"]) for r in rows], TOP_K), "n": float(len(rows))}


# ---- Embedding with a trained model ---------------------------------------------------------------------------------
@torch.inference_mode()
def embed(model: Any, tokenizer: Any, texts: list[str], contexts: list[str] | None, max_length: int,
          batch_size: int, device: Any = "cpu") -> torch.Tensor:
    """L2-normalised embeddings of texts (or (text, context) pairs) with the model's dual-encoder pooling, computed in
    length-sorted batches and returned in input order."""
    from xstilts.modeling import pool_embeddings

    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(contexts[i]) if contexts else 0))
    out = torch.empty(len(texts), model.config.hidden_size)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if contexts is not None:
            enc = tokenizer([texts[i] for i in idx], [contexts[i] for i in idx], truncation="longest_first",
                            max_length=max_length, padding=True, return_tensors="pt")
        else:
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
        enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        out[idx] = pool_embeddings(model.encoder, enc).float().cpu()
    return out


# ---- LAReQA pool ----------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Paragraph:
    """One XQuAD-R paragraph: its sentence spans and its questions (id, text, answer start)."""

    context: str
    sentences: list[tuple[int, int]]
    questions: list[tuple[str, str, int]]


def paragraphs_from_rows(rows: list[dict]) -> list[Paragraph]:
    """Paragraphs of one language from canonical SQuAD-shaped rows, sentence breaks from :func:`split_sentences`."""
    by_context: dict[str, Paragraph] = {}
    for r in rows:
        p = by_context.get(r["context"])
        if p is None:
            p = by_context[r["context"]] = Paragraph(r["context"], split_sentences(r["context"]), [])
        start = int(str(r["candidate_id"]).rsplit("#", 1)[1].split("-")[0])
        p.questions.append((str(r["query_id"]), r["query"], start))
    return list(by_context.values())


def read_xquad_r_file(path: str | Path) -> list[Paragraph]:
    """Paragraphs of one original XQuAD-R JSON file (``xquad-r/<lang>.json`` of google-research-datasets/lareqa),
    with its ``sentence_breaks``."""
    import json

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found; retrieval.lareqa_data must be a folder with the original XQuAD-R "
                                "files <lang>.json (github.com/google-research-datasets/lareqa, xquad-r/)")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        out = []
        for article in data["data"]:
            for para in article["paragraphs"]:
                context = para["context"]
                breaks = [(int(s), int(e)) for s, e in para["sentence_breaks"]]
                qs = [(str(qa["id"]), qa["question"], int(qa["answers"][0]["answer_start"])) for qa in para["qas"]]
                out.append(Paragraph(context, breaks, qs))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DualEncoderDataError(f"{p}: not an XQuAD-R file with sentence_breaks ({type(exc).__name__}: {exc})"
                                   ) from None
    return out


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
            candidates += [(u, p.context[s:e], p.context) for u, (s, e) in zip(uids, p.sentences)]
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


# ---- Evaluation (evaluate_xtreme.py) ------------------------------------------------------------------------------
def _figures(lang: str, per_query: list[tuple[float, float]], rankings: list[list[str]]) -> LanguageFigures:
    """One language's reliability figures: its bootstrap over queries (per-query reciprocal rank / AP), no class
    balance (each query has its own gold), and the share of the most frequent top-1 candidate, near 100 when the
    encoder collapsed and every query retrieves the same "hub" candidate."""
    return language_figures(lang, np.array(per_query), None, [r[0] if r else None for r in rankings])


def evaluate(cfg: Any, task: Any, langs: list[str], run_folder: Path, out_file: Path) -> int:
    """Evaluates a phase-3 dual encoder on Mewsli-X or LAReQA and writes ``out_file`` (the one results schema).

    Mewsli-X: each language's mentions rank the whole candidate entity set; per language ``map@20`` (MRR@20, as the
    official scorer names it), task score = the macro mean. LAReQA: the questions of all languages rank the pooled
    answer-sentence candidates of all languages; per language the mAP@20 of its questions, task score = mAP@20 over
    all questions (micro).

    Args:
        cfg: the ``EvalRecipe`` (split, data source, languages, batch size, ``retrieval.lareqa_data``, exports).
        task: the registry entry (``mewslix`` or ``lareqa``).
        langs: the languages to evaluate.
        run_folder: a phase-3 folder whose ``final/`` holds the dual encoder.
        out_file: where ``<task>.json`` goes.

    Returns:
        0 (errors are raised as ``DataError`` / ``FileNotFoundError``, which the script reports in one line).
    """
    from transformers import AutoTokenizer

    from xstilts import data, evaluation, provenance
    from xstilts.log import log, quiet_libraries
    from xstilts.modeling import load_model
    from xstilts.results import write_result

    quiet_libraries()
    checkpoint = provenance.model_dir(run_folder)
    # A GPU when there is one: Mewsli-X embeds about a million candidate descriptions and ranks them all.
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_model(checkpoint).to(device)
    evaluation.autocast_encoder(model.encoder, evaluation.effective_precision(cfg.precision))  # ranking stays fp32
    if not any(s.kind == "dual_encoder" for s in model.specs):
        raise data.DataError(f"{checkpoint} has no dual-encoder head (heads: {[s.task for s in model.specs]}); "
                             f"train {task.name} with phase3_target.py first")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    run_recipe = provenance.chain(run_folder)[0]["recipe"]
    max_length = cfg.max_length or (run_recipe.get("train") or {}).get("max_length", 128)
    bs, block = cfg.batch_size, cfg.retrieval.block_size

    def emb(texts: list[str], contexts: list[str] | None = None) -> torch.Tensor:
        return embed(model, tokenizer, texts, contexts, max_length, bs, device).to(device)

    languages: dict[str, dict[str, float]] = {}
    figures: dict[str, LanguageFigures] = {}
    notes: list[str] = ["representation: mean pooling of the last layer (the dual encoder's own pooling)"]
    missing: list[str] = []
    if task.name == "mewslix":
        if task.candidates is None:
            raise data.DataError("mewslix: the registry names no candidate set")
        cands = data.load_split(task, task.candidates, cfg.data.source, "en", "candidates", cfg.data.path)
        cand_ids = [r["candidate_id"] for r in cands]
        cand_emb = emb([r["candidate"] for r in cands])
        rows, missing, load_notes = evaluation.load_eval_rows(task, cfg.split, cfg.data.source, cfg.data.path, langs,
                                                              explicit=cfg.languages is not None,
                                                              limit=cfg.data.max_eval_samples)
        notes += load_notes + [f"{len(cand_ids)} candidate entities"]
        for lang, lang_rows in rows.items():
            rankings = rank(emb([r["query"] for r in lang_rows]), cand_emb, cand_ids, TOP_K, block)
            golds = [r["candidate_id"] for r in lang_rows]
            languages[lang] = {"map@20": M.mrr_at_k(rankings, golds, TOP_K), "n": float(len(lang_rows))}
            figures[lang] = _figures(lang, M.rr_contributions(rankings, golds, TOP_K), rankings)
            log(f"mewslix {lang}: map@20 {languages[lang]['map@20']:.2f}")
            if cfg.export_predictions:
                from xstilts import submission

                submission.write_predictions("mewslix", lang, {r["query_id"]: rk for r, rk in zip(lang_rows, rankings)},
                                             cfg.export_predictions)
        result = evaluation.build_result(task, languages, missing, cfg.split, cfg.data.source, checkpoint, run_folder,
                                         notes, reliability=figures)
    else:  # lareqa
        paragraphs: dict[str, list[Paragraph]] = {}
        folder = getattr(cfg.retrieval, "lareqa_data", None)
        if folder:
            for lang in langs:
                paragraphs[lang] = read_xquad_r_file(Path(folder) / f"{lang}.json")
            notes.append(f"sentence breaks from the original XQuAD-R files in {folder}")
        else:
            rows, missing, load_notes = evaluation.load_eval_rows(task, cfg.split, cfg.data.source, cfg.data.path,
                                                                  langs, explicit=cfg.languages is not None,
                                                                  limit=cfg.data.max_eval_samples)
            paragraphs = {lang: paragraphs_from_rows(r) for lang, r in rows.items()}
            warning = ("sentence breaks from xstilts.dual_encoder.split_sentences, not XQuAD-R's sentence_breaks "
                       "(the Hub copy drops them): this mAP@20 is NOT comparable to published LAReQA numbers; set "
                       "retrieval.lareqa_data=<folder with the original xquad-r/<lang>.json files>")
            log(f"warning: {warning}")
            notes += load_notes + [warning]
        pool = build_pool(paragraphs)
        if not pool.questions:
            raise data.DataError("lareqa: no question has its answer inside a sentence")
        q_emb = emb([q[2] for q in pool.questions])
        c_emb = emb([c[1] for c in pool.candidates], [c[2] for c in pool.candidates])
        rankings = rank(q_emb, c_emb, [c[0] for c in pool.candidates], TOP_K, block)
        micro = M.map_at_k(rankings, pool.gold, TOP_K)
        for lang in paragraphs:
            idx = [i for i, q in enumerate(pool.questions) if q[0] == lang]
            if idx:
                languages[lang] = {"map@20": M.map_at_k([rankings[i] for i in idx], [pool.gold[i] for i in idx],
                                                        TOP_K), "n": float(len(idx))}
                figures[lang] = _figures(lang, M.ap_contributions([rankings[i] for i in idx],
                                                                  [pool.gold[i] for i in idx], TOP_K),
                                         [rankings[i] for i in idx])
                log(f"lareqa {lang}: map@20 {languages[lang]['map@20']:.2f} (its questions, pooled candidates)")
        notes += [f"score = mAP@20 over all {len(pool.questions)} questions of the {len(languages)} languages pooled "
                  f"(micro); per-language values are each language's questions against the same pooled "
                  f"{len(pool.candidates)} candidates",
                  *([f"{pool.skipped} question(s) skipped: answer in no sentence"] if pool.skipped else [])]
        # The score is the micro mean over questions = the mean of the languages' mAP weighted by their questions.
        result = evaluation.build_result(task, languages, missing, cfg.split, cfg.data.source, checkpoint, run_folder,
                                         notes, reliability=figures,
                                         score_weights={lang: m["n"] for lang, m in languages.items()})
        result = dataclasses.replace(result, score=micro)
    write_result(out_file, result)
    log(f"{task.name}: score {result.score:.2f} over {len(languages)} languages"
            + (f" (partial: missing {' '.join(missing)})" if missing else "") + f" -> {out_file}")
    return 0
