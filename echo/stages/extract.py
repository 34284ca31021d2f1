"""Turn every kept tree that changed since its last extraction into samples, image roles and feedback.

Reads: posts, post_media, media, screenshot_ocr, relevance (kept roots), llm_extractions. Writes: samples,
image_roles, feedback, llm_extractions, llm_usage, llm_failures, llm_cache (LLM backend). Done: the tree's
llm_extractions row has this extractor, version and tree hash (written only when every step succeeded).
"""

from __future__ import annotations

import datetime as dt

from echo import schema
from echo.llm.accounting import record_outcome
from echo.llm.backend import Backend, ImageView, extractor_version
from echo.llm.extract import Draft, extract_trees
from echo.llm.trees import Tree, load_trees
from echo.media import ocr
from echo.progress import track
from echo.records import Feedback, ImageRole, Sample
from echo.run import RunContext, StageStats, batches

TREES_PER_BATCH = 64  # trees per backend call batch: bounds memory, lets progress show, keeps work committed


def pending_trees(ctx: RunContext, extractor: str, version: str) -> list[Tree]:
    threshold = ctx.config.filter.relevance_threshold
    roots = ctx.store.query("""
        SELECT p.platform, p.post_id FROM posts p
        WHERE (p.root_id IS NULL OR p.root_id = p.post_id)
          AND EXISTS (SELECT 1 FROM relevance r WHERE r.platform = p.platform AND r.post_id = p.post_id
                      AND ((r.judge = 'llm' AND r.score >= ?) OR (r.judge = 'prefilter' AND r.passed)))
        ORDER BY p.platform, p.created_at, p.post_id""", [threshold])
    trees = load_trees(ctx.store, [(r["platform"], r["post_id"]) for r in roots],
                       media_dir=ctx.config.path("media_dir"), max_posts=ctx.config.llm.max_tree_posts)
    done = {(r["platform"], r["root_id"]): (r["extractor"], r["extractor_version"], r["tree_hash"])
            for r in ctx.store.query("SELECT platform, root_id, extractor, extractor_version, tree_hash "
                                     "FROM llm_extractions")}
    return [t for t in trees if done.get((t.platform, t.root_id)) != (extractor, version, t.content_hash())]


def screenshot_transcription(ctx: RunContext, image: ImageView) -> dict | None:
    """The media stage's OCR of a screenshot (screenshot_ocr), or OCR now when it has none and the file is here."""
    rows = ctx.store.query("SELECT prompt, boxes FROM screenshot_ocr WHERE url = ?", [image.image_id])
    if rows:
        return ocr.screenshot_answer(rows[0])
    return ocr.screenshot_answer(ocr.transcribe_screenshot(image.path)) if image.path else None


