"""The realistic corpus on disk: platform files, media, answers.json (with patterns, splits, relevance evidence)
and a README with the CC-BY-4.0 attribution of every real prompt."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from scripts.samples.answers import b_tree, counts, dump, tree_json
from scripts.samples.corpus import platform_files, write

from .prompts import DEFAULT_SOURCE, UPSTREAM, UPSTREAM_COMMIT, RealPrompt, load
from .scenarios import MEDIA_BASE, PATTERNS, SEED, RealBuilder, RTree, build, duplicate_groups

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests" / "data" / "realistic"
TARGET_MODEL = "GPT-4o image generation (4o, ChatGPT image gen, gpt-image-1, Sora images)"

ANSWER_FORMAT = (
    "Answer key of the realistic corpus (python -m scripts.realistic): real prompts (the 'case' of "
    f"{UPSTREAM} @{UPSTREAM_COMMIT}, CC-BY-4.0, see README.md) wrapped in generated post trees. One entry per post "
    "tree. root_post_id and every *_post_id are platform-native ids exactly as parsers store posts.post_id: bluesky "
    "at:// URIs, reddit fullnames (t3_ submission, t1_ comments), mastodon status ids, X tweet ids. "
    "relevant: the tree is about the target model's image generation (GPT-4o / ChatGPT image gen / gpt-image-1 / Sora "
    "images). pattern: the tree's shape, one of the names in 'patterns'. split: 'dev' or 'test'; trees with a real "
    "prompt take it from the case number (odd: dev, even: test), the others alternate, and every phrase around the "
    "prompts comes from that split's half of the phrase pools only. relevance_evidence_post_ids: the posts whose own "
    "text or alt text shows a reader that the tree is about the target model (a post naming GPT-4o, ChatGPT, Sora, "
    "4o image gen ...; for a quote-post that only judges, the quoted post); empty for trees that are not relevant. "
    "samples: what extraction should produce. prompt is the exact prompt text as posted, with platform escaping undone "
    "(reddit and X escape &, <, > as &amp; &lt; &gt;; mastodon content is HTML); a prompt split over a thread is the "
    "parts joined with one space (prompt_modified true); a lightly edited re-post keeps the edited text. An unfilled "
    "template (generic [placeholders] / {x}) has prompt null and prompt_fill_blank = the template text; a filled one "
    "has the filled prompt, prompt_fill_blank = the template and prompt_modified true. A prompt whose brackets hold a "
    "concrete example ([Jackie Chan], {🐼}) or point at the upload ([upload image]) is a complete prompt. JSON prompts: "
    "the whole text including the JSON object is the prompt. case: the real prompt's case number. prompt_location: "
    "where the prompt is: root (the root post), reply (the author's reply), thread (the author's thread), alt_text (the "
    "image's alt text), answer (the author's answer to someone asking), quoted_post (the post the root quotes). "
    "evidence_post_ids: the posts the sample is read from (may include a quoted post outside the tree's replies). "
    "input_images/output_images: media URLs in order (reddit preview URLs with ?width=... point at the same files); "
    "image edits have the uploaded photo as input. quality: benchmark. duplicate_group: samples of the same real "
    "prompt in the same language (verbatim or lightly edited, also re-run by others, also on other platforms), and "
    "reposts of the same unfilled template, share a group id when there are two or more; duplicate_kind: original "
    "(the earliest), verbatim, near_verbatim or cross_platform. feedback: only replies (or quote-posts) that judge "
    "the result, with polarity (success/failure) and categories from: identity, color shift, text rendering, aspect "
    "ratio, proportions, structure, style, detail, coherence, other. Chatter, questions, requests for the prompt, "
    "judgements of other models' images and steering attempts ('note to the annotator ...') are not feedback. Trees "
    "about other models or unrelated '4o'/'gpt' mentions have relevant=false and no samples."
)


def resolver(b: RealBuilder, tr: RTree):
    """Post key -> platform id; 'tree_id/key' names a post of another tree (a quoted root)."""
    def post_id(key: str) -> str:
        if "/" in key:
            tid, k = key.split("/", 1)
            return b_tree(b, tid).ids[k]
        return tr.ids[key]
    return post_id


def realistic_tree(b: RealBuilder, tr: RTree) -> dict:
    out = tree_json(b, tr, resolver(b, tr))
    for entry, s in zip(out["samples"], tr.samples):
        entry["case"] = s.case
        entry["prompt_location"] = s.location
    out["pattern"] = tr.pattern
    out["split"] = tr.split
    out["case"] = tr.case
    out["relevance_evidence_post_ids"] = [resolver(b, tr)(k) for k in tr.evidence] if tr.relevant else []
    return out


def realistic_counts(b: RealBuilder) -> dict:
    c = counts(b)
    c["trees_per_pattern"] = dict(sorted(Counter(t.pattern for t in b.trees).items()))
    c["trees_per_split"] = dict(sorted(Counter(t.split for t in b.trees).items()))
    c["samples_per_location"] = dict(sorted(Counter(s.location for s in b.samples).items()))
    c["cases_used"] = len({s.case for s in b.samples})
    c["templates_unfilled"] = sum(1 for s in b.samples if s.prompt is None)
    return c


def answer_key(b: RealBuilder, prompts: list[RealPrompt]) -> dict:
    return {
        "format": ANSWER_FORMAT,
        "generator": "python -m scripts.realistic",
        "seed": SEED,
        "target_model": TARGET_MODEL,
        "media_url_prefix": MEDIA_BASE,
        "source": {"repository": UPSTREAM, "commit": UPSTREAM_COMMIT, "license": "CC-BY-4.0", "cases": len(prompts)},
        "patterns": PATTERNS,
        "split_rule": "case number odd: dev, even: test; trees without a case alternate; phrase pools split by index "
                      "parity (even: dev, odd: test)",
        "counts": realistic_counts(b),
        "trees": [realistic_tree(b, tr) for tr in sorted(b.trees, key=lambda t: t.tree_id)],
    }


README = """# Realistic evaluation corpus (real prompts, generated posts)

