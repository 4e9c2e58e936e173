"""Typed recipes of the four phase scripts. Defaults live here only; each field has a one-line help.

The YAML files in ``recipes/`` set a subset of these keys; ``python SCRIPT.py RECIPE.yaml key=value`` overrides them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from xstilts.recipe import field, show
from xstilts.tasks import TASKS

if TYPE_CHECKING:  # the registry entry type only; config's own dataclasses are the recipe keys
    from xstilts.tasks import Task

# Upper bounds of numeric fields: far beyond any real setting, so they only catch typos (1e20) and overflow (a count
# torch, numpy or Arrow would take as a 32-bit index; numpy seeds are 32-bit). Model limits (position embeddings)
# are checked against the model when it is loaded.
COUNT_MAX = 2**31 - 1  # steps, examples, lines
SEED_MAX = 2**32 - 1
BATCH_MAX = 2**16  # examples per device per batch
LENGTH_MAX = 2**20  # tokens per example
SIZE_MAX = 2**16  # hidden sizes, LoRA rank, attention heads


def embedded_path(relative: str) -> Path:
    """A file or folder of the small synthetic quickstart data shipped in the package (``xstilts/quickstart_data``).

    It lives here, at the bottom of the package, because recipe validation already needs it (the tiny encoder's
    languages must be in the embedded corpus); the data readers use it too.
    """
    return Path(str(resources.files("xstilts"))) / "quickstart_data" / relative


def available_corpus_languages(sample: bool = False) -> list[str]:
    """Languages of the embedded corpus (``sample``: those with held-out sample lines for statistics)."""
    folder = embedded_path("corpus")
    if not folder.is_dir():
        return []
    if sample:
        return sorted(p.stem[len("sample-"):] for p in folder.glob("sample-*.txt"))
    return sorted(p.stem for p in folder.glob("*.txt") if not p.stem.startswith("sample-"))


def language_problems(languages: list[str], key: str, sample: bool) -> list[str]:
    """Recipe problems for languages the embedded corpus lacks, so phase 1 names them before any work starts."""
    known = available_corpus_languages(sample)
    missing = [lang for lang in languages if lang not in known]
    if not missing:
        return []
    return [f"{key}: no embedded corpus for {', '.join(show(m) for m in missing[:5])}"
            f"{' and others' if len(missing) > 5 else ''}; languages shipped: {', '.join(known)}"]


@dataclass
class DataConfig:
    source: Literal["hub", "xtreme", "embedded"] = field(
        "hub", help="hub: Hugging Face datasets; xtreme: a local XTREME download folder (data.path); embedded: the "
                    "small synthetic quickstart data shipped in the package")
    path: str | None = field(None, help="the XTREME download folder (required with source=xtreme)")
    max_train_samples: int | None = field(None, help="keep the first N training examples (per task)", ge=1,
                                          le=COUNT_MAX)
    max_eval_samples: int | None = field(None, help="keep the first N examples per evaluation language", ge=1,
                                         le=COUNT_MAX)
    train_task: str | None = field(None, help="take the English training and dev data from this task instead "
                                              "(same kind; e.g. xquad trained on tydiqa's English rows)")
    train_split: Literal["train", "validation"] = field(
        "train", help="validation: the English dev split stands in as training data where no training set is at hand "
                      "(its last holdout_fraction is held out for model selection; results say so)")
    selection: Literal["dev", "holdout"] = field(
        "dev", help="what selects the model: dev: the task's English dev split; holdout: the last holdout_fraction of "
                    "the English training rows, where no English dev set is at hand (implied by "
                    "train_split=validation)")
    holdout_fraction: float = field(0.2, help="share of the training rows held out for selection (selection=holdout "
                                              "or train_split=validation)", gt=0, lt=1)
    translated_languages: list[str] | None = field(
        None, help="add machine-translated training data in these languages to the English rows (files "
                   "<task>/train-<lang>.<ext> in the task's XTREME-folder format under translated_path)")
    translated_path: str | None = field(None, help="folder of the translated training files (default: data.path)")

    def validate(self) -> list[str]:
        problems = (_path_problems(self, ("path", "translated_path"))
                    + _language_problems(self, ("translated_languages",)))
        if self.source == "xtreme" and not self.path:
            problems.append("path: required when data.source is 'xtreme' (the XTREME download folder)")
        if self.translated_languages and not (self.translated_path or self.path):
            problems.append("translated_path: required with translated_languages (the folder holding "
                            "<task>/train-<lang>.<ext>)")
        if self.train_task is not None:
            if self.train_task not in TASKS:
                problems.append(f"train_task: unknown task {show(self.train_task)}; known: {', '.join(sorted(TASKS))}")
        return problems


@dataclass
class TrainConfig:
    seed: int = field(42, help="seed for initialisation, data order and dropout", ge=0, le=SEED_MAX)
    lr: float = field(2e-5, help="peak learning rate (AdamW; linear warmup then linear decay)", gt=0)
    weight_decay: float = field(0.01, help="AdamW weight decay (not applied to biases and LayerNorm)", ge=0)
    warmup_ratio: float = field(0.1, help="fraction of steps with linear warmup", ge=0, le=1)
    epochs: float = field(3.0, help="training epochs (ignored when max_steps > 0)", ge=0, le=1e6)
    max_steps: int = field(-1, help="stop after this many optimizer steps (-1: use epochs)", ge=-1, le=COUNT_MAX)
    batch_size: int = field(32, help="examples per device per micro-batch (memory grows linearly)", ge=1,
                            le=BATCH_MAX)
    grad_accum: int = field(1, help="micro-batches per optimizer step (effective batch = batch_size x grad_accum x "
                                    "devices)", ge=1, le=BATCH_MAX)
    max_length: int = field(128, help="max tokens per training and dev example, special tokens included (longer "
                                      "inputs are truncated; span QA splits a long context into windows of this "
                                      "length, 384 is standard; cost grows with it); evaluate_xtreme.py uses it too "
                                      "unless its max_length is set; at most what the encoder's position embeddings "
                                      "allow", ge=1, le=LENGTH_MAX)
    eval_batch_size: int = field(64, help="examples per evaluation batch", ge=1, le=BATCH_MAX)
    eval_steps: int = field(500, help="evaluate on English dev every N optimizer steps (and at the end)", ge=1,
                            le=COUNT_MAX)
    save_total_limit: int = field(2, help="Trainer checkpoints kept for resuming", ge=1, le=COUNT_MAX)
    patience: int | None = field(None, help="stop after N evaluations without dev improvement (None: never)", ge=1,
                                 le=COUNT_MAX)
    dev_examples: int | None = field(None, help="English dev examples used for selection (None: task default, e.g. "
                                                  "the first 2,000 of MNLI dev)", ge=1, le=COUNT_MAX)
    max_grad_norm: float = field(1.0, help="gradient clipping (0: none)", ge=0)
    precision: Literal["fp32", "bf16", "fp16"] = field(
        "fp32", help="mixed precision: bf16 (GPU, or CPU autocast), fp16 (GPU only, with loss scaling)")
    gradient_checkpointing: bool = field(False, help="trade compute for activation memory (large models)")
    freeze_embeddings: bool = field(
        False, help="keep the input word embeddings fixed (full fine-tuning): with a 250k-piece multilingual "
                    "vocabulary they are most of the parameters, and AdamW's update of them dominates a small "
                    "encoder's step on CPU (about 2x faster); pieces no English example contains would change "
                    "only through weight decay anyway. No effect with LoRA (embeddings are frozen there); "
                    "with the mlm pseudo-task its tied output layer stays fixed too")
    fsdp: Literal["off", "full_shard", "shard_grad_op"] = field(
        "off", help="FSDP2 (through accelerate) under torchrun / accelerate launch, for XLM-R Large-class models: "
                    "full_shard shards parameters, gradients and optimizer states over the ranks; shard_grad_op "
                    "keeps parameters gathered between forward and backward (more memory, less communication)")
    fsdp_cpu_offload: bool = field(False, help="with fsdp: keep sharded parameters and optimizer states in CPU memory")
    logging_steps: int = field(50, help="log the training loss every N steps", ge=1, le=COUNT_MAX)
    group_by_length: bool = field(True, help="length-grouped batches with dynamic padding (about 1.6x faster)")
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = field(
        "sdpa", help="attention kernel: sdpa (PyTorch fused attention; families without it fall back to their own), "
                     "eager (reference; slower, more memory), flash_attention_2 (needs the flash-attn package and a "
                     "GPU with bf16/fp16)")
    tf32: bool = field(True, help="on Ampere or newer GPUs, fp32 matmuls run as TF32 (several times faster, about 1e-3 "
                                  "relative error; bf16 work is unaffected); no effect on CPU")
    pad_to_multiple_of: int | Literal["auto"] = field(
        "auto", help="training and dev batches are padded to the longest row rounded up to a multiple of this (at "
                     "most max_length; 1: to the longest row). auto depends on the device: 16 on a CUDA GPU (on the "
                     "real XNLI lengths with batch 32: 6 distinct batch shapes instead of 57, for 1.2x the real "
                     "tokens; a GPU pays a one-time set-up per new shape, and compile=graphs needs few), 1 on CPU "
                     "(where time follows tokens: 16 cost 15-19% of the throughput, bench/train_throughput.py)",
        ge=1, le=LENGTH_MAX)
    compile: bool | Literal["off", "default", "graphs"] = field(
        "off", help="torch.compile: off; default: regional compilation, each repeated encoder layer compiled once "
                    "for the fixed padded shapes (one compile per shape, reused by every layer), optimizer fused "
                    "AdamW; graphs: the same with CUDA graphs (mode reduce-overhead; needs pad_to_multiple_of > 1). "
                    "true means default. Off by default until a GPU measurement shows which is fastest "
                    "(bench/gpu_check.py measures all three)")
    dataloader_workers: int = field(0, help="DataLoader worker processes (0: batches are collated in the training "
                                            "process; each worker costs memory and start-up time; memory is pinned "
                                            "on CUDA either way)", ge=0, le=256)
    report_to: str | list[str] = field(
        "none", help="experiment trackers the Trainer reports to (TrainingArguments report_to): none, tensorboard "
                     "(offline: event files in <output>/logs/tensorboard), wandb, a list of them, or any other "
                     "integration transformers knows")

    def validate(self) -> list[str]:
        # Ranges are declared on the fields; what is left are the checks that involve two fields.
        problems = []
        if self.max_steps <= 0 and self.epochs <= 0:
            problems.append("epochs: must be positive when train.max_steps is -1")
        problems.extend(report_to_problems(self.report_to))
        if self.compile == "graphs" and self.pad_to_multiple_of == 1:
            problems.append("compile: graphs needs fixed batch shapes; set train.pad_to_multiple_of (e.g. 16) or use "
                            "train.compile=default")
        return problems


def reporting_integrations() -> list[str]:
    """The names ``report_to`` accepts: transformers' integrations (its own list, so a new one needs no change here)."""
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK  # slow: only when asked for

    return ["none", "all", *INTEGRATION_TO_CALLBACK]


