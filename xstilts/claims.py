"""The claims of Phang et al. (2020) judged against a results summary: supported, contradicted or inconclusive.

Each claim is a rule over what ``report.summarize`` already computed with ``xstilts.analysis`` (the seed-averaged grid,
the intermediate-task effects with their 95% intervals of the difference and their verdicts, the floors), so a verdict
follows from the numbers it lists and from nothing else:

- an effect counts only where its interval excludes zero (``up`` / ``down``); ``within noise`` is no evidence
  either way, and a target below its floor ("not learned at this budget") or an intermediate task that is the
  target's own training data ("same task") is left out and named;
- claims about intermediate-task training are read on the multilingual encoder, as in the paper (XLM-R); the
  English-only encoder is reported beside them;
- a claim is **supported** when at least half of the comparisons it rests on point its way and more point for it than
  against it, **contradicted** in the mirror case, and **inconclusive** otherwise (mixed, mostly within noise, or
  nothing learned to judge it on).
"""
from __future__ import annotations

from typing import Any

from xstilts import analysis
from xstilts.analysis import DOWN, JUDGED, UP, WITHIN_NOISE
from xstilts.reliability import difference, shares_items
from xstilts.results import coverage_problem, intermediate_parts

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
# The paper's retrieval effect is on an encoder pretrained only with masked-language modelling, whose retrieval starts
# poor; a sentence encoder trained contrastively (e5, MiniLM) starts where intermediate training can only move it away.
NOT_TESTABLE = "not testable with a contrastively pretrained encoder"

# The paper's intermediate-task families, by the task whose data trained the intermediate phase (the results name
# an intermediate after it: a TyDiQA stand-in for SQuAD is "tydiqa"). Its best three of nine were SQuAD (extractive
# QA), MNLI (NLI) and HellaSwag (commonsense multiple choice).
QA, NLI, MC = ("SQuAD-type (extractive QA)", "MNLI-type (NLI)", "HellaSwag-type (commonsense multiple choice)")
FAMILIES = {"squad": QA, "squad_v2": QA, "tydiqa": QA, "mnli": NLI, "xnli": NLI, "anli": NLI,
            "hellaswag": MC, "siqa": MC, "cosmosqa": MC, "commonsenseqa": MC}
RETRIEVAL = ("tatoeba", "bucc2018")
# "Gains little": no gain beyond noise, and the 95% interval of the difference rules out gains above this (points).
LITTLE = 2.0


def _family(intermediate: str) -> str | None:
    """The paper's family of an intermediate setting (a variant of a family's task counts as it), None for anything
    else: another task, a multi-task mixture or a sequence (which mixes families or adds others)."""
    parts = intermediate_parts(intermediate)
    return FAMILIES.get(parts[0]) if len(parts) == 1 else None


def _verdict(pro: int, con: int, judged: int) -> str:
    """``pro`` of ``judged`` comparisons for the claim and ``con`` against it."""
    if pro > con and 2 * pro >= judged:
        return SUPPORTED
    if con > pro and 2 * con >= judged:
        return CONTRADICTED
    return INCONCLUSIVE


def _effect_text(e: dict[str, Any]) -> str:
    interval = f" [{e['low']:+.1f}, {e['high']:+.1f}]" if e.get("low") is not None else ""
    return f"{e['task']} {e['delta']:+.1f}{interval} {e['verdict']}"


def _kinds(grid: dict[str, Any], kinds: dict[str, str]) -> tuple[list[str], list[str]]:
    encoders = list(dict.fromkeys(enc for enc, _ in grid["columns"]))
    return [e for e in encoders if kinds.get(e) == "multilingual"], [e for e in encoders if kinds.get(e) == "english"]


def _trained(effect: dict[str, Any]) -> bool:
    """A trained target's own row (not retrieval, not a derived row such as the non-Latin-script subset)."""
    return effect["task"] not in RETRIEVAL and " (" not in effect["task"]


