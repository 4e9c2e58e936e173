"""HF Trainer glue shared by phases 2 and 3: the Trainer subclass (dev evaluation for model selection, length-grouped
batches), its arguments from the recipe, compilation and FSDP settings, ``run_training`` and the cost figures it writes
to ``metrics.json``. The Trainer's callbacks (loss guard, progress output) are in ``callbacks``, the checks of its
checkpoints in ``checkpoints``.

Model selection uses English dev only (zero-shot): every ``eval_steps`` the Trainer calls ``evaluate``, which here runs
the task-kind evaluator on each task's English dev set and reports ``eval_score`` (the mean of the tasks' selection
scores); ``load_best_model_at_end`` then reloads the best checkpoint.
"""
from __future__ import annotations

import math
import os
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch.utils.data import Dataset
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

from xstilts import families
from xstilts.callbacks import EpochSetter, LossGuard, place_tracker_logs, progress_bar_wanted, use_progress_output
from xstilts.checkpoints import ended_state, last_checkpoint, remove_incomplete_checkpoints
from xstilts.config import TrainConfig
from xstilts.errors import TrainingFailed
from xstilts.log import log
from xstilts.modelfolder import safetensors_problem
from xstilts.sampling import epoch_seed
from xstilts.tasktypes.base import DevSet
from xstilts.tasktypes.common import Collator, feature_length, pad_multiple, predict_logits, selection_score


class FeatureDataset(Dataset):
    def __init__(self, features: list[dict[str, Any]]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.features[i]


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def freeze_word_embeddings(model: torch.nn.Module) -> None:
    """Stops gradients to the encoder's input word embeddings (``train.freeze_embeddings``); position and type
    embeddings and every layer still train. The optimizer then holds no state for them either."""
    model.encoder.get_input_embeddings().weight.requires_grad_(False)


class EpochLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped order that is a pure function of (seed, epoch).

    transformers' ``LengthGroupedSampler`` without a generator permutes with the global torch RNG at the moment the
    epoch starts. A resumed run starts that epoch with another RNG state (the Trainer restores the checkpoint's RNG
    only after it has skipped the batches already trained on), so from the second epoch on it trained on other
    batches than the uninterrupted run. Here the Trainer (``_run_epoch``) and accelerate (``DataLoaderShard``) call
    ``set_epoch`` before each epoch, and ``EpochSetter`` does too where their wrappers do not reach the sampler.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        yield from get_length_grouped_indices(self.lengths, self.batch_size, generator=generator)
        self.epoch += 1  # a full pass moves on to the next epoch when nothing calls set_epoch


class XTrainer(Trainer):
    """Trainer whose evaluation is the xstilts task evaluator on English dev sets (model selection only)."""

    def __init__(self, *args: Any, dev_sets: list[DevSet], collator: Collator, train_lengths: list[int] | None,
                 eval_batch_size: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # What dev evaluation (``evaluate``) batches with. Named apart from the Trainer's own ``data_collator`` and
        # ``args.per_device_eval_batch_size``, which its built-in evaluation loop (not used here) reads.
        self.dev_sets = dev_sets
        self.dev_collator = collator
        self.train_lengths = train_lengths
        self.dev_batch_size = eval_batch_size
        self.last_dev: dict[str, float] = {}
        # Samplers whose order is a function of (seed, epoch): EpochSetter tells them the epoch.
        self.epoch_samplers: list[Any] = []
        self.add_callback(EpochSetter(self.epoch_samplers))
        self.loss_guard = next((c for c in self.callback_handler.callbacks if isinstance(c, LossGuard)), None)
        self.shapes_seen: Counter[tuple[int, ...]] = Counter()  # micro-batches per (batch, width) shape trained
        self.compiled_layers = 0
        self.compile_mode = "off"

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        if self.args.train_sampling_strategy == "group_by_length" and self.train_lengths is not None:
            # Lengths are known from our features: no pass over the dataset to measure them.
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            sampler = EpochLengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                                self.train_lengths, seed)
            self.epoch_samplers.append(sampler)
            return sampler
        # The random sampler needs nothing: accelerate swaps it for its SeedableRandomSampler (data_seed + epoch).
        return super()._get_train_sampler(train_dataset)

    def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any):
        ids = inputs.get("input_ids") if isinstance(inputs, dict) else None
        if ids is not None:
            self.shapes_seen[tuple(ids.shape)] += 1  # metadata only, no device read
        if self.compile_mode == "graphs":
            # CUDA graph trees: a new step may overwrite the previous step's graph outputs.
            torch.compiler.cudagraph_mark_step_begin()
        return super().training_step(model, inputs, *args, **kwargs)

    def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None):
        out = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        if self.loss_guard is not None and model.training:  # training steps only (LossGuard checks each one)
            self.loss_guard.record(out[0] if return_outputs else out)
        return out

    def evaluate(self, eval_dataset: Any = None, ignore_keys: Any = None, metric_key_prefix: str = "eval") -> dict:
        start = time.time()
        metrics = dev_metrics(self.model, self.dev_sets, self.dev_collator, self.dev_batch_size, self.args.device)
        out = {f"{metric_key_prefix}_{k}": v for k, v in metrics.items()}
        out[f"{metric_key_prefix}_runtime"] = round(time.time() - start, 3)
        self.last_dev = metrics
        self.log(out)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
        return out