def report_to_problems(report_to: str | list[str]) -> list[str]:
    """A name ``report_to`` lists that the Trainer would refuse (after the run folder was written), named with the
    choices. Whether the integration's package is installed is checked when training starts: a recipe read back on
    another machine (evaluation) must not need the trackers of the machine that trained."""
    names = [report_to] if isinstance(report_to, str) else report_to
    if not isinstance(names, list) or all(n == "none" for n in names):
        return []  # the default (no transformers import), or a wrong type the loader reports already
    known = reporting_integrations()
    unknown = [n for n in names if n not in known]
    if unknown:
        return [f"report_to: unknown integration {show(unknown[0])}; choose from {', '.join(known)}"]
    if len(names) > 1 and ("none" in names or "all" in names):
        return ["report_to: none and all stand alone; give them as a single value"]
    return []


@dataclass
class LoraConfig:
    r: int = field(8, help="adapter rank (trainable parameters grow linearly)", ge=1, le=SIZE_MAX)
    alpha: int = field(16, help="LoRA scaling numerator (scale = alpha / r)", ge=1, le=COUNT_MAX)
    dropout: float = field(0.1, help="dropout on the adapter input (1 would zero it: the adapter could not learn)",
                           ge=0, lt=1)
    target_modules: list[str] = field(default_factory=lambda: ["query", "value"],
                                      help="encoder module names to adapt (XLM-R, RoBERTa and BERT call them "
                                           "query/key/value/dense)")

    def validate(self) -> list[str]:
        problems = []
        if not self.target_modules:
            problems.append("target_modules: give at least one module name")
        return problems


