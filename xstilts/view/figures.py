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

from xstilts.view.loading import intermediate_order, task_order

ENGLISH_COLOUR = "#d62728"
OTHER_COLOUR = "#1f77b4"
PAIR_COLOURS = ("#1f77b4", "#ff7f0e")
TRAINING_COLOURS = {"full": "#1f77b4", "LoRA": "#2ca02c", "unknown": "#7f7f7f"}


def text(value: object) -> str:
    """A string from a result file as Plotly text: shown literally, never as a link or markup."""
    return html.escape(str(value), quote=False)


def _fmt(value: float, spec: str = "+.2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _lang_lines(lang_deltas: dict[str, float], per_line: int = 6) -> str:
    """Per-language deltas for a hover box, a few per line so that 40 languages still fit on screen."""
    items = [f"{text(lang)} {d:+.1f}" for lang, d in lang_deltas.items()]
    return "<br>".join("  ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def delta_heatmap(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Intermediate (rows) x target task (columns) heatmap of the task-score change over the no-intermediate baseline.

    Args:
        table: ``loading.delta_table`` output.
        title: figure title.

    Cells show the seed-mean delta and, where several seeds exist, its spread (± sd over seeds); a delta within seed
    noise is marked "≈ noise". Hover gives score, baseline, seeds, noise and the per-language deltas. The colour scale
    is centred on zero (blue = gain, red = loss).
    """
    rows = [i for i in intermediate_order(table["intermediate"]) if i != "none"]
    cols = task_order(table["task"])
    row_names, col_names = [text(i) for i in rows], [text(t) for t in cols]
    index = {(r.intermediate, r.task): r for r in table.itertuples(index=False)}
    z: list[list[Any]] = []
    cell_text: list[list[str]] = []
    hover: list[list[str]] = []
    for inter, inter_name in zip(rows, row_names):
        zr, tr, hr = [], [], []
        for task, task_name in zip(cols, col_names):
            cell = index.get((inter, task))
            if cell is None or math.isnan(cell.delta):
                zr.append(None)
                tr.append("no baseline" if cell is not None else "")
                hr.append(f"{inter_name} → {task_name}: " + ("no 'none' baseline for this task" if cell is not None
                                                   else "not run"))
                continue
            zr.append(cell.delta)
            label = f"{cell.delta:+.1f}"
            if cell.n_seeds >= 2 and not math.isnan(cell.sd):
                label += f" ±{cell.sd:.1f}"
            if cell.within_noise:
                label += "<br>≈ noise"
            tr.append(label)
            hr.append(
                f"<b>{inter_name} → {task_name}</b><br>delta {cell.delta:+.2f} (score {cell.score:.2f} vs baseline "
                f"{cell.baseline:.2f})<br>seeds: {cell.n_seeds} (sd {_fmt(cell.sd, '.2f')}), baseline seeds: "
                f"{cell.n_baseline_seeds} (sd {_fmt(cell.baseline_sd, '.2f')})<br>seed noise {_fmt(cell.noise, '.2f')}"
                f" ({text(cell.noise_source)}){' — within noise' if cell.within_noise else ''}"
                f"<br><b>per language</b><br>{_lang_lines(cell.lang_deltas)}"
            )
        z.append(zr)
        cell_text.append(tr)
        hover.append(hr)
    finite = [abs(v) for r in z for v in r if v is not None]
    bound = max(finite) if finite else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=col_names, y=row_names, text=cell_text, texttemplate="%{text}", hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>", colorscale="RdBu", zmid=0, zmin=-bound, zmax=bound,
        colorbar={"title": {"text": "Δ score"}}, xgap=2, ygap=2,
    ))
    fig.update_layout(title=text(title), xaxis_title="target task", yaxis_title="intermediate task",
                      yaxis={"autorange": "reversed", "type": "category"}, xaxis={"type": "category", "side": "top"},
                      height=max(300, 90 * len(rows) + 160), margin={"t": 110})
    return fig


def encoder_comparison_figure(table: pd.DataFrame, name_a: str, name_b: str, title: str = "") -> go.Figure:
    """Two encoders per language (grouped by script), their difference, and their phase-1 unknown-token rates.

    Args:
        table: ``loading.encoder_comparison`` output (already in script order).
        name_a: label of encoder a (``score_a``, ``unk_a``).
        name_b: label of encoder b.
        title: figure title.
    """
    # A multicategory axis: languages grouped under scripts.
    x = [table["script"].tolist(), [text(lang) for lang in table["lang"]]]
    name_a, name_b = text(name_a), text(name_b)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.45, 0.3, 0.25],
                        subplot_titles=("score per language", f"difference ({name_a} − {name_b})",
                                        "unknown tokens in phase 1 (% of tokens)"))
    for name, col, colour in ((name_a, "a", PAIR_COLOURS[0]), (name_b, "b", PAIR_COLOURS[1])):
        # The name reaches the hover box as data (meta), never as part of the template.
        fig.add_trace(go.Bar(x=x, y=table[f"score_{col}"], name=name, marker_color=colour, legendgroup=name,
                             meta=name, hovertemplate="%{meta}<br>%{x}: %{y:.2f}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Bar(x=x, y=table[f"unk_{col}"], name=f"{name} unk %", marker_color=colour,
                             legendgroup=name, showlegend=False, opacity=0.6, meta=name,
                             hovertemplate="%{meta} unknown tokens<br>%{x}: %{y:.2f}%<extra></extra>"),
                      row=3, col=1)
    colours = ["#2ca02c" if (isinstance(d, float) and d >= 0) else "#d62728" for d in table["diff"]]
    fig.add_trace(go.Bar(x=x, y=table["diff"], name="difference", marker_color=colours, showlegend=False,
                         hovertemplate="%{x}: %{y:+.2f}<extra></extra>"), row=2, col=1)
    fig.update_layout(title=text(title), barmode="group", height=720, legend={"orientation": "h", "y": 1.08})
    return fig


def language_bars(table: pd.DataFrame, gap: float | None, title: str = "", metric: str = "score") -> go.Figure:
    """One run's languages as bars, highest first, English in red, the mean of the others as a dashed line.

    Args:
        table: ``loading.run_languages`` output.
        gap: ``loading.zero_shot_gap`` (English minus the mean of the rest), or None.
        title: figure title.
        metric: y-axis label.
    """
    colours = [ENGLISH_COLOUR if e else OTHER_COLOUR for e in table["is_english"]]
    fig = go.Figure(go.Bar(
        x=[text(lang) for lang in table["lang"]], y=table["score"], marker_color=colours,
        customdata=table[["script", "n"]].values,
        hovertemplate="%{x} (%{customdata[0]}): %{y:.2f}<br>n = %{customdata[1]}<extra></extra>",
    ))
    others = table.loc[~table["is_english"], "score"]
    if not others.empty:
        fig.add_hline(y=float(others.mean()), line_dash="dash", line_color="#555",
                      annotation_text=f"mean without en: {others.mean():.1f}", annotation_position="top right")
    sub = f"zero-shot gap (en − mean of others): {gap:+.1f}" if gap is not None else "no zero-shot gap (no English)"
    fig.update_layout(title=f"{text(title)}<br><sup>{sub}; English in red</sup>" if title else sub,
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
