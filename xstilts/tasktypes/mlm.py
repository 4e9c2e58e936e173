"""Continued multilingual masked-LM during intermediate training (the paper's alternative (i)).

``mlm`` is a pseudo-task listed among phase 2's ``tasks``: its examples are text lines from local files
(``mlm.files``) or a Hub text dataset (``mlm.dataset`` / ``mlm.configs``, a ``text`` column), its head is a masked-LM
head whose output layer is tied to the encoder's input embeddings (the phase-1 checkpoint's MLM head weights are
loaded when the folder has them, else the head starts fresh), and the multi-task sampler draws it for a fixed share
of the optimizer steps (``mlm.weight``), the other tasks sharing the rest as ``sampler.kind`` says.

Masking is BERT's (15% of the non-special tokens; of those 80% ``<mask>``, 10% a random token, 10% unchanged), drawn
once per line when the data is encoded (static masking, seeded), with at least one masked token per line so no batch
is without a target. Dev metric: accuracy of the masked tokens of held-out lines (``mlm_accuracy``).

The default Hub source, ``wikimedia/wikipedia`` (configs ``20231101.<lang>``), is read by streaming the first
``mlm.max_lines`` articles of each config; it needs Hub access (not reachable offline): offline runs use
``mlm.files``.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xstilts.config import EvalRecipe, MlmConfig
from xstilts.errors import DataError
from xstilts.log import log
from xstilts.reliability import LanguageFigures
from xstilts.tasks import Task
from xstilts.tasktypes.base import Batch, DevSet, Feature, unsupported
from xstilts.tasktypes.common import Encoded, EvalInputs, Evaluated, model_inputs
from xstilts.typespecs import HEADS_WEIGHTS, HeadSpec
from xstilts.typespecs import IGNORED, SPECS


class MLMHead(nn.Module):
    """RoBERTa/BERT's masked-LM head: dense, GELU, LayerNorm, then the tied embedding matrix plus a bias."""

    def __init__(self, hidden: int, vocab_size: int, eps: float = 1e-5):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, hidden: torch.Tensor, embedding_weight: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(nn.functional.gelu(self.dense(hidden)))
        return x @ embedding_weight.t() + self.bias


def mlm_forward(head: MLMHead, sequence: torch.Tensor, embeddings: torch.Tensor, labels: torch.Tensor | None,
                mlm_labels: torch.Tensor | None) -> dict[str, Any]:
    """Loss (with ``labels``) and predicted token ids at the masked positions (``logits``: batch x tokens x 1, -100
    where nothing was masked). Vocabulary logits are computed for masked positions only: all positions would take
    batch x length x vocabulary floats (250k for XLM-R)."""
    target = labels if labels is not None else mlm_labels
    if target is None:
        raise ValueError("an mlm batch needs labels (training) or mlm_labels (dev): the masked positions")
    masked = target != IGNORED
    logits = head(sequence[masked], embeddings)
    out: dict[str, Any] = {}
    if labels is not None:
        out["loss"] = nn.functional.cross_entropy(logits.float(), target[masked])
    pred = torch.full(target.shape, IGNORED, dtype=torch.float32, device=target.device)
    pred[masked] = logits.argmax(-1).float()
    out["logits"] = pred.unsqueeze(-1)
    return out


# ---- data -----------------------------------------------------------------------------------------------------------
def default_text_loader(repo: str, config: str | None, split: str, column: str, n: int) -> list[str]:
    """The first ``n`` values of ``column`` of a Hub dataset, streamed (no full download of e.g. Wikipedia)."""
    import datasets

    ds = datasets.load_dataset(repo, config, split=split, streaming=True)
    return [str(row[column]) for row in ds.take(n)]


text_loader: Callable[..., list[str]] = default_text_loader  # replaced in tests


def read_lines(cfg: Any) -> list[str]:
    """Non-empty text lines from ``cfg.files`` (each file's first ``cfg.max_lines``) or the Hub configs.

    Raises:
        DataError: a missing or undecodable file, an unreachable dataset or a missing text column, or no text.
    """
    lines: list[str] = []
    if cfg.files:
        for name in cfg.files:
            path = Path(name)
            if not path.is_file():
                raise DataError(f"mlm.files: {path} not found; give UTF-8 text files, one example per line")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"mlm.files: {path} is not UTF-8 text ({exc})") from None
            lines.extend([ln.strip() for ln in text.splitlines() if ln.strip()][: cfg.max_lines])
        where = f"mlm.files {cfg.files}"
    else:
        for config in cfg.configs or [None]:
            try:
                got = text_loader(cfg.dataset, config, cfg.split, cfg.text_column, cfg.max_lines)
            except KeyError as exc:
                raise DataError(f"mlm: dataset {cfg.dataset} (config {config}) has no column {exc}; set "
                                "mlm.text_column") from None
            except Exception as exc:  # noqa: BLE001 - any library failure becomes a DataError naming the fix
                raise DataError(f"mlm: could not read dataset {cfg.dataset} (config {config}, split {cfg.split}): "
                                f"{type(exc).__name__}: {exc}. Offline, give local text files with "
                                "mlm.files=[a.txt,b.txt]") from None
            lines.extend(s.strip() for s in got if s and s.strip())
        where = f"dataset {cfg.dataset} ({', '.join(str(c) for c in cfg.configs)})"
    if len(lines) < 2:
        raise DataError(f"mlm: {where} gave {len(lines)} non-empty line(s); at least 2 are needed (train and dev)")
    return lines