@dataclass
class TinyEncoderConfig:
    family: Literal["xlm-roberta", "roberta", "bert", "modernbert", "deberta-v2"] = field(
        "xlm-roberta", help="architecture and tokenizer style (unigram SentencePiece, byte-level BPE, WordPiece; "
                            "modernbert = ModernBERT/mmBERT with byte-level BPE, deberta-v2 = mDeBERTa-v3 with "
                            "SentencePiece); per-family facts in xstilts/families.py")
    languages: list[str] = field(default_factory=lambda: ["en", "de", "es", "fr", "ru", "zh", "ar", "ja", "ko", "et",
                                                          "id", "it", "tr", "vi"],
                                 help="languages of the embedded corpus the tokenizer is trained on ([en] gives an "
                                      "English-only encoder)")
    vocab_size: int = field(4000, help="tokenizer vocabulary size (at least the characters of the corpus)", ge=16,
                            le=2**24)
    hidden_size: int = field(64, help="hidden size (a multiple of num_heads)", ge=1, le=SIZE_MAX)
    num_layers: int = field(2, help="transformer layers", ge=1, le=1024)
    num_heads: int = field(2, help="attention heads", ge=1, le=SIZE_MAX)
    intermediate_size: int = field(128, help="feed-forward size", ge=1, le=2**20)
    max_position: int = field(514, help="position embeddings (max length + 2 for RoBERTa-style models)", ge=4,
                              le=LENGTH_MAX)
    mlm_steps: int = field(0, help="masked-LM warm-up steps on the embedded corpus (0: random weights)", ge=0,
                           le=COUNT_MAX)

    def validate(self) -> list[str]:
        problems = []
        if self.num_heads > 0 and self.hidden_size % self.num_heads:
            problems.append(f"hidden_size: {self.hidden_size} is not divisible by num_heads={self.num_heads} (each "
                            "head gets hidden_size / num_heads dimensions)")
        if not self.languages:
            problems.append("languages: give at least one language of the embedded corpus")
        problems.extend(_language_problems(self, ("languages",)) or language_problems(self.languages, "languages",
                                                                                     sample=False))
        return problems


