"""Sentence retrieval on encoder representations, without training (BUCC 2018 mining, Tatoeba): any phase's folder.

Representation: mean pooling (special tokens included, as XTREME) or CLS over ``hidden_states[layer]``; the default
layer is the middle of the network (``num_layers // 2 + 2`` capped at ``num_layers``: 14 of 24 for XLM-R Large as
jiant and XTREME use, 8 of 12 for base models, 2 of 2 for the tiny quickstart encoders). The maths (similarity
search, margin mining, thresholds) is in ``xstilts.retrieval``.

Canonical rows (Tatoeba): ``{"source": str, "target": str}``, row i of one side aligned with row i of the other.
BUCC's evaluation input per language is its (sample, training) pair of original files (``data.BuccSplit``).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xstilts import data, families, metrics, retrieval
from xstilts.config import EvalRecipe, RetrievalConfig
from xstilts.errors import DataError, DataMissing
from xstilts.languages import TATOEBA_ISO3
from xstilts.log import language_line, log
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.tasks import Task
from xstilts.tasktypes.base import Batch, DevSet, Feature, unsupported
from xstilts.tasktypes.common import EVAL_GPU_PAD_MULTIPLE, Encoded, EvalInputs, Evaluated, pad_multiple
from xstilts.typespecs import HeadSpec
from xstilts.typespecs import SPECS, RetrievalOptions

BUCC_SPLITS = {"test": ("training", "test"), "validation": ("sample", "dev")}  # original name, XTREME name
BUCC_URL = "https://comparable.limsi.fr/bucc2018/bucc2018-{lang}-en.{split}-gold.tar.bz2"


def default_layer(num_layers: int) -> int:
    """The middle-of-the-network layer XTREME and jiant embed from (see the module docstring)."""
    return families.middle_layer(num_layers)


@torch.inference_mode()
def embed_layers(encoder: torch.nn.Module, tokenizer: Any, sentences: list[str], layers: list[int], pooling: str,
                 max_length: int, batch_size: int) -> list[torch.Tensor]:
    """L2-normalised sentence embeddings from each of ``layers`` (one forward pass serves them all), computed in
    length-sorted batches and returned in input order.

    On a GPU the loop never waits for the device: batch widths are rounded up to a multiple of
    ``EVAL_GPU_PAD_MULTIPLE`` where ``max_length`` is one (few shapes; padding is masked out of the mean, so
    embeddings do not change), the empty-row check reads the tokenizer's host mask, copies go from pinned memory
    without blocking, and the pooled vectors stay on the device until one copy back at the end. On CPU widths are
    the longest row's, as before.
    """
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    device = next(encoder.parameters()).device
    on_gpu = device.type == "cuda"
    multiple = pad_multiple("auto", device, EVAL_GPU_PAD_MULTIPLE)
    # Rounding up must not pass max_length (position embeddings): only where max_length is itself a multiple.
    multiple = multiple if multiple > 1 and max_length % multiple == 0 else None
    out = [torch.empty(len(sentences), encoder.config.hidden_size, device=device) for _ in layers]
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tokenizer([sentences[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                        pad_to_multiple_of=multiple, return_tensors="pt")
        empty = np.flatnonzero(enc["attention_mask"].numpy().sum(axis=1) == 0).tolist()  # the host's copy: no wait
        if empty:
            raise ValueError(f"attention_mask is all zero for batch rows {empty}: nothing to pool")
        enc = {k: (v.pin_memory().to(device, non_blocking=True) if on_gpu else v.to(device)) for k, v in enc.items()}
        states = encoder(**enc, output_hidden_states=True).hidden_states
        rows = torch.tensor(idx, device=device)
        for k, layer in enumerate(layers):
            hidden = states[layer]
            pooled = (retrieval.mean_pool(hidden, enc["attention_mask"], check_empty=False) if pooling == "mean"
                      else retrieval.cls_pool(hidden))
            out[k][rows] = pooled.float()
    return [retrieval.l2_normalize(x.cpu()) for x in out]


def embed(encoder: torch.nn.Module, tokenizer: Any, sentences: list[str], layer: int, pooling: str, max_length: int,
          batch_size: int) -> torch.Tensor:
    """L2-normalised sentence embeddings from ``layer`` (see :func:`embed_layers`)."""
    return embed_layers(encoder, tokenizer, sentences, [layer], pooling, max_length, batch_size)[0]


# ---- Evaluation input per language ---------------------------------------------------------------------------------
def default_download(url: str) -> str:
    """Downloads and extracts an archive with the datasets library's cache (replaced in tests)."""
    import datasets

    return datasets.DownloadManager().download_and_extract(url)


download: Callable[[str], str] = default_download


