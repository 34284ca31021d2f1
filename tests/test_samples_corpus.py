"""The bundled sample corpus: reproducible from its generator, complete, and consistent with its answer key."""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import re
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

from echo import records

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
MEDIA_PREFIX = "https://echo-samples.invalid/media/"
FEEDBACK_CATEGORIES = set(records.FEEDBACK_CATEGORIES)
REQUIRED_CATEGORIES = [
    "text_to_image", "prompt_label", "quoted_prompt", "plain_description", "image_to_image", "prompt_in_reply",
    "split_prompt", "screenshot", "fill_in_the_blank", "irrelevant", "duplicate:verbatim", "duplicate:near_verbatim",
    "duplicate:cross_platform", "other_model", "prompt_injection", "long_post", "quote_post",
]


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _visible_text(doc) -> str:
    """Every string of a response with the platform's escaping undone (HTML entities, Mastodon's markup)."""
    parts = []
    for s in _strings(doc):
        s = html.unescape(re.sub(r"<br\s*/?>|</p>", "\n", s)) if "<" in s else html.unescape(s)
        parts.append(" ".join(re.sub(r"<[^>]+>", "", s).split()))
    return " | ".join(parts)


@pytest.fixture
def answers(sample_corpus_dir: Path) -> dict:
    return json.loads((sample_corpus_dir / "answers.json").read_text(encoding="utf-8"))


def test_regenerating_gives_byte_identical_files(tmp_path: Path, sample_corpus_dir: Path) -> None:
    gen = _load_generator()
    gen.write(tmp_path, gen.generate())
    fresh, bundled = _digests(tmp_path), _digests(sample_corpus_dir)
    assert sorted(fresh) == sorted(bundled), set(fresh) ^ set(bundled)
    changed = [name for name in fresh if fresh[name] != bundled[name]]
    assert changed == [], f"files differ from a fresh run of scripts/make_samples.py: {changed[:10]}"


def test_every_file_parses_and_the_corpus_stays_small(sample_corpus_dir: Path) -> None:
    total = 0
    json_files = 0
    for p in sample_corpus_dir.rglob("*"):
        if not p.is_file():
            continue
        total += p.stat().st_size
        if p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))
            json_files += 1
    assert json_files > 100
    assert total < 6_500_000


def test_counts_platforms_and_native_ids(answers: dict) -> None:
    trees = answers["trees"]
    assert len(trees) >= 150
    per_platform = {}
    for t in trees:
        per_platform[t["platform"]] = per_platform.get(t["platform"], 0) + 1
    assert len(per_platform) >= 3 and set(per_platform) == {"bluesky", "reddit", "mastodon", "x"}
    assert per_platform["bluesky"] >= 40 and per_platform["reddit"] >= 35
    patterns = {
        "bluesky": r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/[2-7a-z]{13}",
        "reddit": r"t[13]_[0-9a-z]{7}",
        "mastodon": r"\d{17,19}",
        "x": r"\d{18,20}",
    }
    all_ids = []
    for t in trees:
        assert re.fullmatch(patterns[t["platform"]], t["root_post_id"]), t["root_post_id"]
        if t["platform"] == "reddit":
            assert t["root_post_id"].startswith("t3_")
        for pid in t["post_ids"]:
            assert re.fullmatch(patterns[t["platform"]], pid)
        all_ids += t["post_ids"]
    assert len(all_ids) == len(set(all_ids))


