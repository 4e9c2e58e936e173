"""Phase 1: pretrained encoders in, self-contained encoder folders out, with tokenizer statistics per language.

Three origins: a Hub id, a local folder (both re-saved as safetensors with their tokenizer), or a tiny encoder built
from a config with a tokenizer trained on the fly on the embedded multilingual corpus (no download at all). A tiny
encoder trained on English text only is the offline stand-in for an English-only model such as RoBERTa.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import torch

from xstilts.config import TinyEncoderConfig, available_corpus_languages, embedded_path
from xstilts.families import CONTRASTIVE_KEY, TINY_FAMILIES, is_contrastive
from xstilts.errors import ModelFolderError
from xstilts.modelfolder import check_model_folder
from xstilts.recipe import RecipeError, show

SPECIALS_XLMR = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
# ids 0-4, in this order, for the tiny families using them
SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _bert_template(tok: Any) -> Any:
    """``[CLS] A [SEP]`` and ``[CLS] A [SEP] B [SEP]`` (second segment type 1), as BERT-style tokenizers do."""
    from tokenizers import processors

    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])


def corpus_lines(lang: str, sample: bool = False) -> list[str]:
    """Lines of the embedded corpus (``sample``: the held-out lines used for statistics)."""
    name = f"sample-{lang}.txt" if sample else f"{lang}.txt"
    path = embedded_path(f"corpus/{name}")
    if not path.is_file():
        raise FileNotFoundError(f"no embedded corpus for language {lang!r} ({path.name}); languages shipped: "
                                f"{', '.join(sorted(available_corpus_languages()))}")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_source(source: str, model: str | None, trust_remote_code: bool = False) -> None:
    """Phase-1 input check, before the output folder is touched: a local model must be a complete folder.

    Raises:
        ModelFolderError: the folder is absent, holds only pickled weights, or has an unreadable config, weights or
            tokenizer (see ``check_model_folder``).
    """
    if model is None:
        return
    try:
        local = source == "local" or Path(model).is_dir()  # a Hub id may also be a folder path
    except OSError:  # a name the file system refuses (too long) cannot be a folder
        local = source == "local"
    if local:
        check_model_folder(model, "phase-1 model folder",
                           fix="pass model= the folder of a pretrained model (config.json, model.safetensors, "
                               "tokenizer files)", trust_remote_code=trust_remote_code)


def train_tiny_tokenizer(cfg: TinyEncoderConfig) -> Any:
    """A fast tokenizer of the configured family trained on the embedded corpus of ``cfg.languages``."""
    lines = [line for lang in cfg.languages for line in corpus_lines(lang)]
    return build_tokenizer(cfg.family, lines, cfg.vocab_size, model_max_length=cfg.max_position - 2)


def _train(tok: Any, lines: list[str], vocab_size: int, **kwargs: Any) -> None:
    """Trains a ``tokenizers`` tokenizer; a vocabulary too small for the text is named as a recipe problem."""
    try:
        tok.train_from_iterator(lines, vocab_size=vocab_size, show_progress=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- the Rust trainer raises a bare Exception; nothing else runs here
        raise RecipeError([f"tiny.vocab_size: {vocab_size} is too small for the tokenizer's training text "
                           f"({' '.join(str(exc).split())[:200]}); raise it (a unigram vocabulary needs one entry "
                           "per distinct character, thousands for Chinese and Japanese)"], "tiny encoder") from None


# The Rust unigram trainer is not deterministic between processes (its hash maps are seeded at random): the characters
# it re-adds after EM pruned them get scores min_score + k * 1e-4 in hash order, and EM sums in hash order leave the
# last digits of every score (up to about 1e-10) to chance. So the trained vocabulary is made canonical.
UNIGRAM_PENALTY_STEP = 1e-4  # tokenizers' UnigramTrainer::finalize, min_score_penalty_delta
UNIGRAM_DECIMALS = 6         # far above the summation noise, far below any score difference that matters


def canonical_unigram(vocab: list[tuple[str, float]], n_special: int) -> list[tuple[str, float]]:
    """The trained unigram vocabulary in a form that does not depend on the trainer's hash order.

    The special tokens keep their places (their ids are fixed). Of the others, the re-added characters (single
    characters whose scores sit on the trainer's penalty grid ``min + k * 1e-4``, k = 0, 1, ... without a gap) get
    the grid's scores in the order of the characters instead of hash order; every score is rounded to
    ``UNIGRAM_DECIMALS`` decimals, and pieces are ordered by score (highest first), then by the piece.
    """
    specials, body = list(vocab[:n_special]), [(p, float(s)) for p, s in vocab[n_special:]]
    if not body:
        return specials
    low = min(s for _, s in body)
    slots: dict[int, list[str]] = {}
    for piece, score in body:
        k = (score - low) / UNIGRAM_PENALTY_STEP
        if len(piece) == 1 and abs(k - round(k)) < 1e-4:
            slots.setdefault(round(k), []).append(piece)
    readded: list[str] = []
    k = 0
    while k in slots:  # the grid runs without a gap from the lowest score; a char beyond a gap was trained
        readded.extend(slots[k])
        k += 1
    base = round(low, UNIGRAM_DECIMALS)
    grid = sorted((base + k * UNIGRAM_PENALTY_STEP for k in range(len(readded))), reverse=True)
    rescored = dict(zip(sorted(readded), grid, strict=True))
    out = [(p, round(rescored.get(p, s), UNIGRAM_DECIMALS)) for p, s in body]
    return specials + sorted(out, key=lambda ps: (-ps[1], ps[0]))


def _deterministic_unigram(tokenizer: Any, n_special: int) -> Any:
    """A trained ``tokenizers`` Unigram model rebuilt from its canonical vocabulary (``canonical_unigram``)."""
    import json

    from tokenizers import models

    model = json.loads(tokenizer.to_str())["model"]
    vocab = canonical_unigram([(p, s) for p, s in model["vocab"]], n_special)
    return models.Unigram(vocab, model["unk_id"], model.get("byte_fallback", False))


def build_tokenizer(family: str, lines: list[str], vocab_size: int, model_max_length: int | None = None) -> Any:
    """A fast tokenizer trained on ``lines`` in the style of ``family``, with its pair template.

    xlm-roberta: SentencePiece unigram, ``<s> A </s></s> B </s>`` (unk id 3 as the XLM-R classes expect); roberta:
    byte-level BPE with a prefix space (so pre-split words work); bert: lower-cased WordPiece; modernbert: byte-level
    BPE with ``[CLS] A [SEP] B [SEP]`` and no token_type_ids; deberta-v2: SentencePiece unigram with BERT's specials.
    Saved through ``PreTrainedTokenizerFast(tokenizer_object=...)`` so reloading keeps the trained normaliser and
    pre-tokenizer.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    if family == "xlm-roberta":
        from tokenizers.implementations import SentencePieceUnigramTokenizer

        tok = SentencePieceUnigramTokenizer()
        _train(tok, lines, vocab_size, special_tokens=SPECIALS_XLMR, unk_token="<unk>")
        tok._tokenizer.model = _deterministic_unigram(tok._tokenizer, len(SPECIALS_XLMR))
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
        specials = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                        cls_token="<s>", sep_token="</s>")
    elif family == "roberta":
        from tokenizers.implementations import ByteLevelBPETokenizer

        tok = ByteLevelBPETokenizer(add_prefix_space=True, trim_offsets=True)
        _train(tok, lines, vocab_size, special_tokens=SPECIALS_XLMR)
        tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                          ("<s>", tok.token_to_id("<s>")), add_prefix_space=True,
                                                          trim_offsets=True)
        specials = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                        cls_token="<s>", sep_token="</s>")
    elif family == "modernbert":
        # ModernBERT's own tokenizer is byte-level BPE with BERT's special tokens and [CLS] A [SEP] B [SEP] pairs; it
        # makes no token_type_ids (ModernBERT's forward takes none).
        from tokenizers.implementations import ByteLevelBPETokenizer

        tok = ByteLevelBPETokenizer(add_prefix_space=True, trim_offsets=True)
        _train(tok, lines, vocab_size, special_tokens=SPECIALS_BERT)
        tok.post_processor = _bert_template(tok)
        specials = dict(unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]", cls_token="[CLS]",
                        sep_token="[SEP]", model_input_names=["input_ids", "attention_mask"])
    elif family == "deberta-v2":
        # mDeBERTa-v3's tokenizer: a SentencePiece unigram model with BERT's special tokens.
        from tokenizers.implementations import SentencePieceUnigramTokenizer

        tok = SentencePieceUnigramTokenizer()
        _train(tok, lines, vocab_size, special_tokens=SPECIALS_BERT, unk_token="[UNK]")
        tok._tokenizer.model = _deterministic_unigram(tok._tokenizer, len(SPECIALS_BERT))
        tok.post_processor = _bert_template(tok)
        specials = dict(unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]", cls_token="[CLS]",
                        sep_token="[SEP]")
    elif family == "bert":
        from tokenizers.implementations import BertWordPieceTokenizer

        tok = BertWordPieceTokenizer(lowercase=True)
        _train(tok, lines, vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        specials = dict(unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]", cls_token="[CLS]",
                        sep_token="[SEP]")
    else:
        raise ValueError(f"unknown tokenizer family {family!r}; use one of {', '.join(TINY_FAMILIES)}")
    if model_max_length is not None:
        specials["model_max_length"] = model_max_length
    return PreTrainedTokenizerFast(tokenizer_object=tok._tokenizer if hasattr(tok, "_tokenizer") else tok, **specials)


