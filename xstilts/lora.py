"""The LoRA lifecycle in one place (peft): put adapters on an encoder, hand a kept adapter over to the next phase,
save an adapter beside its base weights, load one for evaluation, merge one.

A model folder with a kept adapter holds the base encoder's weights plus ``adapter/`` (a PEFT adapter whose
``base_model_name_or_path`` is ``..``, the folder itself: self-contained and relocatable). ``peft`` is imported only
where an adapter is used, so full fine-tuning never loads it.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from xstilts import families
from xstilts.config import LoraConfig
from xstilts.log import log
from xstilts.modelfolder import ADAPTER_DIR
from xstilts.recipe import RecipeError


def has_adapter(folder: Path) -> bool:
    """Whether ``folder`` holds a kept LoRA adapter."""
    return (folder / ADAPTER_DIR / "adapter_config.json").is_file()


def is_adapted(encoder: torch.nn.Module) -> bool:
    """Whether ``encoder`` carries LoRA adapters (a peft model)."""
    return hasattr(encoder, "peft_config")


def apply(encoder: torch.nn.Module, cfg: LoraConfig) -> torch.nn.Module:
    """Wraps the encoder with LoRA adapters (peft); the task heads stay outside and are trained fully.

    Raises:
        RecipeError: a ``lora.target_modules`` name is not a module of the encoder (some valid names are listed).
    """
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    names = {n.split(".")[-1] for n, _ in encoder.named_modules()}
    # XLM-R's names (the default query/value) mean the same projections in every family: ModernBERT's fused Wqkv,
    # DeBERTa-v2's query_proj/value_proj (xstilts.families), so one recipe adapts any encoder.
    targets, note = target_modules(encoder, cfg)
    missing = [m for m in targets if m not in names]
    if missing:
        valid = ", ".join(sorted(n for n in names if n and not n.isdigit())[:20])
        raise RecipeError([f"lora.target_modules: {missing} not found in the encoder; some module names: {valid}"])
    if note:
        log(note)
    peft_cfg = PeftLoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                              target_modules=targets, bias="none")
    return get_peft_model(encoder, peft_cfg)


def target_modules(encoder: torch.nn.Module, cfg: LoraConfig) -> tuple[list[str], str | None]:
    """The encoder's module names ``cfg.target_modules`` stands for, and a note where XLM-R-style names were
    translated to the family's own (``families.lora_modules``)."""
    names = {n.split(".")[-1] for n, _ in encoder.named_modules()}
    model_type = getattr(getattr(encoder, "config", None), "model_type", "")
    return families.lora_modules(model_type, list(cfg.target_modules), names)


def hand_over(encoder: torch.nn.Module, folder: Path, lora: LoraConfig | None, handover: str
              ) -> tuple[torch.nn.Module, list[str]]:
    """The encoder a training phase trains, from the encoder of ``folder``, and log lines saying what was done.

    A kept adapter in ``folder`` is either merged first (``handover="merge"``; a new adapter may then be put on top)
    or trained further (``"continue"``); ``lora`` puts a new adapter on.
    """
    notes = []
    adapter = folder / ADAPTER_DIR
    if has_adapter(folder):
        from peft import PeftModel

        if handover == "continue":
            encoder = PeftModel.from_pretrained(encoder, str(adapter), is_trainable=True)
            notes.append(f"LoRA adapter from {adapter} kept and trained further")
            if lora is not None:
                notes.append("lora settings of this recipe not used: the kept adapter keeps its own r, alpha and "
                             "target modules (adapter_handover=merge puts a new adapter on top instead)")
            return encoder, notes
        encoder = PeftModel.from_pretrained(encoder, str(adapter)).merge_and_unload()
        # PeftModel loads for inference (every base weight frozen) and merging keeps that: unfreeze, or the
        # "full fine-tuning after merge" of the next phase would only train the heads.
        encoder.requires_grad_(True)
        notes.append(f"LoRA adapter from {adapter} merged into the encoder")
    if lora is not None:
        encoder = apply(encoder, lora)
        notes.append(f"new LoRA adapter r={lora.r} alpha={lora.alpha} on "
                     f"{', '.join(target_modules(encoder.get_base_model(), lora)[0])}")
    return encoder, notes


def save(encoder: torch.nn.Module, folder: Path, merge: bool) -> str:
    """Saves an adapted encoder into ``folder``: merged into plain weights (``merge``, loadable with AutoModel alone;
    returns "merged"), or the untouched base weights plus ``adapter/`` (returns "kept")."""
    if merge:
        copy.deepcopy(encoder).merge_and_unload().save_pretrained(folder, safe_serialization=True)
        return "merged"
    # The base weights as they were loaded (LoRA layers hold them untouched); adapters saved apart.
    copy.deepcopy(encoder).unload().save_pretrained(folder, safe_serialization=True)
    encoder.save_pretrained(folder / ADAPTER_DIR)
    cfg_path = folder / ADAPTER_DIR / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = ".."  # the folder itself: self-contained, relocatable
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True))
    return "kept"


def merged(encoder: torch.nn.Module) -> torch.nn.Module:
    """A plain copy of an adapted encoder with its adapter merged into the weights (the adapted one is untouched)."""
    return copy.deepcopy(encoder).merge_and_unload()


def load(encoder: torch.nn.Module, folder: Path, merge: bool = False) -> torch.nn.Module:
    """The encoder with ``folder``'s kept adapter loaded for inference (merged into its weights with ``merge``);
    unchanged when the folder has none."""
    if not has_adapter(folder):
        return encoder
    from peft import PeftModel

    adapted = PeftModel.from_pretrained(encoder, str(folder / ADAPTER_DIR))
    return adapted.merge_and_unload() if merge else adapted