def _bucc_folder(cfg: EvalRecipe, settings: RetrievalConfig, lang: str, split: str) -> Path:
    """The folder holding BUCC's original files for ``lang``/``split``.

    The Hub copy (``google/xtreme`` ``bucc18.*``) holds only the gold pairs, not the corpora to mine, so with
    ``data.source=hub`` the original BUCC 2018 archives are downloaded (and cached) from the shared task's site.
    """
    if settings.bucc_data:
        return Path(settings.bucc_data)
    if cfg.data.source == "xtreme" and cfg.data.path:
        return Path(cfg.data.path) / "bucc2018"
    if cfg.data.source == "hub":
        url = BUCC_URL.format(lang=lang, split=BUCC_SPLITS[split][0])
        try:
            return Path(download(url))
        except Exception as exc:  # noqa: BLE001 - any library failure becomes a DataError naming the fix
            raise DataMissing(f"bucc2018: could not download {url} ({type(exc).__name__}: {exc}); download it "
                              "yourself and set retrieval.bucc_data=<folder>") from None
    raise DataMissing("bucc2018 mines the original BUCC 2018 corpora (the Hub copy holds only the gold pairs): "
                      "set retrieval.bucc_data=<folder with <lang>-en.{sample,training}.{<lang>,en,gold}> "
                      "(or data.source=xtreme data.path=<XTREME download folder>)")


def _read_bucc(cfg: EvalRecipe, settings: RetrievalConfig, lang: str, split: str) -> data.BuccSplit:
    folder = _bucc_folder(cfg, settings, lang, split)
    original, xtreme_name = BUCC_SPLITS[split]
    try:
        return data.read_bucc_files(folder, lang, original)
    except FileNotFoundError:
        return data.read_bucc_files(folder, lang, xtreme_name)


# ---- Evaluation --------------------------------------------------------------------------------------------------
def evaluation_layer(encoder: torch.nn.Module, settings: RetrievalConfig) -> int:
    """``retrieval.layer``, else the family default (:func:`families.retrieval_default`: :func:`default_layer`, or the
    last layer of a contrastively trained sentence encoder); checked against the encoder.

    Raises:
        DataError: the layer is not one of the encoder's hidden states.
    """
    n = encoder.config.num_hidden_layers
    # The family table's default: the middle-upper layer of an MLM encoder, the last of a contrastive sentence encoder.
    layer = settings.layer if settings.layer is not None else families.retrieval_default(encoder.config)[0]
    if not 0 <= layer <= n:
        raise DataError(f"retrieval.layer={layer} is out of range: the encoder has hidden_states 0..{n}")
    return layer


def evaluation_layers(encoder: torch.nn.Module, settings: RetrievalConfig, layer: int) -> list[int]:
    """The layers one forward pass embeds from: ``layer`` (the task score), then the last one where
    ``retrieval.also_last_layer`` asks for it."""
    return [layer, encoder.config.num_hidden_layers] if settings.also_last_layer else [layer]


def _mine(inputs: EvalInputs, r: RetrievalConfig, split: data.BuccSplit, layers: list[int]) -> list[list]:
    """The candidate pairs mined at each of ``layers``."""
    src = retrieval.dedup_sentences(split.src_ids, split.src_sentences)
    tgt = retrieval.dedup_sentences(split.tgt_ids, split.tgt_sentences)
    src_emb = embed_layers(inputs.model, inputs.tokenizer, src.texts, layers, r.pooling, r.max_length, r.batch_size)
    tgt_emb = embed_layers(inputs.model, inputs.tokenizer, tgt.texts, layers, r.pooling, r.max_length, r.batch_size)
    return [retrieval.mine_pairs(s, t, src.ids, tgt.ids, block_size=r.block_size)
            for s, t in zip(src_emb, tgt_emb, strict=True)]


def _tatoeba(inputs: EvalInputs, r: RetrievalConfig, lang: str, rows: list[dict], layers: list[int]
             ) -> tuple[dict[str, float], Any, LanguageFigures]:
    srcs = embed_layers(inputs.model, inputs.tokenizer, [x["source"] for x in rows], layers, r.pooling, r.max_length,
                        r.batch_size)
    tgts = embed_layers(inputs.model, inputs.tokenizer, [x["target"] for x in rows], layers, r.pooling, r.max_length,
                        r.batch_size)
    src, tgt = srcs[0], tgts[0]
    preds = retrieval.tatoeba_predictions(src, tgt, r.block_size)
    scores = {"accuracy": retrieval.tatoeba_accuracy(src, tgt, r.block_size), "n": float(len(rows))}
    if len(layers) > 1:
        scores["accuracy_last_layer"] = retrieval.tatoeba_accuracy(srcs[1], tgts[1], r.block_size)
    # MTEB's Tatoeba beside XTREME's: the non-English sentences query the English ones, weighted F1 its main score
    mteb = retrieval.gold_pairs_scores(src, tgt, r.block_size)
    scores["f1_mteb"], scores["accuracy_mteb"] = mteb["f1"], mteb["accuracy"]
    # Per English query: retrieved its aligned row or not. No class balance (every query has its own gold row); the
    # top-prediction share is that of the most retrieved row: near 100 when the representation collapsed and every
    # query finds the same "hub" sentence.
    figures = language_figures(lang, np.array(metrics.accuracy_contributions(preds, list(range(len(preds))))),
                               None, preds)
    return scores, preds, figures


