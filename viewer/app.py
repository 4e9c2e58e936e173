"""The xstilts results viewer (layout only: loading and figures live in ``xstilts.view``).

    streamlit run viewer/app.py -- --results DIR [--runs RUNS] [--floors FLOORS.yaml]

DIR is a folder holding evaluation results (``<anything>/<task>.json``, schema ``xstilts.results/v1``); the viewer
reads nothing outside it, except the ``metrics.json`` of run folders inside RUNS (training curves), when given, and
the floors file (targets below their floor are marked "not learned at this budget", as in SUMMARY.md).
Without ``--results``, ``$XSTILTS_RESULTS`` is used; without ``--runs``, ``$XSTILTS_RUNS``; without ``--floors``,
``$XSTILTS_FLOORS``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

# streamlit runs this file as a script from any working directory: make the package importable from the checkout
# (hence the package's imports after this, noqa: E402).
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xstilts import analysis, markdown, report  # noqa: E402
from xstilts.results import XTREME_CATEGORIES, XTREME_R_CATEGORIES, constant_everywhere  # noqa: E402
from xstilts.tasks import benchmark_categories  # noqa: E402
from xstilts.view import figures, loading  # noqa: E402

# Every string from the results folder (names, paths, recipe values, problems) is shown as text: in Markdown (messages,
# captions, expander labels) through `lit`, in figures through `figures.text`, otherwise in st.text and st.dataframe.
lit = markdown.md_literal

VIEWS = {
    "overview": "Overview: tasks × encoders",
    "encoders": "Multilingual vs English-only",
    "languages": "One run per language",
    "benchmark": "Benchmark tables",
    "provenance": "Training curves, provenance and cost",
}
# Units of the table columns shown (numbers are shown with one decimal and their unit; a missing value as "-").
UNITS = {"score": "", "delta": "", "sd": "", "baseline": "", "wall time (min)": " min", "peak memory (GB)": " GB",
         "size on disk (MB)": " MB", "trainable (M)": " M", "trainable %": "%", "examples/s": "/s"}
MISSING_NOTE = "'-': not recorded or not applicable."


@st.cache_data(ttl=60, show_spinner="Reading result files…")
def load(root: str) -> loading.Loaded:
    return loading.load_results(root)


def pick(label: str, options: list, key: str, preferred=None, **kwargs):
    """A selectbox that starts on ``preferred`` when it is one of the options.

    A selectbox whose options depend on another choice gets that choice in its key: a keyed widget keeps its value
    when its options change, which would show a run of another task.
    """
    index = options.index(preferred) if preferred in options else 0
    return st.selectbox(label, options, index=index, key=key, **kwargs)


def training_variant(results: list, key: str) -> bool:
    """Full fine-tuning, or LoRA where the results hold both (a radio only then)."""
    variants = sorted({bool(r.run.lora) for r in results})
    if len(variants) > 1:
        return st.radio("Training", variants, format_func=lambda v: "LoRA" if v else "full fine-tuning", key=key,
                        horizontal=True)
    return variants[0]


def colour_range(key: str) -> float:
    return st.select_slider("Colour saturates at ± (points)", list(figures.COLOUR_RANGES),
                            value=figures.DEFAULT_COLOUR_RANGE, key=key, format_func=lambda v: f"{v:.0f}")


def view_overview(results: list, not_learned: dict, weak: dict | None = None) -> None:
    st.header("How do intermediate tasks and encoders compare across XTREME / XTREME-R?")
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        bench = st.radio("Benchmark mean", list(loading.BENCHMARK_TASKS), key="ov_bench", horizontal=True)
    with c2:
        lora = training_variant(results, "ov_lora")
    with c3:
        bound = colour_range("ov_range")
    table = loading.overview_table(results, lora=lora, benchmark=bench, not_learned=not_learned,
                                   weak_intermediates=weak)
    chance = {t: analysis.task_chance(results, t) for t in set(table["task"])}
    st.plotly_chart(figures.overview_figure(table, chance, colour_range=bound), key="ov_chart")
    cells = table[~table["status"].isin([loading.STATUS_AGGREGATE])]
    unrecorded = int((~cells["reliability_recorded"]).sum())
    if unrecorded:
        st.warning(f"No interval recorded for {unrecorded} of {len(cells)} cells (results written before the "
                   "evaluation recorded reliability): re-evaluate them to judge noise. Cells marked '?' and drawn "
                   "pale have one seed and no interval: their noise is unknown.")
    no_base = sorted(set(table.loc[table["status"] == loading.STATUS_NO_BASELINE, "encoder"]))
    if no_base:
        st.info(f"Some tasks have no 'none' run for {', '.join(map(lit, no_base))}: those cells show the absolute "
                "score ('no baseline').")
    if not_learned:
        st.info("Not learned at this budget (below the floor of the floors file; no change judged there, as in "
                "SUMMARY.md): " + "; ".join(f"{lit(t)} ({lit(why)})" for t, why in sorted(not_learned.items())))
    if not (table["intermediate"] != loading.BASELINE).any():
        st.info("Only runs without intermediate task: the grid shows each encoder's absolute scores.")
    st.caption("The legend is under the figure. Column headers give each task's chance level ('-': none defined, "
               "as for F1, QA and retrieval). The benchmark mean averages, for every row of an encoder, the same tasks "
               "(n/N tasks, named on hover); the strict benchmark scores are under 'Benchmark tables'. A suffix "
               "[key=value] names runs whose recipes differ in more than the seed: they are never pooled as seeds. "
               "Hover a cell for its interval, seeds and per-language changes.")
    with st.expander("Table"):
        shown = table.drop(columns=["lang_deltas", "reliability_recorded"]).assign(
            seeds=table["seeds"].map(lambda s: " ".join(map(str, s))),
            constant_langs=table["constant_langs"].map(" ".join))
        st.dataframe(loading.display_frame(shown), hide_index=True, key="ov_table")
        st.caption(MISSING_NOTE)


def view_encoders(results: list, not_learned: dict) -> None:
    st.header("Multilingual vs English-only encoders, on every task")
    kinds = loading.encoders(results)
    if len(kinds) < 2:
        st.info(f"Only one encoder in these results ({', '.join(map(lit, kinds))}): run a second one to compare.")
        return
    names = loading.encoder_order(kinds)
    c1, c2, c3 = st.columns(3)
    with c1:
        a = pick("Encoder A", names, key="cmp_a", preferred=next((e for e in names if kinds[e] == "multilingual"),
                                                                  None),
                 format_func=lambda e: f"{e} ({kinds[e]})")
    with c2:
        b = pick("Encoder B", [n for n in names if n != a], key=f"cmp_b_{a}",
                 preferred=next((e for e in names if kinds[e] == "english"), None),
                 format_func=lambda e: f"{e} ({kinds[e]})")
    shared = {(r.task, r.run.intermediate) for r in results if r.run.encoder == a and not r.run.lora} & \
        {(r.task, r.run.intermediate) for r in results if r.run.encoder == b and not r.run.lora}
    if not shared:
        st.info(f"{lit(a)} and {lit(b)} have no task with the same intermediate in common.")
        return
    with c3:
        inter = pick("Intermediate task", loading.intermediate_order({i for _, i in shared}), key=f"cmp_inter_{a}_{b}",
                     preferred=loading.BASELINE)
    per_task, per_script = loading.encoder_tasks(results, a, b, inter, not_learned=not_learned)
    st.plotly_chart(figures.encoder_tasks_figure(per_task, per_script, a, b,
                                                 title=f"{a} vs {b} (intermediate: {inter})"), key="cmp_tasks_chart")
    st.caption("Top: task score of each encoder (seed mean; whisker: sd over seeds where there are several), the "
               "task's chance level as a black tick; hatched 'const': every language predicts one answer (the score "
               "is the class balance); 'not learned': the target is below its floor. Bottom: difference A − B per "
               "task and writing system, one colour scale for every task (blue: A better, orange: B better). "
               "Languages are grouped by script.")
    st.dataframe(loading.display_frame(per_task.rename(columns={
        "score_a": f"score {a}", "sd_a": f"sd {a}", "n_a": f"seeds {a}", "score_b": f"score {b}",
        "sd_b": f"sd {b}", "n_b": f"seeds {b}", "diff": "difference"}), digits={f"seeds {a}": 0, f"seeds {b}": 0}),
        hide_index=True, key="cmp_task_table")
    st.caption(MISSING_NOTE)
    st.subheader("Per language")
    task = pick("Task", loading.task_order({t for t, i in shared if i == inter}), key=f"cmp_task_{inter}")
    table = loading.encoder_comparison(results, a, b, task, inter)
    st.plotly_chart(figures.encoder_comparison_figure(table, a, b, title=f"{task} (intermediate: {inter})",
                                                      chance=analysis.task_chance(results, task)), key="cmp_chart")
    if task in not_learned:
        st.warning(f"{lit(task)} is not learned at this budget ({lit(not_learned[task])}): no claim rests on it.")
    st.caption("Languages grouped by script. Unknown-token rates come from each encoder's phase-1 statistics; "
               "empty where phase 1 did not record them.")
    st.dataframe(loading.display_frame(loading.script_summary(table).rename(columns={
        "score_a": f"score {a}", "score_b": f"score {b}", "unk_a": f"unk % {a}", "unk_b": f"unk % {b}"})),
        hide_index=True, key="cmp_script_table")


def view_languages(by_path: dict, not_learned: dict) -> None:
    st.header("Which languages does a run transfer to?")
    tasks = loading.task_order({r.task for r in by_path.values()})
    # Open on a learned target where there is one: a constant predictor or an unlearned task is no example.
    task = pick("Task", tasks, key="lang_task", preferred=next((t for t in tasks if t not in not_learned), None))
    runs = sorted((p for p, r in by_path.items() if r.task == task), key=lambda p: loading.run_label(by_path[p].run))
    usable = [p for p in runs if not constant_everywhere([by_path[p]])]
    path = pick("Run", runs, key=f"lang_run_{task}", preferred=usable[0] if usable else None,
                format_func=lambda p: loading.run_label(by_path[p].run))
    result = by_path[path]
    table = loading.run_languages(result)
    gap = loading.zero_shot_gap(result)
    c1, c2, c3 = st.columns(3)
    en = table.loc[table["is_english"], "score"]
    c1.metric("English", loading.fmt_number(en.iloc[0] if not en.empty else None))
    c2.metric("Mean of the others", loading.fmt_number(table.loc[~table["is_english"], "score"].mean()))
    c3.metric("Zero-shot gap", loading.fmt_number(gap, signed=True))
    st.plotly_chart(figures.language_bars(table, gap, title=f"{task}: {loading.run_label(result.run)}",
                                          metric=result.main_metric, chance=analysis.task_chance([result], task),
                                          not_learned=not_learned.get(task, "")), key="lang_chart")
    if constant_everywhere([result]):
        st.warning("Constant prediction in every language: this run gives one answer to nearly every example, so "
                   "its scores are the class balance, not transfer.")
    if task in not_learned:
        st.warning(f"{lit(task)} is not learned at this budget ({lit(not_learned[task])}): no claim rests on it.")
    if result.partial:
        st.warning(f"Partial result: languages missing: {', '.join(map(lit, result.missing_languages))}.")
    st.caption(f"File: {lit(path)}")


def view_benchmark(results: list) -> None:
    st.header("XTREME and XTREME-R scores per run")
    which = st.radio("Benchmark", ["XTREME", "XTREME-R", "beyond XTREME"], key="bench_which", horizontal=True)
    cats = {"XTREME": XTREME_CATEGORIES, "XTREME-R": XTREME_R_CATEGORIES,
            "beyond XTREME": benchmark_categories("beyond_xtreme")}[which]
    table = report.benchmark_table(results, cats)
    st.dataframe(loading.display_frame(table.assign(seed=table["seed"].astype(object))), hide_index=True,
                 key="bench_table")
    st.download_button("Download CSV", table.to_csv(index=False).encode("utf-8"),
                       file_name=f"{which.lower().replace('-', '_').replace(' ', '_')}_scores.csv", mime="text/csv",
                       key="bench_csv")
    st.caption("Click a column header to sort. Category columns are in [brackets]. A category or overall score is "
               "empty where one of its tasks is missing or partial (named in the last two columns); a score over "
               "fewer tasks would not be comparable. " + MISSING_NOTE)


def view_provenance(by_path: dict, roots: list) -> None:
    st.header("Where does a number come from, how did it train, and what did it cost?")
    paths = sorted(by_path)
    # start on a result with the longest chain (a phase-3 run shows every phase), one with training curves if any

    def has_curves(p: str) -> bool:
        entry = (by_path[p].chain or [{}])[0]
        return isinstance(entry, dict) and loading.has_training_history(str(entry.get("folder", "")), roots)

    longest = max(paths, key=lambda p: (len(by_path[p].chain or []), has_curves(p)))
    path = st.selectbox("Result file", paths, index=paths.index(longest), key="prov_result")
    result = by_path[path]
    st.markdown(f"**{lit(result.task)}** score {result.score:.1f} ({lit(result.main_metric)}, {lit(result.split)} "
                f"split, {len(result.languages)} languages{', partial' if result.partial else ''}) — "
                f"{lit(loading.run_label(result.run, with_target=True))}; created {lit(result.created)}, version "
                f"{lit(result.version)}")
    st.subheader("Training curves")
    trained = [e for e in result.chain or [] if isinstance(e, dict) and e.get("phase") in ("phase2", "phase3")]
    if not trained:
        st.info("No training phase in this result's chain (an encoder evaluated as it was imported).")
    for entry in trained:
        folder = str(entry.get("folder", ""))
        history, why = loading.training_history(folder, roots)
        label = f"{entry.get('phase', '?').replace('phase', 'phase ')}: {folder}"
        if history is None:
            st.info(f"{lit(label)}: training curves not available: {lit(why)}")
            continue
        st.plotly_chart(figures.training_curves_figure(history, title=label), key=f"prov_curve_{folder}")
    st.subheader("Chain")
    chain = loading.chain_table(result)
    chain = chain.assign(**{"wall time (min)": chain["wall_time_s"] / 60,
                            "peak memory (GB)": chain["peak_memory_mb"] / 1024,
                            "trainable (M)": chain["trainable_parameters"] / 1e6,
                            "examples/s": chain["train_examples_per_second"]})
    chain = chain[["phase", "folder", "training", "dev", "encoder", "trainable (M)", "wall time (min)", "examples/s",
                   "peak memory (GB)"]]
    st.dataframe(loading.display_frame(chain, UNITS), hide_index=True, key="prov_chain")
    st.caption(MISSING_NOTE)
    for entry in result.chain or []:
        if isinstance(entry, dict):
            with st.expander(f"{lit(entry.get('phase', '?'))}: {lit(entry.get('folder', ''))}"):
                st.json({"recipe": entry.get("recipe"), "metrics": entry.get("metrics"),
                         "stats": entry.get("stats")}, expanded=1)
    st.subheader("Cost of every training phase")
    costs = loading.cost_table(by_path.values())
    if costs.empty:
        st.info("No training phases recorded in these results.")
        return
    st.plotly_chart(figures.cost_figure(costs), key="prov_cost_chart")
    summary = loading.cost_summary(costs)
    st.dataframe(loading.display_frame(summary, UNITS, digits={"folders": 0}), hide_index=True,
                 key="prov_cost_summary")
    st.caption("Mean per encoder, phase and full fine-tuning vs LoRA. " + MISSING_NOTE)
    with st.expander("Every folder"):
        st.dataframe(loading.display_frame(costs, digits={c: 0 for c in loading.COST_KEYS}), hide_index=True,
                     key="prov_cost_table")


def main() -> None:
    st.set_page_config(page_title="xstilts results", layout="wide")
    root = loading.results_dir_from_args(sys.argv[1:], os.environ)
    if root is None:
        st.info("No results folder given. Start the viewer with `streamlit run viewer/app.py -- --results DIR`.")
        st.stop()
    try:
        data = load(root)
    except loading.ViewerError as exc:
        st.warning(lit(exc))
        st.stop()
    with st.sidebar:
        st.title("xstilts results")
        view = st.radio("View", list(VIEWS), format_func=VIEWS.get, key="view")
        st.caption(f"Folder: {lit(data.root)}")
        st.caption(f"{len(data.results)} result file(s)")
        runs = loading.runs_dir_from_args(sys.argv[1:], os.environ)
        if runs:
            st.caption(f"Run folders (training curves): {lit(runs)}")
        floors_file = loading.floors_file_from_args(sys.argv[1:], os.environ)
        if floors_file:
            st.caption(f"Floors: {lit(floors_file)}")
        if st.button("Reload files", key="reload"):
            load.clear()
            st.rerun()
    if data.broken:
        with st.expander(f"⚠ {len(data.broken)} file(s) could not be read (shown without them)"):
            for path, problem in data.broken:
                st.text(f"{path}: {problem}")
    if not data.results:
        st.info(f"No readable result files in {lit(data.root)}: expected `<run folder>/eval/<task>.json` files written "
                "by the evaluation (schema xstilts.results/v1).")
        st.stop()
    results = data.task_results
    by_path = dict(data.results)  # widgets return copies of their options: select by path, look up the result
    floors = loading.floors_file_from_args(sys.argv[1:], os.environ)
    not_learned, problem = loading.floor_verdicts(results, floors)
    weak, _ = loading.intermediate_floor_verdicts(results, floors)  # the same file: a problem is warned once, above
    if problem:
        st.warning(f"Floors file not used: {lit(problem)}")
    if view == "overview":
        view_overview(results, not_learned, weak)
    elif view == "encoders":
        view_encoders(results, not_learned)
    elif view == "languages":
        view_languages(by_path, not_learned)
    elif view == "benchmark":
        view_benchmark(results)
    else:
        runs = loading.runs_dir_from_args(sys.argv[1:], os.environ)
        view_provenance(by_path, [data.root] + ([Path(runs).expanduser()] if runs else []))


main()