def intermediate_tasks_help(found: list[dict[str, Any]], multi: list[str]) -> dict[str, Any]:
    """SQuAD-, MNLI- and HellaSwag-type intermediate tasks help zero-shot transfer (the paper's best three)."""
    lines, pro, con, n_families, families = [], 0, 0, 0, {}
    for e in found:
        if e["encoder"] in multi and _trained(e) and not e["intermediate"].endswith("+LoRA"):
            families.setdefault(e["intermediate"], []).append(e)
    for inter, effs in families.items():
        judged = [e for e in effs if e["verdict"] in JUDGED]
        up, down = sum(e["verdict"] == UP for e in judged), sum(e["verdict"] == DOWN for e in judged)
        left = [f"{e['task']} ({e['verdict']})" for e in effs if e not in judged]
        family = _family(inter)
        v = _verdict(up, down, len(judged))
        if family is not None:  # the claim is about these three families: any other intermediate is shown, no vote
            pro, con = pro + (v == SUPPORTED), con + (v == CONTRADICTED)
            n_families += bool(judged)
        shown = family or "not one of the paper's families: not counted"
        counted = (f"{up} up, {down} down, {len(judged) - up - down} within noise of {len(judged)} learned targets: "
                   + "; ".join(_effect_text(e) for e in judged)) if judged else "no learned target judged"
        lines.append(f"{inter} ({shown}, {v}): {counted}" + (f"; left out: {', '.join(left)}" if left else ""))
    return {"claim": "English intermediate tasks of the SQuAD, MNLI and HellaSwag types improve zero-shot transfer "
                     "(the paper's best three of nine)",
            "verdict": _verdict(pro, con, n_families),
            "evidence": lines or ["no intermediate-task effect on a learned target"],
            "scope": "'most' compares them with weaker intermediate tasks; only the part about these families is "
                     "tested where the grid has no others"}


def retrieval_gains_most(found: list[dict[str, Any]], multi: list[str],
                         contrastive: dict[str, bool] | None = None) -> dict[str, Any]:
    """Retrieval (BUCC, Tatoeba) gains most from intermediate-task training. ``contrastive``: encoder -> whether it
    was pretrained contrastively as a sentence encoder (``families.is_contrastive``); judged only on the others."""
    contrastive = contrastive or {}
    testable = [enc for enc in multi if not contrastive.get(enc, False)]
    if multi and not testable:
        return {"claim": "Sentence retrieval (BUCC, Tatoeba) gains most from intermediate-task training",
                "verdict": NOT_TESTABLE,
                "evidence": [f"{enc}: pretrained contrastively for sentence embeddings" for enc in multi],
                "scope": "the paper's effect is on an encoder pretrained only with masked-language modelling (XLM-R), "
                         "whose retrieval starts poor; add such an encoder to the grid to test it"}
    multi = testable
    lines, pro, con, n = [], 0, 0, 0
    for enc in multi:
        for inter in dict.fromkeys(e["intermediate"] for e in found if e["encoder"] == enc):
            mine = [e for e in found if e["encoder"] == enc and e["intermediate"] == inter]
            retrieval = [e for e in mine if e["task"] in RETRIEVAL and e["verdict"] in JUDGED]
            trained = [e for e in mine if _trained(e) and e["verdict"] in JUDGED]
            if not retrieval:
                continue
            best = max((e["delta"] for e in trained), default=None)
            for r in retrieval:
                gains_most = r["verdict"] == UP and (best is None or r["delta"] > best)
                against = r["verdict"] == DOWN or (r["verdict"] == WITHIN_NOISE
                                                   and any(e["verdict"] == UP for e in trained))
                pro, con, n = pro + gains_most, con + against, n + 1
                lines.append(f"{enc} {inter}: {_effect_text(r)}; largest change on a learned trained target "
                             + (f"{best:+.1f}" if best is not None else "none"))
    return {"claim": "Sentence retrieval (BUCC, Tatoeba) gains most from intermediate-task training",
            "verdict": _verdict(pro, con, n), "evidence": lines or ["no retrieval effect with an interval"],
            "scope": "retrieval is evaluated once per phase-1/2 encoder: its seed noise comes from phase-2 seeds "
                     "(one phase-2 seed: no interval); BUCC's mining F1 has none; contrastively pretrained encoders "
                     "are left out"}


