"""Plotly figures of the run report and the analysis notebook, built from echo.report.data results.

Each function returns a plotly Figure, or None when there is nothing to draw (the caller shows a
"no data" note instead). Colours are fixed per platform, polarity, task, quality and dataset so the
same thing has the same colour in every chart.
"""

from __future__ import annotations

import datetime as dt
import html
import textwrap
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from echo.report import data
from echo.report.prompt_map import PromptMap
from echo.report.spikes import SpikeSeries

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
PLATFORM_COLORS = {"x": "#1f2328", "bluesky": "#1185fe", "reddit": "#ff4500", "mastodon": "#6364ff",
                   "hackernews": "#b07d12"}
POLARITY_COLORS = {"success": "#2e9d5b", "failure": "#d64545", "neutral": "#9aa0a6"}
TASK_COLORS = {"text_to_image": "#4c72b0", "image_to_image": "#dd8452", "unknown": "#b8bcc2"}
QUALITY_COLORS = {"benchmark": "#2e9d5b", "analysis": "#4c72b0", "trash": "#b8bcc2"}
DATASET_COLORS = {"mined": "#2563eb", "partiprompts": "#b08968", "geneval": "#7d9bb5", "diffusiondb": "#a3a3a3"}
DATASET_MARKERS = {"partiprompts": "diamond", "geneval": "square", "diffusiondb": "triangle-up"}
CLUSTER_PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d",
                   "#7c3aed", "#ca8a04", "#0d9488", "#e11d48")
ACCENT = "#2563eb"
SPIKE_COLOR = "#d64545"


def dataset_name(key: str) -> str:
    return "mined (this corpus)" if key == "mined" else data.REFERENCE_NAMES.get(key, key)


def _style(fig: go.Figure, *, height: int = 360, legend: bool = True) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, font=dict(family=FONT, size=13, color="#1f2937"),
        margin=dict(l=10, r=10, t=30, b=10), showlegend=legend, hoverlabel=dict(font=dict(family=FONT, size=12)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, font=dict(size=12)),
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _hover_text(text: str, width: int = 60, max_lines: int = 6) -> str:
    """Escaped, wrapped text for a plotly hover label (plotly renders a small HTML subset)."""
    lines = textwrap.wrap(text or "", width=width)
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["…"]
    return "<br>".join(html.escape(line) for line in lines)


# --- funnel ---------------------------------------------------------------------------------------


def funnel_figure(rows: Sequence[dict]) -> go.Figure | None:
    per_source = [r for r in rows if r["source"] != "all sources"]
    if not per_source or not any(r["posts"] for r in per_source):
        return None
    labels = [data.FUNNEL_LABELS[k] for k in data.FUNNEL_STEPS]
    fig = go.Figure()
    for i, r in enumerate(per_source):
        fig.add_trace(go.Funnel(
            name=r["source"], y=labels, x=[r[k] for k in data.FUNNEL_STEPS],
            textinfo="value+percent initial", textposition="inside",
            marker=dict(color=CLUSTER_PALETTE[i % len(CLUSTER_PALETTE)]),
            connector=dict(line=dict(color="#d1d5db", width=1)),
            hovertemplate="%{y}: %{x}<br>%{percentInitial:.1%} of posts<extra>" + html.escape(r["source"]) + "</extra>",
        ))
    return _style(fig, height=340, legend=len(per_source) > 1)


# --- volume ---------------------------------------------------------------------------------------


def volume_figure(days: Sequence[dt.date], per_platform: dict[str, list[int]], spikes: SpikeSeries) -> go.Figure | None:
    if not days:
        return None
    fig = go.Figure()
    for platform in sorted(per_platform):
        fig.add_trace(go.Bar(x=list(days), y=per_platform[platform], name=platform,
                             marker=dict(color=PLATFORM_COLORS.get(platform, "#888")),
                             hovertemplate="%{x|%Y-%m-%d}: %{y} posts<extra>" + html.escape(platform) + "</extra>"))
    fig.add_trace(go.Scatter(x=list(days), y=spikes.baseline, name="rolling median", mode="lines",
                             line=dict(color="#374151", width=1.5),
                             hovertemplate="median %{y:.1f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=list(days), y=spikes.threshold, name="spike threshold", mode="lines",
                             line=dict(color=SPIKE_COLOR, width=1.2, dash="dot"),
                             hovertemplate="threshold %{y:.1f}<extra></extra>"))
    idx = spikes.spike_indices
    if idx:
        fig.add_trace(go.Scatter(
            x=[days[i] for i in idx], y=[spikes.counts[i] for i in idx], name="spike", mode="markers",
            marker=dict(symbol="triangle-down", size=13, color=SPIKE_COLOR, line=dict(color="white", width=1)),
            hovertemplate="spike %{x|%Y-%m-%d}: %{y:.0f} posts<extra></extra>",
        ))
    fig.update_layout(barmode="stack", bargap=0.15)
    fig.update_yaxes(title_text="posts per day", rangemode="tozero")
    fig = _style(fig, height=380)
    fig.update_layout(legend=dict(traceorder="normal"))
    return fig


