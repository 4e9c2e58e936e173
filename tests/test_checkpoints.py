"""One safetensors check (``modelfolder.safetensors_problem``) for model folders and Trainer checkpoints alike: both
places that used to have a checker of their own still name a truncated file and a garbage file instead of crashing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from xstilts import checkpoints
from xstilts.errors import ModelFolderError
from xstilts.modelfolder import check_model_folder, safetensors_problem


def _weights(path: Path) -> None:
    save_file({"a": torch.zeros(64, 32), "b": torch.ones(5)}, str(path))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _header(path: Path, header: object) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)


DAMAGE = {
    "truncated": (_truncate, "model.safetensors is truncated"),
    "empty": (lambda p: p.write_bytes(b""), "model.safetensors is empty or truncated"),
    "garbage": (lambda p: p.write_bytes(b"\x08" + b"\x00" * 7 + b"not json"),
                "model.safetensors is not a readable safetensors file"),
    "random bytes": (lambda p: p.write_bytes(bytes(range(256)) * 4), "model.safetensors is empty or truncated"),
    "header a list": (lambda p: _header(p, [1, 2]), "model.safetensors is not a readable safetensors file"),
    "offset a string": (lambda p: _header(p, {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}}),
                        "model.safetensors is not a readable safetensors file"),
}


def test_a_complete_file_has_no_problem(tmp_path):
    _weights(tmp_path / "model.safetensors")
    assert safetensors_problem(tmp_path / "model.safetensors") is None


def _checkpoint(root: Path, step: int) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    _weights(folder / "model.safetensors")
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (folder / name).write_bytes(b"x")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_checkpoint_is_never_resumed_from(tmp_path, name):
    damage, message = DAMAGE[name]
    good = _checkpoint(tmp_path, 2)
    bad = _checkpoint(tmp_path, 4)
    assert checkpoints.checkpoint_problem(bad) is None and checkpoints.last_checkpoint(tmp_path) == str(bad)
    damage(bad / "model.safetensors")
    assert message in checkpoints.checkpoint_problem(bad)
    assert message in checkpoints.finite_weights_problem(bad)
    assert checkpoints.last_checkpoint(tmp_path) == str(good)
    assert checkpoints.last_finite_checkpoint(tmp_path) == str(good)


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_model_folder_is_named_before_any_work(tmp_path, name):
    damage, message = DAMAGE[name]
    (tmp_path / "config.json").write_text('{"model_type": "xlm-roberta"}')
    (tmp_path / "tokenizer_config.json").write_text("{}")
    _weights(tmp_path / "model.safetensors")
    damage(tmp_path / "model.safetensors")
    with pytest.raises(ModelFolderError, match=message):
        check_model_folder(tmp_path, "phase-1 encoder")
