"""Pipeline stages of the LLM chain: `run_relevance` and `run_extract`.

Both pick their backend with get_backend(config) (rules offline, or an OpenAI-compatible LLM) and turn its
validated answers into rows. What must not be trusted to a model is enforced here, for both backends:
ids outside the input are dropped, each post is used by one sample, a prompt not verbatim in its evidence is
marked prompt_modified, placeholders are detected by pattern too, media-hash duplicates are dropped, and the
benchmark decision is downgraded to manual_review when the sample lacks what it needs.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import importlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from echo import schema
from echo.llm.backend import (
    Backend,
    ImageView,
    Outcome,
    PostView,
    RelevanceItem,
    SampleItem,
    ScreenshotItem,
    TreeItem,
    extractor_version,
    get_backend,
)
from echo.llm.trees import Tree, load_trees
from echo.pipeline import RunContext
from echo.progress import track
from echo.records import FEEDBACK_CATEGORIES, Feedback, ImageRole, Post, Relevance, Sample, sample_id, stable_id

log = logging.getLogger("echo.llm")
CHUNK = 64  # trees or posts per backend call batch: bounds memory, lets progress show, keeps work committed


# --- shared helpers ------------------------------------------------------------------------------


def backend_for(ctx: RunContext) -> Backend:
    """One backend per run (its client, limiter and image cache are reused across stages)."""
    if "llm_backend" not in ctx.cache:
        ctx.cache["llm_backend"] = get_backend(ctx.config, ctx.store)
    return ctx.cache["llm_backend"]


def record_outcome(ctx: RunContext, out: Outcome, pipeline_stage: str) -> None:
    """Usage into llm_usage (totals of this run), failures into llm_failures, counts into the stage stats."""
    stats = ctx.stage_stats(pipeline_stage)
    if not (out.calls or out.cache_hits or out.failures or out.results):
        return  # the stage had nothing to do
    usage = ctx.cache.setdefault("llm_usage", {})
    key = (out.stage, out.model)
    u = usage.setdefault(key, collections.Counter())
    u.update(calls=out.calls, cache_hits=out.cache_hits, failures=len(out.failures), tokens_in=out.tokens_in,
             tokens_out=out.tokens_out)
    ctx.store.upsert("llm_usage", [{"run_id": ctx.run_id, "stage": out.stage, "model": out.model, **{
        k: int(u[k]) for k in ("calls", "cache_hits", "failures", "tokens_in", "tokens_out")}}])
    now = dt.datetime.now(dt.UTC)
    if out.failures:
        ctx.store.upsert("llm_failures", [{
            "failure_id": stable_id("llm_failure", ctx.run_id, out.stage, f.key), "run_id": ctx.run_id,
            "stage": out.stage, "model": out.model, "item_key": f.key, "error": (f.error or "")[:4000],
            "raw_answer": f.raw_answer, "recorded_at": now} for f in out.failures])
    stats[f"{out.stage}.calls"] += out.calls
    stats[f"{out.stage}.cache_hits"] += out.cache_hits
    stats["llm_calls"] += out.calls
    stats["cache_hits"] += out.cache_hits
    stats["failures"] += len(out.failures)
    stats["tokens_in"] += out.tokens_in
    stats["tokens_out"] += out.tokens_out


def _chunks(items: Sequence, n: int) -> Iterable[Sequence]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def post_view(p: Post, image_ids: Sequence[str] = ()) -> PostView:
    return PostView(post_id=p.post_id, author=p.author, text=p.text or "", image_ids=tuple(image_ids),
                    parent_id=p.parent_id, quoted_id=p.quoted_id,
                    created_at=p.created_at.isoformat() if p.created_at else None)


# --- relevance -----------------------------------------------------------------------------------


def pending_relevance(ctx: RunContext, model: str, prompt_version: str) -> list[Post]:
    """Roots whose cheap filter passed, with no prefilter decision and no llm row for this model+version.

    Replies are judged with their root (the tree is what is kept or dropped), which saves a call per reply.
    """
    cols = ", ".join(f'p."{c}"' for c in Post.__dataclass_fields__)
    rows = ctx.store.query(f"""
        SELECT {cols} FROM posts p
        JOIN relevance c ON c.platform = p.platform AND c.post_id = p.post_id AND c.stage = 'cheap' AND c.passed
        WHERE (p.root_id IS NULL OR p.root_id = p.post_id)
          AND NOT EXISTS (SELECT 1 FROM relevance f WHERE f.platform = p.platform AND f.post_id = p.post_id
                          AND f.stage = 'prefilter')
          AND NOT EXISTS (SELECT 1 FROM relevance l WHERE l.platform = p.platform AND l.post_id = p.post_id
                          AND l.stage = 'llm' AND l.model = ? AND l.prompt_version = ?)
        ORDER BY p.platform, p.created_at, p.post_id""", [model, prompt_version])
    return [Post(**r) for r in rows]


def _post_images(ctx: RunContext, posts: Sequence[Post]) -> dict[tuple[str, str], list[ImageView]]:
    if not posts:
        return {}
    rows = ctx.store.query(
        "SELECT platform, post_id, url, position, alt_text FROM post_media "
        "WHERE list_contains(?::VARCHAR[], platform || ':' || post_id) ORDER BY position",
        [[f"{p.platform}:{p.post_id}" for p in posts]])
    out: dict[tuple[str, str], list[ImageView]] = collections.defaultdict(list)
    for r in rows:
        out[(r["platform"], r["post_id"])].append(
            ImageView(image_id=r["url"], post_id=r["post_id"], position=r["position"], alt_text=r["alt_text"]))
    return out


def run_relevance(ctx: RunContext) -> None:
    backend = backend_for(ctx)
    stats = ctx.stage_stats("relevance")
    model, version = backend.model_for("relevance"), backend.versions()["relevance"]
    threshold = ctx.config.filter.relevance_threshold
    posts = pending_relevance(ctx, model, version)
    stats["pending"] += len(posts)
    for chunk in track(list(_chunks(posts, CHUNK * 4)), "relevance", enabled=ctx.progress):
        images = _post_images(ctx, chunk)
        items = [RelevanceItem(key=f"{p.platform}:{p.post_id}", platform=p.platform,
                               post=post_view(p, [im.image_id for im in images.get((p.platform, p.post_id), [])]),
                               images=tuple(images.get((p.platform, p.post_id), ())))
                 for p in chunk]
        out = backend.relevance(items, target_model=ctx.config.filter.target_model)
        rows = []
        for it, p in zip(items, chunk):
            doc = out.results.get(it.key)
            if doc is None:
                continue  # a failure: recorded, and asked again next run
            schema.validate("llm/relevance", doc)
            passed = doc["score"] >= threshold
            stats["passed" if passed else "dropped"] += 1
            stats[f"score_{doc['score']}"] += 1
            rows.append(Relevance(platform=p.platform, post_id=p.post_id, stage="llm", score=doc["score"],
                                  passed=passed, reason=doc["reason"], model=model, prompt_version=version,
                                  run_id=ctx.run_id))
        ctx.store.upsert("relevance", rows)
        stats["scored"] += len(rows)
        record_outcome(ctx, out, "relevance")


# --- prompt checks (pure) ----------------------------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'"})
_THREAD_MARK = re.compile(r"(^|\s)[\(\[]?\d{1,2}\s*/\s*\d{1,2}[\)\]]?(?=\s|$)|🧵")
# [animal], <your name>, {thing}: short bracketed words. (x)-style only for clear placeholder words, since
# parentheses are common in ordinary prompts ("a cat (orange)").
_PLACEHOLDER = re.compile(
    r"\[[^\[\]\d\n]{1,40}\]|<[^<>\d\n]{1,40}>|\{[^{}\d\n]{1,40}\}"
    r"|\((?:x|y|[A-Z][A-Z _]{1,30}|(?:your|insert|any|some|the)\s[a-z ]{1,30}|[a-z]+ here)\)")


def normalize(text: str | None) -> str:
    s = (text or "").translate(_QUOTES).lower()
    return re.sub(r"\s+", " ", s).strip()


def _bare(text: str) -> str:
    return normalize(text).strip(" \"'.,:;!?-")


def prompt_origin(prompt: str | None, evidence_texts: Sequence[str]) -> str | None:
    """'verbatim' (inside one evidence post), 'stitched' (every part found across the posts), or 'not_found'."""
    if not prompt or not prompt.strip():
        return None
    p = _bare(prompt)
    texts = [normalize(t) for t in evidence_texts]
    if any(p in t for t in texts):
        return "verbatim"
    cleaned = [normalize(_THREAD_MARK.sub(" ", t)) for t in texts]
    if p in " ".join(cleaned) or p in "".join(cleaned):
        return "stitched"
    parts = [_bare(x) for x in re.split(r"(?<=[.!?;])\s+|\n+", prompt.translate(_QUOTES)) if _bare(x)]
    if parts and all(any(part in t for t in cleaned) for part in parts):
        return "stitched"
    return "not_found"


def has_placeholder(prompt: str | None) -> bool:
    return bool(prompt and _PLACEHOLDER.search(prompt))


# --- extraction state -----------------------------------------------------------------------------


@dataclass
class Draft:
    """One sample while the chain fills it in."""

    tree: Tree
    anchor_post_id: str
    ordinal: int
    prompt: str | None
    evidence: list[str]
    feedback_ids: list[str]
    quality: str
    task: str | None
    notes: list[str] = field(default_factory=list)
    origin: str | None = None  # verbatim | stitched | not_found | screenshot | filled
    images: list[ImageView] = field(default_factory=list)  # unique images of the evidence posts
    duplicates: dict[str, str] = field(default_factory=dict)  # url -> url of the image it repeats
    roles: dict[str, dict] = field(default_factory=dict)  # url -> {role, is_screenshot, is_duplicate, reason}
    fill_flag: bool = False
    is_screenshot: bool = False
    input_boxes: list[dict] | None = None
    prompt_fill_blank: str | None = None
    decision: str | None = None
    review_targets: list[str] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    @property
    def sample_id(self) -> str:
        return sample_id(self.tree.platform, self.anchor_post_id, self.ordinal)

    @property
    def prompt_modified(self) -> bool:
        return self.origin in ("stitched", "not_found", "filled")

    def images_with(self, role: str) -> list[ImageView]:
        return [im for im in self.images if im.image_id not in self.duplicates
                and self.roles.get(im.image_id, {}).get("role") == role]

    def item(self) -> SampleItem:
        posts = tuple(self.tree.post(pid) for pid in self.evidence)
        return SampleItem(
            key=self.sample_id, platform=self.tree.platform, root_id=self.tree.root_id, prompt=self.prompt,
            prompt_modified=self.prompt_modified, task=self.task, quality=self.quality, posts=posts,
            images=tuple(im for im in self.images if im.image_id not in self.duplicates),
            input_images=tuple(self.images_with("input")), output_images=tuple(self.images_with("output")),
            is_screenshot=self.is_screenshot, prompt_fill_blank=self.prompt_fill_blank,
            prompt_from_screenshot=self.origin == "screenshot",
            feedback_posts=tuple(self.tree.post(pid) for pid in self.feedback_ids))


# A prompt must be at least this long to count as found verbatim in a post (shorter strings match by accident).
MIN_SHARED_PROMPT_CHARS = 15


def samples_from_answer(tree: Tree, doc: dict) -> list[Draft]:
    """Turn a tree_to_samples answer into drafts, enforcing the rules a model may break:
    ids must be posts of this tree, each post serves one sample (evidence first, then feedback), samples with the
    same prompt merge, unused replies that repeat a sample's prompt join it, and prompt_modified is recomputed."""
    order = {p.post_id: i for i, p in enumerate(tree.posts)}
    used: set[str] = set()
    drafts: list[Draft] = []
    by_prompt: dict[str, Draft] = {}
    for s in doc["samples"]:
        evidence = [pid for pid in dict.fromkeys(s["evidence_post_ids"]) if pid in order and pid not in used]
        if s["anchor_post_id"] in order and s["anchor_post_id"] not in used and s["anchor_post_id"] not in evidence:
            evidence.insert(0, s["anchor_post_id"])
        key = _bare(s["prompt"]) if s["prompt"] else None
        if not evidence and key and len(key) >= MIN_SHARED_PROMPT_CHARS and key not in by_prompt \
                and s["anchor_post_id"] in order and key in _bare(tree.post(s["anchor_post_id"]).text or ""):
            # One post listing several different prompts ("1) ... 2) ...") anchors one sample per prompt;
            # the ordinal keeps their ids apart. Replies and feedback are still used once.
            evidence = [s["anchor_post_id"]]
        if not evidence:
            continue
        if key and key in by_prompt:
            d = by_prompt[key]
            d.evidence += evidence
            d.feedback_ids += s["feedback_post_ids"]
        else:
            anchor = s["anchor_post_id"] if s["anchor_post_id"] in evidence else evidence[0]
            d = Draft(tree=tree, anchor_post_id=anchor, ordinal=0, prompt=(s["prompt"] or None), evidence=evidence,
                      feedback_ids=list(s["feedback_post_ids"]), quality=s["quality"], task=s["task"],
                      notes=[s["notes"]] if s["notes"] else [])
            drafts.append(d)
            if key:
                by_prompt[key] = d
        used.update(evidence)
    # Replies nobody used that repeat a sample's prompt join that sample.
    for p in tree.posts:
        if p.post_id in used:
            continue
        t = normalize(p.text)
        for d in drafts:
            if d.prompt and len(_bare(d.prompt)) >= 15 and _bare(d.prompt) in t:
                d.evidence.append(p.post_id)
                used.add(p.post_id)
                d.notes.append(f"post {p.post_id} reuses the prompt")
                break
    for d in drafts:
        fb = []
        for pid in dict.fromkeys(d.feedback_ids):
            if pid in order and pid not in used:
                fb.append(pid)
                used.add(pid)
        d.feedback_ids = sorted(fb, key=order.__getitem__)
        d.evidence = sorted(dict.fromkeys(d.evidence), key=order.__getitem__)
        d.origin = prompt_origin(d.prompt, [tree.post(pid).text for pid in d.evidence])
    ordinals: collections.Counter = collections.Counter()
    for d in drafts:
        d.ordinal = ordinals[d.anchor_post_id]
        ordinals[d.anchor_post_id] += 1
    return drafts