def write_tree(ctx: RunContext, stats: StageStats, backend: Backend, tree: Tree, drafts: list[Draft],
               version: str) -> bool:
    """Upsert a tree's samples, roles and feedback; drop rows of samples it no longer yields.
    Returns True (and marks the tree extracted) only when every stage succeeded for every sample."""
    now = dt.datetime.now(dt.UTC)
    v = backend.versions()
    samples = [Sample(
        sample_id=d.sample_id, platform=tree.platform, root_id=tree.root_id, anchor_post_id=d.anchor_post_id,
        prompt=d.prompt, prompt_modified=d.prompt_modified, prompt_fill_blank=d.prompt_fill_blank, task=d.task,
        quality=d.quality, input_media=[im.image_id for im in d.images_with("input")],
        output_media=[im.image_id for im in d.images_with("output")], evidence_post_ids=d.evidence,
        is_screenshot=d.is_screenshot, input_boxes=d.input_boxes, benchmark_decision=d.decision,
        review_targets=d.review_targets, notes="; ".join(d.notes) or None, extractor=backend.name,
        extractor_version=version, run_id=ctx.run_id, created_at=now) for d in drafts]
    roles = [ImageRole(sample_id=d.sample_id, url=url, role=r["role"], is_screenshot=r["is_screenshot"],
                       is_duplicate=r["is_duplicate"], reason=r["reason"], model=backend.model_for("image_roles"),
                       prompt_version=v["image_roles"], run_id=ctx.run_id)
             for d in drafts for url, r in d.roles.items()]
    feedback = [Feedback(platform=tree.platform, post_id=r["post_id"], sample_id=d.sample_id, polarity=r["polarity"],
                         keywords=r["keywords"], categories=r["categories"], model=backend.model_for("feedback"),
                         prompt_version=v["feedback"], run_id=ctx.run_id)
                for d in drafts for r in d.feedback]
    keep = [s.sample_id for s in samples]
    complete = not any(d.failed for d in drafts)
    sample_cols = [c for c in schema.table("samples").column_names if c != "created_at"]
    with ctx.store.transaction() as st:
        stale = [r["sample_id"] for r in st.query(
            "SELECT sample_id FROM samples WHERE platform = ? AND root_id = ? AND NOT list_contains(?::VARCHAR[], sample_id)",
            [tree.platform, tree.root_id, keep])]
        for table in ("image_roles", "feedback", "samples"):
            if stale:
                st.execute(f"DELETE FROM {table} WHERE list_contains(?::VARCHAR[], sample_id)", [stale])
        # roles and judgements of kept samples that this extraction no longer gives
        st.execute("DELETE FROM image_roles WHERE list_contains(?::VARCHAR[], sample_id) AND NOT list_contains(?::VARCHAR[], sample_id || '\x1f' || url)",
                   [keep, [f"{r.sample_id}\x1f{r.url}" for r in roles]])
        if complete:
            st.execute("DELETE FROM feedback WHERE list_contains(?::VARCHAR[], sample_id) AND NOT list_contains(?::VARCHAR[], sample_id || '\x1f' || post_id)",
                       [keep, [f"{r.sample_id}\x1f{r.post_id}" for r in feedback]])
        st.upsert("samples", samples, update=sample_cols)
        st.upsert("image_roles", roles)
        st.upsert("feedback", feedback)
        if complete:
            st.upsert("llm_extractions", [{
                "platform": tree.platform, "root_id": tree.root_id, "extractor": backend.name,
                "extractor_version": version, "tree_hash": tree.content_hash(), "n_posts": len(tree.posts),
                "n_samples": len(samples), "run_id": ctx.run_id, "extracted_at": now}])
    stats["samples"] += len(samples)
    stats["image_roles"] += len(roles)
    stats["feedback"] += len(feedback)
    stats["stale_samples_removed"] += len(stale)
    for d in drafts:
        stats[f"decision_{d.decision or 'pending'}"] += 1
    return complete


def run(ctx: RunContext, stats: StageStats) -> None:
    backend = ctx.resources.backend
    backend.set_deadline(ctx.config.llm.stage_deadline_s)
    version = extractor_version(backend)
    trees = pending_trees(ctx, backend.name, version)
    stats["trees_pending"] += len(trees)
    def record(out) -> None:
        for problem in record_outcome(ctx.store, ctx.run_id, ctx.resources.llm_usage, out, stats):
            ctx.degrade("extract", problem)

    def stored_ocr(image: ImageView) -> dict | None:
        stats["screenshots_ocr"] += 1
        return screenshot_transcription(ctx, image)

    for chunk in track(list(batches(trees, TREES_PER_BATCH)), "extract", enabled=ctx.progress):
        by_tree = extract_trees(backend, chunk, record=record, stored_ocr=stored_ocr)
        for t in chunk:
            drafts = by_tree.get(f"{t.platform}:{t.root_id}")
            if drafts is None:
                stats["trees_failed"] += 1  # recorded in llm_failures; retried next run
                continue
            if write_tree(ctx, stats, backend, t, drafts, version):
                stats["trees_extracted"] += 1
            else:
                stats["trees_partial"] += 1
