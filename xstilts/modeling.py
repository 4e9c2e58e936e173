"""One encoder, one head per task: the model every phase trains and the folder format phases hand over.

A model folder (``final/`` of phase 2 or 3) is self-contained:

- the encoder, loadable with ``AutoModel.from_pretrained(folder)`` (and the tokenizer with ``AutoTokenizer``);
  with LoRA kept unmerged, ``adapter/`` holds a PEFT adapter whose base is ``folder`` itself
  (``PeftModel.from_pretrained(AutoModel.from_pretrained(folder), folder + "/adapter")``);
- ``heads.json`` + ``heads.safetensors``: the task heads (kind, label count) and their weights;
- a phase-3 folder of one classification, tagging, span-QA or multiple-choice head is written in transformers'
  ``AutoModelFor...`` layout of the encoder's family (``export_hf``): ``config.json`` names the architecture and the
  labels, ``model.safetensors`` holds the encoder under its prefix and the head under transformers' names, so
  ``AutoModelForSequenceClassification.from_pretrained(folder)`` (and ``pipeline``) give the toolkit's predictions,
  while ``AutoModel.from_pretrained(folder)`` still loads the bare encoder;
- ``recipe.yaml``/``run.json`` one level up, in the run folder (see ``xstilts.runfiles``).

Each task type (``xstilts.tasktypes``) makes its head and runs its forward pass and loss; heads follow jiant
(classification = dropout, dense, tanh, dropout, linear on the first token; multiple choice = the same scoring each
(context, choice) pair, softmax over choices; span QA = linear to start/end logits; tagging = linear on every token).
Writing the heads ourselves (instead of ``AutoModelFor...``) keeps one code path for every encoder family and lets
several heads share one encoder (multi-task, ANLI+).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
import transformers
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel

from xstilts import families, lora, tasktypes
from xstilts.errors import ModelFolderError
from xstilts.modelfolder import (
    ADAPTER_DIR,
    DAMAGED,
    LOAD_ERRORS,
    check_model_folder,
    read_head_specs,
)
from xstilts.recipe import RecipeError, short
from xstilts.tasks import TASKS
from xstilts.tasktypes.base import TaskType
from xstilts.typespecs import HEADS_JSON, HEADS_WEIGHTS, HeadSpec


def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
    """A fresh head of ``spec``, made by its recorded task type."""
    return tasktypes.named(spec.task_type).make_head(spec, hidden, dropout)


def prebuilt_mask_supported(encoder: nn.Module) -> bool:
    """Whether ``encoder`` takes the ready 4-D boolean attention mask of ``_prebuilt_sdpa_mask``: SDPA attention, not
    a decoder, and a transformers family that builds its mask with ``masking_utils.create_bidirectional_mask`` (which
    passes a 4-D mask through as it is; BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA, MPNet, CamemBERT in transformers
    5). Anything else keeps the 2-D mask and transformers' own mask building."""
    import sys

    base = encoder.get_base_model() if hasattr(encoder, "get_base_model") else encoder
    config = getattr(base, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    if getattr(config, "is_decoder", False):
        return False
    return hasattr(sys.modules.get(type(base).__module__), "create_bidirectional_mask")


def _prebuilt_sdpa_mask(module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """Forward pre-hook: a 2-D padding mask becomes the boolean (batch, 1, 1, length) mask SDPA broadcasts.

    transformers would build the same mask from the 2-D one, but first asks ``padding_mask.all()`` (to drop a mask
    without padding): a host read of a device tensor on every forward pass, i.e. a full GPU synchronisation per
    training step and per evaluation batch. Masked positions are excluded exactly as before.
    """
    mask = kwargs.get("attention_mask")
    if isinstance(mask, torch.Tensor) and mask.dim() == 2:
        kwargs = {**kwargs, "attention_mask": mask.bool()[:, None, None, :]}
    return args, kwargs


class MultiHeadModel(nn.Module):
    """An encoder with named task heads; a batch carries ``task_id`` (all rows of a batch share one task), a Python
    int from the collator (a tensor is accepted too), and the features of its task type (``TypeSpec.batch_keys`` and
    ``label_fields``), which go to that type's forward pass as they are."""

    # The Trainer reads this instead of guessing from ``**features`` that the model takes ``num_items_in_batch``: each
    # head's loss is the mean over its own batch, so the Trainer scales it for gradient accumulation itself.
    accepts_loss_kwargs = False

    def __init__(self, encoder: nn.Module, heads: list[HeadSpec]):
        super().__init__()
        self.encoder = encoder
        self.specs = heads
        cfg = encoder.config
        hidden = cfg.hidden_size
        dropout = getattr(cfg, "hidden_dropout_prob", 0.1)
        self.heads = nn.ModuleDict({h.task: make_head(h, hidden, dropout) for h in heads})
        self.config = cfg  # Trainer reads a few attributes from model.config

    def _install_mask_hook(self) -> None:
        """Installs ``_prebuilt_sdpa_mask`` on the current encoder, once (LoRA replaces the encoder after
        construction, so this runs at the first forward pass of each encoder object)."""
        self.encoder._xstilts_mask_checked = True  # a plain attribute: not a parameter, not in the state dict
        if prebuilt_mask_supported(self.encoder):
            self.encoder.register_forward_pre_hook(_prebuilt_sdpa_mask, with_kwargs=True)

    def forward(self, task_id: int | torch.Tensor | None = None, **features: torch.Tensor | None) -> dict[str, Any]:
        if not getattr(self.encoder, "_xstilts_mask_checked", False):
            self._install_mask_hook()
        # The collator gives task_id as a Python int: reading a device tensor here would wait for the GPU every step
        # and break a compiled graph. A tensor (a caller of its own) is still read, on whatever device it is.
        if len(self.specs) == 1 or task_id is None:
            spec = self.specs[0]
        else:
            spec = self.specs[task_id if isinstance(task_id, int) else int(task_id.reshape(-1)[0])]
        batch = {k: v for k, v in features.items() if v is not None}
        return tasktypes.named(spec.task_type).forward(self.encoder, self.heads[spec.task], batch)


def load_encoder(folder: str | Path, trust_remote_code: bool = False, attn_implementation: str | None = None
                 ) -> nn.Module:
    """The encoder of a model folder (safetensors only), without the pooler our heads do not use.

    ``attn_implementation`` (``train.attn_implementation``) picks the attention kernel; ``sdpa`` falls back to the
    family's default where transformers has no SDPA path for it, any other choice that cannot load is an error.

    Raises:
        ModelFolderError: transformers or safetensors cannot load it (unknown architecture, damaged weights,
            weights that do not fit the config); the message names the folder and the cause.
        RecipeError: the attention implementation asked for cannot be used with this encoder.
    """
    folder = Path(folder)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
        try:
            return _from_pretrained(folder, config, trust_remote_code, extra)
        except (ValueError, ImportError) as exc:
            if not extra:
                raise
            if attn_implementation != "sdpa":
                raise RecipeError([f"train.attn_implementation: {attn_implementation} cannot be used with {folder} "
                                   f"({str(exc).splitlines()[0]}); use sdpa or eager"]) from None
            return _from_pretrained(folder, config, trust_remote_code, {})
    except torch.OutOfMemoryError:
        raise
    except RecipeError:
        raise
    except LOAD_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"cannot load the encoder in {short(str(folder))}: {short(first)}; {DAMAGED}") from None


def _from_pretrained(folder: Path, config: Any, trust_remote_code: bool, extra: dict[str, Any]) -> nn.Module:
    try:
        return AutoModel.from_pretrained(folder, config=config, add_pooling_layer=False, use_safetensors=True,
                                         trust_remote_code=trust_remote_code, **extra)
    except TypeError:  # encoder families without a pooler flag
        return AutoModel.from_pretrained(folder, config=config, use_safetensors=True,
                                         trust_remote_code=trust_remote_code, **extra)


def save_model(model: MultiHeadModel, tokenizer: Any, folder: str | Path, merge_adapter: bool = True,
               export_hf: bool = False) -> dict[str, Any]:
    """Saves encoder (+ adapter), heads and tokenizer into a self-contained folder; returns what was written.

    With a PEFT-wrapped encoder: ``merge_adapter`` merges the adapter into a plain encoder (loadable with AutoModel
    alone); otherwise the base encoder is saved in ``folder`` and the adapter in ``folder/adapter``.

    ``export_hf`` (phase 3) writes the encoder and its one head in transformers' ``AutoModelFor...`` layout where that
    model gives our head's outputs on a probe batch (see ``hf_export``); the returned ``transformers`` entry says
    which class loads the folder, or why none does. ``heads.json``/``heads.safetensors`` are written either way.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    encoder = model.encoder
    info: dict[str, Any] = {"adapter": None}
    export = _not_loadable(None, "not exported")
    if lora.is_adapted(encoder) and not (export_hf and merge_adapter):
        info["adapter"] = lora.save(encoder, folder, merge=merge_adapter)
        export["reason"] = (f"the LoRA adapter is kept unmerged in {ADAPTER_DIR}/ (load it with PEFT: "
                            f"PeftModel.from_pretrained(AutoModel.from_pretrained(final), final + '/{ADAPTER_DIR}')); "
                            "phase 3 without lora and with adapter_handover=merge (the defaults) merges it into a "
                            "folder AutoModelFor... loads")
    else:
        if lora.is_adapted(encoder):  # merged: the plain encoder is exported like a fully trained one
            encoder, info["adapter"] = lora.merged(encoder), "merged"
        export = hf_export(model, encoder, tokenizer) if export_hf else export
        hf_model = export.pop("model", None)
        (hf_model or encoder).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    state = {f"{task}.{k}": v.detach().cpu().contiguous() for task, head in model.heads.items()
             for k, v in head.state_dict().items()}
    save_file(state, str(folder / HEADS_WEIGHTS))
    specs = [s.to_json() for s in model.specs]
    (folder / HEADS_JSON).write_text(json.dumps({"heads": specs}, indent=2, sort_keys=True))
    if export_hf:
        info["transformers"] = export
    return info


def _not_loadable(auto_class: str | None, reason: str) -> dict[str, Any]:
    """``metrics.json``'s ``transformers`` entry of a folder no ``AutoModelFor...`` class loads (same keys as a
    loadable one's, so results of both kinds share one schema)."""
    return {"loadable": False, "auto_class": auto_class, "architecture": None, "reason": reason}


def hf_label_names(spec: HeadSpec) -> list[str] | None:
    """The class names of a head (recorded in heads.json, else the registry's), None where it has no named classes
    (span QA, multiple choice) or their count does not match the head."""
    names = spec.labels or (list(TASKS[spec.task].label_names) if spec.task in TASKS else [])
    return list(names) if names and len(names) == spec.num_labels else None


def hf_export(model: MultiHeadModel, encoder: nn.Module, tokenizer: Any) -> dict[str, Any]:
    """The transformers model of ``model``'s one head (``AutoModelFor...`` of the encoder's family), checked to give
    the same logits as ``model`` on a probe batch; never a silently different model.

    The transformers model is built on the meta device and takes the trained tensors themselves (no second copy).

    Returns:
        ``{"loadable": True, "auto_class", "architecture", "reason": None, "model"}`` (the model to save), or
        ``{"loadable": False, ..., "reason"}`` naming why no ``AutoModelFor...`` class can load this folder.
    """
    if len(model.specs) != 1:
        return _not_loadable(None, f"{len(model.specs)} task heads (AutoModelFor... holds one)")
    spec = model.specs[0]
    task_type = tasktypes.named(spec.task_type)
    auto_name = task_type.spec.hf_auto_class
    if auto_name is None:
        return _not_loadable(None, f"transformers has no AutoModelFor... class for a {spec.task_type} head")
    config = copy.deepcopy(encoder.config)
    config.num_labels = spec.num_labels
    if auto_name == "AutoModelForSequenceClassification" and spec.num_labels == 1:
        config.problem_type = "regression"  # one output is a score (transformers' own reading of num_labels=1)
    config.update(families.hf_config(config.model_type))  # DeBERTa-v2: its pooler computes our head's tanh
    names = hf_label_names(spec)
    if names:
        config.id2label = dict(enumerate(names))
        config.label2id = {name: i for i, name in enumerate(names)}
    try:
        with torch.device("meta"):
            hf_model = getattr(transformers, auto_name).from_config(config)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # no such head for this model_type
        return _not_loadable(auto_name, f"not loadable with {auto_name}: transformers has none for model_type "
                                        f"{config.model_type} ({short(str(exc).splitlines()[0])})")
    prefix = hf_model.base_model_prefix
    hf_keys = set(hf_model.state_dict())
    head = task_type.hf_weights(model.heads[spec.task].state_dict(), hf_keys, prefix)
    state = {f"{prefix}.{k}": v for k, v in encoder.state_dict().items()}
    if head is None or set(state) | set(head) != hf_keys or set(state) & set(head):
        theirs = sorted(k for k in hf_keys if not k.startswith(prefix + ".") or ".pooler." in k)
        return _not_loadable(auto_name, f"not loadable with {auto_name}: {type(hf_model).__name__}'s weights "
                                        f"({', '.join(theirs)} besides the encoder) do not fit our "
                                        f"{spec.task_type} head")
    hf_model.load_state_dict({**state, **head}, strict=True, assign=True)
    buffers = dict(encoder.named_buffers())
    for name, buf in list(hf_model.named_buffers()):
        if buf.is_meta:  # non-persistent buffers (position ids) are not in a state dict: the encoder's own
            own = buffers.get(name.removeprefix(prefix + "."))
            if own is None:
                return _not_loadable(auto_name, f"not loadable with {auto_name}: its buffer {name} has no "
                                                f"counterpart in the encoder")
            owner, _, leaf = name.rpartition(".")
            hf_model.get_submodule(owner).register_buffer(leaf, own, persistent=False)
    problem = _hf_probe_problem(model, hf_model, task_type, tokenizer)
    if problem:
        return _not_loadable(auto_name, f"not loadable with {auto_name}: {type(hf_model).__name__} {problem}")
    return {"loadable": True, "auto_class": auto_name, "architecture": type(hf_model).__name__, "reason": None,
            "model": hf_model}


def _probe_tolerance(model: nn.Module) -> tuple[float, float]:
    """(atol, rtol) of the export probe for the weights' dtype: fp32 sums in another order agree to ~1e-5; weights
    held in bf16 (8 mantissa bits) or fp16 agree only to their rounding (a different head is off by far more)."""
    dtypes = {p.dtype for p in model.parameters()}
    if torch.bfloat16 in dtypes:
        return 3e-2, 3e-2
    if torch.float16 in dtypes:
        return 5e-3, 5e-3
    return 1e-4, 1e-3


PROBE_TEXTS = (("A short probe sentence.", "Its pair, a little longer than the first."), ("Two words", "and more"))


@torch.no_grad()
def _hf_probe_problem(model: MultiHeadModel, hf_model: nn.Module, task_type: type[TaskType], tokenizer: Any
                      ) -> str | None:
    """Why ``hf_model`` does not compute ``model``'s logits on a padded probe batch (None: it does), in eval mode.

    Positions the attention mask hides are not compared (our span-QA head masks them, transformers' does not).
    """
    was_training = model.training
    model.eval()
    hf_model.eval()
    try:
        first, second = [a for a, _ in PROBE_TEXTS], [b for _, b in PROBE_TEXTS]
        enc = tokenizer(first, second, padding=True, truncation=True, max_length=32, return_tensors="pt")
        device = next(model.parameters()).device
        inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        if task_type.spec.hf_auto_class == "AutoModelForMultipleChoice":  # rows of two choices each
            inputs = {k: v.unsqueeze(0).repeat(2, 1, 1) for k, v in inputs.items()}
        # The class's own forward: after bf16/fp16 training, accelerate leaves the instance's forward wrapped in
        # autocast, which the saved weights (and a transformers user) never run under; comparing that with an fp32
        # transformers forward flagged a correct head as "another head" (logits off by ~1e-3) and saved no head.
        ours = type(model).forward(model, **inputs)["logits"].float()
        theirs = task_type.hf_logits(hf_model(**inputs)).float()
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:  # a tokenizer without padding, a shape error
        return f"fails on a probe batch ({short(str(exc).splitlines()[0])})"
    finally:
        model.train(was_training)
    if ours.shape != theirs.shape:
        return f"gives logits of shape {tuple(theirs.shape)} where our head gives {tuple(ours.shape)}"
    if ours.dim() == 3:  # per token: only the tokens the mask keeps
        keep = inputs["attention_mask"].bool()
        ours, theirs = ours[keep], theirs[keep]
    atol, rtol = _probe_tolerance(model)
    if not torch.allclose(ours, theirs, atol=atol, rtol=rtol):
        return (f"computes another head than ours (logits on a probe batch differ by up to "
                f"{(ours - theirs).abs().max().item():.3g})")
    return None


def load_heads_into(model: MultiHeadModel, folder: str | Path) -> list[str]:
    """Loads saved weights into the heads of ``model`` that exist in ``folder``; returns the task names loaded."""
    path = Path(folder) / HEADS_WEIGHTS
    if not path.is_file():
        return []
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ModelFolderError(f"{short(str(path))} cannot be read ({short(str(exc))}); {DAMAGED}") from None
    loaded = []
    for task, head in model.heads.items():
        sub = {k[len(task) + 1:]: v for k, v in state.items() if k.startswith(task + ".")}
        if sub:
            try:
                head.load_state_dict(sub)
            except RuntimeError as exc:  # missing, unexpected or differently shaped tensors
                first = str(exc).strip().splitlines()[0]
                raise ModelFolderError(f"{short(str(path))} does not fit the {task} head of heads.json "
                                       f"({short(first)}); {DAMAGED}") from None
            loaded.append(task)
    return loaded


def load_model(folder: str | Path, trust_remote_code: bool = False) -> MultiHeadModel:
    """A trained model folder (encoder, adapter if kept, heads) ready for evaluation."""
    folder = check_model_folder(folder, "model folder")
    specs = read_head_specs(folder)
    if not specs:
        raise ModelFolderError(f"{folder} has no task heads ({HEADS_JSON}); evaluate a phase-3 folder's final/")
    encoder = load_encoder(folder, trust_remote_code)
    encoder = lora.load(encoder, folder)
    model = MultiHeadModel(encoder, specs)
    load_heads_into(model, folder)
    model.eval()
    return model


def load_merged_encoder(folder: str | Path) -> nn.Module:
    """The encoder of any phase's folder, with a kept LoRA adapter merged (retrieval embeds with the encoder only)."""
    folder = check_model_folder(folder, "encoder folder")
    return lora.load(load_encoder(folder), folder, merge=True).eval()