def dedup_images(images: Sequence[ImageView]) -> tuple[list[ImageView], dict[str, str]]:
    """Drop repeats: same URL, same bytes (sha256) or same perceptual hash. Returns uniques and url -> original."""
    uniques: list[ImageView] = []
    dupes: dict[str, str] = {}
    seen: dict[tuple[str, str], str] = {}
    for im in images:
        keys = [("url", im.image_id)] + ([("sha", im.sha256)] if im.sha256 else []) + \
               ([("phash", im.phash)] if im.phash else [])
        hit = next((seen[k] for k in keys if k in seen), None)
        if hit is not None:
            if im.image_id != hit:
                dupes[im.image_id] = hit
            continue
        for k in keys:
            seen[k] = im.image_id
        uniques.append(im)
    return uniques, dupes


def apply_roles(d: Draft, doc: dict | None) -> None:
    answered = {r["image_id"]: r for r in (doc or {}).get("images", [])}
    for im in d.images:
        if im.image_id in d.duplicates:
            continue
        r = answered.get(im.image_id)
        if r is None:
            r = {"role": "irrelevant", "is_screenshot": False, "is_duplicate": False, "reason": "no role given"}
        if r["is_duplicate"]:
            d.duplicates[im.image_id] = "model"
        shot = bool(r["is_screenshot"] or im.is_screenshot_hint)
        d.roles[im.image_id] = {"role": r["role"], "is_screenshot": shot, "is_duplicate": bool(r["is_duplicate"]),
                                "reason": r.get("reason")}
    for url, orig in d.duplicates.items():
        base = d.roles.get(orig, {}).get("role", "irrelevant") if orig != "model" else d.roles[url]["role"]
        d.roles[url] = {"role": base, "is_screenshot": d.roles.get(url, {}).get("is_screenshot", False),
                        "is_duplicate": True, "reason": "duplicate" + (f" of {orig}" if orig != "model" else "")}
    d.is_screenshot = any(r["is_screenshot"] for r in d.roles.values())
    d.fill_flag = bool((doc or {}).get("fill_blank")) or has_placeholder(d.prompt)
    if d.task is None:
        d.task = "image_to_image" if d.images_with("input") else ("text_to_image" if d.images_with("output") else None)


