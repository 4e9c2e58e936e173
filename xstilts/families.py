"""Per-family facts of the encoder families xstilts runs, in one table (``FAMILIES``, keyed by ``config.model_type``).

Everything that differs between encoder families and that other modules need to decide something lives here, as
data: the attention kernels transformers has for the family, which training precisions are safe, the names of the
modules LoRA adapts, the retrieval representation's default layer and pooling, and whether the phase-3 export to
transformers' ``AutoModelFor...`` classes reproduces our heads exactly. ``tiny.family`` (a phase-1 recipe) names a
family by its ``tiny_name``.

Sources: the transformers 5 modelling code (module names, head classes), the model cards, and the issues users filed
(mDeBERTa learning nothing under fp16; ModernBERT lacking a QA head class in transformers before 4.48).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Family:
    """One encoder family (one ``config.model_type``)."""

    model_type: str
    tiny_name: str  # the value of tiny.family that builds a tiny encoder of this family
    hub_models: tuple[str, ...]  # real Hub models of the family xstilts ships recipes for
    attention: tuple[str, ...]  # attention kernels transformers has for it (train.attn_implementation; sdpa, the
    # default, falls back to the family's own where it lacks one: modeling.load_encoder)
    precisions: tuple[str, ...]  # train.precision values that train correctly
    precision_note: str  # why a precision is left out ("" when none is)
    # lora.target_modules in the XLM-R names (query, key, value, dense) -> this family's module names
    lora_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # AutoModelFor... export per head kind: "exact" or why not (the probe check refuses a different model anyway)
    hf_export: dict[str, str] = field(default_factory=dict)
    token_type_ids: bool = True  # the tokenizer passes token_type_ids (ModernBERT's forward takes none)
    # config keys the AutoModelFor... export sets so that transformers' head computes ours
    hf_config: dict[str, Any] = field(default_factory=dict)


# transformers 5's BERT, RoBERTa and XLM-R (like ModernBERT) take flash_attention_2 as well as sdpa and eager.
_FLASH = ("sdpa", "eager", "flash_attention_2")
_ROBERTA_EXPORT = {"classification": "exact", "tagging": "exact", "span_qa": "exact", "multiple_choice": "exact"}

FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("xlm-roberta", "xlm-roberta",
           ("FacebookAI/xlm-roberta-large", "facebook/xlm-v-base", "cis-lmu/glot500-base"),
           _FLASH, ("fp32", "bf16", "fp16"), "", hf_export=_ROBERTA_EXPORT),
    Family("roberta", "roberta", ("FacebookAI/roberta-large",), _FLASH, ("fp32", "bf16", "fp16"), "",
           hf_export=_ROBERTA_EXPORT),
    Family("bert", "bert", ("google-bert/bert-base-multilingual-cased",), _FLASH, ("fp32", "bf16", "fp16"),
           "", hf_export=_ROBERTA_EXPORT),
    Family("modernbert", "modernbert", ("jhu-clsp/mmBERT-base", "answerdotai/ModernBERT-base"),
           ("sdpa", "eager", "flash_attention_2"), ("fp32", "bf16", "fp16"), "",
           lora_names={"query": ("Wqkv",), "key": ("Wqkv",), "value": ("Wqkv",), "dense": ("Wo", "Wi")},
           # ModernBERT's heads put its own prediction head (dense, GELU, LayerNorm) before the classifier: a
           # different computation from ours, so the probe check refuses the export and says so (AutoModel loads the
           # encoder). transformers < 4.48 had no ModernBertForQuestionAnswering at all.
           hf_export={k: "not exact: ModernBERT's AutoModelFor... heads add a dense+GELU+LayerNorm prediction head"
                      for k in _ROBERTA_EXPORT},
           token_type_ids=False),
    # transformers' DeBERTa-v2 has its own attention only (no sdpa, no flash): sdpa, the default, falls back to it.
    Family("deberta-v2", "deberta-v2", ("microsoft/mdeberta-v3-base",), ("eager",), ("fp32", "bf16"),
           "mDeBERTa-v3 (deberta-v2) learns nothing under fp16: its disentangled attention overflows the fp16 range "
           "and loss scaling skips step after step; train it in bf16 or fp32",
           lora_names={"query": ("query_proj",), "key": ("key_proj",), "value": ("value_proj",), "dense": ("dense",)},
           # Token classification and QA are one linear layer on the hidden states, as ours; sequence classification
           # and multiple choice use ContextPooler (dropout, dense, activation) then dropout and a linear layer: ours
           # exactly once its activation is tanh (pooler_hidden_act, set in the exported config.json).
           hf_export={"tagging": "exact", "span_qa": "exact", "classification": "exact", "multiple_choice": "exact"},
           hf_config={"pooler_hidden_act": "tanh"}),
)}

TINY_FAMILIES = tuple(f.tiny_name for f in FAMILIES.values())

# Sentence encoders trained contrastively (their last layer is the sentence embedding they were trained to give):
# matched against the phase-1 model id or folder name. The middle layer XTREME reads from an MLM encoder is much
# worse for them (multilingual-e5-small, Tatoeba over the 14 XNLI languages: 76.4 at the middle layer, 90.6 at the
# last in results/archive/mini-before-issue29).
CONTRASTIVE_PATTERNS = (r"(^|[/_-])e5-", r"multilingual-e5", r"minilm", r"mpnet", r"labse", r"sentence-transformers/",
                        r"gte-", r"bge-")
CONTRASTIVE_KEY = "xstilts_sentence_encoder"  # config.json key phase 1 sets on such an encoder (later phases keep it)


def family(model_type: str) -> Family | None:
    """The family of a ``config.model_type``; None for an architecture xstilts has no facts about."""
    return FAMILIES.get(model_type)


def hf_config(model_type: str) -> dict[str, Any]:
    """Config keys the ``AutoModelFor...`` export of this family sets (empty for most families)."""
    fam = family(model_type)
    return dict(fam.hf_config) if fam is not None else {}


def is_contrastive(model_id: str) -> bool:
    """Whether a phase-1 model id or folder names a contrastively trained sentence encoder
    (``CONTRASTIVE_PATTERNS``)."""
    name = model_id.lower()
    return any(re.search(p, name) for p in CONTRASTIVE_PATTERNS)


def middle_layer(num_layers: int) -> int:
    """The middle-upper layer XTREME and jiant embed an MLM encoder's sentences from: ``num_layers // 2 + 2`` capped
    at the last (14 of 24 for XLM-R Large, 8 of 12 for base models)."""
    return min(num_layers, num_layers // 2 + 2)


def retrieval_default(config: Any) -> tuple[int, str, str]:
    """The default retrieval layer, pooling and the reason, for an encoder's transformers config: the last layer for a
    contrastively trained sentence encoder (phase 1 marks it with ``CONTRASTIVE_KEY``), else the middle-upper layer;
    mean pooling either way (XTREME's, and what e5 and sentence-transformers models were trained with)."""
    n = int(config.num_hidden_layers)
    if getattr(config, CONTRASTIVE_KEY, False):
        return n, "mean", "the last layer: a contrastively trained sentence encoder"
    return middle_layer(n), "mean", "the middle-upper layer of an MLM encoder (XTREME, jiant)"


def precision_problem(model_type: str, precision: str) -> str | None:
    """Why ``train.precision`` must not train this family (None: it may)."""
    fam = family(model_type)
    if fam is None or precision in fam.precisions:
        return None
    return (f"train.precision={precision}: {fam.precision_note} (use train.precision="
            f"{' or '.join(p for p in fam.precisions if p != 'fp32') or 'fp32'})")


def lora_modules(model_type: str, requested: list[str], present: set[str]) -> tuple[list[str], str | None]:
    """The module names LoRA adapts for ``requested`` (``lora.target_modules``): names the encoder has pass through;
    XLM-R-style names (query, key, value, dense) the encoder lacks become the family's own; returns the names and a
    note when a translation happened."""
    fam = family(model_type)
    out: list[str] = []
    translated = []
    for name in requested:
        own = fam.lora_names.get(name) if fam is not None and name not in present else None
        if own:
            translated.append(f"{name} -> {'/'.join(own)}")
            out.extend(n for n in own if n not in out)
        elif name not in out:
            out.append(name)
    note = f"lora.target_modules in {model_type} names: {', '.join(translated)}" if translated else None
    return out, note


def describe(fam: Family) -> str:
    """One line per family for the README and ``--help`` texts."""
    return (f"{fam.tiny_name}: attention {'/'.join(fam.attention)}; precision {'/'.join(fam.precisions)}; LoRA "
            f"query/value = {'/'.join(sorted({n for k in ('query', 'value') for n in fam.lora_names.get(k, (k,))}))}")
