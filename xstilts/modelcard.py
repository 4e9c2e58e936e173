"""The model card of a phase-3 ``final/`` (its README.md), refreshed by each evaluation, and the upload to the Hub.

The card says what the model is (encoder, intermediate task, target task, recipe), how well it did (English dev
score, then the per-language scores of every evaluation of it) and how to load it: with the ``AutoModelFor...``
class its folder was exported for, or why no such class loads it (``metrics.json``'s ``transformers`` entry).
``build_card`` is a pure function of ``CardFacts``; ``card_facts`` gathers them from the run folder.

Evaluations are recorded in ``final/evaluations.json`` (one entry per task and split, the newest winning), under a
short lock so that two evaluations finishing at once both show; a card that cannot be written is a warning, never a
failed evaluation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from xstilts import markdown, provenance, runfiles
from xstilts.config import Phase1Recipe, Phase3Recipe
from xstilts.errors import XstiltsError
from xstilts.log import log
from xstilts.results import TaskResult
from xstilts.tasks import TASKS
from xstilts.typespecs import SPECS

CARD = "README.md"
EVALUATIONS = "evaluations.json"  # the evaluations shown on the card: "<task>/<split>" -> scores
CARD_LOCK = "README.md.lock"
LOCK_WAIT_S = 30.0  # a card refresh takes milliseconds; another evaluation's is waited for


class HubUploadError(XstiltsError, RuntimeError):
    """The upload of a finished run's ``final/`` to the Hub failed (the run itself stays finished)."""