@dataclass
class Phase1Recipe:
    output: str = field(help="folder to write the encoder to")
    source: Literal["tiny", "hub", "local"] = field("tiny", help="tiny: build a small encoder offline; hub: a Hub "
                                                                   "model id; local: a folder with a pretrained model")
    model: str | None = field(None, help="Hub id (source=hub, e.g. xlm-roberta-large) or folder (source=local)")
    name: str | None = field(None, help="short name used in results and the viewer (default: from model)")
    kind: Literal["multilingual", "english", "unknown"] = field(
        "unknown", help="multilingual or English-only pretraining (labels the viewer's comparison)")
    tiny: TinyEncoderConfig = field(default_factory=TinyEncoderConfig, help="settings of source=tiny")
    stats_languages: list[str] = field(
        default_factory=lambda: ["en", "de", "es", "fr", "ru", "zh", "ar", "ja", "ko", "et", "id", "it", "tr", "vi"],
        help="languages of the embedded sample used to measure unknown-token rate and tokens per word")
    seed: int = field(42, help="seed for the tiny encoder's weights", ge=0, le=SEED_MAX)
    trust_remote_code: bool = field(False, help="allow model code from the Hub repo (off: only transformers' own code)")
    overwrite: bool = field(False, help="replace a finished run in output")
    verbose: bool = field(False, help="print the resolved recipe in full at the start (otherwise one line: the keys "
                                      "that differ from the defaults, and where the recipe is saved)")

    def validate(self) -> list[str]:
        problems = _empty_paths(self, ("output",)) + _path_problems(self, ("model",))
        problems.extend(_language_problems(self, ("stats_languages",))
                        or language_problems(self.stats_languages, "stats_languages", sample=True))
        if self.source in ("hub", "local") and not self.model:
            problems.append(f"model: required with source={self.source} (a Hub id or a folder)")
        if self.source == "tiny" and self.model:
            problems.append("model: not used with source=tiny; set source=hub or source=local, or drop model")
        return problems


@dataclass
class SamplerConfig:
    kind: Literal["uniform", "proportional", "capped", "temperature"] = field(
        "proportional", help="how often each task is drawn (one task per optimizer step)")
    cap: int | None = field(None, help="per-task example cap for capped/temperature (None: no cap)", ge=1,
                            le=COUNT_MAX)
    temperature: float = field(2.0, help="temperature T of the temperature sampler", gt=0)

    def validate(self) -> list[str]:
        problems = []
        if self.kind == "capped" and not self.cap:
            problems.append("cap: required with sampler.kind=capped")
        return problems


