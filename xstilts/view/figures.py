"""Plotly figures of the viewer, built from the tables of ``xstilts.view.loading``: pure, no Streamlit.

Plotly renders a subset of HTML (links, styles) and HTML entities in titles, axis labels, legends and hover boxes,
so every string that comes from a result file goes through ``text`` (HTML-escaped) before it reaches a figure, and
none is ever put into a hover *template* (where ``%{...}`` would be expanded).
"""
from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xstilts import anchors
from xstilts.results import intermediate_order, task_order
from xstilts.view import loading

# One colour-blind-safe palette for every view: blue and orange (told apart under the common colour-vision
# deficiencies, unlike red and green), greys for what is not a result; the overview's diverging scale uses the same.
BLUE, ORANGE, GREY = "#2166ac", "#e08214", "#7f7f7f"
ENGLISH_COLOUR = ORANGE
OTHER_COLOUR = BLUE
PAIR_COLOURS = (BLUE, ORANGE)
TRAINING_COLOURS = {"full": BLUE, "LoRA": ORANGE, "unknown": GREY}
GAIN_COLOUR, LOSS_COLOUR = "#2166ac", "#b35806"  # the ends of DIVERGING: blue gain, orange loss
CONSTANT_PATTERN = "x"  # bar pattern of a constant prediction (its score is the class balance)
CHANCE_STYLE = {"line_dash": "dot", "line_color": "black", "line_width": 1.5}


def text(value: object) -> str:
    """A string from a result file as Plotly text: shown literally, never as a link or markup."""
    return html.escape(str(value), quote=False)