def build_tiny_encoder(cfg: TinyEncoderConfig, seed: int) -> tuple[torch.nn.Module, Any]:
    """A randomly initialised masked-LM of the configured family and size, with its freshly trained tokenizer."""
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        DebertaV2Config,
        DebertaV2ForMaskedLM,
        ModernBertConfig,
        ModernBertForMaskedLM,
        RobertaConfig,
        RobertaForMaskedLM,
        XLMRobertaConfig,
        XLMRobertaForMaskedLM,
    )

    tokenizer = train_tiny_tokenizer(cfg)
    torch.manual_seed(seed)
    common = dict(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_layers,
                  num_attention_heads=cfg.num_heads, intermediate_size=cfg.intermediate_size,
                  max_position_embeddings=cfg.max_position, pad_token_id=tokenizer.pad_token_id)
    if cfg.family == "xlm-roberta":
        model = XLMRobertaForMaskedLM(XLMRobertaConfig(bos_token_id=0, eos_token_id=2, **common))
    elif cfg.family == "roberta":
        model = RobertaForMaskedLM(RobertaConfig(bos_token_id=0, eos_token_id=2, **common))
    elif cfg.family == "modernbert":
        # mmBERT / ModernBERT: rotary positions, alternating local (sliding window) and global attention, GLU MLP.
        model = ModernBertForMaskedLM(ModernBertConfig(
            cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, **common))
    elif cfg.family == "deberta-v2":
        # mDeBERTa-v3's layout: relative positions only (no absolute position embeddings), no segment embeddings.
        model = DebertaV2ForMaskedLM(DebertaV2Config(
            type_vocab_size=0, relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm",
            share_att_key=True, pos_att_type=["p2c", "c2p"], position_biased_input=False, max_relative_positions=-1,
            **common))
    else:
        model = BertForMaskedLM(BertConfig(**common))
    if cfg.mlm_steps > 0:
        mlm_warmup(model, tokenizer, [line for lang in cfg.languages for line in corpus_lines(lang)], cfg.mlm_steps,
                   seed)
    return model, tokenizer