@dataclass
class CardFacts:
    """What a model card says, gathered from a phase-3 run folder."""

    name: str  # the run folder's name
    task: str
    task_kind: str
    encoder: str  # the phase-1 name
    encoder_kind: str  # multilingual, english, unknown
    intermediate: str  # "none", a task, "multi:a+b" or "a>b"
    recipe_yaml: str  # the resolved phase-3 recipe
    recipe_path: str
    dev: dict[str, float]  # metrics.json's "dev": "<task>_<metric>" and "score"
    transformers: dict[str, Any]  # metrics.json's "transformers": loadable, auto_class / reason
    languages: list[str] = field(default_factory=list)  # the task's evaluation languages
    label_names: list[str] = field(default_factory=list)
    base_model: str | None = None  # the phase-1 Hub id, when it came from the Hub
    hub_model_id: str | None = None
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # see ``evaluation_entry``


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def build_card(facts: CardFacts) -> str:
    """The card's markdown: Hub YAML front matter, the model's lineage, how to load it, its scores, its recipe.

    Every name that comes from a recipe, a result or a folder is shown as text (``markdown.md_literal``, the
    report's and the viewer's rule; quoted in the front matter and the code), never as a link, image or HTML on the
    Hub page; the recipe sits in a fence no backtick inside it can close.
    """
    spec = SPECS.get(facts.task_kind)
    tag = spec.hf_pipeline_tag if spec else None
    lit = markdown.md_literal

    def cell(value: Any) -> str:
        return markdown.md_literal(value, table=True)

    front = ["---", "library_name: transformers"]
    if tag:
        front.append(f"pipeline_tag: {tag}")
    if facts.languages:
        front += ["language:", *[f"- {markdown.yaml_scalar(lang)}" for lang in facts.languages]]
    front += ["tags:", "- xstilts", "- zero-shot-cross-lingual", f"- {markdown.yaml_scalar(facts.task)}"]
    if facts.base_model:
        front.append(f"base_model: {markdown.yaml_scalar(facts.base_model)}")
    front.append("---")

    where = markdown.py_string(facts.hub_model_id or "path/to/final")
    dev_metrics = {k.removeprefix(f"{facts.task}_"): v for k, v in facts.dev.items()
                   if k.startswith(f"{facts.task}_") and k != f"{facts.task}_score"}
    base = facts.base_model
    body = [
        f"# {lit(facts.name)}",
        "",
        (f"A model for {lit(facts.task)} ({lit(facts.task_kind.replace('_', ' '))}) trained with xstilts on English "
         "data only, for zero-shot use in other languages (X-STILTs: pretrained encoder, then intermediate task(s), "
         "then the target task)."),
        "",
        "| | |",
        "|---|---|",
        f"| encoder | {cell(facts.encoder)} ({cell(facts.encoder_kind)})"
        # A Hub id is owner/name of word characters, dots and dashes: only such an id becomes a link.
        + ((f", from [{base}](https://huggingface.co/{base})" if _HUB_ID.fullmatch(base) else f", from {cell(base)}")
           if base else "") + " |",
        f"| intermediate task(s) | {cell(facts.intermediate)} |",
        f"| target task | {cell(facts.task)} |",
        f"| English dev score | {cell(_fmt(facts.dev.get('score', 'n/a')))}"
        + (f" ({', '.join(f'{cell(k)} {cell(_fmt(v))}' for k, v in dev_metrics.items())})" if dev_metrics else "")
        + " |",
        f"| recipe | {cell(facts.recipe_path)} (below) |",
    ]
    if facts.label_names:
        body.append(f"| labels | {', '.join(cell(n) for n in facts.label_names)} |")
    body += ["", "## How to load", ""]
    if facts.transformers.get("loadable"):
        auto = facts.transformers["auto_class"]
        if not _IDENTIFIER.fullmatch(str(auto)):  # metrics.json is a file: its class name is checked, not trusted
            auto = "AutoModel"
        code = [f"from transformers import {auto}, AutoTokenizer", "",
                f"model = {auto}.from_pretrained({where})", f"tokenizer = AutoTokenizer.from_pretrained({where})"]
        code += ["", *USE_SNIPPETS.get(str(tag), [])] if tag in USE_SNIPPETS else []
        architecture = facts.transformers.get("architecture") or auto
        body += [markdown.fenced("\n".join(code), "python"), "",
                 (f"({lit(architecture)}; xstilts' own evaluation loads the same weights from "
                  "`heads.json`/`heads.safetensors` and gives the same predictions.)")]
    else:
        reason = str(facts.transformers.get("reason") or "not exported")
        body += [lit(reason[0].upper() + reason[1:] if reason.startswith("not loadable with ")
                     else f"Not loadable with AutoModelFor...: {reason}."), "",
                 ("Load it with xstilts (`xstilts.modeling.load_model(folder)`), or evaluate it with "
                  "`python evaluate_xtreme.py input=<run folder> output=<results folder>`.")]
    body += ["", "## Zero-shot scores", ""]
    if not facts.evaluations:
        body.append("Not evaluated yet (`python evaluate_xtreme.py input=<run folder> output=<results folder>` "
                    "adds the per-language scores here).")
    for key in sorted(facts.evaluations):
        ev = facts.evaluations[key]
        langs = ev.get("languages", {}) if isinstance(ev.get("languages"), dict) else {}
        metrics = [m for m in dict.fromkeys(k for scores in langs.values() if isinstance(scores, dict)
                                            for k in scores) if m != "n"]
        missing = ev.get("missing") if isinstance(ev.get("missing"), list) else []
        body += [f"### {lit(ev.get('task', key))} ({lit(ev.get('split', '?'))} split)", "",
                 f"Task score {lit(_fmt(ev.get('score')))} ({lit(ev.get('main_metric', '?'))}, mean over "
                 f"{len(langs)} languages)" + (f"; partial, missing: {' '.join(map(lit, missing))}" if missing else "")
                 + ".", "", "| language | " + " | ".join(map(cell, metrics)) + " |", "|---|" + "---|" * len(metrics)]
        body += [f"| {cell(lang)} | " + " | ".join(cell(_fmt(scores.get(m, ""))) for m in metrics) + " |"
                 for lang, scores in langs.items() if isinstance(scores, dict)]
        body.append("")
    body += ["", "## Recipe", "", f"The resolved phase-3 recipe ({lit(facts.recipe_path)}):", "",
             markdown.fenced(facts.recipe_yaml, "yaml"), ""]
    return "\n".join(front + body)


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# How the card shows the model in use, per pipeline tag, after the loading lines: each runs with the pinned
# transformers (tests/test_hf_export.py runs every snippet of a generated card on a tiny model). transformers 5
# removed the question-answering pipeline, so span QA decodes the start and end logits itself.
USE_SNIPPETS = {
    "text-classification": ["from transformers import pipeline", "",
                            'pipe = pipeline("text-classification", model=model, tokenizer=tokenizer)',
                            'print(pipe({"text": "A first sentence.", "text_pair": "A second one."}))'],
    "token-classification": ["from transformers import pipeline", "",
                             'pipe = pipeline("token-classification", model=model, tokenizer=tokenizer)',
                             'print(pipe("Ada Lovelace was born in London."))'],
    "question-answering": ['inputs = tokenizer("Where was Ada born?", "Ada Lovelace was born in London.", '
                           'return_tensors="pt")',
                           "out = model(**inputs)",
                           "start = int(out.start_logits.argmax())  # the answer: the best end at or after it",
                           "end = start + int(out.end_logits[0, start:].argmax())",
                           'print(tokenizer.decode(inputs["input_ids"][0][start:end + 1]))'],
}


def _base_model(chain: list[dict[str, Any]]) -> str | None:
    p1 = [provenance.typed_recipe(c) for c in chain if c["phase"] == "phase1"]
    return p1[0].model if p1 and isinstance(p1[0], Phase1Recipe) and p1[0].source == "hub" else None


