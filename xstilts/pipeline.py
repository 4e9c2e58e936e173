"""Steps shared by the training phases (2 and 3), each a plain function so the scripts read top to bottom."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from xstilts import data, runfiles
from xstilts import features as F
from xstilts.config import DataConfig, LoraConfig, TrainConfig
from xstilts.log import log
from xstilts.modeling import ADAPTER_DIR, HeadSpec, MultiHeadModel, load_encoder, read_head_specs, save_model
from xstilts.tasks import Task
from xstilts.training import DevSet, apply_lora, run_training


def head_spec(task: Task) -> HeadSpec:
    if task.kind == "classification" or task.kind == "tagging":
        labels = list(task.label_names) if task.labels_from_train else None  # recorded: the registry lacks them
        return HeadSpec(task.name, task.kind, len(task.label_names), labels=labels)
    if task.kind == "multiple_choice":
        return HeadSpec(task.name, task.kind, 1)
    if task.kind == "span_qa":
        return HeadSpec(task.name, task.kind, 2)
    raise ValueError(f"task {task.name} ({task.kind}) has no trainable head")


def start_encoder(model_dir: Path, lora: LoraConfig | None, handover: str, trust_remote_code: bool = False,
                  attn_implementation: str | None = None) -> tuple[torch.nn.Module, list[str]]:
    """The encoder a training phase starts from, and log lines saying where its weights came from.

    An input with a kept LoRA adapter is either merged first (``handover="merge"``; a new adapter may then be put on
    top) or trained further (``"continue"``).
    """
    notes = [f"encoder weights from {model_dir}"]
    encoder = load_encoder(model_dir, trust_remote_code, attn_implementation)
    adapter = model_dir / ADAPTER_DIR
    if (adapter / "adapter_config.json").is_file():
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
        encoder = apply_lora(encoder, lora)
        notes.append(f"new LoRA adapter r={lora.r} alpha={lora.alpha} on {', '.join(lora.target_modules)}")
    return encoder, notes


def load_task_data(task: Task, task_id: int, data_cfg: DataConfig, train_cfg: TrainConfig, tokenizer: Any
                   ) -> tuple[list[dict[str, Any]], DevSet]:
    """Training features and the English dev set (capped for periodic selection) of one task.

    ``data.train_task`` takes the English data of another task of the same kind (XQuAD trained on TyDiQA-GoldP
    English); ``data.train_split=validation`` makes the English dev split stand in for a training set that is not at
    hand, holding out its last ``holdout_fraction`` for selection.
    """
    from xstilts.tasks import get_task

    source = get_task(data_cfg.train_task) if data_cfg.train_task else task
    dev_cap = data.selection_cap(source.dev_examples, train_cfg.dev_examples, data_cfg.max_eval_samples)
    if data_cfg.train_split == "validation" or data_cfg.selection == "holdout":
        # No separate English dev set at hand: the last holdout_fraction of the rows selects the model, the rest
        # trains it (held out before max_train_samples cuts, so the held-out rows never leak into training).
        stand_in = data_cfg.train_split == "validation"
        rows = (data.load_dev(source, data_cfg.source, data_cfg.path) if stand_in
                else data.load_train(source, data_cfg.source, data_cfg.path))
        n_dev = max(1, int(len(rows) * data_cfg.holdout_fraction))
        train_rows, dev_rows = rows[:-n_dev], rows[-n_dev:][:dev_cap]
        if data_cfg.max_train_samples:
            train_rows = train_rows[: data_cfg.max_train_samples]
        what = "the English dev split stands in as training data" if stand_in else "English training data"
        log(f"{source.name}: {what} ({len(train_rows)} rows); {len(dev_rows)} held-out rows of it select the "
                "model")
    else:
        train_rows = data.load_train(source, data_cfg.source, data_cfg.path, data_cfg.max_train_samples)
        dev_rows = data.load_dev(source, data_cfg.source, data_cfg.path, dev_cap)
    if data_cfg.translated_languages:  # alternative (ii): translated training data beside the English rows
        train_rows = [{**r, "lang": source.train_language} for r in train_rows]
        translated = data.load_translated(source, data_cfg.translated_path or data_cfg.path,
                                          data_cfg.translated_languages, data_cfg.max_train_samples)
        counts = {lang: sum(r["lang"] == lang for r in translated) for lang in data_cfg.translated_languages}
        log(f"{source.name}: translated training rows added: "
                + ", ".join(f"{lang} {n}" for lang, n in counts.items()))
        train_rows = train_rows + translated
    train_enc = F.encode(task, train_rows, tokenizer, train_cfg.max_length, task_id=task_id, train=True)
    dev_enc = F.encode(task, dev_rows, tokenizer, train_cfg.max_length, task_id=task_id, train=False)
    log(f"{task.name}: {len(train_rows)} training examples ({len(train_enc.features)} features), "
            f"{len(dev_rows)} English dev examples for selection")
    return train_enc.features, DevSet(task, dev_rows, dev_enc)


def label_names_for(tasks: list[Task]) -> list[str]:
    return ["start_positions", "end_positions"] if all(t.kind == "span_qa" for t in tasks) else ["labels"]


def train_and_save(model: MultiHeadModel, tokenizer: Any, train_features: list[dict[str, Any]], dev_sets: list[DevSet],
                   train_cfg: TrainConfig, out: Path, tasks: list[Task], merge_adapter: bool,
                   train_dataloader_factory: Any = None, extra_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Trains (resuming if possible), writes ``final/`` and ``metrics.json``, removes the Trainer checkpoints.

    An earlier attempt that got as far as ``metrics.json`` (written after ``final/`` is renamed into place) was stopped
    while cleaning up, before ``DONE``: its results are returned as they are, without training again.
    """
    ckpt_dir = out / "checkpoints"
    if (out / "final").is_dir() and (out / "metrics.json").is_file():
        log(f"{out / 'final'} and metrics.json are complete from an earlier attempt: not trained again")
        result = runfiles.read_json(out / "metrics.json", "metrics")
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
    saved = save_model(trainer.model, tokenizer, tmp, merge_adapter=merge_adapter)
    tmp.rename(final)
    result["cost"]["size_on_disk_bytes"] = runfiles.folder_size_bytes(final)
    result["adapter"] = saved["adapter"]
    result["heads"] = [h.task for h in read_head_specs(final)]
    if extra_metrics:
        result.update(extra_metrics)
    runfiles.atomic_write_json(out / "metrics.json", result)
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
