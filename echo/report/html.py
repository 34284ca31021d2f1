"""The self-contained HTML run report (stage "report", the last stage of a refresh).

One file per run, <reports_dir>/<run_id>.html, plus latest.html (an atomically replaced copy) as the
stable path. Everything is inline: CSS, the plotly.js bundle (once, in <head>), every figure, and the
gallery thumbnails as base64 data: URIs. The page works offline and loads nothing from the network.
"""

from __future__ import annotations

import datetime as dt
import functools
import html as html_lib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go

from echo import __version__
from echo.config import Config
from echo.dedup.embed import Embedder
from echo.report import data, figures, spikes
from echo.report.prompt_map import PromptMap, build_prompt_map

LATEST = "latest.html"
LAYOUT_DIR = ".cache"  # under reports_dir: the stored prompt-map layout
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}
# The map keeps zoom and pan: its points overlap.
MAP_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": True,
              "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"]}


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("echo.report", "templates"),
                              autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


@functools.cache
def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (inlined once per page)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: go.Figure | None, div_id: str, config: dict | None = None) -> str | None:
    """A figure as an HTML fragment without plotly.js (the page carries it once)."""
    if fig is None:
        return None
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config=config or PLOT_CONFIG, default_width="100%")


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


@dataclass
class ReportData:
    """Everything the page shows, gathered once (the notebook uses the same pieces)."""

    run: dict
    extractors: list[dict]
    stages: list[dict]
    llm: list[dict]
    llm_per_sample: dict | None
    release: data.ReleaseInfo
    funnel: list[dict]
    days: list[dt.date]
    per_platform: dict[str, list[int]]
    spikes: spikes.SpikeSeries
    task: dict[str, int]
    quality: dict[str, int]
    feedback: data.FeedbackSummary
    prompt_map: PromptMap
    prompt_stats: list[data.PromptStats]
    prompt_lengths: dict[str, list[int]]
    gallery: list[data.GalleryItem]
    gallery_total: int
    timings: dict[str, float] = field(default_factory=dict)


def volume_series(db: Any, config: Config) -> tuple[list[dt.date], dict[str, list[int]], spikes.SpikeSeries]:
    """Calendar days, per-platform daily counts on them, and the spike analysis of the total."""
    daily = data.daily_posts(db)
    all_days = sorted({d for per in daily.values() for d in per})
    days, totals = spikes.daily_counts(all_days, [sum(per.get(d, 0) for per in daily.values()) for d in all_days])
    per_platform = {p: [per.get(d, 0) for d in days] for p, per in daily.items()}
    s = spikes.detect_spikes(totals, window=config.report.spike_window, k=config.report.spike_k,
                             min_count=config.report.spike_min_count)
    return days, per_platform, s


def prompt_datasets(db: Any, config: Config) -> tuple[list[data.PromptStats], dict[str, list[int]]]:
    """Statistics and word counts of the mined prompts and each full reference set."""
    sets = {"mined": data.mined_prompts(db)}
    sets.update(data.load_reference_prompts(config.resolve(config.report.reference_prompts_dir)))
    stats = [data.prompt_stats(name, prompts) for name, prompts in sets.items()]
    lengths = {name: [len(data.words(p)) for p in prompts] for name, prompts in sets.items()}
    return stats, lengths