def mask_line(ids: list[int], special: list[int], mask_id: int, vocab_size: int, probability: float,
              rng: random.Random) -> tuple[list[int], list[int]]:
    """BERT masking of one token sequence: returns (input ids, labels with -100 where not masked).

    Args:
        special: 1 where the token is special (never masked).
    """
    candidates = [i for i, s in enumerate(special) if not s]
    chosen = [i for i in candidates if rng.random() < probability]
    if not chosen and candidates:  # every line contributes a target
        chosen = [rng.choice(candidates)]
    inputs, labels = list(ids), [IGNORED] * len(ids)
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        if r < 0.8:
            inputs[i] = mask_id
        elif r < 0.9:
            inputs[i] = rng.randrange(vocab_size)
    return inputs, labels


def encode_lines(lines: list[str], tokenizer: Any, max_length: int, task_id: int, seed: int, probability: float,
           train: bool) -> Encoded:
    """Masked features of text lines (one per line, truncated to ``max_length``); dev labels go to ``mlm_labels``
    so prediction keeps them (the evaluator strips ``labels``)."""
    if tokenizer.mask_token_id is None:
        raise DataError(f"the tokenizer ({type(tokenizer).__name__}) has no mask token: MLM needs a masked-LM encoder")
    enc = tokenizer(lines, truncation=True, max_length=max_length, return_special_tokens_mask=True)
    rng = random.Random(seed)
    feats = []
    for i in range(len(lines)):
        inputs, labels = mask_line(enc["input_ids"][i], enc["special_tokens_mask"][i], tokenizer.mask_token_id,
                                   len(tokenizer), probability, rng)
        f = {"input_ids": inputs, "attention_mask": enc["attention_mask"][i]}
        if "token_type_ids" in enc:
            f["token_type_ids"] = enc["token_type_ids"][i]
        f["labels" if train else "mlm_labels"] = labels
        f["task_id"] = task_id
        feats.append(f)
    return Encoded(feats)


# ---- model ----------------------------------------------------------------------------------------------------------
_HEAD_KEYS = {  # our MLMHead parameter -> checkpoint names (XLM-R/RoBERTa, then BERT)
    "dense.weight": ("lm_head.dense.weight", "cls.predictions.transform.dense.weight"),
    "dense.bias": ("lm_head.dense.bias", "cls.predictions.transform.dense.bias"),
    "layer_norm.weight": ("lm_head.layer_norm.weight", "cls.predictions.transform.LayerNorm.weight"),
    "layer_norm.bias": ("lm_head.layer_norm.bias", "cls.predictions.transform.LayerNorm.bias"),
    "bias": ("lm_head.bias", "cls.predictions.bias"),
}


def vocab_size(encoder: nn.Module) -> int:
    return int(encoder.get_input_embeddings().weight.shape[0])


def load_head_weights(model: nn.Module, task: str, folder: Path) -> str:
    """Loads the MLM head of ``model.heads[task]`` from ``folder``: an earlier phase-2 run's ``mlm`` head, else the
    phase-1 checkpoint's masked-LM head; returns a log line saying which (or that the head starts fresh)."""
    from safetensors import safe_open

    head = model.heads[task]
    eps = getattr(model.config, "layer_norm_eps", None)
    if eps:
        head.layer_norm.eps = eps
    heads_file = folder / HEADS_WEIGHTS
    if heads_file.is_file():
        with safe_open(str(heads_file), "pt") as f:
            state = {k[len(task) + 1:]: f.get_tensor(k) for k in f.keys() if k.startswith(task + ".")}
        if state and set(state) == set(head.state_dict()):
            head.load_state_dict(state)
            return f"MLM head weights from {heads_file} (the {task} head of an earlier phase 2)"
    files = sorted(folder.glob("model*.safetensors"))
    state = {}
    for path in files:
        with safe_open(str(path), "pt") as f:
            names = set(f.keys())
            for ours, theirs in _HEAD_KEYS.items():
                for name in theirs:
                    if name in names:
                        state[ours] = f.get_tensor(name)
    if set(state) == set(_HEAD_KEYS) and state["bias"].shape == head.bias.shape:
        head.load_state_dict(state)
        return f"MLM head weights from the phase-1 checkpoint {folder}"
    return f"fresh MLM head (no masked-LM head weights in {folder})"


