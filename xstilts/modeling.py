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
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel

from xstilts import families, lora, tasktypes
from xstilts.errors import ModelFolderError
from xstilts.lora import ADAPTER_DIR
from xstilts.recipe import RecipeError, short, show
from xstilts.tasks import TASKS
from xstilts.tasktypes.base import TaskType
from xstilts.tasktypes.common import HEADS_JSON, HEADS_WEIGHTS, HeadSpec
from xstilts.typespecs import SPECS

# Task types with a head: those some phase trains (retrieval trains nothing: it embeds with the bare encoder).
HEAD_TYPES = tuple(name for name, spec in SPECS.items() if spec.trained_in)
DAMAGED = "replace the folder with a complete copy (re-run the phase that wrote it, or re-download the model)"
# RoBERTa-style encoders number positions from pad_token_id + 1, so two position embeddings are never used by text.
# What transformers raises for a folder it cannot load: an unknown model_type (ValueError), missing files (OSError),
# weights whose shapes do not fit config.json (RuntimeError), a damaged file (SafetensorError), a config or tokenizer
# field of the wrong type (StrictDataclassError, or whatever the model code trips over: TypeError, AttributeError,
# IndexError, KeyError). Only the loading calls are guarded with it; running out of memory is re-raised as it is.
LOAD_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, SafetensorError,
               StrictDataclassError)
PADDING_OFFSET_MODELS = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "roberta-prelayernorm",
                         "data2vec-text", "mpnet", "longformer", "ibert")


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


def _read_json(path: Path, what: str) -> Any:
    """A JSON file of a model folder; a truncated or non-JSON file is a ``ModelFolderError`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelFolderError(f"{short(str(path))} ({what}) is not readable JSON ({short(str(exc))}); "
                               f"{DAMAGED}") from None


def safetensors_problem(path: Path) -> str | None:
    """Why a safetensors file is not complete (None when its header and size agree); reads the header only.

    Catches what the loader would otherwise report mid-run: an empty or truncated file, a header that is not JSON or
    not a table of tensors, data offsets that are not numbers. The one check of model folders and of Trainer
    checkpoints (``checkpoints.checkpoint_problem``).
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or n <= 0 or 8 + n > size:
                return f"{path.name} is empty or truncated (header of {n} bytes, file of {size})"
            header = json.loads(f.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        needed = 8 + n + end  # a TypeError when an offset is not a number
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return f"{path.name} is not a readable safetensors file ({short(str(exc))})"
    if needed != size:
        return f"{path.name} is truncated ({size} bytes, its header needs {needed})"
    return None


def _check_weights(p: Path, what: str) -> None:
    """Every safetensors file of the encoder (single or sharded) is complete."""
    files = [p / "model.safetensors"] if (p / "model.safetensors").is_file() else []
    index = p / "model.safetensors.index.json"
    if not files and index.is_file():
        data = _read_json(index, "weights index")
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise ModelFolderError(f"{what} {short(str(p))}: {index.name} has no weight_map of file names; {DAMAGED}")
        files = [p / name for name in sorted(set(weight_map.values()))]
    for f in files:
        problem = "is missing" if not f.is_file() else safetensors_problem(f)
        if problem:
            problem = problem if problem.startswith(f.name) else f"{f.name} {problem}"
            raise ModelFolderError(f"{what} {short(str(p))}: {problem}; {DAMAGED}")


def _check_tokenizer(p: Path, what: str) -> None:
    """The tokenizer files parse (transformers would fail on them with a KeyError or AttributeError deep inside)."""
    config = p / "tokenizer_config.json"
    if config.is_file() and not isinstance(_read_json(config, "tokenizer settings"), dict):
        raise ModelFolderError(f"{what} {short(str(p))}: tokenizer_config.json is not a JSON object; {DAMAGED}")
    path = p / "tokenizer.json"
    if not path.is_file():
        return
    if not isinstance(_read_json(path, "tokenizer"), dict):
        raise ModelFolderError(f"{what} {short(str(p))}: tokenizer.json is not a JSON object; {DAMAGED}")
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 -- the Rust tokenizer library raises a bare Exception
        raise ModelFolderError(f"{what} {short(str(p))}: tokenizer.json is not a valid tokenizer "
                               f"({short(' '.join(str(exc).split()))}); {DAMAGED}") from None


def _check_loadable(p: Path, what: str, trust_remote_code: bool) -> None:
    """Loads the config and the tokenizer, the two cheap parts, so a field of the wrong type is named up front.

    Only this call's errors (``LOAD_ERRORS``) are converted, so a bug elsewhere still shows its traceback.
    """
    from transformers import AutoTokenizer

    try:
        AutoConfig.from_pretrained(p, trust_remote_code=trust_remote_code)
        AutoTokenizer.from_pretrained(p, trust_remote_code=trust_remote_code)
    except torch.OutOfMemoryError:
        raise
    except LOAD_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"{what} {short(str(p))}: its config or tokenizer does not load ({type(exc).__name__}: "
                               f"{short(first)}); {DAMAGED}") from None


