"""Steps shared by the training phases (2 and 3), each a plain function so the scripts read top to bottom."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from xstilts import lora, modelcard, runfiles, tasktypes
from xstilts.config import LoraConfig, TrainConfig
from xstilts.log import log
from xstilts.modelfolder import read_head_specs
from xstilts.modeling import MultiHeadModel, load_encoder, save_model
from xstilts.tasks import Task
from xstilts.tasktypes.base import DevSet
from xstilts.training import run_training


def model_with_heads(encoder: torch.nn.Module, tasks: list[Task], folder: Path, recipe: Any = None
                     ) -> tuple[MultiHeadModel, dict[str, str]]:
    """The encoder with a head per task, each made by its task type (built with ``recipe``'s settings), and for the
    heads whose task type looked for weights in ``folder`` (the MLM head of a checkpoint) a log line saying what it
    found; other heads start fresh."""
    task_types = [tasktypes.build(t, recipe) for t in tasks]
    model = MultiHeadModel(encoder, [task_type.head_spec(encoder) for task_type in task_types])
    notes = {task_type.task.name: task_type.init_head(model, folder) for task_type in task_types}
    return model, {name: note for name, note in notes.items() if note}


def start_encoder(model_dir: Path, lora_cfg: LoraConfig | None, handover: str, trust_remote_code: bool = False,
                  attn_implementation: str | None = None) -> tuple[torch.nn.Module, list[str]]:
    """The encoder a training phase starts from, and log lines saying where its weights came from.

    An input with a kept LoRA adapter is either merged first (``handover="merge"``; a new adapter may then be put on
    top) or trained further (``"continue"``).
    """
    encoder = load_encoder(model_dir, trust_remote_code, attn_implementation)
    encoder, notes = lora.hand_over(encoder, model_dir, lora_cfg, handover)
    return encoder, [f"encoder weights from {model_dir}", *notes]


def load_task_data(task: Task, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[dict[str, Any]], DevSet]:
    """Training features and the English dev set (model selection) of one task, as its task type, built with the
    phase recipe's settings, reads them."""
    return tasktypes.build(task, recipe).training_data(task_id, recipe, tokenizer)


def sampling_shares(tasks: list[Task], recipe: Any) -> dict[str, float]:
    """Tasks drawn for a fixed share of the optimizer steps, whatever their size (phase 2's mlm: ``mlm.weight``)."""
    shares = {t.name: tasktypes.build(t, recipe).sampling_share() for t in tasks}
    return {name: share for name, share in shares.items() if share is not None}


def label_names_for(tasks: list[Task]) -> list[str]:
    """The Trainer's label fields: the task types' own where all tasks share them (span QA: start and end
    positions), else ``labels``."""
    names = {t.spec.label_fields for t in tasks}
    return list(names.pop()) if len(names) == 1 else ["labels"]


def train_and_save(model: MultiHeadModel, tokenizer: Any, train_features: list[dict[str, Any]], dev_sets: list[DevSet],
                   train_cfg: TrainConfig, out: Path, tasks: list[Task], merge_adapter: bool,
                   train_dataloader_factory: Any = None, extra_metrics: dict[str, Any] | None = None,
                   export_hf: bool = False) -> dict[str, Any]:
    """Trains (resuming if possible), writes ``final/`` and ``metrics.json``, removes the Trainer checkpoints.

    ``export_hf`` (phase 3): ``final/`` in transformers' ``AutoModelFor...`` layout where its head allows
    (``modeling.save_model``), with a model card (``modelcard.write_card``); ``metrics.json`` records under
    ``transformers`` which class loads it, or why none does.

    An earlier attempt that got as far as ``metrics.json`` (written after ``final/`` is renamed into place) was stopped
    while cleaning up, before ``DONE``: its results are returned as they are, without training again.
    """
    ckpt_dir = out / "checkpoints"
    if (out / "final").is_dir() and (out / "metrics.json").is_file():
        log(f"{out / 'final'} and metrics.json are complete from an earlier attempt: not trained again")
        result = runfiles.read_json(out / "metrics.json", "metrics")
        if export_hf and runfiles.is_main_process():
            modelcard.write_card(out)  # the attempt may have stopped before it
        remove_checkpoints(out)
        return result
    result = run_training(model, tokenizer, train_features, dev_sets, train_cfg, ckpt_dir, [t.name for t in tasks],
                          label_names_for(tasks), train_dataloader_factory)
    trainer = result.pop("trainer")
    if not runfiles.is_main_process():
        return result  # under torchrun every rank trains the same weights; rank 0 alone writes final/ and metrics
    final = out / "final"
    if final.exists():
        shutil.rmtree(final)  # a partial final/ of an interrupted attempt: rewritten from the best weights
    tmp = out / "final.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    saved = save_model(trainer.model, tokenizer, tmp, merge_adapter=merge_adapter, export_hf=export_hf)
    tmp.rename(final)
    result["cost"]["size_on_disk_bytes"] = runfiles.folder_size_bytes(final)
    result["adapter"] = saved["adapter"]
    if "transformers" in saved:
        result["transformers"] = saved["transformers"]
        if not saved["transformers"]["loadable"]:
            log(f"final/ is not loadable with transformers' AutoModelFor... classes: {saved['transformers']['reason']}")
    result["heads"] = [h.task for h in read_head_specs(final)]
    if extra_metrics:
        result.update(extra_metrics)
    runfiles.atomic_write_json(out / "metrics.json", result)
    if export_hf:
        modelcard.write_card(out)  # before DONE: a finished phase-3 folder always has its card
    remove_checkpoints(out)  # final/ is the product; optimizer states are gigabytes
    return result


def remove_checkpoints(out: Path) -> None:
    """Removes ``out/checkpoints`` all at once: renamed first, so a kill midway never leaves a half-deleted
    checkpoint (e.g. the best one) that a re-run would resume from."""
    ckpt_dir, trash = out / "checkpoints", out / "checkpoints.removing"
    if ckpt_dir.exists():
        if trash.exists():
            shutil.rmtree(trash)
        ckpt_dir.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)
