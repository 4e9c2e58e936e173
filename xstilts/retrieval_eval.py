"""Retrieval evaluation on encoder representations (BUCC 2018, Tatoeba): no training, any phase's folder.

Representation: mean pooling (special tokens included, as XTREME) or CLS over ``hidden_states[layer]``; the default
layer is the middle of the network (``num_layers // 2 + 2`` capped at ``num_layers``: 14 of 24 for XLM-R Large as
jiant and XTREME use, 8 of 12 for base models, 2 of 2 for the tiny quickstart encoders).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xstilts import data, distributed, provenance, retrieval
from xstilts import metrics as metrics_lib
from xstilts.config import EvalRecipe
from xstilts.evaluation import autocast_encoder, build_result, chance_score, effective_precision
from xstilts.languages import TATOEBA_ISO3
from xstilts.log import log, quiet_libraries
from xstilts.modeling import check_model_folder, load_encoder
from xstilts.reliability import LanguageFigures, language_figures
from xstilts.results import write_result
from xstilts.tasks import Task

BUCC_SPLITS = {"test": ("training", "test"), "validation": ("sample", "dev")}  # original name, XTREME name


def default_layer(num_layers: int) -> int:
    return min(num_layers, num_layers // 2 + 2)


def load_retrieval_encoder(model_dir: Path) -> torch.nn.Module:
    """The encoder of any phase's folder, with a kept LoRA adapter merged (retrieval uses the encoder only)."""
    check_model_folder(model_dir, "encoder folder")
    encoder = load_encoder(model_dir)
    adapter = model_dir / "adapter"
    if (adapter / "adapter_config.json").is_file():
        from peft import PeftModel

        encoder = PeftModel.from_pretrained(encoder, str(adapter)).merge_and_unload()
    return encoder.eval()


@torch.inference_mode()
def embed(encoder: torch.nn.Module, tokenizer: Any, sentences: list[str], layer: int, pooling: str, max_length: int,
          batch_size: int) -> torch.Tensor:
    """L2-normalised sentence embeddings, computed in length-sorted batches and returned in input order."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out = torch.empty(len(sentences), encoder.config.hidden_size)
    device = next(encoder.parameters()).device
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tokenizer([sentences[i] for i in idx], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt").to(device)
        hidden = encoder(**enc, output_hidden_states=True).hidden_states[layer]
        pooled = retrieval.mean_pool(hidden, enc["attention_mask"]) if pooling == "mean" else retrieval.cls_pool(hidden)
        out[idx] = pooled.float().cpu()
    return retrieval.l2_normalize(out)


def _tatoeba_rows(task: Task, cfg: EvalRecipe, lang: str) -> list[dict]:
    split = task.eval[cfg.split]
    if cfg.data.source == "xtreme":
        src, tgt = data.read_tatoeba_files(Path(cfg.data.path) / "tatoeba", TATOEBA_ISO3[lang])
        rows = [{"source": s, "target": t} for s, t in zip(src, tgt)]
    else:
        rows = data.load_split(task, split, cfg.data.source, lang, cfg.split, cfg.data.path)
        # The Hub copy keeps each line's trailing newline: strip it as the reference strips before tokenising.
        rows = [{"source": r["source"].strip(), "target": r["target"].strip()} for r in rows]
    return rows[: cfg.data.max_eval_samples] if cfg.data.max_eval_samples else rows


BUCC_URL = "https://comparable.limsi.fr/bucc2018/bucc2018-{lang}-en.{split}-gold.tar.bz2"


def default_download(url: str) -> str:
    """Downloads and extracts an archive with the datasets library's cache (replaced in tests)."""
    import datasets

    return datasets.DownloadManager().download_and_extract(url)


download: Callable[[str], str] = default_download