def test_every_category_is_present(answers: dict) -> None:
    cats = [c for t in answers["trees"] for c in t["categories"]]
    for c in REQUIRED_CATEGORIES:
        assert cats.count(c) >= 2, c
    other = {c.split(":", 1)[1] for c in cats if c.startswith("other_model:")}
    assert {"midjourney", "flux", "nano_banana"} <= other
    samples = [s for t in answers["trees"] for s in t["samples"]]
    assert {s["quality"] for s in samples} == {"benchmark", "analysis", "trash"}
    assert sum(1 for s in samples if s["is_screenshot"]) >= 4
    assert sum(1 for s in samples if s["prompt_fill_blank"]) >= 4
    assert all(re.search(r"\[[^\]]+\]|<[^>]+>|\([^)]+\)", s["prompt_fill_blank"]) for s in samples if s["prompt_fill_blank"])
    injections = [t for t in answers["trees"] if "prompt_injection" in t["categories"]]
    assert len(injections) >= 2
    feedback = [f for s in samples for f in s["feedback"]]
    assert {f["polarity"] for f in feedback} == {"success", "failure"}
    failure_cats = {c for f in feedback if f["polarity"] == "failure" for c in f["categories"]}
    assert failure_cats == FEEDBACK_CATEGORIES
    groups: dict[str, list[str]] = {}
    for t in answers["trees"]:
        for s in t["samples"]:
            if s["duplicate_group"]:
                groups.setdefault(s["duplicate_group"], []).append(t["platform"])
    assert len(groups) >= 5 and all(len(v) >= 2 for v in groups.values())
    assert any(len(set(v)) > 1 for v in groups.values())
    relevant = [t for t in answers["trees"] if t["relevant"]]
    assert 0 < len(relevant) < len(answers["trees"])
    assert all(not t["samples"] for t in answers["trees"] if not t["relevant"])


def test_answer_ids_and_prompts_are_in_the_platform_files(answers: dict, sample_corpus_dir: Path) -> None:
    for t in answers["trees"]:
        docs = [json.loads((sample_corpus_dir / t["file"]).read_text(encoding="utf-8"))]
        if t.get("context_file"):
            docs.append(json.loads((sample_corpus_dir / t["context_file"]).read_text(encoding="utf-8")))
        raw = json.dumps(docs)
        for pid in t["post_ids"]:
            assert (pid[3:] if t["platform"] == "reddit" else pid) in raw, (t["tree_id"], pid)
        text = _visible_text(docs)
        for s in t["samples"]:
            for f in s["feedback"]:
                assert f["post_id"] in t["post_ids"]
            assert set(s["evidence_post_ids"]) <= set(t["post_ids"])
            assert s["anchor_post_id"] in s["evidence_post_ids"]
            if s["prompt"] and not s["prompt_modified"] and not s["is_screenshot"]:
                assert " ".join(s["prompt"].split()) in text, (t["tree_id"], s["prompt"])
            if s["prompt_modified"] and s["prompt_fill_blank"] is None:
                # stitched: every part is posted verbatim
                assert all(w in text for w in s["prompt"].split()), (t["tree_id"], s["prompt"])


def test_every_media_url_exists(answers: dict, sample_corpus_dir: Path) -> None:
    media = sample_corpus_dir / "media"
    referenced = set()
    for p in sample_corpus_dir.rglob("*.json"):
        for url in re.findall(r"https://echo-samples\.invalid/media/[^\"\s?\\]+", p.read_text(encoding="utf-8")):
            referenced.add(url)
    for t in answers["trees"]:
        for s in t["samples"]:
            referenced.update(s["input_images"] + s["output_images"])
    assert len(referenced) > 100
    for url in referenced:
        assert url.startswith(MEDIA_PREFIX)
        assert (media / url[len(MEDIA_PREFIX):]).is_file(), url
    # Every media file is used by some post, and decodes as an image within the size budget.
    names = {u[len(MEDIA_PREFIX):] for u in referenced}
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for f in media.iterdir():
            assert f.name in names, f"unreferenced media file {f.name}"
            with Image.open(f) as im:
                assert im.format in ("PNG", "JPEG")
                assert max(im.size) <= 900


def test_near_duplicate_images_are_identical_or_altered(answers: dict, sample_corpus_dir: Path) -> None:
    media = sample_corpus_dir / "media"
    groups: dict[str, list[dict]] = {}
    for t in answers["trees"]:
        for s in t["samples"]:
            if s["duplicate_group"]:
                groups.setdefault(s["duplicate_group"], []).append(s)
    identical = altered = 0
    for members in groups.values():
        original = next(s for s in members if s["duplicate_kind"] == "original")
        ref = (media / original["output_images"][0][len(MEDIA_PREFIX):]).read_bytes()
        for s in members:
            if s is original:
                continue
            data = (media / s["output_images"][0][len(MEDIA_PREFIX):]).read_bytes()
            assert s["output_images"][0] != original["output_images"][0]
            if data == ref:
                identical += 1
            else:
                altered += 1
    assert identical >= 2 and altered >= 2


