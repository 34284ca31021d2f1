"""A small, realistic database for the release tests: posts, images (real PNG files), samples, feedback,
duplicates, clusters and review decisions, inserted directly with Store.upsert."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

from PIL import Image

from echo import records
from echo.store import Store

T0 = dt.datetime(2025, 3, 26, 12, 0, tzinfo=dt.UTC)


def png(color: tuple[int, int, int], size=(24, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def add_media(store: Store, config, url: str, color: tuple[int, int, int]) -> str:
    data = png(color)
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{sha[:2]}/{sha}.png"
    p = Path(config.path("media_dir")) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    store.upsert("media", [records.Media(url=url, status="ok", sha256=sha, path=rel, content_type="image/png",
                                         format="PNG", size_bytes=len(data), width=24, height=16)])
    return sha


def add_post(store: Store, platform: str, post_id: str, author: str, text: str, minutes: int = 0, *,
             parent: str | None = None, root: str | None = None, images: list[str] = (), run_id: str = "run-1"):
    store.upsert("posts", [records.Post(
        platform=platform, post_id=post_id, url=f"https://{platform}.example/{author}/{post_id}", author=author,
        author_id=f"id-{author}", created_at=T0 + dt.timedelta(minutes=minutes), text=text, parent_id=parent,
        root_id=root or post_id, raw={"id": post_id, "text": text}, run_id=run_id, source="test")])
    store.upsert("post_media", [records.PostMedia(platform=platform, post_id=post_id, url=u, position=i)
                                for i, u in enumerate(images)])


def add_sample(store: Store, sid: str, platform: str, anchor: str, prompt: str | None, *, task="text_to_image",
               quality="benchmark", decision="benchmark", inputs=(), outputs=(), evidence=None, nsfw=False,
               run_id="run-1", **kw):
    store.upsert("samples", [records.Sample(
        sample_id=sid, platform=platform, root_id=anchor, anchor_post_id=anchor, prompt=prompt,
        prompt_modified=False, task=task, quality=quality, input_media=list(inputs), output_media=list(outputs),
        evidence_post_ids=list(evidence or [anchor]), has_nsfw=nsfw, benchmark_decision=decision,
        extractor="rules", extractor_version="rules-1", run_id=run_id, created_at=T0, **kw)])


def build_small_db(store: Store, config) -> dict:
    """Eleven samples over three platforms. Returns the ids that the tests reason about."""
    u = "https://img.example/"
    add_media(store, config, u + "fox.png", (200, 90, 30))
    add_media(store, config, u + "cat_in.png", (40, 40, 40))
    add_media(store, config, u + "cat_out.png", (90, 160, 220))
    add_media(store, config, u + "city.png", (10, 10, 120))
    add_media(store, config, u + "city2.png", (10, 10, 121))
    add_media(store, config, u + "robot.png", (120, 120, 120))
    add_media(store, config, u + "nsfw.png", (250, 180, 180))

    add_post(store, "x", "1900000000000000001", "alice", "gpt-4o prompt: a watercolor fox reading a newspaper",
             0, images=[u + "fox.png"])
    add_post(store, "x", "1900000000000000002", "bob", "the fox is great but the newspaper text is gibberish",
             5, parent="1900000000000000001", root="1900000000000000001")
    add_post(store, "bluesky", "at://did:plc:carol/app.bsky.feed.post/3k1", "carol.bsky.social",
             "4o: make my cat a Ghibli character", 10, images=[u + "cat_in.png", u + "cat_out.png"])
    add_post(store, "reddit", "t3_city1", "dave", "ChatGPT image gen: isometric city at night, neon", 20,
             images=[u + "city.png"])
    add_post(store, "reddit", "t3_city2", "erin", "isometric city at night, neon (4o)", 25, images=[u + "city2.png"])
    add_post(store, "reddit", "t3_yellow", "frank", "why does 4o make every image yellow?", 30)
    add_post(store, "x", "1900000000000000007", "gina", "4o: a robot chef flipping pancakes", 40,
             images=[u + "robot.png"])
    add_post(store, "x", "1900000000000000008", "hank", "4o: sketch of a bridge, pencil", 50)
    add_post(store, "x", "1900000000000000009", "ivan", "4o: spicy", 55, images=[u + "nsfw.png"])
    add_post(store, "mastodon", "110000000000000010", "judy", "lol 4o", 60)
    add_post(store, "mastodon", "110000000000000011", "kim", "4o: a teapot shaped like a snail", 65)

    add_sample(store, "s_fox", "x", "1900000000000000001", "a watercolor fox reading a newspaper",
               outputs=[u + "fox.png"], evidence=["1900000000000000001", "1900000000000000002"])
    store.upsert("feedback", [records.Feedback(
        platform="x", post_id="1900000000000000002", sample_id="s_fox", polarity="failure",
        keywords=["gibberish", "text"], categories=["text rendering"], model="rules", prompt_version="1")])
    add_sample(store, "s_cat", "bluesky", "at://did:plc:carol/app.bsky.feed.post/3k1", "make my cat a Ghibli character",
               task="image_to_image", inputs=[u + "cat_in.png"], outputs=[u + "cat_out.png"],
               is_screenshot=False, input_boxes=None)
    add_sample(store, "s_city1", "reddit", "t3_city1", "isometric city at night, neon", outputs=[u + "city.png"])
    add_sample(store, "s_city2", "reddit", "t3_city2", "isometric city at night, neon", outputs=[u + "city2.png"])
    store.upsert("duplicates", [
        records.Duplicate(sample_id="s_city1", group_id="g_city", canonical_sample_id="s_city1", is_canonical=True),
        records.Duplicate(sample_id="s_city2", group_id="g_city", canonical_sample_id="s_city1", is_canonical=False,
                          method="exact", similarity=1.0, matched_sample_id="s_city1")])
    add_sample(store, "s_yellow", "reddit", "t3_yellow", "why does 4o make every image yellow?", task=None,
               quality="analysis", decision=None)
    add_sample(store, "s_robot", "x", "1900000000000000007", "a robot chef flipping pancakes",
               decision="manual_review", outputs=[u + "robot.png"])
    add_sample(store, "s_bridge", "x", "1900000000000000008", "sketch of a bridge, pencil", decision="manual_review")
    add_sample(store, "s_nsfw", "x", "1900000000000000009", "spicy", outputs=[u + "nsfw.png"], nsfw=True)
    add_sample(store, "s_trash", "mastodon", "110000000000000010", "lol", quality="trash", decision="discard")
    add_sample(store, "s_snail", "mastodon", "110000000000000011", "a teapot shaped like a snail", decision="discard")
    add_sample(store, "s_noprompt", "mastodon", "110000000000000011", None, quality="analysis", decision=None,
               evidence=["110000000000000011"])

    # review decisions come from `echo-bench review` (the llm area's table)
    store.upsert("review_decisions", [{"sample_id": "s_robot", "decision": "accept", "decided_at": T0}])

    store.upsert("clusterings", [records.Clustering(clustering_id="c1", method="agglomerative", n_samples=6,
                                                     n_clusters=2, created_at=T0)])
    store.upsert("clusters", [records.ClusterAssignment(clustering_id="c1", sample_id=s, cluster_id=c, label=l)
                              for s, c, l in [("s_fox", 0, "animals, watercolor"), ("s_cat", 0, "animals, watercolor"),
                                              ("s_city1", 1, "city, isometric"), ("s_robot", 1, "city, isometric"),
                                              ("s_yellow", -1, None)]])
    return {"t2i": {"s_fox", "s_city1", "s_robot"}, "i2i": {"s_cat"},
            "analysis": {"s_yellow", "s_bridge", "s_noprompt"}}


def test_small_db_builds(config):
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        assert store.count("samples") == 11
        assert store.count("media") == 7
        assert all((Path(config.path("media_dir")) / r["path"]).is_file() for r in store.query("SELECT path FROM media"))