# --- mixes ----------------------------------------------------------------------------------------


def mix_figure(task: dict[str, int], quality: dict[str, int]) -> go.Figure | None:
    if not sum(task.values()) and not sum(quality.values()):
        return None
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "domain"}, {"type": "domain"}]], horizontal_spacing=0.12)
    for col, (name, mix, colors) in enumerate((("task", task, TASK_COLORS), ("quality", quality, QUALITY_COLORS)),
                                              start=1):
        labels = list(mix)
        fig.add_trace(go.Pie(labels=[k.replace("_", " ") for k in labels], values=[mix[k] for k in labels],
                             hole=0.58, sort=False, title=dict(text=f"<b>{name}</b><br>{sum(mix.values()):,} samples",
                                                               font=dict(size=14)),
                             marker=dict(colors=[colors.get(k, "#888") for k in labels],
                                         line=dict(color="white", width=2)),
                             texttemplate=["%{value}<br>%{percent}" if mix[k] else "" for k in labels],
                             textposition="inside", insidetextorientation="horizontal",
                             hovertemplate="%{label}: %{value} samples (%{percent})<extra></extra>"),
                      row=1, col=col)
    fig = _style(fig, height=360)
    fig.update_layout(legend=dict(orientation="h", y=-0.04, yanchor="top", x=0.5, xanchor="center"),
                      margin=dict(t=10, b=40))
    return fig


# --- feedback -------------------------------------------------------------------------------------


def polarity_figure(fb: data.FeedbackSummary) -> go.Figure | None:
    if not fb.total:
        return None
    fig = go.Figure()
    for pol, n in fb.polarity.items():
        if not n:
            continue  # an empty class would only add a legend entry
        fig.add_trace(go.Bar(y=["feedback"], x=[n], name=pol, orientation="h",
                             marker=dict(color=POLARITY_COLORS.get(pol, "#888")),
                             text=[f"{pol} {n} ({n / fb.total:.0%})" if n else ""], textposition="inside",
                             insidetextanchor="middle",
                             hovertemplate=f"{pol}: %{{x}} judgements<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title_text="judgements (replies and quotes)")
    return _style(fig, height=170)


def term_bars(terms: Sequence[tuple[str, int]], *, color: str, x_title: str) -> go.Figure | None:
    if not terms:
        return None
    names = [t for t, _ in terms][::-1]
    counts = [n for _, n in terms][::-1]
    fig = go.Figure(go.Bar(x=counts, y=names, orientation="h", marker=dict(color=color),
                           text=counts, textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, rangemode="tozero")
    return _style(fig, height=max(220, 26 * len(terms) + 70), legend=False)


# --- prompts --------------------------------------------------------------------------------------


def prompt_map_figure(m: PromptMap, max_cluster_traces: int = 12) -> go.Figure | None:
    if m.count("mined") == 0 or len(m.xy) != len(m.text):
        return None
    fig = go.Figure()
    # References first, muted, so the mined prompts are drawn on top.
    for ds in sorted({d for d in m.dataset if d != "mined"}):
        idx = [i for i, d in enumerate(m.dataset) if d == ds]
        fig.add_trace(go.Scatter(
            x=m.xy[idx, 0], y=m.xy[idx, 1], mode="markers", name=f"{dataset_name(ds)} (reference)",
            marker=dict(color=DATASET_COLORS.get(ds, "#aaa"), symbol=DATASET_MARKERS.get(ds, "circle"),
                        size=6, opacity=0.45),
            text=[_hover_text(m.text[i]) for i in idx],
            hovertemplate="%{text}<extra>" + html.escape(dataset_name(ds)) + "</extra>",
        ))
    mined = [i for i, d in enumerate(m.dataset) if d == "mined"]
    groups: dict[tuple, list[int]] = {}
    for i in mined:
        cid = m.cluster_id[i]
        groups.setdefault((cid, m.label[i]), []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0] is None or kv[0][0] < 0, -len(kv[1]), str(kv[0])))
    colored = [g for g in ordered if g[0][0] is not None and g[0][0] >= 0][:max_cluster_traces]
    rest = [i for g in ordered if g not in colored for i in g[1]]
    for n, ((cid, label), idx) in enumerate(colored):
        name = f"{cid}: {label}" if label else f"cluster {cid}"
        fig.add_trace(go.Scatter(
            x=m.xy[idx, 0], y=m.xy[idx, 1], mode="markers", name=html.escape(textwrap.shorten(name, 40, placeholder="…")),
            marker=dict(color=CLUSTER_PALETTE[n % len(CLUSTER_PALETTE)], size=9, line=dict(color="white", width=0.8)),
            text=[_hover_text(m.text[i]) for i in idx],
            hovertemplate="%{text}<extra>" + html.escape(textwrap.shorten(name, 40, placeholder="…")) + "</extra>",
        ))
    if rest:
        name = "mined, not clustered" if m.clustering_id is None else "mined: noise / small clusters"
        fig.add_trace(go.Scatter(
            x=m.xy[rest, 0], y=m.xy[rest, 1], mode="markers", name=name,
            marker=dict(color="#111827" if m.clustering_id is None else "#6b7280", size=8,
                        line=dict(color="white", width=0.8)),
            text=[_hover_text(m.text[i]) + (f"<br><i>{html.escape(m.label[i])}</i>" if m.label[i] else "")
                  for i in rest],
            hovertemplate="%{text}<extra>mined</extra>",
        ))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig = _style(fig, height=680)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.02, xanchor="left", yanchor="top"),
                      margin=dict(l=10, r=10, t=36, b=10))
    return fig