def dev_metrics(model: torch.nn.Module, dev_sets: list[DevSet], collator: Collator, batch_size: int,
                device: Any = "cpu") -> dict[str, float]:
    """Per-task English dev metrics (``<task>_<metric>``) and ``score``, the mean of the selection scores."""
    metrics: dict[str, float] = {}
    scores = []
    was_training = model.training
    for dev in dev_sets:
        logits = predict_logits(model, dev.encoded.features, collator, batch_size, device)
        preds = dev.task_type.predict(dev.rows, dev.encoded, logits)
        m = dev.task_type.score(dev.rows, preds, dev.task.train_language)
        for k, v in m.items():
            if k != "n":
                metrics[f"{dev.task.name}_{k}"] = v
        s = selection_score(dev.task, m)
        metrics[f"{dev.task.name}_score"] = s
        scores.append(s)
    metrics["score"] = sum(scores) / len(scores)
    if was_training:
        model.train()
    return metrics


def training_arguments(cfg: TrainConfig, checkpoint_dir: Path, label_names: list[str], steps_per_epoch: int,
                       layer_classes: list[str] | None = None) -> TrainingArguments:
    """TrainingArguments from the recipe. Evaluation and saving share one cadence so the best checkpoint exists."""
    total = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(steps_per_epoch * cfg.epochs))
    eval_steps = min(cfg.eval_steps, total)
    pin = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        seed=cfg.seed,
        data_seed=cfg.seed,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        adam_epsilon=1e-8,
        max_grad_norm=cfg.max_grad_norm,
        warmup_steps=warmup_steps_argument(cfg.warmup_ratio),
        lr_scheduler_type="linear",
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=max(cfg.save_total_limit, 1),
        load_best_model_at_end=True,
        metric_for_best_model="score",
        greater_is_better=True,
        logging_steps=cfg.logging_steps,
        # The default filter hides NaN/inf losses from the logs; LossGuard must see them to stop the run.
        logging_nan_inf_filter=False,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        remove_unused_columns=False,
        label_names=label_names,
        report_to=cfg.report_to,
        disable_tqdm=not progress_bar_wanted(),
        dataloader_num_workers=cfg.dataloader_workers,
        dataloader_pin_memory=pin,
        # Batches go to the GPU from pinned memory without the host waiting for the copy (accelerate's data loader).
        accelerator_config={"non_blocking": pin},
        # train.compile is applied by compile_layers (regional, fixed shapes), not by the Trainer's whole-model
        # torch.compile.
        torch_compile=False,
        tf32=tf32_argument(cfg),
        # Sequence-level losses: averaging token counts across devices would scale reported losses by world size.
        average_tokens_across_devices=False,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        ddp_find_unused_parameters=None,
        # Without a GPU, accelerate only forms a (gloo) process group when told the run is on CPU: otherwise every
        # torchrun rank silently trains alone on the full data. One process keeps the Trainer's own device choice.
        # bf16 without a GPU is CPU autocast, which the Trainer only allows when told the run is on CPU.
        use_cpu=not torch.cuda.is_available() and (int(os.environ.get("WORLD_SIZE", "1")) > 1
                                                   or cfg.precision == "bf16"),
        **fsdp_arguments(cfg, layer_classes),
    )


def warmup_steps_argument(ratio: float) -> float:
    """TrainingArguments ``warmup_steps`` for ``train.warmup_ratio`` (the share of the run's optimizer steps that warm
    up, in [0, 1]).

    transformers 5 has no ``warmup_ratio``: its ``warmup_steps`` reads a float below 1 as a ratio (ceil(total steps *
    ratio) steps, the total as the Trainer counts it) and 1 or more as a number of steps, so a ratio of exactly 1.0
    would warm up for one step. It goes in as the largest float below 1, whose ceil(total * ratio) is the total for
    any run under 2**52 steps; every ratio below 1 goes in unchanged.
    """
    return min(ratio, math.nextafter(1.0, 0.0))


