"""In-memory stand-ins for Hub datasets, built with the exact features the registry declares.

``fake_loader`` replaces ``xstilts.data.hub_loader``: it returns a ``datasets.Dataset`` whose schema is the one the
registry expects for (repo, config, split), filled with deterministic pseudo-text, so the real Hub code path (schema
check, column mapping, label handling, row filters) runs offline.
"""
from __future__ import annotations

import random
import re

import datasets

from xstilts.data import hub_features
from xstilts.tasks import TASKS, HubSource

WORDS = "the cat dog sees runs a house red blue big small man woman tree river city book reads walks green".split()


def _sources() -> list[HubSource]:
    out = []
    for task in TASKS.values():
        splits = list(task.train) + ([task.dev] if task.dev else []) + list(task.eval.values())
        out.extend(s.hub for s in splits if s.hub is not None)
    return out


def _value(feature, rng: random.Random, row: dict, name: str):
    if isinstance(feature, datasets.ClassLabel):
        return rng.randrange(feature.num_classes)
    if isinstance(feature, datasets.Value):
        if feature.dtype.startswith("int"):
            return rng.randrange(2) if name == "label" else rng.randrange(1000)
        if feature.dtype == "bool":
            return False
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if isinstance(feature, datasets.List):
        n = 4 if name == "endings" else rng.randint(3, 8)  # HellaSwag has exactly 4 endings
        return [_value(feature.feature, rng, row, name) for _ in range(n)]
    if isinstance(feature, dict) and set(feature) == {"label", "text"}:  # CommonsenseQA choices
        return {"label": list("ABCDE"), "text": [rng.choice(WORDS) for _ in range(5)]}
    if isinstance(feature, dict) and set(feature) == {"text", "answer_start"}:
        ctx = row.get("context", "")
        words = ctx.split()
        start_word = rng.randrange(len(words)) if words else 0
        text = words[start_word] if words else ""
        return {"text": [text], "answer_start": [ctx.index(text) if text else 0]}
    raise TypeError(f"no fake value for {feature}")


def make_dataset(source: HubSource, n: int = 24, seed: int = 0, label_override: dict | None = None) -> datasets.Dataset:
    """A dataset with ``source``'s exact Hub features and ``n`` deterministic rows."""
    rng = random.Random(seed)
    feats = hub_features(source)
    rows = []
    for _ in range(n):
        row: dict = {}
        for name in sorted(feats, key=lambda k: k == "answers"):  # answers after context
            row[name] = _value(feats[name], rng, row, name)
        # Tag sequences must be as long as their tokens.
        if "tokens" in row:
            for name, f in feats.items():
                if name != "tokens" and isinstance(f, datasets.List):
                    row[name] = [_value(f.feature, rng, row, name) for _ in row["tokens"]]
        # Labels stored as strings must be valid label strings of the source.
        for name, spec in source.fields.items():
            if name == "label" and source.labels and isinstance(feats[spec], datasets.Value) \
                    and feats[spec].dtype == "string":
                row[spec] = rng.choice(sorted(source.labels))
        if label_override:
            row.update(label_override)
        rows.append(row)
    return datasets.Dataset.from_list(rows, features=feats)


class FakeHub:
    """Records every load and serves datasets with the registry's schema (or a given one)."""

    def __init__(self, n: int = 24, overrides: dict | None = None):
        self.n = n
        self.calls: list[tuple] = []
        self.overrides = overrides or {}

    def __call__(self, repo, config, split, revision, data_dir):
        self.calls.append((repo, config, split, revision, data_dir))
        key = (repo, config, split)
        if key in self.overrides:
            return self.overrides[key]
        for source in _sources():
            pattern = re.escape(source.config or "").replace(r"\{lang\}", r"[\w-]+").replace(
                r"\{udpos_name\}", r"\w+").replace(r"\{iso3\}", r"\w+")
            cfg_ok = (source.config is None and config is None) or (
                source.config is not None and config is not None and re.fullmatch(pattern, config))
            if source.repo == repo and source.split == split and cfg_ok:
                return make_dataset(source, self.n, seed=hash((repo, config, split)) % 1000)
        raise FileNotFoundError(f"fake hub has no {repo} {config} {split}")