@dataclass
class MlmConfig:
    weight: float = field(0.2, help="share of optimizer steps drawn for MLM; the other tasks share the rest as "
                                    "sampler.kind says", gt=0, lt=1)
    files: list[str] | None = field(None, help="local UTF-8 text files, one example per line (offline); "
                                               "replaces the Hub dataset")
    dataset: str = field("wikimedia/wikipedia", help="Hub text dataset, streamed (needs Hub access: not reachable "
                                                     "offline, use files there)")
    configs: list[str] = field(
        default_factory=lambda: [f"20231101.{lang}" for lang in ("en", "de", "es", "fr", "ru", "zh", "ar", "hi", "sw")],
        help="configs of the dataset, concatenated (Wikipedia: one per language, 20231101.<lang>)")
    split: str = field("train", help="split of the dataset")
    text_column: str = field("text", help="the column holding the text")
    max_lines: int = field(20000, help="lines (articles) read per file or config", ge=1, le=COUNT_MAX)
    dev_lines: int = field(500, help="lines held out for the dev masked-token accuracy (at most a fifth)", ge=1,
                           le=COUNT_MAX)
    mask_probability: float = field(0.15, help="share of tokens masked (BERT: 80% <mask>, 10% random, 10% kept)",
                                    gt=0, lt=1)

    def validate(self) -> list[str]:
        problems = _path_problems(self, ("files",))
        if self.files is not None and not self.files:
            problems.append("files: give at least one file, or leave it unset to read the Hub dataset")
        return problems


