"""The answer key: what the pipeline should find in each tree, in the format its `format` text documents."""

from __future__ import annotations

import json
from collections.abc import Callable

from .builder import TreeBuilder
from .ids import iso_ms
from .model import MEDIA_BASE, PLATFORM_DIRS, RELEASE_DAYS, SEED, TARGET_MODEL, SampleSpec, Tree

ANSWER_FORMAT = (
    "Answer key of the synthetic sample corpus (scripts/make_samples.py). One entry per post tree. "
    "root_post_id and every *_post_id are platform-native ids exactly as parsers store posts.post_id: "
    "bluesky at:// URIs, reddit fullnames (t3_ for the submission, t1_ for comments), mastodon status ids, X tweet ids. "
    "relevant: the tree is about the target model's image generation (GPT-4o / ChatGPT image gen / gpt-image-1 / Sora images). "
    "samples: what extraction should produce; prompt is the exact prompt text with platform escaping undone "
    "(reddit and X escape &, <, > as &amp; &lt; &gt;; mastodon content is HTML); prompts split over posts are joined with "
    "one space; fill-in-the-blank prompts are filled with the value the post names and keep the template in "
    "prompt_fill_blank; prompt_modified is true for stitched or filled prompts. input_images/output_images are media URLs "
    "in order (reddit preview URLs with ?width=... query strings point at the same files). For chat screenshots "
    "(is_screenshot) both lists hold the screenshot URL and input_boxes gives pixel boxes [left, top, right, bottom] of the "
    "uploaded input image, the generated output image and the prompt bubble inside it. quality: benchmark, analysis or trash. "
    "duplicate_group: samples re-posted by other users (same prompt verbatim, with one word changed, or on another "
    "platform) share a group id; duplicate_kind says which. feedback: replies judging the sample, with polarity "
    "(success/failure) and categories from: identity, color shift, text rendering, aspect ratio, proportions, structure "
    "(anatomy and object structure: hands, fingers, broken geometry), style, detail, coherence, other. Replies that are "
    "chatter, questions or prompt-injection attempts are not feedback. Trees about other models or unrelated '4o'/'gpt' "
    "mentions have relevant=false and no samples."
)


def sample_json(tr: Tree, s: SampleSpec, post_id: Callable[[str], str] | None = None) -> dict:
    """One expected sample; `post_id` turns a post key into its platform id (default: a post of `tr`)."""
    pid = post_id or tr.ids.__getitem__
    return {
        "prompt": s.prompt,
        "prompt_modified": s.prompt_modified,
        "prompt_fill_blank": s.fill_blank,
        "task": s.task,
        "quality": s.quality,
        "input_images": [im.url for im in s.inputs],
        "output_images": [im.url for im in s.outputs],
        "is_screenshot": s.is_screenshot,
        "input_boxes": s.boxes,
        "anchor_post_id": pid(s.anchor),
        "evidence_post_ids": [pid(k) for k in s.evidence],
        "duplicate_group": s.dup_group,
        "duplicate_kind": s.dup_kind,
        "feedback": [{"post_id": pid(f.post_key), "polarity": f.polarity, "categories": f.categories} for f in s.feedback],
    }


def tree_json(b: TreeBuilder, tr: Tree, post_id: Callable[[str], str] | None = None) -> dict:
    entry = {
        "tree_id": tr.tree_id,
        "platform": tr.platform,
        "file": tr.file,
        "root_post_id": tr.ids["root"],
        "root_url": tr.urls["root"],
        "created_at": iso_ms(tr.root.when),
        "relevant": tr.relevant,
        "categories": tr.categories,
        "post_ids": [tr.ids[p.key] for p in tr.posts()],
        "samples": [sample_json(tr, s, post_id) for s in tr.samples],
    }
    if tr.platform == "mastodon" and tr.root.replies:
        entry["context_file"] = f"mastodon/{tr.ids['root']}.context.json"
    if tr.root.quote_of:
        entry["quoted_post_id"] = b_tree(b, tr.root.quote_of).ids["root"]
    if tr.notes:
        entry["notes"] = tr.notes
    return entry


def answer_key(b: TreeBuilder) -> dict:
    return {
        "format": ANSWER_FORMAT,
        "generator": "scripts/make_samples.py",
        "seed": SEED,
        "target_model": TARGET_MODEL,
        "release_days": RELEASE_DAYS,
        "media_url_prefix": MEDIA_BASE,
        "counts": counts(b),
        "trees": [tree_json(b, tr) for tr in sorted(b.trees, key=lambda t: t.tree_id)],
    }


def b_tree(b: TreeBuilder, tree_id: str) -> Tree:
    return next(t for t in b.trees if t.tree_id == tree_id)


def dump(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def counts(b: TreeBuilder) -> dict:
    per_platform = {p: sum(1 for t in b.trees if t.platform == p) for p in PLATFORM_DIRS}
    cats: dict[str, int] = {}
    for t in b.trees:
        for c in t.categories:
            cats[c] = cats.get(c, 0) + 1
    fb_cats: dict[str, int] = {}
    fb_pol: dict[str, int] = {}
    for t in b.trees:
        for s in t.samples:
            for f in s.feedback:
                fb_pol[f.polarity] = fb_pol.get(f.polarity, 0) + 1
                for c in f.categories:
                    fb_cats[c] = fb_cats.get(c, 0) + 1
    samples = [s for t in b.trees for s in t.samples]
    return {
        "trees": len(b.trees),
        "posts": sum(len(t.posts()) for t in b.trees),
        "trees_per_platform": per_platform,
        "relevant_trees": sum(1 for t in b.trees if t.relevant),
        "samples": len(samples),
        "samples_per_quality": {q: sum(1 for s in samples if s.quality == q) for q in ("benchmark", "analysis", "trash")},
        "samples_per_task": {k: sum(1 for s in samples if s.task == k) for k in ("text_to_image", "image_to_image")},
        "duplicate_groups": len({s.dup_group for s in samples if s.dup_group}),
        "media_files": len(b.media.files),
        "trees_per_category": dict(sorted(cats.items())),
        "feedback_per_polarity": dict(sorted(fb_pol.items())),
        "feedback_per_category": dict(sorted(fb_cats.items())),
    }