def test_screenshot_boxes_lie_inside_the_image(answers: dict, sample_corpus_dir: Path) -> None:
    shots = [s for t in answers["trees"] for s in t["samples"] if s["is_screenshot"]]
    assert len(shots) >= 4
    for s in shots:
        boxes = s["input_boxes"]
        assert boxes["screenshot"] == s["output_images"][0]
        with Image.open(sample_corpus_dir / "media" / boxes["screenshot"][len(MEDIA_PREFIX):]) as im:
            w, h = im.size
        assert [w, h] == boxes["size"]
        for key in ("input", "output", "prompt_bubble"):
            left, top, right, bottom = boxes[key]
            assert 0 <= left < right <= w and 0 <= top < bottom <= h, (key, boxes[key], (w, h))
        # input and output images do not overlap
        a, b = boxes["input"], boxes["output"]
        assert a[3] <= b[1] or b[3] <= a[1] or a[2] <= b[0] or b[2] <= a[0]


def test_platform_shapes(sample_corpus_dir: Path) -> None:
    d = sample_corpus_dir
    bsky = [json.loads(p.read_text()) for p in sorted((d / "bluesky").glob("*.json"))]
    assert all(b["thread"]["$type"] == "app.bsky.feed.defs#threadViewPost" for b in bsky)
    embeds = {b["thread"]["post"].get("embed", {}).get("$type") for b in bsky}
    assert {"app.bsky.embed.images#view", "app.bsky.embed.recordWithMedia#view"} <= embeds

    reddit = [json.loads(p.read_text()) for p in sorted((d / "reddit").glob("*.json"))]
    assert all(isinstance(r, list) and len(r) == 2 and r[0]["data"]["children"][0]["kind"] == "t3" for r in reddit)
    subs = [r[0]["data"]["children"][0]["data"] for r in reddit]
    assert any(s.get("post_hint") == "image" and "&amp;" in s["preview"]["images"][0]["source"]["url"] for s in subs)
    assert any(s.get("is_gallery") and s["gallery_data"]["items"][0]["media_id"] in s["media_metadata"] for s in subs)
    assert any(c["kind"] == "more" for r in reddit for c in r[1]["data"]["children"])
    assert any(c["kind"] == "t1" and c["data"]["replies"] == "" for r in reddit for c in r[1]["data"]["children"])

    pages = [json.loads(p.read_text()) for p in sorted((d / "mastodon").glob("tag_timeline_*.json"))]
    statuses = [s for page in pages for s in page]
    assert statuses and all("<p>" in s["content"] for s in statuses)
    assert any(m["description"] for s in statuses for m in s["media_attachments"])
    contexts = [json.loads(p.read_text()) for p in sorted((d / "mastodon").glob("*.context.json"))]
    assert contexts and all(set(c) == {"ancestors", "descendants"} and c["descendants"] for c in contexts)
    assert all(s["in_reply_to_id"] for c in contexts for s in c["descendants"])

    xs = [json.loads(p.read_text()) for p in sorted((d / "x").glob("*.json"))]
    tweets = [t for page in xs for t in page["data"]]
    assert all(set(page["meta"]) >= {"newest_id", "oldest_id", "result_count"} for page in xs)
    assert any("note_tweet" in t for t in tweets)
    assert any(r["type"] == "quoted" for t in tweets for r in t.get("referenced_tweets", []))
    assert any(r["type"] == "replied_to" for t in tweets for r in t.get("referenced_tweets", []))
    media_keys = {m["media_key"] for page in xs for m in page["includes"]["media"]}
    assert all(k in media_keys for t in tweets for k in t.get("attachments", {}).get("media_keys", []))