@dataclass
class QaConfig:
    doc_stride: int | None = field(
        None, help="span QA: step in tokens between the starts of consecutive windows over a long context (BERT, "
                   "XTREME and jiant meaning; a step beyond a window's context room gives windows without overlap); "
                   "None: min(128, train.max_length // 3), 128 at max_length 384", ge=1, le=LENGTH_MAX)
    n_best_size: int = field(20, help="span QA: start and end candidates paired per window, and spans kept per "
                                      "example", ge=1, le=LENGTH_MAX)
    max_answer_length: int = field(30, help="span QA: longest predicted answer, in tokens", ge=1, le=LENGTH_MAX)

    def stride(self, max_length: int) -> int:
        """The window step at ``max_length`` (``doc_stride``, else its default)."""
        return self.doc_stride if self.doc_stride is not None else min(128, max_length // 3)


def _trainable_problems(task: Task, phase: str, key: str, train: TrainConfig) -> list[str]:
    """Why ``task`` cannot be trained in ``phase`` with these settings (its type's ``trained_in`` and ``min_length``);
    ``key`` names the recipe key that lists it."""
    trained_in, min_length = task.spec.trained_in, task.spec.min_length
    if not trained_in:
        return [f"{key}: {task.name} has no training (its encoder is evaluated as it is); evaluate a phase-1 or "
                f"phase-2 folder with evaluate_xtreme.py task={task.name}"]
    if phase not in trained_in:
        where = " or ".join(f"a {p.replace('phase', 'phase-')} recipe" for p in trained_in)
        return [f"{key}: {task.name} cannot be trained in {phase.replace('phase', 'phase ')}; list it in {where}"]
    if train.max_length < min_length:
        return [f"train.max_length: {train.max_length} is too short for {task.name}: its windows need at least "
                f"{min_length} tokens (a question of up to 64 tokens plus context); 384 is standard"]
    return []


@dataclass
class Phase2Recipe:
    input: str = field(help="a phase-1 folder (the pretrained encoder)")
    output: str = field(help="folder for the intermediate-trained encoder")
    tasks: list[str] = field(help="intermediate task(s); several = multi-task with one head per task")
    data: DataConfig = field(default_factory=DataConfig, help="where the data comes from")
    train: TrainConfig = field(default_factory=TrainConfig, help="optimisation and evaluation settings")
    sampler: SamplerConfig = field(default_factory=SamplerConfig, help="multi-task: which task each step trains")
    lora: LoraConfig | None = field(None, help="train LoRA adapters instead of all weights (heads always fully)")
    overwrite: bool = field(False, help="replace a finished run in output")
    mlm: MlmConfig = field(default_factory=MlmConfig, help="settings of the mlm pseudo-task (continued masked-LM; "
                                                           "used when tasks lists mlm)")
    qa: QaConfig = field(default_factory=QaConfig, help="windows and answer decoding of span QA tasks")
    verbose: bool = field(False, help="print the resolved recipe in full at the start (otherwise one line: the keys "
                                      "that differ from the defaults, and where the recipe is saved)")

    def validate(self) -> list[str]:
        problems = _empty_paths(self, ("input", "output"))
        # Settings equal to the defaults change nothing, so only others are "given" (a stored recipe.yaml lists them
        # all, and must load back).
        if self.mlm != MlmConfig() and "mlm" not in self.tasks:
            problems.append("mlm: settings given but tasks does not list mlm; add it, e.g. tasks=[mnli,mlm]")
        problems.extend(_qa_problems(self.qa, self.train))
        if not self.tasks:
            problems.append("tasks: give at least one intermediate task")
        for t in self.tasks:
            if t not in TASKS:
                problems.append(f"tasks: unknown task {show(t)}; known: {', '.join(sorted(TASKS))}")
        if len(set(self.tasks)) != len(self.tasks):
            problems.append("tasks: a task is listed twice")
        for t in dict.fromkeys(t for t in self.tasks if t in TASKS):
            problems.extend(_trainable_problems(TASKS[t], "phase2", "tasks", self.train))
        return problems


@dataclass
class Phase3Recipe:
    input: str = field(help="a phase-2 folder, or a phase-1 folder for the no-intermediate baseline")
    output: str = field(help="folder for the target-task model")
    task: str = field(help="target task (trained on its English data, evaluated zero-shot)")
    data: DataConfig = field(default_factory=DataConfig, help="where the data comes from")
    train: TrainConfig = field(default_factory=TrainConfig, help="optimisation and evaluation settings")
    lora: LoraConfig | None = field(None, help="train LoRA adapters instead of all weights (heads always fully)")
    adapter_handover: Literal["merge", "continue"] = field(
        "merge", help="when the input has a LoRA adapter: merge it into the encoder first, or keep training it")
    overwrite: bool = field(False, help="replace a finished run in output")
    qa: QaConfig = field(default_factory=QaConfig, help="windows and answer decoding of span QA tasks")
    push_to_hub: bool = field(False, help="after the run finishes, upload final/ (weights, tokenizer, model card) to "
                                          "the Hub repo hub_model_id (created if absent; needs a login)")
    hub_model_id: str | None = field(None, help="Hub repo owner/name for push_to_hub (also shown in the model card's "
                                                "loading example)")
    verbose: bool = field(False, help="print the resolved recipe in full at the start (otherwise one line: the keys "
                                      "that differ from the defaults, and where the recipe is saved)")

    def validate(self) -> list[str]:
        # Every independent check runs; only those that need a known task are skipped without one.
        problems = _empty_paths(self, ("input", "output")) + _qa_problems(self.qa, self.train)
        if self.push_to_hub and self.hub_model_id is None:
            problems.append("hub_model_id: push_to_hub=true needs the Hub repo to upload to (hub_model_id=owner/name)")
        elif self.hub_model_id is not None and not HUB_MODEL_ID.fullmatch(self.hub_model_id):
            problems.append(f"hub_model_id: {show(self.hub_model_id)} is not a Hub repo id of the form owner/name")
        target = TASKS.get(self.task)
        if target is None:
            problems.append(f"task: unknown task {show(self.task)}; known: {', '.join(sorted(TASKS))}")
            return problems
        trainable = _trainable_problems(target, "phase3", "task", self.train)
        problems.extend(trainable)
        if trainable and "phase3" not in target.spec.trained_in:
            return problems
        source = TASKS.get(self.data.train_task or self.task)
        if source is not None and source.task_type != target.task_type:
            problems.append(f"data.train_task: {source.name} is a {source.task_type} task; {self.task} needs "
                            f"{target.task_type}")
        return problems


@dataclass
class RetrievalConfig:
    layer: int | None = field(None, help="hidden_states index to embed from (None: the middle layer, "
                                         "num_layers // 2 + 2 capped at num_layers, i.e. 14 of 24 for XLM-R Large as "
                                         "jiant and XTREME use, 8 of 12 for base models)", ge=0, le=1024)
    pooling: Literal["mean", "cls"] = field("mean", help="mean over all tokens incl. special tokens (XTREME), or CLS")
    also_last_layer: bool = field(
        False, help="score the last layer too, from the same forward pass (no extra cost): each language gains "
                    "<metric>_last_layer (Tatoeba accuracy, BUCC f1) beside the score at retrieval.layer; the paper "
                    "layer stays the task score")
    max_length: int = field(512, help="max tokens per sentence embedded for BUCC and Tatoeba (longer sentences are "
                                      "truncated); independent of train.max_length and of the evaluation recipe's "
                                      "max_length", ge=1, le=LENGTH_MAX)
    batch_size: int = field(64, help="sentences per embedding batch", ge=1, le=BATCH_MAX)
    block_size: int = field(4096, help="query block of the similarity search (memory = block x n)", ge=1,
                            le=COUNT_MAX)
    bucc_data: str | None = field(None, help="folder with the original BUCC 2018 files (<lang>-en.{sample,training}.*)")
    lareqa_data: str | None = field(None, help="folder with the original XQuAD-R files <lang>.json (their "
                                               "sentence_breaks); without it LAReQA splits sentences itself and its "
                                               "score is marked not comparable")

    def validate(self) -> list[str]:
        return _path_problems(self, ("bucc_data", "lareqa_data"))


@dataclass
class EvalRecipe:
    input: str = field(help="a phase-3 folder (or phase-1/2 for retrieval tasks)")
    output: str = field(help="folder to write <task>.json into")
    task: str | None = field(None, help="task to evaluate (default: the phase-3 folder's task)")
    split: Literal["test", "validation"] = field("test", help="evaluation split (test is what XTREME reports)")
    languages: list[str] | None = field(None, help="subset of the task's languages (default: all)")
    benchmark: Literal["xtreme", "xtreme_r"] = field(
        "xtreme", help="which benchmark's language set (XTREME-R extends UD-POS, PAN-X, XQuAD and Tatoeba)")
    data: DataConfig = field(default_factory=DataConfig, help="where the data comes from")
    batch_size: int | Literal["auto"] = field(
        "auto", help="examples per evaluation batch; auto: 64 on CPU (as before), on a CUDA GPU as many as fit 32,768 "
                     "tokens at max_length (choices of multiple choice counted), at least 64 and at most 256: 256 "
                     "at 128 tokens, 85 for 384-token QA windows (inference keeps no activations for a backward "
                     "pass, so a larger batch costs little memory and saves launches)", ge=1, le=BATCH_MAX)
    pad_to_multiple_of: int | Literal["auto"] = field(
        "auto", help="evaluation batches (length-sorted) are padded to the longest row rounded up to a multiple of "
                     "this (at most max_length; 1: to the longest row); auto: 8 on a CUDA GPU (with its 256-row "
                     "batches: 6 distinct shapes for 1.18x the real tokens on the XNLI lengths, so each shape's "
                     "one-time set-up is paid a few times, not once per length), 1 on CPU",
        ge=1, le=LENGTH_MAX)
    max_length: int | None = field(None, help="max tokens per evaluated example of a phase-3 model (classification, "
                                              "tagging, span QA windows, Mewsli-X and LAReQA texts; longer inputs are "
                                              "truncated); None: the phase-3 folder's train.max_length; BUCC and "
                                              "Tatoeba use retrieval.max_length instead", ge=1, le=LENGTH_MAX)
    precision: Literal["auto", "fp32", "bf16"] = field(
        "auto", help="auto: bf16 autocast of the encoder on a CUDA GPU that supports it (tensor-core speed, logits "
                     "within about 1e-2; heads and retrieval search stay fp32), fp32 on CPU (CPU numbers unchanged); "
                     "bf16: autocast on CPU too; fp32: full precision everywhere")
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig, help="settings of BUCC and Tatoeba")
    export_predictions: str | None = field(None, help="also write predictions in the official submission layout here")
    overwrite: bool = field(False, help="replace an existing <task>.json")
    verbose: bool = field(False, help="print the resolved recipe in full at the start (otherwise one line: the keys "
                                      "that differ from the defaults, and where the recipe is saved)")

    def validate(self) -> list[str]:
        return (_empty_paths(self, ("input", "output")) + _path_problems(self, ("export_predictions",))
                + _language_problems(self, ("languages",)))


