"""Per task kind: canonical rows -> model features, batching, prediction and scoring.

Training batches are padded dynamically (to the longest row of the batch); evaluation sorts features by length so
batches carry little padding, and runs under ``torch.inference_mode``. Predictions are mapped back to the input order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xstilts import dual_encoder, qa, squad_v2, tagging
from xstilts import metrics as M
from xstilts.data import DataError, label_count
from xstilts.log import log
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task


@dataclass
class Encoded:
    """Model features of one split plus what post-processing needs to map predictions back to examples."""

    features: list[dict[str, Any]]
    extra: dict[str, Any]


def encode(task: Task, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
           train: bool = True) -> Encoded:
    """Tokenises canonical rows of ``task`` into features (dicts of python lists) for ``MultiHeadModel``."""
    kind = task.kind
    feats: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    _check_labels(task, rows)
    if kind == "classification":
        a = [r["text_a"] for r in rows]
        b = [r["text_b"] for r in rows] if rows and rows[0].get("text_b") is not None else None
        enc = tokenizer(a, b, truncation=True, max_length=max_length)
        for i, r in enumerate(rows):
            f = {k: enc[k][i] for k in enc.keys() if k in ("input_ids", "attention_mask", "token_type_ids")}
            f["labels"] = r["label"]
            feats.append(f)
    elif kind == "multiple_choice":
        for r in rows:
            first = [r["context"]] * len(r["choices"])
            second = [f"{r['question']} {c}".strip() for c in r["choices"]]
            enc = tokenizer(first, second, truncation=True, max_length=max_length)
            f = {k: enc[k] for k in enc.keys() if k in ("input_ids", "attention_mask", "token_type_ids")}
            f["labels"] = r["label"]
            feats.append(f)
    elif kind == "span_qa":
        enc = qa.prepare_qa_features(
            tokenizer, [r["question"] for r in rows], [r["context"] for r in rows], max_length=max_length,
            doc_stride=min(128, max_length // 3), answers=[r["answers"] for r in rows] if train else None)
        unusable = _check_answers(task, rows, enc, max_length) if train else set()
        for i in range(len(enc["input_ids"])):
            if enc["example_index"][i] in unusable:
                continue  # dropped, not trained as "no answer"
            f = {k: enc[k][i] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
            if train:
                f["start_positions"] = enc["start_positions"][i]
                f["end_positions"] = enc["end_positions"][i]
            feats.append(f)
        extra["qa"] = enc
        extra["unusable_answers"] = len(unusable)
    elif kind == "tagging":
        enc = tagging.encode_tagging(tokenizer, [r["tokens"] for r in rows], [r["tags"] for r in rows], max_length)
        for i in range(len(enc["input_ids"])):
            f = {k: enc[k][i] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
            f["labels"] = enc["labels"][i]
            feats.append(f)
        extra["tagging"] = enc
        extra["num_words"] = [len(r["tokens"]) for r in rows]
    elif kind == "dual_encoder":
        feats = dual_encoder.encode_pairs(rows, tokenizer, max_length, task_id)
        return Encoded(feats, extra)
    else:
        raise ValueError(f"task kind {kind!r} is not trainable")
    for f in feats:
        f["task_id"] = task_id
    return Encoded(feats, extra)


def _check_labels(task: Task, rows: list[dict]) -> None:
    """Every label a class id of the head: -1, None or an id beyond the head would crash training, or be scored as
    a wrong answer (tagging: silently read as the last tag). The loaders map or drop such rows; this is the guard.

    Raises:
        DataError: naming the row and the valid ids.
    """
    n = label_count(task)
    if n is None:
        n = len(task.label_names) or None  # CCG: the tag set built from the training data
    if task.kind in ("classification", "multiple_choice"):
        for i, r in enumerate(rows):
            label, k = r.get("label"), (len(r["choices"]) if task.kind == "multiple_choice" else n)
            if not (isinstance(label, int) and not isinstance(label, bool) and (k is None or 0 <= label < k)):
                raise DataError(f"task {task.name}: row {i} has label {label!r}, not a class id 0..{(k or 0) - 1}; "
                                "rows without gold label must be dropped by the loader, never trained or scored")
    elif task.kind == "tagging":
        for i, r in enumerate(rows):
            bad = [t for t in r["tags"] if not (isinstance(t, int) and (n is None or 0 <= t < n))]
            if bad:
                raise DataError(f"task {task.name}: sentence {i} has tag(s) {bad[:5]!r}, not class ids "
                                f"0..{(n or 0) - 1}; untagged words must be dropped by the loader")


def _check_answers(task: Task, rows: list[dict], enc: dict[str, list], max_length: int) -> set[int]:
    """Training questions whose gold answer cannot be trained as a span (see ``qa.unusable_answers``): counted and
    dropped with a warning, or a ``DataError`` above ``qa.MAX_UNUSABLE_ANSWER_FRACTION`` of the questions."""
    problems = qa.unusable_answers([r["context"] for r in rows], [r["answers"] for r in rows], enc)
    if not problems:
        return set()
    first = [f"{rows[i].get('id', i)}: {why}" for i, why in list(problems.items())[:3]]
    share = len(problems) / len(rows)
    summary = (f"task {task.name}: {len(problems)} of {len(rows)} training questions ({100 * share:.1f}%) have a gold "
               f"answer that cannot be trained as a span at max_length={max_length} (first: {'; '.join(first)})")
    if share > qa.MAX_UNUSABLE_ANSWER_FRACTION:
        raise DataError(f"{summary}; more than {100 * qa.MAX_UNUSABLE_ANSWER_FRACTION:.0f}% means the file's "
                        "answer_start offsets or text are wrong, or max_length is too small: fix the data or raise "
                        "train.max_length")
    log(f"warning: {summary}; these questions are dropped from training (not trained as 'no answer')")
    return set(problems)


def _pad(seqs: list[Any], value: int) -> torch.Tensor:
    if isinstance(seqs[0][0], list):  # multiple choice: [choices][tokens]
        width = max(len(s) for choices in seqs for s in choices)
        return torch.tensor([[s + [value] * (width - len(s)) for s in choices] for choices in seqs])
    width = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs])


class Collator:
    """Dynamic padding of a list of features (any kind) into a batch of tensors."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for key in batch[0]:
            values = [f[key] for f in batch]
            if key in ("input_ids", "candidate_input_ids"):
                out[key] = _pad(values, self.pad_token_id)
            elif key in ("attention_mask", "token_type_ids", "candidate_attention_mask", "candidate_token_type_ids"):
                out[key] = _pad(values, 0)
            elif key in ("labels", "mlm_labels") and isinstance(values[0], list):
                out[key] = _pad(values, -100)
            else:
                out[key] = torch.tensor(values)
        return out