def guard_decision(d: Draft, doc: dict) -> tuple[str, list[str]]:
    """The model's decision, downgraded when the sample lacks what a benchmark item needs. Never upgraded."""
    decision, targets = doc["decision"], list(dict.fromkeys(doc["review_targets"]))
    if d.quality == "trash" and decision == "benchmark":
        return "discard", []
    if decision == "benchmark":
        needs = []
        if not d.prompt or d.origin == "not_found":
            needs.append("prompt")
        if d.task == "image_to_image" and not d.images_with("input"):
            needs.append("input_image")
        if not d.images_with("output"):
            needs.append("output_image")
        if needs:
            d.notes.append("benchmark downgraded: missing or unverified " + ", ".join(needs))
            return "manual_review", needs
        return "benchmark", []
    if decision == "manual_review":
        return decision, targets or ["prompt"]
    return decision, []


# --- screenshots without a vision model -------------------------------------------------------------


def _normalize_transcription(raw: Any) -> dict | None:
    """OCR output (echo.media.ocr or the screenshot_ocr table) in the shape of llm/screenshot."""
    if not isinstance(raw, dict):
        return None
    boxes = raw.get("boxes") or []
    if isinstance(boxes, str):
        boxes = json.loads(boxes)
    out = []
    for b in boxes:
        role, box = (b.get("role"), b.get("box")) if isinstance(b, dict) else (None, b)
        if role in ("input", "output") and isinstance(box, (list, tuple)) and len(box) == 4:
            box = [max(0, int(round(v))) for v in box]
            if box[2] > box[0] and box[3] > box[1]:
                out.append({"role": role, "box": box})
    prompt = raw.get("prompt")
    return schema.validate("llm/screenshot", {"prompt": prompt.strip() if isinstance(prompt, str) and prompt.strip()
                                              else None, "boxes": out})


