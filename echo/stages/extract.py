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

# Trees per batch: bounds memory, lets progress show, keeps work committed. Each step of a batch waits for its
# slowest answer, so a batch holds several times the LLM concurrency to keep every connection busy.
TREES_PER_BATCH = 64
TREES_PER_LOAD = 4096  # roots whose trees are read from the database at once


# Kept roots whose extraction is missing, by another extractor or version, or older than something of the tree: a
# post of it (or quoting it) or an image of its posts fetched after the extraction. Equality joins only; a
# post without a fetch time counts as new. The candidates' content hashes then decide (a post seen again is
# fetched again but unchanged).
_CANDIDATES = """
    WITH kept AS (
        SELECT DISTINCT p.platform, p.post_id AS root_id, p.created_at FROM posts p
        JOIN relevance r ON r.platform = p.platform AND r.post_id = p.post_id
         AND ((r.judge = 'llm' AND r.score >= ?) OR (r.judge = 'prefilter' AND r.passed))
        WHERE p.root_id IS NULL OR p.root_id = p.post_id
    ),
    done AS (
        SELECT e.platform, e.root_id, e.extracted_at FROM llm_extractions e
        WHERE e.extractor = ? AND e.extractor_version = ?
    ),
    tree_posts AS (
        SELECT d.platform, d.root_id, d.extracted_at, p.post_id, p.fetched_at FROM done d
        JOIN posts p ON p.platform = d.platform AND p.post_id = d.root_id
        UNION ALL
        SELECT d.platform, d.root_id, d.extracted_at, p.post_id, p.fetched_at FROM done d
        JOIN posts p ON p.platform = d.platform AND p.root_id = d.root_id AND p.post_id <> d.root_id
    ),
    touched AS (
        SELECT platform, root_id FROM tree_posts WHERE fetched_at IS NULL OR fetched_at > extracted_at
        UNION
        SELECT t.platform, t.root_id FROM tree_posts t
        JOIN posts q ON q.platform = t.platform AND q.quoted_id = t.post_id
        WHERE q.fetched_at IS NULL OR q.fetched_at > t.extracted_at
        UNION
        SELECT t.platform, t.root_id FROM tree_posts t
        JOIN post_media pm ON pm.platform = t.platform AND pm.post_id = t.post_id
        JOIN media m ON m.url = pm.url
        WHERE m.fetched_at IS NULL OR m.fetched_at > t.extracted_at
    )
    SELECT k.platform, k.root_id FROM kept k
    LEFT JOIN done d ON d.platform = k.platform AND d.root_id = k.root_id
    LEFT JOIN touched t ON t.platform = k.platform AND t.root_id = k.root_id
    WHERE d.root_id IS NULL OR t.root_id IS NOT NULL
    ORDER BY k.platform, k.created_at, k.root_id
"""


def candidate_roots(ctx: RunContext, extractor: str, version: str) -> list[tuple[str, str]]:
    """(platform, root_id) of the kept trees never extracted by this extractor version, or touched since."""
    return [(r["platform"], r["root_id"]) for r in ctx.store.query(
        _CANDIDATES, [ctx.config.filter.relevance_threshold, extractor, version])]


def pending_trees(ctx: RunContext, roots: list[tuple[str, str]], extractor: str,
                  version: str) -> tuple[list[Tree], int]:
    """The trees of `roots` to extract now, and how many turned out unchanged (their content hash is the stored
    one)."""
    trees = load_trees(ctx.store, roots, media_dir=ctx.config.path("media_dir"),
                       max_posts=ctx.config.llm.max_tree_posts)
    stored = {(r["platform"], r["root_id"]): r["tree_hash"] for r in ctx.store.query(
        "SELECT e.platform, e.root_id, e.tree_hash FROM llm_extractions e JOIN (SELECT unnest(?::VARCHAR[]) AS p, "
        "unnest(?::VARCHAR[]) AS r) k ON e.platform = k.p AND e.root_id = k.r WHERE e.extractor = ? "
        "AND e.extractor_version = ?", [[t.platform for t in trees], [t.root_id for t in trees], extractor, version])}
    pending = [t for t in trees if stored.get((t.platform, t.root_id)) != t.content_hash()]
    return pending, len(trees) - len(pending)


def screenshot_transcription(ctx: RunContext, image: ImageView) -> dict | None:
    """The media stage's OCR of a screenshot (screenshot_ocr), or OCR now when it has none and the file is here."""
    rows = ctx.store.query("SELECT prompt, boxes FROM screenshot_ocr WHERE url = ?", [image.image_id])
    if rows:
        return ocr.screenshot_answer(rows[0])
    return ocr.screenshot_answer(ocr.transcribe_screenshot(image.path)) if image.path else None