def feature_length(f: dict[str, Any]) -> int:
    ids = f["input_ids"]
    return max(len(s) for s in ids) if ids and isinstance(ids[0], list) else len(ids)


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, features: list[dict[str, Any]], collator: Collator, batch_size: int,
                   device: torch.device | str = "cpu") -> list[Any]:
    """Logits per feature, in input order, from length-sorted batches (less padding, same results)."""
    model.eval()
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    out: list[Any] = [None] * len(features)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = collator([{k: v for k, v in features[i].items()
                           if k not in ("labels", "start_positions", "end_positions")} for i in idx])
        lengths = batch["attention_mask"].sum(-1).tolist()  # read on the CPU: no wait for the GPU per example
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(**batch)["logits"].float().cpu()
        for j, i in enumerate(idx):
            out[i] = logits[j, :lengths[j]].numpy() if logits.dim() == 3 else logits[j].numpy()
    return out


def predict(task: Task, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[Any]:
    """Predictions per example: a label index, an answer string, or a list of tag indices per word."""
    if task.kind in ("classification", "multiple_choice"):
        return [int(lg.argmax()) for lg in logits]
    if task.kind == "span_qa":
        starts = [lg[:, 0] for lg in logits]
        ends = [lg[:, 1] for lg in logits]
        if task.null_answers:  # SQuAD v2.0: no-answer threshold chosen on these (dev) questions, kept for the record
            answers_v2, encoded.extra["null_threshold"] = squad_v2.predict_with_threshold(
                rows, encoded.extra["qa"], starts, ends)
            return answers_v2
        answers = qa.postprocess_qa_predictions([r["context"] for r in rows], encoded.extra["qa"], starts, ends)
        return [answers.get(i, "") for i in range(len(rows))]
    if task.kind == "mlm":
        from xstilts import mlm

        return mlm.predict(encoded, logits)
    if task.kind == "dual_encoder":  # logits = [query embedding, candidate embedding] per pair
        return dual_encoder.dev_rankings(rows, logits)
    if task.kind == "tagging":
        per_feature = [[int(x) for x in lg.argmax(-1)] for lg in logits]
        return tagging.merge_window_predictions(encoded.extra["tagging"], per_feature, encoded.extra["num_words"])
    raise ValueError(f"task kind {task.kind!r} has no predictions")


def score(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
    """Metrics of one language (percent), named as the official scorer names them, plus ``n``."""
    n = float(len(rows))
    if task.kind in ("classification", "multiple_choice"):
        return {"accuracy": M.accuracy(predictions, [r["label"] for r in rows]), "n": n}
    if task.kind == "mlm":
        from xstilts import mlm

        return {**mlm.score(predictions), "n": n}
    if task.kind == "span_qa" and task.null_answers:
        return {**squad_v2.scores(predictions, rows), "n": n}
    if task.kind == "span_qa":
        preds = {str(i): p for i, p in enumerate(predictions)}
        golds = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
        if task.eval_metric == "mlqa":
            s = M.mlqa_scores(preds, golds, lang)
        else:
            s = M.squad_scores(preds, golds)
        return {"exact_match": s["exact_match"], "f1": s["f1"], "n": n}
    if task.kind == "tagging":
        names = task.label_names
        pred_tags = [[names[t] for t in p] for p in predictions]
        gold_tags = [[names[t] for t in r["tags"]] for r in rows]
        if task.main_metric == "accuracy":  # supertags (CCG) are not BIO chunks: token accuracy only
            return {"accuracy": M.token_accuracy(pred_tags, gold_tags), "n": n}
        s = M.tagging_scores(pred_tags, gold_tags)
        out = {"f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "n": n}
        if task.name.startswith("udpos"):
            out["accuracy"] = M.token_accuracy(pred_tags, gold_tags)
        return out
    if task.kind == "dual_encoder":
        return dual_encoder.dev_score(rows, predictions)
    raise ValueError(f"task kind {task.kind!r} has no scorer")


def reliability(task: Task, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
    """What is needed to judge ``score``'s main number for one language (see ``xstilts.reliability``).

    - majority share: of the gold class ids (classification, multiple choice) or gold tags over words (tagging);
      none for span QA (answers are not classes).
    - top-prediction share: of the predicted class ids, tags over words, or answer strings (span QA: catches a
      model that always answers "" or the same span).
    - the bootstrap replicates of the language's task score (accuracy, (EM + F1) / 2, chunk F1 or token accuracy),
      resampling examples (sentences for tagging) from the same per-example numbers the metric adds up.
    """
    if task.kind in ("classification", "multiple_choice"):
        golds = [r["label"] for r in rows]
        return language_figures(lang, np.array(M.accuracy_contributions(predictions, golds)), golds, predictions)
    if task.kind == "span_qa":
        if task.null_answers:
            per = [(sum(squad_v2.em_f1(p, squad_v2.gold_texts(r["answers"]))) / 2, 1.0)
                   for p, r in zip(predictions, rows)]
        else:
            preds = {str(i): p for i, p in enumerate(predictions)}
            golds_qa = {str(i): list(r["answers"]["text"]) for i, r in enumerate(rows)}
            per = M.qa_contributions(preds, golds_qa, lang if task.eval_metric == "mlqa" else None)
        return language_figures(lang, np.array(per), None, [p.strip() for p in predictions])
    if task.kind == "tagging":
        names = task.label_names
        pred_tags = [[names[t] for t in p] for p in predictions]
        gold_tags = [[names[t] for t in r["tags"]] for r in rows]
        if task.main_metric == "accuracy":
            per = M.token_accuracy_contributions(pred_tags, gold_tags)
        else:
            per = M.tagging_contributions(pred_tags, gold_tags)
        return language_figures(lang, np.array(per), [t for s in rows for t in s["tags"]],
                                [t for p in predictions for t in p])
    if task.kind == "dual_encoder":  # a phase-3 dev score (dual_encoder.dev_score); evaluation has its own
        per = M.ap_contributions(predictions, [str(r["candidate_id"]) for r in rows], dual_encoder.TOP_K)
        return language_figures(lang, np.array(per), None, [rk[0] if rk else None for rk in predictions])
    return LanguageFigures()  # MLM: not scored as a benchmark task


def selection_score(task: Task, metrics: dict[str, float]) -> float:
    """The single dev number used for model selection (the task's main metric; QA: (EM + F1) / 2)."""
    if task.main_metric == "exact_match+f1":
        return (metrics["exact_match"] + metrics["f1"]) / 2
    return metrics[task.main_metric]