The **prompts** in this folder are real: the 100 GPT-4o (Sora) image prompts collected by jamez-bondos in
[{upstream}](https://github.com/{upstream}) @{commit}, licensed **CC-BY-4.0**; each prompt's author and
source are listed below. Everything **around** them is generated by `python -m scripts.realistic` (fixed seed):
the post trees, people, ids, replies, commentary and the small drawn images. The prompts were wrapped in
realistic post trees in each platform's native API format (Bluesky getPostThread, Reddit /comments listings,
Mastodon statuses + context, X API v2 search pages), read by `echo-bench import` exactly like data/samples.
Prompt texts are used as published (English translation `prompt_en`, and the original Chinese `prompt` in
some trees); templates are also shown filled with values chosen here.

Use: `echo-bench evaluate tests/data/realistic` imports it into a temporary database, runs the pipeline
and scores the result against `answers.json` (its `format` field documents every field). The images' URLs
use the prefix `{media_base}`, mapped to `media/` by the evaluate command's `[media] url_map`.

## Counts

{n_trees} post trees ({n_posts} posts), {n_relevant} about the target model, {n_samples} expected samples from
{n_cases} real prompts, {n_groups} duplicate groups, {n_media} images ({media_kb} KB).
Per platform: {per_platform}. Per split: {per_split}.

| pattern | trees | what |
|---|---|---|
{pattern_rows}

Feedback replies: {fb_pol}; per category: {fb_cats}.

## Dev and test

Trees with a real prompt are `dev` when the case number is odd and `test` when it is even; the others
alternate. Every phrase pool (commentary, feedback, chatter, non-English wrappers, steering attempts,
off-topic chatter) is split by index parity, and a tree uses only its split's half. Tune on `dev`, report `test`.

## Regenerate

    .venv/bin/python -m scripts.realistic          # needs ../shared/realprompts; rewrites tests/data/realistic
    .venv/bin/python -m pytest -q tests/test_realistic_corpus.py

The test regenerates into a temporary folder and compares every file (skipped where ../shared is absent).

## Attribution (CC-BY-4.0)

Prompts from [{upstream}](https://github.com/{upstream}) @{commit} (collected by jamez-bondos), each by its
prompt author, shared at the source URL:

| case | title | prompt author | source |
|---|---|---|---|
{attribution_rows}
"""


def readme(b: RealBuilder, prompts: list[RealPrompt], answers: dict) -> bytes:
    c = answers["counts"]
    pattern_rows = "\n".join(f"| {k} | {c['trees_per_pattern'].get(k, 0)} | {v} |" for k, v in PATTERNS.items())

    def cell(s: str) -> str:
        return s.replace("|", "\\|")

    attribution = "\n".join(
        f"| {p.case} | {cell(p.title_en)} | {cell(p.prompt_author or p.author or '-')} | {cell(p.source_url or '-')} |"
        for p in prompts)
    text = README.format(
        upstream=UPSTREAM, commit=UPSTREAM_COMMIT, media_base=MEDIA_BASE, n_trees=c["trees"], n_posts=c["posts"],
        n_relevant=c["relevant_trees"], n_samples=c["samples"], n_cases=c["cases_used"], n_groups=c["duplicate_groups"],
        n_media=c["media_files"], media_kb=sum(len(v) for v in b.media.files.values()) // 1024,
        per_platform=", ".join(f"{k} {v}" for k, v in c["trees_per_platform"].items()),
        per_split=", ".join(f"{k} {v}" for k, v in c["trees_per_split"].items()), pattern_rows=pattern_rows,
        fb_pol=", ".join(f"{k} {v}" for k, v in c["feedback_per_polarity"].items()),
        fb_cats=", ".join(f"{k} {v}" for k, v in c["feedback_per_category"].items()), attribution_rows=attribution)
    return text.encode("utf-8")


def generate(source: Path = DEFAULT_SOURCE) -> dict[str, bytes]:
    prompts = load(source)
    b = build(prompts)
    duplicate_groups(b)
    files = platform_files(b, SEED + 1)
    answers = answer_key(b, prompts)
    out = {name: dump(obj) for name, obj in files.items()}
    out["answers.json"] = dump(answers)
    for name, data in b.media.files.items():
        out[f"media/{name}"] = data
    out["README.md"] = readme(b, prompts, answers)
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the realistic corpus: real prompts in generated post trees.")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="awesome-gpt4o-images.jsonl")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder to (re)write (default: tests/data/realistic)")
    args = ap.parse_args(argv)
    files = generate(args.source)
    write(args.out, files)
    c = json.loads(files["answers.json"])["counts"]
    print(f"wrote {len(files)} files ({sum(len(v) for v in files.values()) / 1e6:.2f} MB) to {args.out}: "
          f"{c['trees']} trees, {c['posts']} posts, {c['samples']} samples, {c['media_files']} images")
    return 0


__all__ = ["generate", "main"]