def card_facts(run_folder: Path) -> CardFacts:
    """The facts of a phase-3 run folder's card (its recipe chain, metrics.json and recorded evaluations)."""
    chain = provenance.chain(run_folder)
    recipe = provenance.typed_recipe(chain[0])
    assert isinstance(recipe, Phase3Recipe), "cards are written for phase-3 folders"
    info = provenance.run_info(chain, recipe.task)
    metrics = chain[0]["metrics"] or {}
    task = TASKS.get(recipe.task)
    final = provenance.model_dir(run_folder)
    heads = json.loads((final / "heads.json").read_text(encoding="utf-8")).get("heads", []) \
        if (final / "heads.json").is_file() else []
    labels = (heads[0].get("labels") if heads else None) or (list(task.label_names) if task else [])
    return CardFacts(
        name=run_folder.name, task=recipe.task, task_kind=task.task_type if task else "unknown",
        encoder=info["encoder"], encoder_kind=info["encoder_kind"], intermediate=info["intermediate"],
        recipe_yaml=(run_folder / runfiles.RECIPE).read_text(encoding="utf-8"),
        recipe_path=f"{run_folder.name}/{runfiles.RECIPE}", dev=metrics.get("dev") or {},
        transformers=metrics.get("transformers") or {"loadable": False, "reason": "written before cards existed"},
        languages=list(task.languages) if task else [], label_names=labels, base_model=_base_model(chain),
        hub_model_id=recipe.hub_model_id, evaluations=_read_evaluations(final))


def _read_evaluations(final: Path) -> dict[str, dict[str, Any]]:
    path = final / EVALUATIONS
    if not path.is_file():
        return {}
    data = runfiles.read_json(path, "evaluations of the model card")
    return data if isinstance(data, dict) else {}


def write_card(run_folder: Path) -> None:
    """Writes (atomically) ``final/README.md`` of a phase-3 run folder."""
    runfiles.atomic_write_text(provenance.model_dir(run_folder) / CARD, build_card(card_facts(run_folder)))


def evaluation_entry(result: TaskResult) -> dict[str, Any]:
    """What the card keeps of one evaluation: its scores per language and where they were written from."""
    return {"task": result.task, "split": result.split, "main_metric": result.main_metric, "score": result.score,
            "languages": result.languages, "missing": result.missing_languages, "benchmark_partial": result.partial,
            "created": result.created}


def record_evaluation(run_folder: Path, result: TaskResult) -> None:
    """Adds an evaluation's per-language scores to the card of the phase-3 model it evaluated (nothing for the
    encoders of phase 1/2). Never fails the evaluation: a card that cannot be written is a warning."""
    try:
        if provenance.run_phase(run_folder) != "phase3":
            return
        final = provenance.model_dir(run_folder)
        with runfiles.RunLock(final, CARD_LOCK, wait_s=LOCK_WAIT_S):
            evaluations = _read_evaluations(final)
            evaluations[f"{result.task}/{result.split}"] = evaluation_entry(result)
            runfiles.atomic_write_json(final / EVALUATIONS, evaluations)
            write_card(run_folder)
    except (XstiltsError, OSError, ValueError, KeyError, TypeError) as exc:
        log(f"warning: the model card of {run_folder} was not updated with the {result.task} scores "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); the result file is complete")


def hub_api() -> Any:
    """The Hub client (tests replace this function with a fake that records the calls)."""
    from huggingface_hub import HfApi

    return HfApi()


def push(cfg: Phase3Recipe, run_folder: Path) -> None:
    """Uploads a finished run's ``final/`` (with its card) to ``cfg.hub_model_id`` when ``cfg.push_to_hub``.

    Raises:
        HubUploadError: the Hub is unreachable, offline mode is on, or the upload failed; the message names the repo
            and the command that uploads the folder later (the run stays finished).
    """
    if not cfg.push_to_hub or not runfiles.is_main_process():
        return
    final = provenance.model_dir(run_folder)
    later = f"the run is finished; upload it later with: hf upload {cfg.hub_model_id} {final}"
    if hub_constants.is_offline_mode():
        raise HubUploadError(f"cannot push {final} to the Hub repo {cfg.hub_model_id}: offline mode is on "
                             f"(HF_HUB_OFFLINE=1); {later}")
    try:
        api = hub_api()
        api.create_repo(cfg.hub_model_id, exist_ok=True)
        api.upload_folder(repo_id=cfg.hub_model_id, folder_path=str(final), ignore_patterns=["*.lock"],
                          commit_message=f"xstilts: {run_folder.name}")
    except (OSError, ValueError, HfHubHTTPError, OfflineModeIsEnabled, httpx2.HTTPError) as exc:  # no network too
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HubUploadError(f"cannot push {final} to the Hub repo {cfg.hub_model_id} ({first}); {later}") from None
    log(f"pushed {final} to https://huggingface.co/{cfg.hub_model_id}")