def ocr_transcription(store, image: ImageView) -> dict | None:
    """The media layer's OCR of a screenshot: its stored result when it has one, else run it (if installed)."""
    try:
        has_table = "screenshot_ocr" in schema.tables()
    except Exception:  # noqa: BLE001
        has_table = False
    if has_table:
        rows = store.query("SELECT * FROM screenshot_ocr WHERE url = ?", [image.image_id])
        if rows:
            return _normalize_transcription(rows[0])
    if not image.path:
        return None
    try:
        ocr = importlib.import_module("echo.media.ocr")
    except ImportError:
        return None
    return _normalize_transcription(ocr.transcribe_screenshot(image.path))


# --- extraction --------------------------------------------------------------------------------------


def pending_trees(ctx: RunContext, extractor: str, version: str) -> list[Tree]:
    threshold = ctx.config.filter.relevance_threshold
    roots = ctx.store.query("""
        SELECT p.platform, p.post_id FROM posts p
        WHERE (p.root_id IS NULL OR p.root_id = p.post_id)
          AND EXISTS (SELECT 1 FROM relevance r WHERE r.platform = p.platform AND r.post_id = p.post_id
                      AND ((r.stage = 'llm' AND r.score >= ?) OR (r.stage = 'prefilter' AND r.passed)))
        ORDER BY p.platform, p.created_at, p.post_id""", [threshold])
    trees = load_trees(ctx.store, [(r["platform"], r["post_id"]) for r in roots],
                       media_dir=ctx.config.path("media_dir"), max_posts=ctx.config.llm.max_tree_posts)
    done = {(r["platform"], r["root_id"]): (r["extractor"], r["extractor_version"], r["tree_hash"])
            for r in ctx.store.query("SELECT platform, root_id, extractor, extractor_version, tree_hash "
                                     "FROM llm_extractions")}
    return [t for t in trees if done.get((t.platform, t.root_id)) != (extractor, version, t.content_hash())]