def tf32_supported() -> bool:
    """A CUDA GPU of compute capability 8 (Ampere) or newer: the ones with TF32 matrix units."""
    return torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 8


def tf32_argument(cfg: TrainConfig) -> bool | None:
    """TrainingArguments ``tf32``: the recipe's choice where TF32 exists, else None (the Trainer refuses True there, and
    CPU matmuls must stay as they are)."""
    return cfg.tf32 if tf32_supported() else None


def fsdp_arguments(cfg: TrainConfig, layer_classes: list[str]) -> dict[str, Any]:
    """TrainingArguments for FSDP2: each transformer layer is its own shard unit (wrapping the whole model as one unit
    would gather every parameter at once, the memory FSDP exists to avoid); checkpoints hold full state dicts, so
    resuming, best-model reloading and final/ work as without FSDP."""
    if cfg.fsdp == "off" or not multi_gpu():
        return {}  # run_training says that FSDP is not in effect (the Trainer refuses it for one process)
    return {"fsdp": True, "fsdp_config": {
        "version": 2, "reshard_after_forward": cfg.fsdp == "full_shard", "cpu_offload": cfg.fsdp_cpu_offload,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "transformer_layer_cls_to_wrap": layer_classes,
        "state_dict_type": "FULL_STATE_DICT",
    }}


def multi_gpu() -> bool:
    """A launcher started several processes and there are GPUs: the only setup where accelerate applies FSDP."""
    return torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1


def layer_class_names(model: torch.nn.Module) -> list[str]:
    """The class names of the encoder's repeated transformer blocks (FSDP's shard units), e.g. ``XLMRobertaLayer``:
    the class of the first ``ModuleList`` whose children are all of one class (BERT-style ``encoder.layer``)."""
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1:
            return [type(module[0]).__name__]
    return []


def compile_mode(cfg: TrainConfig) -> str:
    """``train.compile`` as one of off, default, graphs (``true`` is default, ``false`` off)."""
    if cfg.compile is True:
        return "default"
    return "off" if cfg.compile is False else str(cfg.compile)


def repeated_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The encoder's repeated transformer blocks: the first ``ModuleList`` whose children are all of one class."""
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1:
            return list(module)
    return []


def compile_layers(model: torch.nn.Module, mode: str, backend: str | None = None) -> int:
    """Regional compilation (``train.compile``): each repeated encoder layer is compiled in place for static shapes.

    The layers share one code object, so one compiled graph per (batch, width) shape serves all of them: compile time
    is that of one layer, not of the whole model (230 s on Large with the whole model and dynamic shapes). Shapes are
    static (``dynamic=False``): with ``pad_to_multiple_of`` there are few of them, and static graphs are what CUDA
    graphs need (``graphs``: mode ``reduce-overhead``). Compiling in place keeps parameter names, so checkpoints and
    ``final/`` are the same as without compiling. The optimizer is transformers' fused AdamW either way.

    Returns:
        The number of layers compiled (0 for ``off``).
    """
    if mode == "off":
        return 0
    import torch._dynamo

    # One cache entry per shape and per grad mode (training, evaluation): raise dynamo's limit above the default 8,
    # past which it would silently run the layer uncompiled.
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(getattr(config, name), 64))
    options: dict[str, Any] = {"dynamic": False}
    if backend is not None:  # tests and the CPU dry run: a backend without inductor (then no mode: inductor's)
        options["backend"] = backend
    elif mode == "graphs":
        options["mode"] = "reduce-overhead"
    layers = repeated_layers(model)
    for layer in layers:
        layer.compile(**options)
    return len(layers)