def _check_adapter(p: Path, what: str) -> None:
    adapter = p / ADAPTER_DIR
    if not adapter.is_dir():
        return
    if not (adapter / "adapter_model.safetensors").is_file():
        pickled = (adapter / "adapter_model.bin").is_file()
        holds = "only pickled weights (adapter_model.bin)" if pickled else "no adapter_model.safetensors"
        raise ModelFolderError(f"{what} {short(str(p))}: {ADAPTER_DIR}/ holds {holds}"
                               f"; xstilts loads safetensors only; {DAMAGED}")
    if not isinstance(_read_json(adapter / "adapter_config.json", "LoRA adapter settings"), dict):
        raise ModelFolderError(f"{what} {short(str(p))}: {ADAPTER_DIR}/adapter_config.json is not a JSON object; "
                               f"{DAMAGED}")
    problem = safetensors_problem(adapter / "adapter_model.safetensors")
    if problem:
        raise ModelFolderError(f"{what} {short(str(p))}: {ADAPTER_DIR}/{problem}; {DAMAGED}")


def position_limit(config: dict[str, Any]) -> int | None:
    """The longest input (in tokens) an encoder's position embeddings cover; None when its config does not say."""
    n = config.get("max_position_embeddings")
    if not isinstance(n, int) or isinstance(n, bool):
        return None
    if config.get("model_type") == "deberta-v2" and not config.get("position_biased_input", False):
        return None  # relative positions only
    if config.get("model_type") in PADDING_OFFSET_MODELS:
        pad = config.get("pad_token_id")
        return n - (pad if isinstance(pad, int) else 1) - 1
    return n


def check_max_length(folder: str | Path, max_length: int, key: str) -> None:
    """Refuses a ``max_length`` the encoder in ``folder`` has no position embeddings for (an index error mid-run).

    Raises:
        RecipeError: naming ``key``, the value and the encoder's limit.
    """
    config = _read_json(Path(folder) / "config.json", "model config")
    limit = position_limit(config) if isinstance(config, dict) else None
    if limit is not None and max_length > limit:
        raise RecipeError([f"{key}: {max_length} is longer than the encoder in {short(str(folder))} allows "
                           f"({limit} tokens: max_position_embeddings={config['max_position_embeddings']}); use "
                           f"{key}={limit} or less"], source="")