def _fmt(value: float, spec: str = "+.2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _lang_lines(lang_deltas: dict[str, float], per_line: int = 6) -> str:
    """Per-language deltas for a hover box, a few per line so that 40 languages still fit on screen."""
    items = [f"{text(lang)} {d:+.1f}" for lang, d in lang_deltas.items()]
    return "<br>".join("  ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


# One diverging scale for every encoder and task: orange = loss, blue = gain (blue-orange stays distinct under the
# common colour-vision deficiencies, unlike red-green), white = no change.
DIVERGING = [[0.0, "#b35806"], [0.25, "#f1a340"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
NOISE_FILL = "#cfcfcf"  # a change whose 95% interval of the difference holds 0: not told from the baseline
CONSTANT_FILL = "#6b6b6b"  # every language predicts one answer: the score is the class balance
ABSOLUTE_FILL = "#ffffff"  # the baseline row and cells without baseline: absolute scores only
UNCERTAIN_OPACITY = 0.45  # one seed and no interval: the colour is shown, paler, because its noise is unknown
# Trace names of the overview, one per way a cell is drawn (the legend below the figure explains each).
TRACE_CHANGE, TRACE_UNCERTAIN, TRACE_AGGREGATE = "change", "noise unknown", "benchmark mean"
TRACE_NOISE, TRACE_CONSTANT, TRACE_ABSOLUTE = "within noise", "constant prediction", "absolute score"
TRACE_NOT_LEARNED = "not learned at this budget"
NOT_LEARNED_FILL = "#efe3c8"  # pale sand: a target below its floor, where SUMMARY.md claims nothing
COLOUR_RANGES = (2.0, 5.0, 10.0, 20.0)  # points of task score at which the colour saturates (a user choice)
DEFAULT_COLOUR_RANGE = 10.0
OVERVIEW_LEGEND = (
    "Cell: score (seed mean) and Δ over the encoder's 'none' row. Colour: Δ, blue gain / orange loss, one scale for "
    "all encoders. Pale: one trained seed a side, or no interval recorded: noise unknown. Grey ≈: within noise (95% "
    "interval of the paired difference to the baseline, from seed and item noise, holds 0). Dark, hatched: constant "
    "prediction (hatched only: some languages). Sand 'not learned': the target, or the intermediate task on its own "
    "English dev set, is below its floor (--floors), no change judged. 'same task': the intermediate task is the "
    "target's own training data, not judged.")


def _legend_lines(legend: str) -> str:
    """The legend in three lines under the figure (a Plotly annotation does not wrap)."""
    return legend.replace(" Grey", "<br>Grey").replace(" Sand", "<br>Sand")


def _trace_for(row: Any) -> str:
    if row.all_constant:
        return TRACE_CONSTANT
    if row.status == loading.STATUS_NOT_LEARNED:
        return TRACE_NOT_LEARNED
    traces = {loading.STATUS_CHANGE: TRACE_CHANGE, loading.STATUS_UNCERTAIN: TRACE_UNCERTAIN,
              loading.STATUS_NOISE: TRACE_NOISE, loading.STATUS_AGGREGATE: TRACE_AGGREGATE}
    return traces.get(row.status, TRACE_ABSOLUTE)


def _cell_text(row: Any) -> str:
    """Two short lines: the score (± seed sd) and the change with its judgement mark."""
    score = f"{row.score:.1f}"
    if row.n_seeds >= 2 and not math.isnan(row.sd):
        score += f" ±{row.sd:.1f}"
    if row.status == loading.STATUS_BASELINE:
        second = f"n={row.n_seeds} seeds" if row.n_seeds >= 2 else ""
    elif row.status == loading.STATUS_NO_BASELINE:
        second = "no baseline"
    elif row.status == loading.STATUS_SAME_TASK:
        second = "same task"
    elif row.status == loading.STATUS_OTHER_LANGUAGES:
        second = "other languages"
    elif row.status == loading.STATUS_NOT_LEARNED:
        second = "not learned"
    elif row.status == loading.STATUS_AGGREGATE:
        second = (f"{row.delta:+.1f} " if not math.isnan(row.delta) else "") + f"({row.aggregate_tasks})"
    else:
        mark = {loading.STATUS_NOISE: " ≈", loading.STATUS_UNCERTAIN: " ?"}.get(row.status, "")
        second = f"{row.delta:+.1f}{mark}"
    if row.all_constant:
        second = "constant"
    elif row.constant_langs:
        second += f"<br>⚠ {len(row.constant_langs)}/{row.n_langs} constant"
    return f"<b>{score}</b><br>{second}" if second else f"<b>{score}</b>"


def _cell_hover(row: Any) -> str:
    lines = [f"<b>{text(row.encoder)} · {text(row.intermediate)} → {text(row.task)}</b>",
             f"score {row.score:.2f}" + (f" (sd {row.sd:.2f} over {row.n_seeds} seeds)" if row.n_seeds >= 2
                                         and not math.isnan(row.sd) else f" ({row.n_seeds} run)")]
    if not math.isnan(row.ci_low):
        lines.append(f"95% interval [{row.ci_low:.2f}, {row.ci_high:.2f}]")
    elif row.status not in ("aggregate",):
        lines.append("no interval recorded: re-evaluate")
    if not math.isnan(row.delta):
        lines.append(f"Δ {row.delta:+.2f} over baseline {row.baseline:.2f}")
    lines.append(text(row.why))
    if row.constant_langs:
        lines.append(f"constant prediction in {len(row.constant_langs)}/{row.n_langs} languages: "
                     + " ".join(text(x) for x in row.constant_langs))
    if row.partial:
        lines.append("partial: some languages or tasks missing")
    if row.lang_deltas:
        lines.append("<b>Δ per language</b><br>" + _lang_lines(row.lang_deltas))
    lines += [text(x) for x in anchors.hover_lines(row.encoder, row.task, row.intermediate,  # anchors.json
                                                   model=getattr(row, "model", None))]
    return "<br>".join(lines)


def _column_label(task: str, chance: float | None, benchmark: bool, partial: bool = False,
                  not_learned: bool = False) -> str:
    if benchmark:
        return f"<b>{text(task)}</b><br>mean{' (partial)' if partial else ''}"
    label = f"<b>{text(task)}</b><br>chance {chance:.1f}" if chance is not None else f"<b>{text(task)}</b><br>chance -"
    return label + ("<br><i>not learned</i>" if not_learned else "")


def overview_figure(table: pd.DataFrame, chance: dict[str, float | None], colour_range: float = DEFAULT_COLOUR_RANGE,
                    title: str = "") -> go.Figure:
    """The landing view: target tasks (columns, chance level under each name) x encoder and intermediate (rows,
    one panel per encoder, multilingual first), absolute score and Δ over the encoder's baseline in every cell.

    Every panel shares one colour axis (``layout.coloraxis``: symmetric around 0, saturating at ``colour_range``
    points), so equal colours mean equal changes on every encoder and task. Cells are split into one heatmap trace per
    judgement (``TRACE_*`` names) so each is drawn differently: changes in full colour, changes of unknown noise paler,
    changes within noise in flat grey, all-constant predictions dark; any constant language hatches the cell (three
    white diagonal lines, ``layout.shapes`` named "constant hatch").

    Args:
        table: ``loading.overview_table`` output.
        chance: task -> chance level (percent) or None, for the column labels.
        colour_range: Δ (points) at which the colour saturates.
        title: figure title.
    """
    kinds = dict(zip(table["encoder"], table["encoder_kind"], strict=True))
    encoders = loading.encoder_order(kinds)
    benchmarks = [t for t in loading.BENCHMARK_TASKS if t in set(table["task"])]
    tasks = task_order(set(table["task"]) - set(benchmarks)) + benchmarks
    cols = [text(t) for t in tasks]
    heights = [len(set(table.loc[table.encoder == e, "intermediate"])) for e in encoders]
    fig = make_subplots(rows=max(1, len(encoders)), cols=1, row_heights=heights or [1], vertical_spacing=0.035)
    shapes = []
    for k, enc in enumerate(encoders, start=1):
        part = table[table.encoder == enc]
        inters = intermediate_order(part["intermediate"])
        rows = [text(i) + (" (baseline)" if i == loading.BASELINE else "") for i in inters]
        grids: dict[str, tuple[list, list, list]] = {}
        for name in (TRACE_ABSOLUTE, TRACE_CHANGE, TRACE_UNCERTAIN, TRACE_AGGREGATE, TRACE_NOISE, TRACE_CONSTANT,
                     TRACE_NOT_LEARNED):
            grids[name] = ([[None] * len(tasks) for _ in inters], [[""] * len(tasks) for _ in inters],
                           [[""] * len(tasks) for _ in inters])
        for row in part.itertuples(index=False):
            i, j = inters.index(row.intermediate), tasks.index(row.task)
            name = _trace_for(row)
            z, t, h = grids[name]
            z[i][j] = row.delta if name in (TRACE_CHANGE, TRACE_UNCERTAIN, TRACE_AGGREGATE) else 1.0
            if name == TRACE_AGGREGATE and math.isnan(row.delta):
                z[i][j] = 0.0
            t[i][j], h[i][j] = _cell_text(row), _cell_hover(row)
            if row.constant_langs:
                ref = "" if k == 1 else str(k)
                for d in (0.12, 0.24, 0.36):  # a hatched top-right corner, clear of the centred text
                    shapes.append({"type": "line", "xref": f"x{ref}", "yref": f"y{ref}", "name": "constant hatch",
                                   "x0": j + 0.47 - d, "x1": j + 0.47, "y0": i - 0.47, "y1": i - 0.47 + d,
                                   "line": {"color": "rgba(255,255,255,0.9)" if row.all_constant
                                            else "rgba(60,60,60,0.8)", "width": 1.5}, "layer": "above"})
        for name, (z, t, h) in grids.items():
            if all(v is None for r in z for v in r):
                continue
            common = {"z": z, "x": cols, "y": rows, "text": t, "hovertext": h, "texttemplate": "%{text}",
                      "hovertemplate": "%{hovertext}<extra></extra>", "name": name, "xgap": 3, "ygap": 3,
                      "textfont": {"size": 12, "color": "white" if name == TRACE_CONSTANT else "#222"}}
            if name in (TRACE_CHANGE, TRACE_UNCERTAIN, TRACE_AGGREGATE):
                trace = go.Heatmap(**common, coloraxis="coloraxis",
                                   opacity=1.0 if name == TRACE_CHANGE else UNCERTAIN_OPACITY)
            else:
                fill = {TRACE_NOISE: NOISE_FILL, TRACE_CONSTANT: CONSTANT_FILL,
                        TRACE_NOT_LEARNED: NOT_LEARNED_FILL}.get(name, ABSOLUTE_FILL)
                trace = go.Heatmap(**common, colorscale=[[0, fill], [1, fill]], zmin=0, zmax=1, showscale=False)
            fig.add_trace(trace, row=k, col=1)
        kind = kinds[enc]
        fig.update_yaxes(row=k, col=1, type="category", categoryorder="array", categoryarray=rows,
                         autorange="reversed", title={"text": f"<b>{text(enc)}</b><br>{text(kind)}",
                                                      "font": {"size": 12}}, automargin=True, showgrid=False)
        fig.update_xaxes(row=k, col=1, type="category", categoryorder="array", categoryarray=cols, side="top",
                         showticklabels=k == 1, tickvals=cols, automargin=True, showgrid=False,
                         ticktext=[_column_label(t, chance.get(t), t in benchmarks,
                                                   bool(table.loc[table.task == t, "partial"].any()),
                                                   bool((table.loc[table.task == t, "not_learned"] != "").any())
                                                   if "not_learned" in table else False)
                                     for t in tasks])
    fig.update_layout(
        title=text(title), shapes=shapes, plot_bgcolor="white", height=max(320, 64 * sum(heights) + 230),
        coloraxis={"colorscale": DIVERGING, "cmin": -colour_range, "cmax": colour_range, "cmid": 0,
                   "colorbar": {"title": {"text": "Δ over<br>baseline<br>(points)"}, "len": 0.6}},
        margin={"t": 100, "b": 95, "l": 10, "r": 10},
        annotations=[{"text": _legend_lines(OVERVIEW_LEGEND), "xref": "paper", "yref": "paper",
                      "x": 0, "y": 0, "yshift": -20, "yanchor": "top", "xanchor": "left", "showarrow": False,
                      "align": "left", "font": {"size": 11, "color": "#444"}}],
    )
    return fig


def encoder_tasks_figure(per_task: pd.DataFrame, per_script: pd.DataFrame, name_a: str, name_b: str,
                         colour_range: float | None = None, title: str = "") -> go.Figure:
    """Two encoders on every task at once: bars per task (± seed sd, chance as a black tick), and below the
    difference a minus b per task and script on the overview's diverging scale.

    Args:
        per_task, per_script: ``loading.encoder_tasks`` output.
        name_a, name_b: the encoders' labels.
        colour_range: Δ (points) at which the colour saturates; by default the largest difference rounded up to
            ten points (encoders differ by tens of points, intermediate tasks by a few), one scale for every task.
        title: figure title.
    """
    if colour_range is None:
        largest = per_script["diff"].abs().max() if not per_script.empty else 0.0
        colour_range = max(10.0, 10.0 * math.ceil(largest / 10)) if math.isfinite(largest) else 10.0
    not_learned = per_task["not_learned"] if "not_learned" in per_task else pd.Series([""] * len(per_task))
    # A target below its floor says so under its name: its bars are not a learned result.
    tasks = [text(t) + ("<br><i>not learned</i>" if nl else "")
             for t, nl in zip(per_task["task"], not_learned, strict=True)]
    scripts = [s for s in dict.fromkeys(per_script["script"])]
    fig = make_subplots(rows=2, cols=1, row_heights=[0.55, 0.45], vertical_spacing=0.16,
                        subplot_titles=("Task score (seed mean; whisker: sd over seeds)",
                                        f"Difference per script ({text(name_a)} − {text(name_b)}, points)"))
    for col, sd, n, name, colour, const in (("score_a", "sd_a", "n_a", name_a, PAIR_COLOURS[0], "const_a"),
                                            ("score_b", "sd_b", "n_b", name_b, PAIR_COLOURS[1], "const_b")):
        constant = per_task[const].tolist() if const in per_task else [False] * len(per_task)
        fig.add_trace(go.Bar(
            x=tasks, y=per_task[col], name=text(name), marker_color=colour,
            # constant predictions hatched and labelled: that score is the class balance, not transfer
            marker_pattern_shape=[CONSTANT_PATTERN if c else "" for c in constant],
            # no whisker where one seed gives no spread (a zero-length whisker would claim certainty)
            error_y={"type": "data", "array": [None if math.isnan(v) else v for v in per_task[sd]],
                     "visible": bool(per_task[sd].notna().any())},
            text=[f"{v:.1f}" + (" const" if c else "") for v, c in zip(per_task[col], constant, strict=True)],
            textposition="outside",
            customdata=per_task[[n]].values, hovertemplate="%{x}: %{y:.2f} (%{customdata[0]} seeds)<extra></extra>",
        ), row=1, col=1)
    chance = per_task["chance"]
    known = chance.notna()
    fig.add_trace(go.Scatter(x=[t for t, k in zip(tasks, known, strict=True) if k], y=chance[known], mode="markers",
                             name="chance", marker={"symbol": "line-ew-open", "size": 34, "color": "black",
                                                    "line": {"width": 2}},
                             hovertemplate="%{x}: chance %{y:.1f}<extra></extra>"), row=1, col=1)
    z = [[None] * len(scripts) for _ in tasks]
    cell = [[""] * len(scripts) for _ in tasks]
    hover = [[""] * len(scripts) for _ in tasks]
    task_index = {t: i for i, t in enumerate(per_task["task"])}
    for r in per_script.itertuples(index=False):
        i, j = task_index[r.task], scripts.index(r.script)
        z[i][j], cell[i][j] = r.diff, f"{r.diff:+.1f}"
        hover[i][j] = (f"{text(r.task)}, {text(r.script)} ({text(r.languages)}): {r.score_a:.1f} vs {r.score_b:.1f}")
    fig.add_trace(go.Heatmap(z=z, x=scripts, y=tasks, text=cell, texttemplate="%{text}", hovertext=hover,
                             hovertemplate="%{hovertext}<extra></extra>", coloraxis="coloraxis", xgap=2, ygap=2,
                             name="difference per script"), row=2, col=1)
    fig.update_yaxes(title_text="score", row=1, col=1)
    fig.update_yaxes(type="category", autorange="reversed", row=2, col=1)
    fig.update_xaxes(type="category", row=2, col=1)
    fig.update_layout(
        title=text(title), barmode="group", height=max(620, 360 + 32 * len(tasks)), plot_bgcolor="white",
        legend={"x": 1.02, "y": 1.0, "yanchor": "top", "xanchor": "left"},  # right of the bars, above the colour bar
        coloraxis={"colorscale": DIVERGING, "cmin": -colour_range, "cmax": colour_range, "cmid": 0,
                   "colorbar": {"title": {"text": "Δ (points)"}, "len": 0.4, "y": 0.2}},
    )
    return fig


def training_curves_figure(history: pd.DataFrame, title: str = "") -> go.Figure:
    """Training loss and English dev score over optimizer steps (``loading.training_history``)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "dev score (English)"),
                        horizontal_spacing=0.1)
    loss = history.dropna(subset=["loss"])
    dev = history.dropna(subset=["dev_score"])
    fig.add_trace(go.Scatter(x=loss["step"], y=loss["loss"], mode="lines+markers", name="loss", line_color=BLUE,
                             hovertemplate="step %{x}: loss %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=dev["step"], y=dev["dev_score"], mode="lines+markers", name="dev score",
                             line_color=ORANGE,
                             hovertemplate="step %{x}: dev %{y:.1f}<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title=text(title), height=360, showlegend=False)
    return fig


def encoder_comparison_figure(table: pd.DataFrame, name_a: str, name_b: str, title: str = "",
                              chance: float | None = None) -> go.Figure:
    """Two encoders per language (grouped by script), their difference, and their phase-1 unknown-token rates.

    Args:
        table: ``loading.encoder_comparison`` output (already in script order).
        name_a: label of encoder a (``score_a``, ``unk_a``).
        name_b: label of encoder b.
        title: figure title.
        chance: the task's chance level (a dotted line over the scores), None where undefined.

    Languages where an encoder predicts one answer are hatched (their score is the class balance); differences
    are blue where a is better and orange where b is, the overview's colours.
    """
    # A multicategory axis: languages grouped under scripts.
    x = [table["script"].tolist(), [text(lang) for lang in table["lang"]]]
    name_a, name_b = text(name_a), text(name_b)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.45, 0.3, 0.25],
                        subplot_titles=("score per language", f"difference ({name_a} − {name_b})",
                                        "unknown tokens in phase 1 (% of tokens)"))
    for name, col, colour in ((name_a, "a", PAIR_COLOURS[0]), (name_b, "b", PAIR_COLOURS[1])):
        # The name reaches the hover box as data (meta), never as part of the template.
        constant = table[f"const_{col}"].tolist() if f"const_{col}" in table else [False] * len(table)
        fig.add_trace(go.Bar(x=x, y=table[f"score_{col}"], name=name, marker_color=colour, legendgroup=name,
                             marker_pattern_shape=[CONSTANT_PATTERN if c else "" for c in constant],
                             customdata=[["constant prediction" if c else ""] for c in constant], meta=name,
                             hovertemplate="%{meta}<br>%{x}: %{y:.2f} %{customdata[0]}<extra></extra>"),
                      row=1, col=1)
        fig.add_trace(go.Bar(x=x, y=table[f"unk_{col}"], name=f"{name} unk %", marker_color=colour,
                             legendgroup=name, showlegend=False, opacity=0.6, meta=name,
                             hovertemplate="%{meta} unknown tokens<br>%{x}: %{y:.2f}%<extra></extra>"),
                      row=3, col=1)
    colours = [GAIN_COLOUR if (isinstance(d, float) and d >= 0) else LOSS_COLOUR for d in table["diff"]]
    fig.add_trace(go.Bar(x=x, y=table["diff"], name="difference", marker_color=colours, showlegend=False,
                         hovertemplate="%{x}: %{y:+.2f}<extra></extra>"), row=2, col=1)
    if chance is not None:
        fig.add_hline(y=chance, row=1, col=1, annotation_text=f"chance {chance:.1f}",
                      annotation_position="top left", **CHANCE_STYLE)
    marks = "hatched: constant prediction" if any(table.get("const_a", [])) or any(table.get("const_b", [])) else ""
    fig.update_layout(title=text(title) + (f"<br><sup>{marks}</sup>" if marks else ""), barmode="group", height=720,
                      legend={"orientation": "h", "y": 1.08})
    return fig


def language_bars(table: pd.DataFrame, gap: float | None, title: str = "", metric: str = "score",
                  chance: float | None = None, not_learned: str = "") -> go.Figure:
    """One run's languages as bars, highest first, English in orange, the mean of the others as a dashed line, the
    chance level as a dotted one; languages with a constant prediction hatched and labelled "const".

    Args:
        table: ``loading.run_languages`` output.
        gap: ``loading.zero_shot_gap`` (English minus the mean of the rest), or None.
        title: figure title.
        metric: y-axis label.
        chance: the task's chance level, None where undefined (F1, QA, retrieval).
        not_learned: why the task is below its floor ("" where learned or no floor), shown in the title.
    """
    colours = [ENGLISH_COLOUR if e else OTHER_COLOUR for e in table["is_english"]]
    constant = table["constant"].tolist() if "constant" in table else [False] * len(table)
    fig = go.Figure(go.Bar(
        x=[text(lang) for lang in table["lang"]], y=table["score"], marker_color=colours,
        marker_pattern_shape=[CONSTANT_PATTERN if c else "" for c in constant],
        text=["const" if c else "" for c in constant], textposition="outside",
        customdata=[[sc, n, "constant prediction" if c else ""]
                    for sc, n, c in zip(table["script"], table["n"], constant, strict=True)],
        hovertemplate="%{x} (%{customdata[0]}): %{y:.2f} %{customdata[2]}<br>n = %{customdata[1]}<extra></extra>",
    ))
    if chance is not None:
        fig.add_hline(y=chance, annotation_text=f"chance {chance:.1f}", annotation_position="bottom right",
                      **CHANCE_STYLE)
    others = table.loc[~table["is_english"], "score"]
    if not others.empty:
        fig.add_hline(y=float(others.mean()), line_dash="dash", line_color="#555",
                      annotation_text=f"mean without en: {others.mean():.1f}", annotation_position="top right")
    sub = (f"zero-shot gap (en − mean of others): {gap:+.1f}" if gap is not None
           else "no zero-shot gap (no English, or one answer predicted everywhere)")
    sub += "; English in orange" + (f"; hatched 'const': constant prediction in {sum(constant)}/{len(constant)} "
                                    "languages" if any(constant) else "")
    if not_learned:
        sub = f"<b>not learned at this budget</b> ({text(not_learned)}); " + sub
    fig.update_layout(title=f"{text(title)}<br><sup>{sub}</sup>" if title else sub,
                      xaxis={"type": "category", "title": "language"}, yaxis_title=text(metric), height=460)
    return fig


def cost_figure(table: pd.DataFrame, title: str = "Training cost per phase folder") -> go.Figure:
    """Wall time against peak memory of every training phase, coloured full vs LoRA (rows lacking either skipped).

    Args:
        table: ``loading.cost_table`` output.
        title: figure title.
    """
    rows = table.dropna(subset=["wall_time_s", "peak_memory_mb"])
    fig = go.Figure()
    for (training, phase), part in rows.groupby(["training", "phase"], sort=True):
        fig.add_trace(go.Scatter(
            x=part["wall_time_s"] / 60, y=part["peak_memory_mb"] / 1024, mode="markers",
            name=text(f"{training}, {phase.replace('phase', 'phase ')}"),
            marker={"color": TRAINING_COLOURS.get(training, "#7f7f7f"), "size": 11,
                    "symbol": "diamond" if phase == "phase2" else "circle"},
            customdata=part[["folder", "encoder"]].map(text).join(
                part[["trainable_parameters", "trainable_share"]]).values,
            hovertemplate=("%{customdata[0]} (%{customdata[1]})<br>%{x:.1f} min, %{y:.2f} GB<br>trainable "
                           "%{customdata[2]:,.0f} (%{customdata[3]:.2f}%)<extra></extra>"),
        ))
    skipped = len(table) - len(rows)
    note = f"<br><sup>{skipped} folder(s) without recorded time or memory not shown</sup>" if skipped else ""
    fig.update_layout(title=text(title) + note, xaxis_title="wall time (min)", yaxis_title="peak memory (GB)",
                      height=440, legend_title="training")
    return fig
