"""tools/compare_runs.py: what "numbers unchanged" means for a refactoring (weights byte for byte, results field by
field with timings and paths aside)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("compare_runs", Path(__file__).resolve().parents[1] / "tools" /
                                               "compare_runs.py")
compare_runs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare_runs)


def _tree(root: Path, weight: bytes, score: float, created: str, size_time: list[int]) -> Path:
    (root / "run" / "final").mkdir(parents=True)
    (root / "run" / "final" / "model.safetensors").write_bytes(weight)
    (root / "run" / "run.json").write_text(json.dumps({
        "parent_fingerprint": {"weights": {"model.safetensors": size_time}, "done_sha256": created},
        "output": str(root / "run")}))
    (root / "results").mkdir()
    (root / "results" / "xnli.json").write_text(json.dumps({"created": created, "wall_time_s": 3.2,
                                                            "languages": {"de": {"accuracy": score}}}))
    return root


def test_trees_that_differ_in_times_and_paths_only_agree(tmp_path):
    old = _tree(tmp_path / "old", b"\x00\x01", 41.5, "2026-01-01", [2, 100])
    new = _tree(tmp_path / "new", b"\x00\x01", 41.5, "2026-02-02", [2, 999])
    assert compare_runs.compare(old, new)[0] == []
    assert compare_runs.main([str(old), str(new)]) == 0


def test_a_changed_weight_a_changed_score_or_a_missing_file_is_named(tmp_path):
    old = _tree(tmp_path / "old", b"\x00\x01", 41.5, "t", [2, 1])
    new = _tree(tmp_path / "new", b"\x00\x02", 41.6, "t", [2, 1])
    (new / "results" / "extra.json").write_text("{}")
    problems = compare_runs.compare(old, new)[0]
    assert any("model.safetensors: bytes differ" in p for p in problems)
    assert any("xnli.json: /languages/de/accuracy: 41.5 vs 41.6" in p for p in problems)
    assert any("extra.json: only in" in p for p in problems)
    assert compare_runs.main([str(old), str(new)]) == 1


def test_a_truncated_json_file_is_named_not_a_crash(tmp_path):
    old = _tree(tmp_path / "old", b"\x00", 1.0, "t", [1, 1])
    new = _tree(tmp_path / "new", b"\x00", 1.0, "t", [1, 1])
    (new / "results" / "xnli.json").write_text('{"languages": ')
    problems = compare_runs.compare(old, new)[0]
    assert any("xnli.json: not readable JSON" in p for p in problems)
    assert compare_runs.main([str(old), str(new)]) == 1