def build_trainer(model: torch.nn.Module, tokenizer: Any, train_features: list[dict[str, Any]], dev_sets: list[DevSet],
                  cfg: TrainConfig, checkpoint_dir: Path, task_names: list[str], label_names: list[str],
                  train_dataloader_factory: Any = None, compile_backend: Any = None) -> XTrainer:
    """The XTrainer a phase-2/3 run trains with (arguments, collator, callbacks, compiled layers); ``run_training``
    uses it, and ``bench/gpu_check.py`` measures exactly this step (``compile_backend``: a torch.compile backend for
    its CPU dry run; None is inductor)."""
    if cfg.freeze_embeddings:
        freeze_word_embeddings(model)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    steps_per_epoch = math.ceil(len(train_features) / (cfg.batch_size * cfg.grad_accum * world))
    args = training_arguments(cfg, checkpoint_dir, label_names, steps_per_epoch, layer_class_names(model))
    collator = Collator(tokenizer.pad_token_id, pad_multiple(cfg.pad_to_multiple_of, args.device), cfg.max_length)
    if cfg.gradient_checkpointing:
        enc = model.encoder
        enc.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    callbacks: list[Any] = [LossGuard(task_names, checkpoint_dir)]
    if cfg.patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.patience))
    train_ds = FeatureDataset(train_features)
    trainer_cls = XTrainer
    if train_dataloader_factory is not None:
        trainer_cls = type("XMultiTaskTrainer", (XTrainer,), {"get_train_dataloader": train_dataloader_factory})
    try:
        trainer = trainer_cls(
            model=model, args=args, train_dataset=train_ds, eval_dataset=FeatureDataset(dev_sets[0].encoded.features),
            data_collator=collator, callbacks=callbacks, dev_sets=dev_sets, collator=collator,
            train_lengths=[feature_length(f) for f in train_features], eval_batch_size=cfg.eval_batch_size,
        )
    except (RuntimeError, ImportError) as exc:
        # A tracker's callback refuses to start without its package ("TensorBoardCallback requires tensorboard").
        said = "".join(c for c in str(exc).lower() if c.isalnum())  # comet_ml's message says comet-ml
        named = [n for n in args.report_to if "".join(c for c in n.lower() if c.isalnum()) in said]
        if not named:
            raise
        raise TrainingFailed(f"train.report_to={named[0]} cannot start here ({' '.join(str(exc).split())}); install "
                             f"its package or set train.report_to=none") from None
    trainer.compile_mode = compile_mode(cfg)
    trainer.compiled_layers = compile_layers(model, trainer.compile_mode, compile_backend)
    use_progress_output(trainer, bar=not args.disable_tqdm)
    place_tracker_logs(trainer, checkpoint_dir.parent / "logs")
    return trainer


def run_training(model: torch.nn.Module, tokenizer: Any, train_features: list[dict[str, Any]], dev_sets: list[DevSet],
                 cfg: TrainConfig, checkpoint_dir: Path, task_names: list[str], label_names: list[str],
                 train_dataloader_factory: Any = None) -> dict[str, Any]:
    """Trains with HF Trainer (resuming from the last checkpoint in ``checkpoint_dir``), reloads the best dev weights.

    Returns:
        The dev metrics of the best checkpoint and the cost figures (``cost``) for metrics.json.
    """
    if cfg.precision == "fp16" and not torch.cuda.is_available():
        # CPU autocast has no fp16 loss scaling, and the Trainer would silently train in fp32 instead.
        raise TrainingFailed("train.precision=fp16 needs a CUDA GPU; on this machine use train.precision=bf16 "
                             "(CPU autocast) or fp32")
    unsafe = families.precision_problem(getattr(model.config, "model_type", ""), cfg.precision)
    if unsafe:  # refused rather than switched: a silently different precision would change what the recipe says
        raise TrainingFailed(unsafe)
    trainer = build_trainer(model, tokenizer, train_features, dev_sets, cfg, checkpoint_dir, task_names, label_names,
                            train_dataloader_factory)
    args, collator, world = trainer.args, trainer.dev_collator, int(os.environ.get("WORLD_SIZE", "1"))
    distributed = str(getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type))
    if cfg.fsdp != "off" and distributed != "FSDP":
        # accelerate applies FSDP to multi-GPU runs only; elsewhere it falls back to DDP (or one process) silently.
        log(f"warning: train.fsdp={cfg.fsdp} is not in effect here ({distributed}): accelerate shards "
                "with FSDP on GPUs only; this run trains unsharded")
    resume = last_checkpoint(checkpoint_dir)
    for note in remove_incomplete_checkpoints(checkpoint_dir, resume):
        log(note)
    if resume:
        log(f"resuming from {resume}")
    start = time.time()
    ended = ended_state(resume)
    if ended is None:
        result = trainer.train(resume_from_checkpoint=resume)
        train_loss, speed = result.training_loss, result.metrics.get("train_samples_per_second")
    else:
        # Resumed from the checkpoint of its last step, the Trainer would take one step too many (it checks for the
        # end only after a step): training is over, the best weights are reloaded as load_best_model_at_end does.
        log("training had ended at that checkpoint: only its best weights are reloaded")
        trainer.state = ended
        weights = Path(ended.best_model_checkpoint or resume) / "model.safetensors"
        if weights.is_file() and not safetensors_problem(weights):
            trainer.model.load_state_dict(load_file(str(weights)))
        train_loss, speed = None, None
    wall = time.time() - start
    best_ckpt = trainer.state.best_model_checkpoint
    problem = best_ckpt and (safetensors_problem(Path(best_ckpt) / "model.safetensors")
                             if Path(best_ckpt, "model.safetensors").is_file() else "it is gone")
    if problem:  # the Trainer only warns and keeps the last weights, which final/ must not pass off as the best
        raise TrainingFailed(f"the best checkpoint {best_ckpt} cannot be reloaded ({problem}); delete "
                             f"{checkpoint_dir} and run again")
    # The reloaded best weights are evaluated once more, so metrics.json states what final/ actually scores.
    best = dev_metrics(trainer.model, dev_sets, collator, cfg.eval_batch_size, args.device)
    trainable, total = count_parameters(model)
    return {
        "dev": best,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_step": trainer.state.best_global_step,
        "global_step": trainer.state.global_step,
        "train_loss": train_loss,
        "resumed_from": resume,
        "log_history": trainer.state.log_history,
        "cost": {
            "trainable_parameters": trainable,
            "total_parameters": total,
            "wall_time_s": round(wall, 2),
            "train_examples_per_second": speed,
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "world_size": world,
            "distributed": distributed,
            "device": str(args.device),
            "speed": speed_settings(model, args, trainer),
            "flops": training_flops(model, train_features, trainer.shapes_seen),
        },
        "trainer": trainer,
    }


