"""In-memory stand-ins for Hub datasets, built with the exact features the registry declares.

``FakeHub`` replaces ``xstilts.data.hub_loader``: it returns a ``datasets.Dataset`` whose schema is the one the
registry expects for (repo, config, split), filled with deterministic pseudo-text, so the real Hub code path (schema
check, column mapping, label handling, row filters) runs offline. ``LocalHub`` goes one step further: it writes folders
laid out like the Hub's repos and parquet branches, and the real ``datasets.load_dataset`` reads them.
"""
from __future__ import annotations

import random
import re
import zlib
from pathlib import Path

import datasets

from xstilts.data import hub_features, hub_where
from xstilts.tasks import PARQUET_BRANCH, TASKS, HubSource

WORDS = "the cat dog sees runs a house red blue big small man woman tree river city book reads walks green".split()


def _sources() -> list[HubSource]:
    out = []
    for task in TASKS.values():
        splits = list(task.train) + ([task.dev] if task.dev else []) + list(task.eval.values())
        splits += [s for by_lang in task.lang_sources.values() for group in by_lang.values() for s in group]
        splits += [task.candidates] if task.candidates else []
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
        if feature.dtype.startswith("float"):  # a regression score (STS-B: 0-5)
            return round(rng.uniform(0.0, 5.0), 2)
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if isinstance(feature, datasets.List):
        n = 4 if name in ("endings", "options") else rng.randint(3, 8)  # HellaSwag endings, RACE options: 4
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


def _mewslix_text(rng: random.Random) -> tuple[str, list[dict]]:
    """A text of 2-3 sentences and its sentence spans."""
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + "." for _ in range(rng.randint(2, 3))]
    text, spans = "", []
    for s in sentences:
        start = len(text) + (1 if text else 0)
        text = f"{text} {s}" if text else s
        spans.append({"start": start, "end": start + len(s)})
    return text, spans


def _mewslix_mention(rng: random.Random, text: str, spans: list[dict], i: int) -> dict:
    span = rng.choice(spans)
    start = span["start"]
    end = text.index(" ", start)
    return {"example_id": f"m{rng.randrange(10**6)}-{i}", "entity_id": f"Q{rng.randrange(10)}",
            "mention_span": {"start": start, "end": end, "text": text[start:end]}}


def _mewslix_row(source: HubSource, rng: random.Random, i: int) -> dict:
    """A consistent Mewsli-X row (mentions inside sentences, entity ids Q0..Q9 = the first candidate rows)."""
    def context() -> dict:
        text, spans = _mewslix_text(rng)
        return {"document_title": "t", "document_url": "u", "document_id": f"d{i}", "language": "en", "text": text,
                "sentence_spans": spans}

    def entity(qid: str) -> dict:
        text, spans = _mewslix_text(rng)
        return {"entity_id": qid, "title": qid, "description": text, "sentence_spans": spans,
                "description_language": "en", "description_url": "u"}

    if "contextual_mention" in source.features:
        ctx = context()
        mention = _mewslix_mention(rng, ctx["text"], ctx["sentence_spans"], i)
        return {"contextual_mention": {"context": ctx, "mention": mention}, "entity": entity(mention["entity_id"])}
    if "mentions" in source.features:
        ctx = context()
        return {"context": ctx, "mentions": [_mewslix_mention(rng, ctx["text"], ctx["sentence_spans"], j)
                                             for j in range(rng.randint(1, 2))]}
    return {k: v for k, v in entity(f"Q{i}").items() if k in source.features}  # candidate_entities


def make_dataset(source: HubSource, n: int = 24, seed: int = 0, label_override: dict | None = None) -> datasets.Dataset:
    """A dataset with ``source``'s exact Hub features and ``n`` deterministic rows."""
    rng = random.Random(seed)
    feats = hub_features(source)
    if any(spec.startswith("mewslix:") for spec in source.features.values()):
        return datasets.Dataset.from_list([_mewslix_row(source, rng, i) for i in range(n)], features=feats)
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
        # A parquet-branch source names its config by folder (data_dir), so overrides are keyed by that folder there.
        key = (repo, config if config is not None else data_dir, split)
        if key in self.overrides:
            return self.overrides[key]
        for source in _sources():
            pattern = re.escape(source.config or "").replace(r"\{lang\}", r"[\w-]+").replace(
                r"\{udpos_name\}", r"\w+").replace(r"\{iso3\}", r"\w+")
            cfg_ok = (source.config is None and config is None) or (
                source.config is not None and config is not None and re.fullmatch(pattern, config))
            if source.repo == repo and source.split == split and cfg_ok:
                # crc32, not hash(): the same rows in every process whatever PYTHONHASHSEED is
                return make_dataset(source, self.n, seed=zlib.crc32(f"{repo}|{config}|{split}".encode()) % 1000)
        raise FileNotFoundError(f"fake hub has no {repo} {config} {split}")


class LocalHub:
    """Folders laid out like Hub dataset repos, read by the real ``datasets.load_dataset`` through ``data.hub_path``.

    ``<root>/<owner>/<name>/main``: a README whose ``configs`` list each config's files
    ``<config>/<split>-00000-of-00001.parquet`` (as a "Convert dataset to Parquet" commit leaves them; a source without
    config gets ``data/<split>-...`` and no list). ``<root>/<owner>/<name>/parquet``: the parquet-conversion branch,
    ``<config>/<split>/0000.parquet`` and no README, as the conversion service writes it. Parquet files keep their
    ``datasets`` features (ClassLabel names too), as the Hub's do.

    Use: ``hub = LocalHub(tmp_path); hub.add(source, "de"); monkeypatch.setattr(data, "hub_path", hub.path)``.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.configs: dict[str, dict[str, list[str]]] = {}  # main-branch repo -> config -> splits

    def path(self, repo: str, revision: str | None) -> str:
        return str(self.root / repo / ("parquet" if revision == PARQUET_BRANCH else "main"))

    def add(self, source: HubSource, lang: str = "en", ds: datasets.Dataset | None = None, n: int = 6,
            split: str | None = None) -> HubSource:
        """Writes ``source``'s split for ``lang`` (each part of an "a+b" split): ``ds``, or ``n`` rows in its exact
        Hub schema. Returns the source."""
        config, data_dir, _ = hub_where(source, lang)
        base = self.root / source.repo
        for part in (split or source.split).split("+"):
            rows = ds if ds is not None else make_dataset(source, n, seed=zlib.crc32(part.encode()) % 1000)
            if source.revision == PARQUET_BRANCH:
                out = base / "parquet" / data_dir / part / "0000.parquet"
            else:
                name = config or "data"
                out = base / "main" / name / f"{part}-00000-of-00001.parquet"
                out.parent.mkdir(parents=True, exist_ok=True)
                if config:
                    splits = self.configs.setdefault(source.repo, {}).setdefault(config, [])
                    if part not in splits:
                        splits.append(part)
                    self._readme(source.repo)
            out.parent.mkdir(parents=True, exist_ok=True)
            rows.to_parquet(str(out))
        return source

    def _readme(self, repo: str) -> None:
        lines = ["---", "configs:"]
        for config, splits in self.configs[repo].items():
            lines += [f"- config_name: {config}", "  data_files:"]
            lines += [f"  - split: {s}\n    path: {config}/{s}-*.parquet" for s in splits]
        (self.root / repo / "main" / "README.md").write_text("\n".join(lines + ["---", ""]), encoding="utf-8")