def gather(db: Any, config: Config, run_id: str, *, stage_order: Sequence[str] = (),
           embedder: Callable[[], Embedder] | None = None, layout_dir: Path | None = None) -> ReportData:
    timings: dict[str, float] = {}

    def timed(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        timings[name] = time.perf_counter() - t0
        return out

    run = data.run_info(db, run_id)
    release = data.newest_release(db)
    days, per_platform, s = timed("volume", volume_series, db, config)
    stats, lengths = timed("prompt_stats", prompt_datasets, db, config)
    pmap = timed("prompt_map", build_prompt_map, db, config, embedder=embedder, layout_dir=layout_dir)
    items, total = timed("gallery", data.gallery, db, config, config.report.gallery_size)
    return ReportData(
        run=run, extractors=data.extractors(db), stages=data.stage_rows(run["stage_stats"], stage_order),
        llm=(llm := data.llm_usage(db, run_id)), llm_per_sample=data.llm_per_sample(llm, run["stage_stats"] or {}),
        release=release, funnel=data.funnel(db, release),
        days=days, per_platform=per_platform, spikes=s, task=data.task_mix(db), quality=data.quality_mix(db),
        feedback=data.feedback_summary(db), prompt_map=pmap, prompt_stats=stats, prompt_lengths=lengths,
        gallery=items, gallery_total=total, timings=timings,
    )


def render(rd: ReportData, config: Config) -> str:
    """The report page as one HTML string."""
    fb = rd.feedback
    figs = {
        "funnel": figures.funnel_figure(rd.funnel),
        "volume": figures.volume_figure(rd.days, rd.per_platform, rd.spikes),
        "mix": figures.mix_figure(rd.task, rd.quality),
        "polarity": figures.polarity_figure(fb),
        "keywords": figures.term_bars(fb.failure_keywords, color=figures.POLARITY_COLORS["failure"],
                                      x_title="failure judgements mentioning it"),
        "categories": figures.term_bars(fb.failure_categories, color="#b45309", x_title="failure judgements"),
        "map": figures.prompt_map_figure(rd.prompt_map),
        "lengths": figures.prompt_length_figure(rd.prompt_lengths),
        "diversity": figures.diversity_figure(rd.prompt_stats),
    }
    plots = {name: figure_html(fig, f"fig-{name}", MAP_CONFIG if name == "map" else None) for name, fig in figs.items()}
    spike_days = [{"day": rd.days[i], "posts": int(rd.spikes.counts[i]), "median": rd.spikes.baseline[i],
                   "threshold": rd.spikes.threshold[i],
                   "platforms": ", ".join(f"{p} {v[i]}" for p, v in sorted(rd.per_platform.items(),
                                                                         key=lambda kv: -kv[1][i]) if v[i])}
                  for i in rd.spikes.spike_indices]
    run = rd.run
    return _env().get_template("report.html").render(
        run=run, config_hash=run["params"].get("config_hash"), extractors=rd.extractors, stages=rd.stages,
        llm=rd.llm, llm_per_sample=rd.llm_per_sample, release=rd.release, funnel=rd.funnel,
        funnel_steps=data.FUNNEL_STEPS,
        funnel_labels=data.FUNNEL_LABELS, plots=plots, spike_days=spike_days, days=rd.days,
        spike_total=int(sum(rd.spikes.counts)), spike_cfg=config.report, task=rd.task, quality=rd.quality,
        feedback=fb, prompt_map=rd.prompt_map, map_counts={d: rd.prompt_map.count(d) for d in
                                                           dict.fromkeys(rd.prompt_map.dataset)},
        prompt_map_model=config.embed.cache_name,
        prompt_stats=rd.prompt_stats, dataset_name=figures.dataset_name, gallery=rd.gallery,
        gallery_total=rd.gallery_total, polarity_colors=figures.POLARITY_COLORS,
        platform_colors=figures.PLATFORM_COLORS, fmt_seconds=_fmt_seconds, plotly_js=plotly_js(),
        generated_at=dt.datetime.now(dt.UTC), code_version=run.get("code_version") or __version__,
    )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(page: str, reports_dir: Path, run_id: str) -> Path:
    """Write <run_id>.html and replace latest.html with a copy of it (both atomically)."""
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise ValueError(f"bad run id for a report file name: {run_id!r}")
    reports_dir.mkdir(parents=True, exist_ok=True)
    out = reports_dir / f"{run_id}.html"
    _atomic_write(out, page)
    _atomic_write(reports_dir / LATEST, page)
    return out


def layout_dir(config: Config) -> Path:
    """Where the prompt map's t-SNE layout is kept (the notebook reuses the report's)."""
    return config.path("reports_dir") / LAYOUT_DIR


def build_report(db: Any, config: Config, run_id: str, *, stage_order: Sequence[str] = (),
                 embedder: Callable[[], Embedder] | None = None) -> tuple[Path, ReportData]:
    """Gather, render and write the report of `run_id`; returns its path and what it shows.

    `stage_order` lists the stages in pipeline order for the timings table; `embedder` gives the run's model.
    """
    reports_dir = config.path("reports_dir")
    rd = gather(db, config, run_id, stage_order=stage_order, embedder=embedder, layout_dir=layout_dir(config))
    t0 = time.perf_counter()
    page = render(rd, config)
    rd.timings["render"] = time.perf_counter() - t0
    return write_report(page, reports_dir, run_id), rd


MIN_TRACE = 6  # shorter strings identify nobody and would match everywhere


def _page_text(page: str) -> str:
    """A report as plain text: data: URIs dropped, plotly's JSON escapes and HTML entities decoded, hover
    line breaks and runs of whitespace made single spaces."""
    page = re.sub(r"data:[^\"')\s]+", "", page)
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page).replace("\\/", "/")
    return " ".join(html_lib.unescape(page).replace("<br>", " ").split())


def reports_showing(reports_dir: Path, traces) -> list[Path]:
    """The report files that show any of `traces` (a text's first 40 characters are enough: hover labels
    are cut)."""
    needles = {" ".join(t.split())[:40] for t in traces if t and len(t.strip()) >= MIN_TRACE}
    if not needles or not reports_dir.is_dir():
        return []
    out = []
    for path in sorted(reports_dir.glob("*.html")):
        text = _page_text(path.read_text(encoding="utf-8", errors="replace"))
        if any(n in text for n in needles):
            out.append(path)
    return out


def scrub_reports(config: Config, traces) -> tuple[list[Path], list[Path]]:
    """After a takedown: the reports that show the removed data. The current snapshot's run report (and
    latest.html) is rebuilt from the snapshot, already rewritten without it; older per-run reports are
    deleted (the data they showed is no longer kept). Returns (rebuilt, deleted)."""
    from echo.analyst.snapshot import current_snapshot_db, open_snapshot

    reports_dir = config.path("reports_dir")
    hits = reports_showing(reports_dir, traces)
    if not hits:
        return [], []
    rebuilt: list[Path] = []
    try:
        meta = json.loads((current_snapshot_db(config).parent / "snapshot.json").read_text(encoding="utf-8"))
        current = meta.get("run_id")
    except (FileNotFoundError, ValueError):
        current = None
    if current and {LATEST, f"{current}.html"} & {p.name for p in hits}:
        con = open_snapshot(config)
        try:
            path, _ = build_report(con, config, current)
            rebuilt = [path, reports_dir / LATEST]
        finally:
            con.close()
    still = set(reports_showing(reports_dir, traces))  # a rebuilt page must not show it either
    deleted = [p for p in hits if p not in rebuilt] + [p for p in rebuilt if p in still]
    rebuilt = [p for p in rebuilt if p not in still]
    for p in deleted:
        p.unlink(missing_ok=True)
    return rebuilt, deleted