def check_model_folder(folder: str | Path, what: str, fix: str = "give the output folder of the previous phase",
                       max_length: int | None = None, length_key: str = "train.max_length",
                       trust_remote_code: bool = False) -> Path:
    """Checks that ``folder`` holds a loadable encoder before any work starts; names what is missing or broken.

    Cheap checks only (no weights are loaded): the files exist, JSON files parse, safetensors files are as long as
    their headers say, the config and the tokenizer load, heads.json describes known heads, and (with
    ``max_length``) the encoder's position embeddings cover ``max_length`` tokens.

    Raises:
        ModelFolderError: a missing, pickled or damaged file (the message names it and the fix).
        RecipeError: ``max_length`` is longer than the encoder allows.
    """
    p = Path(folder)
    shown = short(str(p))
    if not p.is_dir():
        if p.exists():
            raise ModelFolderError(f"{what} {shown} is a file, not a model folder; {fix}")
        raise ModelFolderError(f"{what} {shown} does not exist; {fix}")
    missing = []
    if not (p / "config.json").is_file():
        missing.append("config.json")
    if not any((p / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json")):
        if any((p / n).exists() for n in ("pytorch_model.bin", "pytorch_model.bin.index.json")):
            raise ModelFolderError(
                f"{what} {shown} holds only pickled weights (pytorch_model.bin), which can run code when loaded; "
                "xstilts loads safetensors only. Convert them once, where you trust the file: "
                "AutoModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True)")
        missing.append("model.safetensors")
    if not (p / "tokenizer.json").is_file() and not (p / "tokenizer_config.json").is_file():
        missing.append("tokenizer files (tokenizer.json / tokenizer_config.json)")
    if missing:
        raise ModelFolderError(f"{what} {shown} is not an encoder folder: missing {', '.join(missing)}")
    config = _read_json(p / "config.json", "model config")
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise ModelFolderError(f"{what} {shown}: config.json is not a model config (a JSON object with a "
                               f"model_type); {DAMAGED}")
    _check_weights(p, what)
    _check_tokenizer(p, what)
    _check_loadable(p, what, trust_remote_code)
    read_head_specs(p)
    if (p / HEADS_JSON).is_file():
        problem = "is missing" if not (p / HEADS_WEIGHTS).is_file() else safetensors_problem(p / HEADS_WEIGHTS)
        if problem:
            raise ModelFolderError(f"{what} {shown}: {HEADS_WEIGHTS} {problem.removeprefix(HEADS_WEIGHTS + ' ')}; "
                                   f"{DAMAGED}")
    _check_adapter(p, what)
    if max_length is not None:
        check_max_length(p, max_length, length_key)
    return p


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


def read_head_specs(folder: str | Path) -> list[HeadSpec]:
    """The task heads recorded in ``heads.json`` (none when the folder has no heads).

    Raises:
        ModelFolderError: heads.json is not JSON, or a head lacks a task name, a known kind or a label count.
    """
    path = Path(folder) / HEADS_JSON
    if not path.is_file():
        return []
    heads = _read_json(path, "task heads")
    heads = heads.get("heads") if isinstance(heads, dict) else None
    if not isinstance(heads, list):
        raise ModelFolderError(f"{short(str(path))} is corrupted (no list of heads); {DAMAGED}")
    specs = []
    for i, h in enumerate(heads):
        try:
            spec = HeadSpec.from_json(h)
        except TypeError as exc:  # not a mapping, or unknown / missing fields
            raise ModelFolderError(f"{short(str(path))} is corrupted (head {i}: {short(str(exc))}); "
                                   f"{DAMAGED}") from None
        bad = _head_problem(spec)
        if bad:
            raise ModelFolderError(f"{short(str(path))} is corrupted (head {i}: {bad}); {DAMAGED}")
        specs.append(spec)
    return specs


def _head_problem(spec: HeadSpec) -> str | None:
    if not isinstance(spec.task, str) or not spec.task:
        return f"task {show(spec.task)} is not a task name"
    if spec.task_type not in HEAD_TYPES:
        return f"kind {show(spec.task_type)} is not one of {', '.join(HEAD_TYPES)}"
    if not isinstance(spec.num_labels, int) or isinstance(spec.num_labels, bool) or not 0 <= spec.num_labels <= 2**24:
        return f"num_labels {show(spec.num_labels)} is not a label count"
    if spec.labels is not None and (not isinstance(spec.labels, list)
                                    or not all(isinstance(x, str) for x in spec.labels)):
        return "labels is not a list of names"
    return None


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