def _bucc_folder(cfg: EvalRecipe, lang: str, split: str) -> Path:
    """The folder holding BUCC's original files for ``lang``/``split``.

    The Hub copy (``google/xtreme`` ``bucc18.*``) holds only the gold pairs, not the corpora to mine, so with
    ``data.source=hub`` the original BUCC 2018 archives are downloaded (and cached) from the shared task's site.
    """
    if cfg.retrieval.bucc_data:
        return Path(cfg.retrieval.bucc_data)
    if cfg.data.source == "xtreme" and cfg.data.path:
        return Path(cfg.data.path) / "bucc2018"
    if cfg.data.source == "hub":
        url = BUCC_URL.format(lang=lang, split=BUCC_SPLITS[split][0])
        try:
            return Path(download(url))
        except Exception as exc:  # noqa: BLE001 - any library failure becomes a DataError naming the fix
            raise data.DataMissing(f"bucc2018: could not download {url} ({type(exc).__name__}: {exc}); download it "
                                 "yourself and set retrieval.bucc_data=<folder>") from None
    raise data.DataMissing("bucc2018 mines the original BUCC 2018 corpora (the Hub copy holds only the gold pairs): "
                         "set retrieval.bucc_data=<folder with <lang>-en.{sample,training}.{<lang>,en,gold}> "
                         "(or data.source=xtreme data.path=<XTREME download folder>)")


def _read_bucc(cfg: EvalRecipe, lang: str, split: str) -> data.BuccSplit:
    folder = _bucc_folder(cfg, lang, split)
    original, xtreme_name = BUCC_SPLITS[split]
    try:
        return data.read_bucc_files(folder, lang, original)
    except FileNotFoundError:
        return data.read_bucc_files(folder, lang, xtreme_name)


def _mine(encoder: Any, tokenizer: Any, split: data.BuccSplit, layer: int, cfg: EvalRecipe) -> list:
    r = cfg.retrieval
    src = retrieval.dedup_sentences(split.src_ids, split.src_sentences)
    tgt = retrieval.dedup_sentences(split.tgt_ids, split.tgt_sentences)
    src_emb = embed(encoder, tokenizer, src.texts, layer, r.pooling, r.max_length, r.batch_size)
    tgt_emb = embed(encoder, tokenizer, tgt.texts, layer, r.pooling, r.max_length, r.batch_size)
    return retrieval.mine_pairs(src_emb, tgt_emb, src.ids, tgt.ids, block_size=r.block_size)