def _bucc(inputs: EvalInputs, r: RetrievalConfig, lang: str, splits: tuple[data.BuccSplit, data.BuccSplit],
          layers: list[int], notes: list[str]) -> tuple[dict[str, float], Any, LanguageFigures]:
    dev, test = splits
    dev_by_layer = _mine(inputs, r, dev, layers)
    test_by_layer = dev_by_layer if test is dev else _mine(inputs, r, test, layers)
    dev_cands, test_cands = dev_by_layer[0], test_by_layer[0]
    found = retrieval.bucc_evaluate(dev_cands, dev.gold, test_cands, test.gold)
    # A threshold is infinite when no candidate pair is correct: reported in notes, not as a number.
    scores = {k: float(v) for k, v in found.items() if math.isfinite(float(v))}
    notes += [f"{lang}: {k} undefined (no correct candidate)" for k, v in found.items() if not math.isfinite(float(v))]
    if len(layers) > 1:  # the last layer's own threshold, tuned on the same sample gold
        scores["f1_last_layer"] = float(retrieval.bucc_evaluate(dev_by_layer[1], dev.gold, test_by_layer[1],
                                                                test.gold)["f1"])
    scores.update(_gold_pairs(inputs, r, test, layers[0]))
    scores["n"] = float(len(test.gold))
    # No interval: BUCC's F1 is of a mined pair set cut at a threshold tuned on the sample gold, not a sum over
    # examples, and resampling gold pairs would leave the mined candidates and the tuned threshold fixed, understating
    # the noise. No class balance or single prediction either.
    return scores, sorted(retrieval.apply_threshold(test_cands, found["threshold"])), LanguageFigures()


def _gold_pairs(inputs: EvalInputs, r: RetrievalConfig, split: data.BuccSplit, layer: int) -> dict[str, float]:
    """MTEB's BUCC score beside the mining one (``retrieval.gold_pairs_scores``): the gold pairs' sentences only, each
    source sentence retrieving among the gold English sentences; ``*_gold_pairs`` keys, never the task score."""
    pairs = sorted(split.gold or ())
    if not pairs:
        return {}
    src = dict(zip(split.src_ids, split.src_sentences, strict=True))
    tgt = dict(zip(split.tgt_ids, split.tgt_sentences, strict=True))
    src_emb = embed(inputs.model, inputs.tokenizer, [src[s] for s, _ in pairs], layer, r.pooling, r.max_length,
                    r.batch_size)
    tgt_emb = embed(inputs.model, inputs.tokenizer, [tgt[t] for _, t in pairs], layer, r.pooling, r.max_length,
                    r.batch_size)
    found = retrieval.gold_pairs_scores(src_emb, tgt_emb, r.block_size)
    return {f"{k}_gold_pairs": v for k, v in found.items()}


GOLD_PAIRS_NOTE = ("f1 (the task score): full-corpus mining, the XTREME protocol (ratio margin over all sentences of "
                   "both corpora, threshold tuned on the sample gold); *_gold_pairs: MTEB's protocol, the gold pairs' "
                   "sentences only, each source sentence retrieving among the gold English sentences (no distractors, "
                   "no threshold): higher, and not comparable with f1")


TATOEBA_MTEB_NOTE = ("accuracy (the task score): the English sentences query the non-English ones, XTREME's protocol; "
                     "f1_mteb, accuracy_mteb: MTEB's protocol, the non-English sentences query the English ones, "
                     "weighted F1 its main score")


