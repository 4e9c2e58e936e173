"""The xstilts results viewer (layout only: loading and figures live in ``xstilts.view``).

    streamlit run viewer/app.py -- --results DIR

DIR is a folder holding evaluation results (``<anything>/<task>.json``, schema ``xstilts.results/v1``); the viewer
reads nothing outside it. Without ``--results``, ``$XSTILTS_RESULTS`` is used.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# streamlit runs this file as a script from any working directory: make the package importable from the checkout.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pandas as pd
import streamlit as st

from xstilts.results import XTREME_CATEGORIES, XTREME_R_CATEGORIES
from xstilts.view import figures, loading

# Every string from the results folder (names, paths, recipe values, problems) is shown as text: in Markdown (messages,
# captions, expander labels) through `lit`, in figures through `figures.text`, otherwise in st.text and st.dataframe.
lit = loading.md_literal

VIEWS = {
    "heatmap": "Intermediate × target",
    "encoders": "Multilingual vs English-only",
    "languages": "One run per language",
    "benchmark": "Benchmark tables",
    "provenance": "Provenance and cost",
}


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


def view_heatmap(results: list) -> None:
    st.header("Does an English intermediate task help zero-shot transfer?")
    kinds = loading.encoders(results)
    preferred = next((e for e, k in kinds.items() if k == "multilingual"), None)
    encoder = pick("Encoder", list(kinds), key="hm_encoder", preferred=preferred)
    variants = sorted({bool(r.run.lora) for r in results if r.run.encoder == encoder})
    lora = variants[0]
    if len(variants) > 1:
        lora = st.radio("Training", variants, format_func=lambda v: "LoRA" if v else "full fine-tuning",
                        key="hm_lora", horizontal=True)
    table = loading.delta_table(results, encoder, lora=lora)
    if table.empty:
        st.info(f"No runs with an intermediate task for {lit(encoder)}: nothing to compare with the 'none' baseline.")
        return
    fig = figures.delta_heatmap(table, title=f"Δ task score over no intermediate task — {encoder}")
    st.plotly_chart(fig, key="hm_chart")
    st.caption("Cell: mean over seeds of (task score − mean 'none' baseline), ± the spread (sd) over seeds where "
               "there are several. '≈ noise' marks a change no larger than the seed-to-seed standard deviation of "
               "that task. An empty cell was not run. Hover for per-language changes.")
    no_base = sorted(set(table.loc[table["delta"].isna(), "task"]))
    if no_base:
        st.warning(f"No 'none' baseline for: {', '.join(map(lit, no_base))}; those cells are empty.")
    with st.expander("Table"):
        st.dataframe(table.drop(columns="lang_deltas"), hide_index=True)


def view_encoders(results: list) -> None:
    st.header("How much does a multilingual encoder matter, and where?")
    kinds = loading.encoders(results)
    if len(kinds) < 2:
        st.info(f"Only one encoder in these results ({', '.join(map(lit, kinds))}): run a second one to compare.")
        return
    names = list(kinds)
    c1, c2 = st.columns(2)
    with c1:
        a = pick("Encoder A", names, key="cmp_a", preferred=next((e for e, k in kinds.items()
                                                                   if k == "multilingual"), None),
                 format_func=lambda e: f"{e} ({kinds[e]})")
    with c2:
        b = pick("Encoder B", [n for n in names if n != a], key=f"cmp_b_{a}",
                 preferred=next((e for e, k in kinds.items() if k == "english"), None),
                 format_func=lambda e: f"{e} ({kinds[e]})")
    shared = {(r.task, r.run.intermediate) for r in results if r.run.encoder == a and not r.run.lora} & \
        {(r.task, r.run.intermediate) for r in results if r.run.encoder == b and not r.run.lora}
    if not shared:
        st.info(f"{lit(a)} and {lit(b)} have no task with the same intermediate in common.")
        return
    c3, c4 = st.columns(2)
    with c3:
        task = pick("Task", loading.task_order({t for t, _ in shared}), key="cmp_task")
    with c4:
        inter = pick("Intermediate task", loading.intermediate_order({i for t, i in shared if t == task}),
                     key=f"cmp_inter_{task}")
    table = loading.encoder_comparison(results, a, b, task, inter)
    st.plotly_chart(figures.encoder_comparison_figure(table, a, b, title=f"{task} (intermediate: {inter})"),
                    key="cmp_chart")
    st.caption("Languages grouped by script. Unknown-token rates come from each encoder's phase-1 statistics; "
               "empty where phase 1 did not record them.")
    st.subheader("Per script")
    st.dataframe(loading.script_summary(table).rename(columns={"score_a": f"score {a}", "score_b": f"score {b}",
                                                               "unk_a": f"unk % {a}", "unk_b": f"unk % {b}"}),
                 hide_index=True)


def view_languages(by_path: dict) -> None:
    st.header("Which languages does a run transfer to?")
    task = pick("Task", loading.task_order({r.task for r in by_path.values()}), key="lang_task")
    runs = sorted((p for p, r in by_path.items() if r.task == task), key=lambda p: loading.run_label(by_path[p].run))
    path = st.selectbox("Run", runs, key=f"lang_run_{task}", format_func=lambda p: loading.run_label(by_path[p].run))
    result = by_path[path]
    table = loading.run_languages(result)
    gap = loading.zero_shot_gap(result)
    c1, c2, c3 = st.columns(3)
    en = table.loc[table["is_english"], "score"]
    c1.metric("English", f"{en.iloc[0]:.1f}" if not en.empty else "—")
    c2.metric("Mean of the others", f"{table.loc[~table['is_english'], 'score'].mean():.1f}")
    c3.metric("Zero-shot gap", f"{gap:.1f}" if gap is not None else "—")
    st.plotly_chart(figures.language_bars(table, gap, title=f"{task}: {loading.run_label(result.run)}",
                                          metric=result.main_metric), key="lang_chart")
    if result.partial:
        st.warning(f"Partial result: languages missing: {', '.join(map(lit, result.missing_languages))}.")
    st.caption(f"File: {lit(path)}")


def view_benchmark(results: list) -> None:
    st.header("XTREME and XTREME-R scores per run")
    which = st.radio("Benchmark", ["XTREME", "XTREME-R"], key="bench_which", horizontal=True)
    cats = XTREME_CATEGORIES if which == "XTREME" else XTREME_R_CATEGORIES
    table = loading.benchmark_table(results, cats)
    numeric = {c: st.column_config.NumberColumn(format="%.2f") for c in table.columns
               if pd.api.types.is_float_dtype(table[c])}
    st.dataframe(table, hide_index=True, column_config=numeric, key="bench_table")
    st.download_button("Download CSV", table.to_csv(index=False).encode("utf-8"),
                       file_name=f"{which.lower().replace('-', '_')}_scores.csv", mime="text/csv", key="bench_csv")
    st.caption("Click a column header to sort. Category columns are in [brackets]. A category or overall score is "
               "empty where one of its tasks is missing or partial (named in the last two columns); a score over "
               "fewer tasks would not be comparable.")


def view_provenance(by_path: dict) -> None:
    st.header("Where does a number come from, and what did it cost?")
    paths = sorted(by_path)
    # start on the result with the longest chain (a phase-3 run shows every phase)
    longest = max(paths, key=lambda p: len(by_path[p].chain or []))
    path = st.selectbox("Result file", paths, index=paths.index(longest), key="prov_result")
    result = by_path[path]
    st.markdown(f"**{lit(result.task)}** score {result.score:.2f} ({lit(result.main_metric)}, {lit(result.split)} "
                f"split, {len(result.languages)} languages{', partial' if result.partial else ''}) — "
                f"{lit(loading.run_label(result.run, with_target=True))}; created {lit(result.created)}, version "
                f"{lit(result.version)}")
    chain = loading.chain_table(result)
    st.dataframe(chain, hide_index=True, key="prov_chain")
    for k, entry in enumerate(result.chain or []):
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
    st.dataframe(summary, hide_index=True, key="prov_cost_summary",
                 column_config={c: st.column_config.NumberColumn(format="%.2f") for c in summary.columns[4:]})
    st.caption("Mean per encoder, phase and full fine-tuning vs LoRA; empty where older runs did not record it.")
    with st.expander("Every folder"):
        st.dataframe(costs, hide_index=True, key="prov_cost_table")


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
    if view == "heatmap":
        view_heatmap(results)
    elif view == "encoders":
        view_encoders(results)
    elif view == "languages":
        view_languages(by_path)
    elif view == "benchmark":
        view_benchmark(results)
    else:
        view_provenance(by_path)


main()
