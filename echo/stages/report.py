"""The self-contained HTML report of this run: funnel, timings, volume and spikes, mixes, feedback, prompt map.

Reads: every table (through echo.report). Writes: <reports_dir>/<run_id>.html and latest.html, embeddings
of reference prompts (cached). Done: runs every time; the prompt-map layout is reused when the prompts are
the same, and extended (no new t-SNE) while at most a tenth of its points changed since its t-SNE.
"""

from __future__ import annotations

from echo.report.html import build_report
from echo.run import RunContext, StageStats


def run(ctx: RunContext, stats: StageStats) -> None:
    path, rd = build_report(ctx.store, ctx.config, ctx.run_id, stage_order=list(ctx.stats),
                            embedder=lambda: ctx.resources.embedder)
    stats["bytes"] = path.stat().st_size
    stats["gallery_images"] = sum(len(g.inputs) + len(g.outputs) for g in rd.gallery)
    stats["map_points"] = len(rd.prompt_map.text)
    stats["map_embedded_new"] = rd.prompt_map.embedded_new
    if rd.prompt_map.text:
        stats[f"map_layout_{rd.prompt_map.layout}"] = 1
    stats["spike_days"] = len(rd.spikes.spike_indices)
