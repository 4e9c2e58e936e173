"""Model folders, checked before any work and without torch: the files an encoder folder must hold, that they parse
and are complete (safetensors headers against file sizes), that the config and tokenizer load, what ``heads.json``
records, and the longest input the encoder's position embeddings cover.

The light half of ``xstilts.modeling`` (which loads and saves the models): ``preflight`` and the ``xstilts`` command
check a folder with it without importing torch or transformers unless the folder's config and tokenizer are loaded.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError

from xstilts.errors import ModelFolderError
from xstilts.recipe import RecipeError, short, show
from xstilts.typespecs import HEADS_JSON, HEADS_WEIGHTS, SPECS, HeadSpec

ADAPTER_DIR = "adapter"  # a LoRA adapter kept unmerged: PEFT's folder, whose base is the model folder itself

# Task types with a head: those some phase trains (retrieval trains nothing: it embeds with the bare encoder).
HEAD_TYPES = tuple(name for name, spec in SPECS.items() if spec.trained_in)
DAMAGED = "replace the folder with a complete copy (re-run the phase that wrote it, or re-download the model)"
# What transformers raises for a folder it cannot load: an unknown model_type (ValueError), missing files (OSError),
# weights whose shapes do not fit config.json (RuntimeError), a damaged file (SafetensorError), a config or tokenizer
# field of the wrong type (StrictDataclassError, or whatever the model code trips over: TypeError, AttributeError,
# IndexError, KeyError). Only the loading calls are guarded with it; running out of memory is re-raised as it is.
LOAD_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, SafetensorError,
               StrictDataclassError)
# RoBERTa-style encoders number positions from pad_token_id + 1, so two position embeddings are never used by text.
PADDING_OFFSET_MODELS = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "roberta-prelayernorm",
                         "data2vec-text", "mpnet", "longformer", "ibert")


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
    import torch
    from transformers import AutoConfig, AutoTokenizer

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