class Mlm:
    """The mlm pseudo-task with its ``mlm`` settings (text source, masking, share of the steps) bound: those of the
    phase-2 recipe. Trained in phase 2 and selected on its dev accuracy; never evaluated (``spec.evaluated_from`` is
    empty), and transformers' export does not apply (a phase-2 folder)."""

    spec = SPECS["mlm"]

    def __init__(self, task: Task, settings: MlmConfig | None = None):
        self.task = task
        self.settings = settings or MlmConfig()

    # ---- the model ----
    def head_spec(self, encoder: nn.Module) -> HeadSpec:
        """``num_labels`` = the vocabulary size; the output layer is tied to the encoder's input embeddings."""
        return HeadSpec(self.task.name, self.task.task_type, vocab_size(encoder))

    @staticmethod
    def make_head(spec: HeadSpec, hidden: int, dropout: float) -> nn.Module:
        return MLMHead(hidden, spec.num_labels)

    def init_head(self, model: nn.Module, folder: Path) -> str | None:
        """The MLM head's weights from ``folder`` where it has them (see :func:`load_head_weights`)."""
        return load_head_weights(model, self.task.name, folder)

    @staticmethod
    def forward(encoder: nn.Module, head: nn.Module, batch: Batch) -> dict[str, Any]:
        sequence = encoder(**model_inputs(batch)).last_hidden_state
        return mlm_forward(head, sequence, encoder.get_input_embeddings().weight, batch.get("labels"),
                           batch.get("mlm_labels"))

    @staticmethod
    def hf_weights(head_state: dict[str, torch.Tensor], hf_keys: set[str], prefix: str
                   ) -> dict[str, torch.Tensor] | None:
        unsupported(SPECS["mlm"], "transformers export (a phase-3 folder's)")

    @staticmethod
    def hf_logits(output: Any) -> torch.Tensor:
        unsupported(SPECS["mlm"], "transformers export (a phase-3 folder's)")

    # ---- training ----
    def training_data(self, task_id: int, recipe: Any, tokenizer: Any) -> tuple[list[Feature], DevSet]:
        """Training features and the dev set of the mlm pseudo-task: lines shuffled (seeded), the first
        ``mlm.dev_lines`` held out for the dev masked-token accuracy (``recipe``: its ``train`` section)."""
        cfg, train_cfg = self.settings, recipe.train
        lines = read_lines(cfg)
        random.Random(train_cfg.seed).shuffle(lines)
        n_dev = min(cfg.dev_lines, max(1, len(lines) // 5))
        dev_lines, train_lines = lines[:n_dev], lines[n_dev:]
        train_enc = encode_lines(train_lines, tokenizer, train_cfg.max_length, task_id, train_cfg.seed,
                                 cfg.mask_probability, train=True)
        dev_enc = encode_lines(dev_lines, tokenizer, train_cfg.max_length, task_id, train_cfg.seed + 1,
                               cfg.mask_probability, train=False)
        log(f"{self.task.name}: {len(train_lines)} training lines, {len(dev_lines)} held-out dev lines "
            f"(masking {cfg.mask_probability:.0%}), drawn for {cfg.weight:.0%} of the steps")
        return train_enc.features, DevSet(self, [{"text": s} for s in dev_lines], dev_enc)

    def sampling_share(self) -> float | None:
        """A fixed share of the optimizer steps (``mlm.weight``), whatever its number of lines."""
        return self.settings.weight

    def encode(self, rows: list[dict], tokenizer: Any, max_length: int, task_id: int = 0,
               train: bool = True) -> Encoded:
        """None of rows: :meth:`training_data` masks text lines with the training seed (``encode_lines``)."""
        unsupported(self.spec, "encoding of rows (training_data masks text lines itself)")

    # ---- dev steps ----
    def predict(self, rows: list[dict], encoded: Encoded, logits: list[Any]) -> list[tuple[int, int]]:
        """Per dev line: (correctly predicted masked tokens, masked tokens)."""
        out = []
        for f, lg in zip(encoded.features, logits, strict=True):
            pred = [int(x) for x in lg.reshape(-1)]
            pairs = [(p, g) for p, g in zip(pred, f["mlm_labels"], strict=True) if g != IGNORED]
            out.append((sum(p == g for p, g in pairs), len(pairs)))
        return out

    def score(self, rows: list[dict], predictions: list[tuple[int, int]], lang: str) -> dict[str, float]:
        """Masked-token accuracy (percent), the number of masked tokens, and ``n`` (dev lines)."""
        correct = sum(c for c, _ in predictions)
        total = sum(n for _, n in predictions)
        return {"accuracy": 100.0 * correct / max(total, 1), "masked_tokens": float(total), "n": float(len(rows))}

    def reliability(self, rows: list[dict], predictions: list[Any], lang: str) -> LanguageFigures:
        """None: not scored as a benchmark task."""
        return LanguageFigures()

    # ---- never evaluated ----
    def load_rows(self, cfg: EvalRecipe, lang: str, limit: int | None, notes: list[str]) -> Any:
        unsupported(self.spec, "evaluation")

    def evaluate(self, inputs: EvalInputs, rows: dict[str, Any]) -> Evaluated:
        unsupported(self.spec, "evaluation")

    def export_payload(self, rows: Any, predictions: Any) -> Any:
        unsupported(self.spec, "evaluation")