def mlm_warmup(model: torch.nn.Module, tokenizer: Any, lines: list[str], steps: int, seed: int,
               batch_size: int = 32, lr: float = 5e-4) -> list[float]:
    """A short masked-LM pass (15% masking, 80/10/10) so a tiny encoder's representations are not random."""
    from transformers import DataCollatorForLanguageModeling

    gen = torch.Generator().manual_seed(seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    enc = tokenizer(lines, truncation=True, max_length=64)
    feats = [{"input_ids": ids} for ids in enc["input_ids"]]
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(feats), (batch_size,), generator=gen).tolist()
        batch = collator([feats[i] for i in idx])
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))
    model.eval()
    return losses


def _words(line: str) -> list[str]:
    """Words of a line: whitespace tokens; in scripts written without spaces (Han, kana, Thai) each character."""
    words = []
    for token in line.split():
        if any(_unspaced(ch) for ch in token):
            words.extend(ch for ch in token if not unicodedata.category(ch).startswith("P"))
        else:
            words.append(token)
    return words


def _unspaced(ch: str) -> bool:
    return bool(re.match(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]", ch))


def tokenizer_stats(tokenizer: Any, lines: list[str]) -> dict[str, float]:
    """Unknown-token rate (percent of produced tokens) and tokens per word on ``lines``.

    Words are whitespace tokens, except in scripts written without spaces (Chinese, Japanese, Thai), where each
    character counts as a word, so the figure is comparable across languages for one tokenizer.
    """
    unk = tokenizer.unk_token_id
    n_tokens = n_unk = n_words = 0
    for line in lines:
        ids = tokenizer(line, add_special_tokens=False)["input_ids"]
        n_tokens += len(ids)
        n_unk += sum(1 for i in ids if i == unk)
        n_words += len(_words(line))
    return {"unk_rate": 100.0 * n_unk / max(n_tokens, 1), "tokens_per_word": n_tokens / max(n_words, 1),
            "lines": float(len(lines))}


def load_pretrained(model: str, trust_remote_code: bool) -> tuple[torch.nn.Module, Any]:
    """A pretrained masked LM (or bare encoder) and its tokenizer from a Hub id or folder, safetensors only.

    Phase 1 checks a folder with ``check_source`` first, which names a missing or broken file precisely.

    Raises:
        ModelFolderError: the model cannot be found or read (offline, a wrong id, a broken folder, no safetensors
            weights, no fast tokenizer); the message names the model and the cause.
    """
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:  # transformers reports a missing repo, no network or a bad file this way
        raise ModelFolderError(f"cannot load the tokenizer of {show(model)}: {_first_line(exc)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelFolderError(f"{show(model)}: xstilts needs a fast tokenizer (offsets and word ids for QA and "
                               "tagging); this model only has a slow one")
    try:
        try:
            net = AutoModelForMaskedLM.from_pretrained(model, use_safetensors=True,
                                                       trust_remote_code=trust_remote_code)
        except (ValueError, KeyError):
            # Encoders published without an MLM head (e.g. sentence embedders) are still valid phase-1 inputs.
            net = AutoModel.from_pretrained(model, use_safetensors=True, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFolderError(f"cannot load the weights of {show(model)} (safetensors only): "
                               f"{_first_line(exc)}") from None
    if is_contrastive(model):
        # Recorded in config.json, which every later phase saves again: retrieval then reads the last layer.
        setattr(net.config, CONTRASTIVE_KEY, True)
    return net, tokenizer


def _first_line(exc: BaseException) -> str:
    """The first line of a library's error message, cut to 300 characters (they run to paragraphs)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def save_encoder(model: torch.nn.Module, tokenizer: Any, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
