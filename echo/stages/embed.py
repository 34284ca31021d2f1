"""Embed every non-trash sample prompt that is not in the embedding cache yet.

Reads: samples, embeddings. Writes: embeddings (keyed by normalized-text hash and model). Done: every
prompt's hash is cached for the configured model; then the model is not even loaded.
"""

from __future__ import annotations

from echo.dedup.embed import cached_hashes, embed_texts, prompt_rows
from echo.dedup.normalize import embedding_key
from echo.run import RunContext, StageStats


def run(ctx: RunContext, stats: StageStats) -> None:
    rows = prompt_rows(ctx.store)
    stats["prompts"] += len(rows)
    if not rows:
        return
    hashes = [embedding_key(r["prompt"]) for r in rows]
    if len(cached_hashes(ctx.store, hashes, ctx.config.embed.cache_name)) == len(set(hashes)):
        stats["cached"] += len(set(hashes))
        return
    embed_texts(ctx.store, ctx.resources.embedder, [r["prompt"] for r in rows], run_progress=ctx.progress,
                stats=stats, runner=ctx.resources.runner)