def extract_trees(ctx: RunContext, backend: Backend, trees: Sequence[Tree]) -> dict[str, list[Draft]]:
    """Run stages 2-7 over trees. Returns drafts per tree key; a tree whose tree_to_samples call failed is absent."""
    out = backend.tree_to_samples([TreeItem(key=f"{t.platform}:{t.root_id}", platform=t.platform, root_id=t.root_id,
                                            posts=t.posts, images=t.images) for t in trees])
    record_outcome(ctx, out, "extract")
    by_tree: dict[str, list[Draft]] = {}
    for t in trees:
        doc = out.results.get(f"{t.platform}:{t.root_id}")
        if doc is not None:
            by_tree[f"{t.platform}:{t.root_id}"] = samples_from_answer(t, schema.validate("llm/tree_to_samples", doc))
    drafts = [d for ds in by_tree.values() for d in ds]

    # 3. image roles (after dropping exact and perceptual duplicates)
    for d in drafts:
        d.images, d.duplicates = dedup_images(d.tree.images_of(d.evidence))
    with_images = [d for d in drafts if d.images]
    out = backend.image_roles([d.item() for d in with_images])
    record_outcome(ctx, out, "extract")
    failed = {f.key for f in out.failures}
    for d in drafts:
        if d.sample_id in failed:
            d.failed.add("image_roles")
            continue
        doc = out.results.get(d.sample_id)
        apply_roles(d, schema.validate("llm/image_roles", doc) if doc is not None else None)

    # 4. chat screenshots: the vision model transcribes them, else the media layer's OCR
    shots = [(d, next(im for im in d.images if d.roles.get(im.image_id, {}).get("is_screenshot")))
             for d in drafts if d.is_screenshot and not d.failed]
    transcripts: dict[str, dict | None] = {}
    if shots and backend.vision:
        out = backend.transcribe_screenshot([ScreenshotItem(key=d.sample_id, image=im,
                                                            context=tuple(d.tree.post(p) for p in d.evidence))
                                             for d, im in shots])
        record_outcome(ctx, out, "extract")
        for f in out.failures:
            transcripts[f.key] = None
        transcripts.update(out.results)
        for d, _ in shots:
            if d.sample_id not in out.results:
                d.failed.add("screenshot")
    else:
        for d, im in shots:
            transcripts[d.sample_id] = ocr_transcription(ctx.store, im)
            ctx.stage_stats("extract")["screenshots_ocr"] += 1
    for d, im in shots:
        tr = transcripts.get(d.sample_id)
        if not tr:
            continue
        d.input_boxes = [{"url": im.image_id, **b} for b in tr["boxes"]]
        if any(b["role"] == "input" for b in tr["boxes"]) and d.task != "image_to_image":
            # The uploaded image is inside the screenshot, so the post's text could not show it was an edit.
            d.task = "image_to_image"
            d.notes.append("task set to image_to_image: the screenshot shows an uploaded input image")
        if not d.prompt and tr["prompt"]:
            d.prompt, d.origin = tr["prompt"], "screenshot"
            d.fill_flag = d.fill_flag or has_placeholder(d.prompt)
            d.notes.append("prompt transcribed from a chat screenshot")

    # 5. fill-in-the-blank
    blanks = [d for d in drafts if d.fill_flag and d.prompt and not d.failed]
    for d in blanks:
        d.prompt_fill_blank = d.prompt
    out = backend.fill_blank([d.item() for d in blanks])
    record_outcome(ctx, out, "extract")
    for d in blanks:
        doc = out.results.get(d.sample_id)
        if doc is None:
            d.failed.add("fill_blank")
            continue
        schema.validate("llm/fill_blank", doc)
        filled = doc["prompt"]
        if doc["confident"] and filled and filled.strip() and not has_placeholder(filled) \
                and _bare(filled) != _bare(d.prompt_fill_blank):
            d.prompt, d.origin = filled, "filled"
        else:
            d.prompt, d.origin = None, None
            d.notes.append(f"placeholders left unfilled: {doc['reason']}")

    # 6. benchmark filter
    ready = [d for d in drafts if not d.failed]
    out = backend.benchmark_filter([d.item() for d in ready])
    record_outcome(ctx, out, "extract")
    for d in ready:
        doc = out.results.get(d.sample_id)
        if doc is None:
            d.failed.add("benchmark_filter")
            continue
        d.decision, d.review_targets = guard_decision(d, schema.validate("llm/benchmark_filter", doc))

    # 7. community feedback
    judged = [d for d in drafts if d.feedback_ids]
    out = backend.feedback([d.item() for d in judged])
    record_outcome(ctx, out, "extract")
    for d in judged:
        doc = out.results.get(d.sample_id)
        if doc is None:
            d.failed.add("feedback")
            continue
        allowed, seen = set(d.feedback_ids), set()
        for r in schema.validate("llm/feedback", doc)["feedback"]:
            if r["post_id"] in allowed and r["post_id"] not in seen:  # answers about other posts are dropped
                seen.add(r["post_id"])
                d.feedback.append({**r, "categories": [c for c in r["categories"] if c in FEEDBACK_CATEGORIES]})
    return by_tree


def write_tree(ctx: RunContext, backend: Backend, tree: Tree, drafts: list[Draft], version: str) -> bool:
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
    stats = ctx.stage_stats("extract")
    stats["samples"] += len(samples)
    stats["image_roles"] += len(roles)
    stats["feedback"] += len(feedback)
    stats["stale_samples_removed"] += len(stale)
    for d in drafts:
        stats[f"decision_{d.decision or 'pending'}"] += 1
    return complete


def run_extract(ctx: RunContext) -> None:
    backend = backend_for(ctx)
    stats = ctx.stage_stats("extract")
    version = extractor_version(backend)
    trees = pending_trees(ctx, backend.name, version)
    stats["trees_pending"] += len(trees)
    for chunk in track(list(_chunks(trees, CHUNK)), "extract", enabled=ctx.progress):
        by_tree = extract_trees(ctx, backend, chunk)
        for t in chunk:
            drafts = by_tree.get(f"{t.platform}:{t.root_id}")
            if drafts is None:
                stats["trees_failed"] += 1  # recorded in llm_failures; retried next run
                continue
            if write_tree(ctx, backend, t, drafts, version):
                stats["trees_extracted"] += 1
            else:
                stats["trees_partial"] += 1