def _upper_fence(values: Sequence[int]) -> float:
    import numpy as np

    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 + 1.5 * (q3 - q1))


def prompt_length_figure(lengths: dict[str, list[int]]) -> go.Figure | None:
    """Box per dataset; whiskers at 1.5 IQR, the y-axis cut above the highest whisker (long outliers are few)."""
    if not any(lengths.values()):
        return None
    fig = go.Figure()
    for ds, values in lengths.items():
        if not values:
            continue
        fig.add_trace(go.Box(y=values, name=dataset_name(ds), boxpoints="suspectedoutliers", marker_size=2,
                             marker_opacity=0.3,
                             marker=dict(color=DATASET_COLORS.get(ds, "#888")),
                             line=dict(color=DATASET_COLORS.get(ds, "#888")),
                             hoverinfo="y+name"))
    top = max(_upper_fence(v) for v in lengths.values() if v)
    longest = max(max(v) for v in lengths.values() if v)
    fig.update_yaxes(title_text="words per prompt", range=[0, max(5.0, top * 1.25)])
    if longest > top * 1.25:
        fig.add_annotation(text=f"axis cut at {top * 1.25:.0f} words; longest prompt {longest}", xref="paper", yref="paper",
                           x=1, y=1.02, xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=11, color="#6b7280"))
    return _style(fig, height=360, legend=False)


def diversity_figure(stats: Sequence[data.PromptStats]) -> go.Figure | None:
    stats = [s for s in stats if s.prompts]
    if not stats:
        return None
    fig = go.Figure(go.Bar(
        x=[dataset_name(s.dataset) for s in stats], y=[s.bigram_diversity for s in stats],
        marker=dict(color=[DATASET_COLORS.get(s.dataset, "#888") for s in stats]),
        text=[f"{s.bigram_diversity:.2f}" if s.bigram_diversity >= 0.01 else f"{s.bigram_diversity:.3f}" for s in stats],
        textposition="outside", cliponaxis=False,
        customdata=[[s.distinct_first_bigrams, s.prompts] for s in stats],
        hovertemplate="%{x}: %{customdata[0]} distinct first bigrams / %{customdata[1]} prompts<extra></extra>",
    ))
    fig.update_yaxes(title_text="distinct first bigrams / prompts", range=[0, 1.1])
    return _style(fig, height=360, legend=False)
