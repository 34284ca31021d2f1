"""Turn a backend's answers for a tree into samples: steps 2-7 of the chain, and the checks no model is trusted with.

What must not be trusted to a model is enforced here, for both backends: ids outside the input are dropped,
each post is used by one sample, a prompt not verbatim in its evidence is marked prompt_modified,
placeholders are detected by pattern too, media-hash duplicates are dropped, and the benchmark decision is
downgraded to manual_review when the sample lacks what it needs. Pure of the database: the extract stage
(echo/stages/extract.py) reads the trees and writes the rows.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from echo import schema
from echo.llm.backend import Backend, ImageView, Outcome, SampleItem, ScreenshotItem, TreeItem
from echo.llm.injection import strip_injection
from echo.llm.trees import Tree
from echo.records import FEEDBACK_CATEGORIES, sample_id
from echo.text import URL, bare_prompt, has_placeholder, normalize_prompt


_THREAD_MARK = re.compile(r"(^|\s)[\(\[]?\d{1,2}\s*/\s*\d{1,2}[\)\]]?(?=\s|$)|🧵")


def prompt_origin(prompt: str | None, evidence_texts: Sequence[str]) -> str | None:
    """'verbatim' (inside one evidence post), 'stitched' (every part found across the posts), or 'not_found'."""
    if not prompt or not prompt.strip():
        return None
    p = bare_prompt(prompt)
    texts = [normalize_prompt(t) for t in evidence_texts]
    if any(p in t for t in texts):
        return "verbatim"
    # thread numbering and the links X appends to a post are not part of a prompt split across posts
    cleaned = [normalize_prompt(URL.sub(" ", _THREAD_MARK.sub(" ", t))) for t in texts]
    if p in " ".join(cleaned) or p in "".join(cleaned):
        return "stitched"
    parts = [bare_prompt(x) for x in re.split(r"(?<=[.!?;])\s+|\n+", prompt) if bare_prompt(x)]
    if parts and all(any(part in t for t in cleaned) for part in parts):
        return "stitched"
    return "not_found"


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


def drop_steering(d: Draft) -> None:
    """Remove sentences addressed to a model or an annotator from the prompt: they are never part of a benchmark
    prompt, whichever backend or transcription put them there."""
    if not d.prompt:
        return
    kept, dropped = strip_injection(d.prompt)
    if dropped:
        d.prompt = kept or None
        d.notes.append("text addressed to a model or an annotator removed from the prompt")


# A prompt must be at least this long to count as found verbatim in a post (shorter strings match by accident).
MIN_SHARED_PROMPT_CHARS = 15


def samples_from_answer(tree: Tree, doc: dict) -> list[Draft]:
    """Turn a tree_to_samples answer into drafts, enforcing the rules a model may break:
    ids must be posts of this tree, each post serves one sample (evidence first, then feedback), samples with the
    same prompt merge, unused replies that repeat a sample's prompt join it, every other reply by someone else is
    sent to the feedback step with the sample it answers (the step says whether it judges it), and
    prompt_modified is recomputed against the evidence posts' text and their images' alt text."""
    order = {p.post_id: i for i, p in enumerate(tree.posts)}
    used: set[str] = set()
    drafts: list[Draft] = []
    by_prompt: dict[str, Draft] = {}
    for s in doc["samples"]:
        evidence = [pid for pid in dict.fromkeys(s["evidence_post_ids"]) if pid in order and pid not in used]
        if s["anchor_post_id"] in order and s["anchor_post_id"] not in used and s["anchor_post_id"] not in evidence:
            evidence.insert(0, s["anchor_post_id"])
        key = bare_prompt(s["prompt"]) if s["prompt"] else None
        if not evidence and key and len(key) >= MIN_SHARED_PROMPT_CHARS and key not in by_prompt \
                and s["anchor_post_id"] in order and key in bare_prompt(tree.post(s["anchor_post_id"]).text or ""):
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
        t = normalize_prompt(p.text)
        for d in drafts:
            if d.prompt and len(bare_prompt(d.prompt)) >= 15 and bare_prompt(d.prompt) in t:
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
        d.feedback_ids = fb
    _unassigned_replies_to_feedback(tree, drafts, used)
    for d in drafts:
        drop_steering(d)
        d.feedback_ids = sorted(dict.fromkeys(d.feedback_ids), key=order.__getitem__)
        d.evidence = sorted(dict.fromkeys(d.evidence), key=order.__getitem__)
        alts = [im.alt_text for im in tree.images_of(d.evidence) if im.alt_text]
        d.origin = prompt_origin(d.prompt, [tree.post(pid).text for pid in d.evidence] + alts)
    ordinals: collections.Counter = collections.Counter()
    for d in drafts:
        d.ordinal = ordinals[d.anchor_post_id]
        ordinals[d.anchor_post_id] += 1
    return drafts


def _unassigned_replies_to_feedback(tree: Tree, drafts: list[Draft], used: set[str]) -> None:
    """A reply (or quote) nobody used goes to the sample it answers: the nearest post up its reply or quote chain
    that belongs to a sample, else the root's sample. The thread author's own posts and posts the thread only
    quotes are not judgements of its samples."""
    if not drafts:
        return
    by_id = {p.post_id: p for p in tree.posts}
    owner: dict[str, Draft] = {pid: d for d in drafts for pid in d.evidence + d.feedback_ids}
    root_draft = owner.get(tree.root_id, drafts[0])
    author = tree.root.author
    quoted_only = {p.post_id for p in tree.posts if p.post_id != tree.root_id and p.parent_id is None
                   and any(q.quoted_id == p.post_id for q in tree.posts)}
    for p in tree.posts:
        if p.post_id in used or p.post_id in quoted_only or (author is not None and p.author == author):
            continue
        if not (p.text or "").strip():
            continue
        target, cur, seen = None, p.parent_id or p.quoted_id, set()
        while cur and cur not in seen and target is None:
            seen.add(cur)
            target = owner.get(cur)
            parent = by_id.get(cur)
            cur = (parent.parent_id or parent.quoted_id) if parent else None
        target = target or root_draft
        target.feedback_ids.append(p.post_id)
        owner[p.post_id] = target
        used.add(p.post_id)


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
        in_screenshot = {b["role"] for b in d.input_boxes or []}  # images cut out of a chat screenshot count too
        if not d.prompt or d.origin == "not_found":
            needs.append("prompt")
        if d.task == "image_to_image" and not d.images_with("input") and "input" not in in_screenshot:
            needs.append("input_image")
        if not d.images_with("output") and "output" not in in_screenshot:
            needs.append("output_image")
        if needs:
            d.notes.append("benchmark downgraded: missing or unverified " + ", ".join(needs))
            return "manual_review", needs
        return "benchmark", []
    if decision == "manual_review":
        return decision, targets or ["prompt"]
    return decision, []


def _answers(ask: Callable[[list[SampleItem]], Outcome], drafts: list[Draft], step: str,
             record: Callable[[Outcome], None]) -> Iterator[tuple[Draft, dict]]:
    """Ask one step about the drafts; yield each draft with its validated answer. A draft without an answer
    is marked failed at this step (the tree is retried next run)."""
    out = ask([d.item() for d in drafts])
    record(out)
    for d in drafts:
        doc = out.results.get(d.sample_id)
        if doc is None:
            d.failed.add(step)
            continue
        yield d, schema.validate(f"llm/{step}", doc)


def extract_trees(backend: Backend, trees: Sequence[Tree], *, record: Callable[[Outcome], None],
                  stored_ocr: Callable[[ImageView], dict | None]) -> dict[str, list[Draft]]:
    """Run steps 2-7 over trees. Returns drafts per tree key; a tree whose tree_to_samples call failed is absent.

    `record` accounts every backend outcome (calls, tokens, failures); `stored_ocr` gives the media layer's
    transcription of a screenshot when the backend cannot look at pixels.
    """
    out = backend.tree_to_samples([TreeItem(key=f"{t.platform}:{t.root_id}", platform=t.platform, root_id=t.root_id,
                                            posts=t.posts, images=t.images) for t in trees])
    record(out)
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
    record(out)
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
        record(out)
        for f in out.failures:
            transcripts[f.key] = None
        transcripts.update(out.results)
        for d, _ in shots:
            if d.sample_id not in out.results:
                d.failed.add("screenshot")
    else:
        for d, im in shots:
            transcripts[d.sample_id] = stored_ocr(im)
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
            drop_steering(d)
            d.fill_flag = d.fill_flag or has_placeholder(d.prompt)
            d.notes.append("prompt transcribed from a chat screenshot")

    # 5. fill-in-the-blank
    blanks = [d for d in drafts if d.fill_flag and d.prompt and not d.failed]
    for d in blanks:
        d.prompt_fill_blank = d.prompt
    for d, doc in _answers(backend.fill_blank, blanks, "fill_blank", record):
        if not doc["is_template"]:  # the brackets hold the values used ([Jackie Chan]): complete as written
            d.prompt_fill_blank = None
            d.notes.append(f"not a template: {doc['reason']}")
            continue
        filled = doc["prompt"]
        if doc["confident"] and filled and filled.strip() and not has_placeholder(filled) \
                and bare_prompt(filled) != bare_prompt(d.prompt_fill_blank):
            d.prompt, d.origin = filled, "filled"
        else:
            d.prompt, d.origin = None, None
            d.notes.append(f"placeholders left unfilled: {doc['reason']}")

    # 6. benchmark filter (screenshot transcripts and filled templates are prompts too)
    for d in drafts:
        drop_steering(d)
    ready = [d for d in drafts if not d.failed]
    for d, doc in _answers(backend.benchmark_filter, ready, "benchmark_filter", record):
        d.decision, d.review_targets = guard_decision(d, doc)

    # 7. community feedback
    judged = [d for d in drafts if d.feedback_ids]
    for d, doc in _answers(backend.feedback, judged, "feedback", record):
        allowed, seen = set(d.feedback_ids), set()
        for r in doc["feedback"]:
            if r["polarity"] == "neutral":
                continue  # not a judgement: chatter, a question, a thank-you
            if r["post_id"] in allowed and r["post_id"] not in seen:  # answers about other posts are dropped
                seen.add(r["post_id"])
                d.feedback.append({**r, "categories": [c for c in r["categories"] if c in FEEDBACK_CATEGORIES]})
    return by_tree