def run(cfg: EvalRecipe, task: Task, langs: list[str], run_folder: Path, out_file: Path) -> int:
    """Evaluates BUCC or Tatoeba on the encoder of ``run_folder`` and writes ``out_file``."""
    from transformers import AutoTokenizer

    quiet_libraries()
    model_dir = provenance.model_dir(run_folder)
    encoder = load_retrieval_encoder(model_dir).to(distributed.device())
    autocast_encoder(encoder, effective_precision(cfg.precision))  # bf16 on a GPU by default; mining stays fp32
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    layer = cfg.retrieval.layer if cfg.retrieval.layer is not None else default_layer(encoder.config.num_hidden_layers)
    if not 0 <= layer <= encoder.config.num_hidden_layers:
        raise data.DataError(f"retrieval.layer={layer} is out of range: the encoder has hidden_states 0.."
                             f"{encoder.config.num_hidden_layers}")
    log(f"{task.name}: {cfg.retrieval.pooling} pooling of hidden_states[{layer}] of {model_dir}")
    languages: dict[str, dict[str, float]] = {}
    figures: dict[str, LanguageFigures] = {}
    missing, notes = [], []
    rank, size = distributed.world()
    for lang in distributed.shard(langs, rank, size):  # under a launcher, each rank its share of the languages
        try:
            if task.name == "tatoeba":
                rows = _tatoeba_rows(task, cfg, lang)
                src = embed(encoder, tokenizer, [r["source"] for r in rows], layer, cfg.retrieval.pooling,
                            cfg.retrieval.max_length, cfg.retrieval.batch_size)
                tgt = embed(encoder, tokenizer, [r["target"] for r in rows], layer, cfg.retrieval.pooling,
                            cfg.retrieval.max_length, cfg.retrieval.batch_size)
                preds = retrieval.tatoeba_predictions(src, tgt, cfg.retrieval.block_size)
                metrics = {"accuracy": retrieval.tatoeba_accuracy(src, tgt, cfg.retrieval.block_size),
                           "n": float(len(rows))}
                # Per English query: retrieved its aligned row or not. No class balance (every query has its own
                # gold row); the top-prediction share is that of the most retrieved row: near 100 when the
                # representation collapsed and every query finds the same "hub" sentence.
                figures[lang] = language_figures(lang, np.array(metrics_lib.accuracy_contributions(
                    preds, list(range(len(preds))))), None, preds)
                if cfg.export_predictions:
                    from xstilts import submission

                    submission.write_predictions("tatoeba", lang, preds, cfg.export_predictions)
            else:
                dev = _read_bucc(cfg, lang, "validation")
                test = dev if cfg.split == "validation" else _read_bucc(cfg, lang, "test")
                dev_cands = _mine(encoder, tokenizer, dev, layer, cfg)
                test_cands = dev_cands if test is dev else _mine(encoder, tokenizer, test, layer, cfg)
                scores = retrieval.bucc_evaluate(dev_cands, dev.gold, test_cands, test.gold)
                # A threshold is infinite when no candidate pair is correct: reported in notes, not as a number.
                metrics = {k: float(v) for k, v in scores.items() if math.isfinite(float(v))}
                notes += [f"{lang}: {k} undefined (no correct candidate)" for k, v in scores.items()
                          if not math.isfinite(float(v))]
                metrics["n"] = float(len(test.gold))
                # No interval: BUCC's F1 is of a mined pair set cut at a threshold tuned on the sample gold, not a
                # sum over examples, and resampling gold pairs would leave the mined candidates and the tuned
                # threshold fixed, understating the noise. No class balance or single prediction either.
                figures[lang] = LanguageFigures()
                if test is dev:
                    notes.append(f"{lang}: split=validation: threshold tuned and scored on the sample gold")
                if cfg.export_predictions:
                    from xstilts import submission

                    pairs = retrieval.apply_threshold(test_cands, scores["threshold"])
                    submission.write_predictions("bucc2018", lang, sorted(pairs), cfg.export_predictions)
        except (FileNotFoundError, data.DataMissing) as exc:  # absent data only; a malformed file stops the run
            if cfg.languages is not None:
                raise
            missing.append(lang)
            notes.append(f"{lang}: no data ({exc})")
            log(f"warning: {lang} skipped, the result is marked partial: {exc}", every_rank=True)
            continue
        languages[lang] = metrics
        log(f"{task.name} {lang}: " + "  ".join(f"{k} {v:.2f}" for k, v in metrics.items() if k != "n"),
                every_rank=True)
    parts = distributed.gather((languages, missing, notes, figures))
    languages = distributed.merge_in_order([p[0] for p in parts], langs)
    figures = distributed.merge_in_order([p[3] for p in parts], langs)
    missing = [lang for lang in langs if any(lang in p[1] for p in parts)]
    notes = [f"representation: {cfg.retrieval.pooling} pooling, hidden_states[{layer}]"] + [
        note for lang in langs for p in parts for note in p[2] if note.startswith(f"{lang}: ")]
    if not languages:
        raise data.DataError(f"{task.name}: no evaluation data for any of {langs}")
    if rank == 0:
        result = build_result(task, languages, missing, cfg.split, cfg.data.source, model_dir, run_folder, notes,
                              benchmark=cfg.benchmark, reliability=figures, chance=chance_score(task, languages))
        write_result(out_file, result)
        log(f"{task.name}: score {result.score:.2f} over {len(languages)} languages"
                + (f" (partial: missing {' '.join(result.missing_languages)})" if result.partial else "")
                + f" -> {out_file}")
    distributed.barrier()
    return 0