class Retrieval:
    """Retrieval with its ``retrieval`` settings (layer, pooling, search) bound: those of the evaluation recipe. It
    trains nothing and has no head (``spec.trained_in`` is empty): the model and training operations say so."""

    spec = SPECS["retrieval"]

    def __init__(self, task: Task, settings: RetrievalConfig | None = None):
        self.task = task
        self.settings = settings or RetrievalConfig()
        self.options: RetrievalOptions = self.spec.options_of(task)

    # ---- no head, no training ----
    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        unsupported(self.spec, "head")

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        unsupported(SPECS["retrieval"], "head")

    def init_head(self, model: nn.Module, folder: Any) -> str | None:
        unsupported(self.spec, "head")

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        unsupported(SPECS["retrieval"], "head")

    def training_data(self, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[Feature], DevSet]:
        unsupported(self.spec, "training")

    def sampling_share(self) -> float | None:
        unsupported(self.spec, "training")

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        unsupported(self.spec, "features for a head (it embeds sentences in evaluate)")

    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[Any]:
        unsupported(self.spec, "dev steps (it predicts in evaluate)")

    def score(self, rows: list[dict], predictions: list[Any], lang: str) -> dict[str, float]:
        unsupported(self.spec, "dev steps (it scores in evaluate)")

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        unsupported(self.spec, "dev steps (its figures come from evaluate)")

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        unsupported(SPECS["retrieval"], "head")

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        unsupported(SPECS["retrieval"], "head")

    # ---- evaluation ----
    def load_rows(self, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> Any:
        """Tatoeba: the aligned sentence pairs of ``lang``. BUCC: its (dev, test) corpora with gold pairs (with
        ``split=validation`` the sample split is both).

        Raises:
            DataMissing: the language's files are absent (the language may be skipped).
        """
        task = self.task
        try:
            if self.options.mined:  # BUCC: mined from the original corpora, not rows of a dataset
                dev = _read_bucc(cfg, self.settings, lang, "validation")
                if cfg.split == "validation":
                    notes.append(f"{lang}: split=validation: threshold tuned and scored on the sample gold")
                    return dev, dev
                return dev, _read_bucc(cfg, self.settings, lang, "test")
            if cfg.data.source == "xtreme":
                src, tgt = data.read_tatoeba_files(Path(cfg.data.path) / "tatoeba", TATOEBA_ISO3[lang])
        except FileNotFoundError as exc:  # absent files only; a malformed file stops the run
            raise DataMissing(str(exc)) from None
        if cfg.data.source == "xtreme":
            rows = [{"source": s, "target": t} for s, t in zip(src, tgt, strict=True)]
        else:
            rows = data.load_split(task, task.eval[cfg.split], cfg.data.source, lang, cfg.split, cfg.data.path)
            # The Hub copy keeps each line's trailing newline: strip it as the reference strips before tokenising.
            rows = [{"source": r["source"].strip(), "target": r["target"].strip()} for r in rows]
        return rows[:limit] if limit else rows

    def evaluate(self, inputs: EvalInputs, rows: dict[str, Any]) -> Evaluated:
        """Each language's sentences embedded with the encoder and retrieved (Tatoeba) or mined (BUCC)."""
        task, r = self.task, self.settings
        layer = evaluation_layer(inputs.model, r)
        layers = evaluation_layers(inputs.model, r, layer)
        why = "" if r.layer is not None else f" ({families.retrieval_default(inputs.model.config)[2]})"
        out = Evaluated(notes=[f"representation: {r.pooling} pooling, hidden_states[{layer}]{why}"])
        if len(layers) > 1:
            out.notes.append(f"*_last_layer metrics: hidden_states[{layers[1]}] (the last layer), same pooling and "
                             "search")
        out.notes.append(GOLD_PAIRS_NOTE if self.options.mined else TATOEBA_MTEB_NOTE)
        if rows:
            log(f"{task.name}: {r.pooling} pooling of hidden_states[{', '.join(map(str, layers))}]")
        for i, (lang, lang_rows) in enumerate(rows.items(), start=1):
            # Embedding (and BUCC's mining) is the long part: a line when a language starts, so a slow one shows.
            start = time.time()
            log(f"{task.name} {lang} {i}/{len(rows)}: embedding {self._sentence_count(lang_rows):,} sentences",
                every_rank=True)
            if self.options.mined:
                scores, preds, figures = _bucc(inputs, r, lang, lang_rows, layers, out.notes)
            else:
                scores, preds, figures = _tatoeba(inputs, r, lang, lang_rows, layers)
            out.languages[lang], out.predictions[lang], out.figures[lang] = scores, preds, figures
            log(language_line(task.name, lang, i, len(rows), scores, int(scores["n"]) if "n" in scores else None,
                              time.time() - start), every_rank=True)
        return out

    def _sentence_count(self, lang_rows: Any) -> int:
        """Sentences one language embeds: both sides of each Tatoeba pair; BUCC's sample and training corpora."""
        if self.options.mined:
            return sum(len(s.src_sentences) + len(s.tgt_sentences) for s in {id(s): s for s in lang_rows}.values())
        return 2 * len(lang_rows)

    def export_payload(self, rows: Any, predictions: Any) -> Any:
        """Tatoeba: the retrieved row per query; BUCC: the mined (source id, target id) pairs above the threshold."""
        return predictions