INHERITED_DATA_KEYS = ("source", "path")  # where the data comes from; sample sizes are the evaluation's own


def inherit_data_source(raw: dict, trained: object) -> tuple[dict, str | None]:
    """An evaluation recipe's raw mapping with ``data.source``/``data.path`` taken from the recipe that trained the
    evaluated model, unless the evaluation sets either itself: a model trained offline on the embedded or an XTREME
    download is evaluated on the same source without repeating it (and ``python evaluate_xtreme.py input=RUN
    output=DIR`` works as printed). Returns the mapping and a log line saying what was inherited (None: nothing).
    """
    given = raw.get("data")
    trained_data = getattr(trained, "data", None)
    if trained_data is None or (isinstance(given, dict) and set(INHERITED_DATA_KEYS) & set(given)) or (
            given is not None and not isinstance(given, dict)):
        return raw, None  # set by the user (or malformed: the recipe loader names it), or nothing to inherit
    values = {k: getattr(trained_data, k) for k in INHERITED_DATA_KEYS if getattr(trained_data, k) is not None}
    if values.get("source", "hub") == "hub" and "path" not in values:
        return raw, None  # the default already
    note = ("data: " + " ".join(f"{k}={v}" for k, v in values.items())
            + " from the evaluated run's recipe (set data.source= to evaluate on other data)")
    return {**raw, "data": {**(given or {}), **values}}, note