def xnli_gains_little(found: list[dict[str, Any]], multi: list[str]) -> dict[str, Any]:
    """XNLI gains little from intermediate tasks (its English training set, MNLI, is already the best of them)."""
    mine = [e for e in found if e["encoder"] in multi and e["task"] == "xnli"]
    judged = [e for e in mine if e["verdict"] in JUDGED]
    up = [e for e in judged if e["verdict"] == UP]
    wide = [e for e in judged if e not in up and (e.get("high") is None or e["high"] > LITTLE)]
    left = [f"{e['intermediate']} ({e['verdict']})" for e in mine if e not in judged]
    # Within noise is not "little" when the interval still allows a sizeable gain.
    verdict = INCONCLUSIVE if not judged or (wide and not up) else CONTRADICTED if up else SUPPORTED
    return {"claim": "XNLI gains little from intermediate-task training beyond its own (MNLI) training",
            "verdict": verdict,
            "evidence": [f"{e['encoder']} {e['intermediate']}: {_effect_text(e)}" for e in judged]
            + ([f"left out: {', '.join(left)}"] if left else []) or ["no XNLI effect on a learned cell"],
            "scope": f"'little': no gain beyond noise and none above {LITTLE:g} points inside the 95% interval; "
                     "XNLI's English training here is a small stand-in, not MNLI's 393k rows, so the room to gain is "
                     "larger than in the paper"}


def multilingual_beats_english(grid: dict[str, Any], multi: list[str], english: list[str],
                               not_learned: set[str]) -> dict[str, Any]:
    """A multilingual encoder transfers better than an English-only one given the same treatment."""
    cols = [tuple(c) for c in grid["columns"]]
    lines, pro, con, n = [], 0, 0, 0
    for m in multi:
        for en in english:
            if (m, "none") not in cols or (en, "none") not in cols:
                continue
            i, j = cols.index((m, "none")), cols.index((en, "none"))
            for row in grid["rows"]:
                task = row["task"].split(" (")[0]
                if task in not_learned or " (" in row["task"] or not row["runs"][i] or not row["runs"][j]:
                    continue
                # The grid's cells are means over each run's languages: over different languages their difference
                # is partly one of languages, so it is named and not counted (as an intermediate cell's would be).
                coverage = row.get("coverage") or []
                other = coverage_problem(coverage[i], coverage[j]) if len(coverage) == len(cols) else None
                if other:
                    lines.append(f"{row['task']}: {m} vs {en}: {analysis.NOT_COMPARABLE}, {other}")
                    continue
                # the grid's own runs (summary.json before runs_seed: paired by position); no per-item scores here
                d = difference(analysis.seed_runs(row, i), analysis.seed_runs(row, j), shared_items=shares_items(task))
                pro, con = pro + (d.verdict == UP), con + (d.verdict == DOWN)
                n += d.verdict in JUDGED
                interval = f" [{d.low:+.1f}, {d.high:+.1f}]" if d.low is not None else ""
                lines.append(f"{row['task']}: {m} {row['cells'][i]:.1f} vs {en} {row['cells'][j]:.1f}, "
                             f"{d.delta:+.1f}{interval} {d.verdict}")
    return {"claim": "A multilingual encoder transfers zero-shot far better than an English-only one (no "
                     "intermediate task)",
            "verdict": _verdict(pro, con, n), "evidence": lines or ["no task with both encoders"],
            "scope": "targets below their floor are left out"}


def judge(summary: dict[str, Any], kinds: dict[str, str]) -> list[dict[str, Any]]:
    """The four claims, each ``{"claim", "verdict", "evidence": [line], "scope"}``. ``kinds``: encoder -> kind."""
    grid, found = summary["grid"], summary.get("effects") or []
    multi, english = _kinds(grid, kinds)
    not_learned = set(analysis.targets_not_learned(summary.get("floors") or []))
    return [intermediate_tasks_help(found, multi),
            retrieval_gains_most(found, multi, summary.get("contrastive") or {}),
            xnli_gains_little(found, multi), multilingual_beats_english(grid, multi, english, not_learned)]