def speed_settings(model: torch.nn.Module, args: TrainingArguments, trainer: Any = None) -> dict[str, Any]:
    """The speed-relevant settings actually in effect (for ``cost.speed`` in metrics.json): a setting asked for is not
    always the one used (sdpa falls back where a family lacks it, TF32 needs Ampere or newer). With the ``trainer``:
    its compile mode, padding multiple and the (batch, width) shapes it has trained on."""
    config = getattr(model, "config", None)
    accel = getattr(args, "accelerator_config", None)
    out = {
        "attn_implementation": getattr(config, "_attn_implementation", None),
        "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
        "tf32": bool(args.tf32) if args.tf32 is not None else False,
        "compile": getattr(trainer, "compile_mode", "off"),
        "optim": str(getattr(args.optim, "value", args.optim)),
        "dataloader_workers": args.dataloader_num_workers,
        "pin_memory": bool(args.dataloader_pin_memory),
        "non_blocking": bool(getattr(accel, "non_blocking", False)),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    if trainer is not None:
        out["pad_to_multiple_of"] = trainer.dev_collator.multiple
        out["compiled_layers"] = getattr(trainer, "compiled_layers", 0)
        out["train_shapes"] = {"x".join(map(str, k)): n for k, n in sorted(trainer.shapes_seen.items())}
    return out


def training_flops(model: torch.nn.Module, train_features: list[dict[str, Any]],
                   shapes: Counter[tuple[int, ...]]) -> dict[str, Any]:
    """Model FLOPs of the micro-batches this process trained (``shapes``: count per (batch, width)), with the formula
    of ``bench/gpu_check.py``: 6 N n + 12 L h n^2 per example of n tokens (forward and backward), N the parameters
    outside the embeddings. ``padded``: exact, from the shapes; ``real``: the examples trained times the mean
    per-example FLOPs of the training features (which rows each batch held is not tracked)."""
    config = getattr(model, "config", None)
    layers, hidden = getattr(config, "num_hidden_layers", None), getattr(config, "hidden_size", None)
    if not layers or not hidden or not train_features:
        return {}
    n_params = sum(p.numel() for name, p in model.named_parameters() if "embeddings." not in name)

    def per_example(n: int) -> float:
        return 6 * n_params * n + 12 * layers * hidden * n * n

    padded = examples = 0.0
    for shape, count in shapes.items():
        rows, width = (shape[0] * (shape[1] if len(shape) == 3 else 1)), shape[-1]  # multiple choice: rows x choices
        padded += count * rows * per_example(width)
        examples += count * shape[0]
    mean_real = sum(per_example(feature_length(f)) for f in train_features) / len(train_features)
    return {"formula": "6 * N_nonembedding * n + 12 * layers * hidden * n**2 per example", "padded": padded,
            "real_estimated": examples * mean_real, "examples": int(examples),
            "non_embedding_parameters": n_params}


def peak_memory_mb() -> float:
    """Peak memory of this process: GPU allocator peak when on CUDA, else the resident-set high-water mark."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