def _qa_problems(qa: QaConfig, train: TrainConfig) -> list[str]:
    """Span-QA settings that do not fit the window length (messages name the key from the recipe's top level)."""
    problems = []
    stride, length = getattr(qa, "doc_stride", None), getattr(train, "max_length", None)
    if not all(isinstance(v, int) for v in (stride, length)):
        return problems  # unset, or a wrong type the loader reports already: the other checks still run
    if qa.doc_stride >= train.max_length:
        problems.append(f"qa.doc_stride: {qa.doc_stride} is not less than train.max_length={train.max_length}; it is "
                        "the step between windows of at most train.max_length tokens (None: min(128, "
                        "train.max_length // 3))")
    return problems


def _empty_paths(recipe: object, names: tuple[str, ...]) -> list[str]:
    """Required paths: not empty (that would mean the current folder: a run would write into, or read from,
    wherever it was started) and of a length the file system accepts."""
    problems = [f"{name}: must not be empty (a folder path)" for name in names if getattr(recipe, name) == ""]
    return problems + _path_problems(recipe, names)


PATH_MAX, NAME_MAX = 4096, 255  # bytes, as Linux file systems allow


def _path_problems(recipe: object, names: tuple[str, ...]) -> list[str]:
    """Paths the operating system would refuse with "File name too long" (an OSError deep in a run), and paths that
    start with ``~`` (see ``tilde_problem``)."""
    problems = []
    for name in names:
        value = getattr(recipe, name)
        for path in value if isinstance(value, list) else [value]:
            if not isinstance(path, str):
                continue
            if tilde := tilde_problem(path):
                problems.append(f"{name}: {tilde}")
                break
            if len(path.encode("utf-8", "replace")) > PATH_MAX or any(
                    len(part.encode("utf-8", "replace")) > NAME_MAX for part in path.split("/")):
                problems.append(f"{name}: {show(path)} is longer than file systems allow ({NAME_MAX} bytes per "
                                f"name, {PATH_MAX} in all)")
                break
    return problems


def tilde_problem(path: str) -> str | None:
    """Why a recipe path starting with ``~`` is refused (None: it does not).

    Recipes take every path literally: YAML never expands ``~``, nor does the shell in ``data.path=~/x``. Expanding it
    here would have to happen in every reader of every path (and the recorded recipe would name another path than
    the one typed), so it is refused once, at validation, with the path it probably meant.
    """
    if not path.startswith("~"):
        return None
    return (f"{show(path)} starts with ~, which recipes do not expand (a folder literally named ~ would be used); "
            f"write the full path, e.g. {os.path.expanduser(path)}")


HUB_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")  # owner/name
LANGUAGE_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")


def _language_problems(recipe: object, names: tuple[str, ...]) -> list[str]:
    """Language lists hold short codes (en, zh, ...): anything else is a typo, reported before any work starts."""
    problems = []
    for name in names:
        value = getattr(recipe, name)
        if not isinstance(value, list):
            continue
        bad = [v for v in value if isinstance(v, str) and not LANGUAGE_CODE.fullmatch(v)]
        if bad:
            problems.append(f"{name}: {show(bad[0])} is not a language code (like en or zh)")
        elif len(value) > 200:
            problems.append(f"{name}: {len(value)} languages; no task has more than a few dozen")
    return problems