def write_batch(ctx: RunContext, stats: StageStats, backend: Backend, version: str,
                extracted: list[tuple[Tree, list[Draft]]]) -> None:
    """Upsert the samples, roles and feedback of a batch of trees and drop the rows of samples a tree no longer
    yields: one transaction, one statement per table. A tree is marked extracted (llm_extractions) only when every
    step succeeded for every one of its samples; its feedback is replaced only then."""
    if not extracted:
        return
    now = dt.datetime.now(dt.UTC)
    v = backend.versions()
    samples, roles, feedback, done = [], [], [], []
    complete_samples: list[str] = []
    for tree, drafts in extracted:
        tree_samples = [Sample(
            sample_id=d.sample_id, platform=tree.platform, root_id=tree.root_id, anchor_post_id=d.anchor_post_id,
            prompt=d.prompt, prompt_modified=d.prompt_modified, prompt_fill_blank=d.prompt_fill_blank, task=d.task,
            quality=d.quality, input_media=[im.image_id for im in d.images_with("input")],
            output_media=[im.image_id for im in d.images_with("output")], evidence_post_ids=d.evidence,
            is_screenshot=d.is_screenshot, input_boxes=d.input_boxes, benchmark_decision=d.decision,
            review_targets=d.review_targets, notes="; ".join(d.notes) or None, extractor=backend.name,
            extractor_version=version, run_id=ctx.run_id, created_at=now) for d in drafts]
        samples += tree_samples
        roles += [ImageRole(sample_id=d.sample_id, url=url, role=r["role"], is_screenshot=r["is_screenshot"],
                            is_duplicate=r["is_duplicate"], reason=r["reason"],
                            model=backend.model_for("image_roles"), prompt_version=v["image_roles"],
                            run_id=ctx.run_id)
                  for d in drafts for url, r in d.roles.items()]
        feedback += [Feedback(platform=tree.platform, post_id=r["post_id"], sample_id=d.sample_id,
                              polarity=r["polarity"], keywords=r["keywords"], categories=r["categories"],
                              model=backend.model_for("feedback"), prompt_version=v["feedback"], run_id=ctx.run_id)
                     for d in drafts for r in d.feedback]
        complete = not any(d.failed for d in drafts)
        stats["trees_extracted" if complete else "trees_partial"] += 1
        for d in drafts:
            stats[f"decision_{d.decision or 'pending'}"] += 1
        if complete:
            complete_samples += [s.sample_id for s in tree_samples]
            done.append({"platform": tree.platform, "root_id": tree.root_id, "extractor": backend.name,
                         "extractor_version": version, "tree_hash": tree.content_hash(), "n_posts": len(tree.posts),
                         "n_samples": len(tree_samples), "run_id": ctx.run_id, "extracted_at": now})
    keep = [s.sample_id for s in samples]
    sample_cols = [c for c in schema.table("samples").column_names if c != "created_at"]
    trees = [t for t, _ in extracted]
    with ctx.store.transaction() as st:
        st.execute("CREATE OR REPLACE TEMP TABLE _written AS SELECT unnest(?::VARCHAR[]) AS platform, "
                   "unnest(?::VARCHAR[]) AS root_id", [[t.platform for t in trees], [t.root_id for t in trees]])
        st.execute("CREATE OR REPLACE TEMP TABLE _keep AS SELECT unnest(?::VARCHAR[]) AS sample_id", [keep])
        stale = [r["sample_id"] for r in st.query(
            "SELECT s.sample_id FROM samples s JOIN _written w ON s.platform = w.platform AND s.root_id = w.root_id "
            "ANTI JOIN _keep k ON k.sample_id = s.sample_id")]
        if stale:
            for table in ("image_roles", "feedback", "samples"):
                st.execute(f"DELETE FROM {table} WHERE sample_id IN (SELECT unnest(?::VARCHAR[]))", [stale])
        # roles and judgements of kept samples that this extraction no longer gives
        st.execute("DELETE FROM image_roles WHERE sample_id IN (SELECT sample_id FROM _keep) AND "
                   "sample_id || chr(31) || url NOT IN (SELECT unnest(?::VARCHAR[]))",
                   [[f"{r.sample_id}\x1f{r.url}" for r in roles]])
        st.execute("DELETE FROM feedback WHERE sample_id IN (SELECT unnest(?::VARCHAR[])) AND "
                   "sample_id || chr(31) || post_id NOT IN (SELECT unnest(?::VARCHAR[]))",
                   [complete_samples, [f"{r.sample_id}\x1f{r.post_id}" for r in feedback]])
        st.upsert("samples", samples, update=sample_cols)
        st.upsert("image_roles", roles)
        st.upsert("feedback", feedback)
        st.upsert("llm_extractions", done)
        st.execute("DROP TABLE _written")
        st.execute("DROP TABLE _keep")
    stats["samples"] += len(samples)
    stats["image_roles"] += len(roles)
    stats["feedback"] += len(feedback)
    stats["stale_samples_removed"] += len(stale)


def run(ctx: RunContext, stats: StageStats) -> None:
    backend = ctx.resources.backend
    backend.set_deadline(ctx.config.llm.stage_deadline_s)
    version = extractor_version(backend)
    roots = candidate_roots(ctx, backend.name, version)

    def record(out) -> None:
        for problem in record_outcome(ctx.store, ctx.run_id, ctx.resources.llm_usage, out, stats):
            ctx.degrade("extract", problem)

    def stored_ocr(image: ImageView) -> dict | None:
        stats["screenshots_ocr"] += 1
        return screenshot_transcription(ctx, image)

    size = max(TREES_PER_BATCH, 4 * ctx.config.llm.concurrency)
    # Trees are loaded a slice of roots at a time: a first run over a million posts holds a slice, not them all.
    for some_roots in track(list(batches(roots, TREES_PER_LOAD)), "extract", enabled=ctx.progress):
        trees, unchanged = pending_trees(ctx, some_roots, backend.name, version)
        stats["trees_pending"] += len(trees)
        stats["trees_unchanged"] += unchanged
        for chunk in batches(trees, size):
            by_tree = extract_trees(backend, chunk, record=record, stored_ocr=stored_ocr)
            extracted = [(t, by_tree[f"{t.platform}:{t.root_id}"]) for t in chunk
                         if f"{t.platform}:{t.root_id}" in by_tree]
            stats["trees_failed"] += len(chunk) - len(extracted)  # recorded in llm_failures; retried next run
            write_batch(ctx, stats, backend, version, extracted)
    if stats["samples"]:  # the price of a sample: what a model change or a new corpus will cost
        stats["calls_per_sample"] = round(stats["llm_calls"] / stats["samples"], 2)
        stats["tokens_per_sample"] = round((stats["tokens_in"] + stats["tokens_out"]) / stats["samples"], 1)
