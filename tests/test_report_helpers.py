"""A small, fully populated store for the report, browser and notebook tests (no pipeline run needed).

`seed_report_store` writes posts over three weeks with a launch-day burst, relevance decisions, samples of
every task and quality (one with a hostile prompt), feedback, real WEBP thumbnails, a clustering with 2-D
positions, a release folder, LLM usage and a runs row. `seed_embeddings` fills the embedding cache for
every text the prompt map will show, so tests need not load the model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from echo import records
from echo.config import Config
from echo.store import Store

HOSTILE_PROMPT = "</script><script>window.__pwned=1</script><img src=x onerror=alert(1)> a cat in a hat"
START = dt.datetime(2025, 3, 18, 12, tzinfo=dt.UTC)
BURST_DAY = dt.date(2025, 3, 25)
PROMPTS = [
    "a watercolor fox sleeping under a maple tree",
    "a watercolor fox running through snow at dusk",
    "neon cyberpunk street market at night with rain",
    "neon cyberpunk alley with a noodle stand",
    "turn this photo of my dog into a studio ghibli scene",
    "turn my selfie into a renaissance oil painting",
    "a birthday card that says 'Happy 30th, Maya!' with balloons",
    "a poster that reads 'SPACE LAUNDRY' in 8-bit letters",
    HOSTILE_PROMPT,
    "why does 4o keep making everything yellow?",
    "lol",
]
REFERENCES = {
    "partiprompts": ["a red apple on a wooden table", "an astronaut riding a horse", "a map of the world made of pasta",
                     "a robot reading a newspaper", "two cats playing chess", "a lighthouse on a cliff at sunset"],
    "geneval": ["a photo of a bench", "a photo of a cow", "a photo of two clocks", "a photo of a red bicycle",
                "a photo of a dog left of a cat", "a photo of three apples"],
    "diffusiondb": ["portrait of a knight, highly detailed, artstation", "cyberpunk city, octane render, 8k",
                    "a cozy cabin in the woods, digital art", "anime girl with silver hair, trending on pixiv",
                    "epic dragon over mountains, matte painting", "a bowl of ramen, studio lighting"],
}


def write_references(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, prompts in REFERENCES.items():
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps({"dataset": name, "prompt": p}) + "\n" for p in prompts), encoding="utf-8")
    return folder


def _thumb(media_dir: Path, name: str, color: tuple[int, int, int]) -> tuple[str, str]:
    rel = f"thumbs/{name[:2]}/{name}.webp"
    path = media_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (96, 72), color)
    for x in range(0, 96, 12):
        for y in range(0, 72, 12):
            if (x + y) % 24 == 0:
                img.putpixel((x, y), (255, 255, 255))
    img.save(path, "WEBP")
    return rel, hashlib.sha256(path.read_bytes()).hexdigest()


def seed_report_store(store: Store, config: Config, run_id: str = "20250401T000000Z-seed01") -> str:
    """Fill `store` (and config's media and release folders) with a small corpus; returns the run id."""
    media_dir = config.path("media_dir")
    platforms = ["x", "bluesky", "reddit", "mastodon"]
    posts, relevance = [], []
    n = 0
    for day in range(21):
        date = START + dt.timedelta(days=day)
        per_day = 40 if date.date() == BURST_DAY else 2 + day % 3
        for j in range(per_day):
            n += 1
            platform = platforms[(day + j) % len(platforms)]
            pid = f"p{n}"
            posts.append(records.Post(platform=platform, post_id=pid, created_at=date + dt.timedelta(minutes=j),
                                      text=f"post {n} about 4o image gen", source="samples" if n % 5 else "bluesky-live",
                                      url=f"https://example.invalid/{platform}/{pid}", root_id=pid))
            relevance.append(records.Relevance(platform=platform, post_id=pid, judge="cheap", passed=n % 7 != 0,
                                               model="rules", prompt_version="v1"))
            if n % 7 != 0:
                relevance.append(records.Relevance(platform=platform, post_id=pid, judge="llm", score=5 if n % 2 else 2,
                                                   passed=bool(n % 2), model="rules:rules.v1", prompt_version="v1"))
    store.upsert("posts", posts)
    store.upsert("relevance", relevance)

    samples, media, feedback, clusters = [], [], [], []
    anchors = [p for p in posts if p.post_id in {f"p{i}" for i in range(1, 400, 2)}]
    for i, prompt in enumerate(PROMPTS):
        anchor = anchors[i * 3]
        sid = records.sample_id(anchor.platform, anchor.post_id)
        i2i = prompt.startswith("turn")
        quality = "analysis" if "why does" in prompt else "trash" if prompt == "lol" else "benchmark"
        out_url = f"https://example.invalid/media/{sid}-out.png"
        in_url = f"https://example.invalid/media/{sid}-in.png"
        rel, sha = _thumb(media_dir, f"{sid}out", ((40 * i) % 255, 120, 200 - 10 * i))
        media.append(records.Media(url=out_url, status="ok", sha256=sha, path=f"{sid}.png", thumb_path=rel))
        if i2i:
            rel, sha = _thumb(media_dir, f"{sid}in", (200, 180 - 10 * i, 90))
            media.append(records.Media(url=in_url, status="ok", sha256=sha, path=f"{sid}-in.png", thumb_path=rel))
        samples.append(records.Sample(
            sample_id=sid, platform=anchor.platform, root_id=anchor.post_id, anchor_post_id=anchor.post_id,
            prompt=prompt, prompt_modified=False, task="image_to_image" if i2i else ("text_to_image" if i < 9 else None),
            quality=quality, input_media=[in_url] if i2i else [], output_media=[out_url],
            extractor="rules", extractor_version="rules.v1", run_id=run_id, created_at=START + dt.timedelta(days=i)))
        for k, (pol, kws, cats) in enumerate([("failure", ["yellow tint", "colors"], ["color shift"]),
                                              ("success", ["nailed it"], []),
                                              ("failure", ["garbled", "letters"], ["text rendering"])][: 1 + i % 3]):
            feedback.append(records.Feedback(platform=anchor.platform, post_id=f"r{i}-{k}", sample_id=sid, polarity=pol,
                                             keywords=kws, categories=cats, model="rules", prompt_version="v1"))
        if quality != "trash":
            cid = 0 if "watercolor" in prompt else 1 if "neon" in prompt else 2 if i2i else -1
            label = {0: "watercolor / fox", 1: "neon / cyberpunk", 2: "turn / photo", -1: None}[cid]
            clusters.append(records.ClusterAssignment(clustering_id="c1", sample_id=sid, cluster_id=cid, label=label,
                                                      x=float(i), y=float(i % 3)))
    store.upsert("samples", samples)
    store.upsert("media", media)
    store.upsert("feedback", feedback)
    store.upsert("clusterings", [records.Clustering(clustering_id="c1", run_id=run_id, method="agglomerative",
                                                    n_samples=len(clusters), n_clusters=3,
                                                    created_at=START + dt.timedelta(days=30))])
    store.upsert("clusters", clusters)
    # One duplicate group: the second watercolor fox was dropped as a near-duplicate of the first.
    fox = [s.sample_id for s in samples if "watercolor fox" in (s.prompt or "")]
    store.upsert("duplicates", [
        {"sample_id": fox[0], "group_id": "g1", "canonical_sample_id": fox[0], "is_canonical": True},
        {"sample_id": fox[1], "group_id": "g1", "canonical_sample_id": fox[0], "is_canonical": False,
         "method": "text", "similarity": 0.934, "matched_sample_id": fox[0]}])

    # A release holding the benchmark samples except the last one, as the freeze stage lays it out.
    version = "2025.04.01"
    folder = config.path("releases_dir") / version
    (folder / "data").mkdir(parents=True, exist_ok=True)
    bench = [s for s in samples if s.quality == "benchmark"][:-1]
    for cfg in ("text_to_image", "image_to_image"):
        ids = [s.sample_id for s in bench if s.task == cfg]
        pq.write_table(pa.table({"id": pa.array(ids, pa.string())}), folder / "data" / f"{cfg}.parquet")
    (folder / "manifest.json").write_text(json.dumps({"configs": {
        cfg: {"files": [f"data/{cfg}.parquet"]} for cfg in ("text_to_image", "image_to_image")}}))
    store.upsert("releases", [records.Release(version=version, path=str(folder), content_hash="h", manifest={},
                                              run_id=run_id, created_at=START + dt.timedelta(days=14))])

    store.upsert("llm_usage", [
        {"run_id": run_id, "step": "relevance", "model": "rules:rules.v1", "calls": 90, "cache_hits": 4,
         "failures": 0, "tokens_in": 0, "tokens_out": 0},
        {"run_id": run_id, "step": "tree_to_samples", "model": "rules:rules.v1", "calls": 11, "cache_hits": 0,
         "failures": 1, "tokens_in": 0, "tokens_out": 0}])
    store.upsert("runs", [records.Run(
        run_id=run_id, started_at=dt.datetime(2025, 4, 1, tzinfo=dt.UTC), status="running", trigger="cli",
        params={"config_hash": "abc123def4567890"}, code_version="0.1.0",
        stage_stats={"crawl": {"posts_new": len(posts), "seconds": 1.5},
                     "prefilter": {"calls_saved": 12, "cv_recall": 0.97, "seconds": 0.4},
                     "embed": {"embedded": 10, "sentences_per_s": 123.4, "seconds": 0.2},
                     "extract": {"samples": len(samples), "seconds": 2.0}})])
    return run_id


def seed_embeddings(store: Store, config: Config, texts: list[str]) -> None:
    """Deterministic unit vectors in the embedding cache for `texts`, under the dedup area's key."""
    from echo.dedup.normalize import embedding_key

    rows = {}
    for t in texts:
        h = embedding_key(t)
        rng = np.random.default_rng(int(h[:8], 16))
        v = rng.normal(size=384).astype(np.float32)
        rows[h] = {"text_hash": h, "model": config.embed.model, "dim": 384, "vector": (v / np.linalg.norm(v)).tolist()}
    store.upsert("embeddings", list(rows.values()), ignore_existing=True)


def map_texts(store: Store, config: Config) -> list[str]:
    """Every text the prompt map of this store will embed."""
    from echo.report import data
    from echo.report.prompt_map import reference_subsample

    _, points = data.cluster_points(store, config.report.map_max_prompts)
    refs = data.load_reference_prompts(config.resolve(config.report.reference_prompts_dir))
    return [p["prompt"] for p in points] + [t for name in sorted(refs)
                                            for t in reference_subsample(refs[name], config.report.reference_sample_size)]


def write_config(config: Config, path: Path) -> Path:
    """An echo.toml with config's paths and report settings, for code that loads its own config (CLI, notebook)."""
    paths = {name: str(config.path(name)) for name in ("db", "media_dir", "parquet_dir", "releases_dir", "exports_dir",
                                                        "reports_dir", "analyst_dir")}
    lines = ["[paths]"] + [f"{k} = {json.dumps(v)}" for k, v in paths.items()]
    lines += ["[report]", f"reference_prompts_dir = {json.dumps(config.report.reference_prompts_dir)}",
              f"reference_sample_size = {config.report.reference_sample_size}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seeded(config: Config, tmp_path: Path, *, embeddings: bool = True) -> tuple[Store, str]:
    """A store at config's db path, seeded; references in tmp_path/refs."""
    config.report.reference_prompts_dir = str(write_references(tmp_path / "refs"))
    config.report.reference_sample_size = 4
    store = Store(config.path("db"))
    run_id = seed_report_store(store, config)
    if embeddings:
        seed_embeddings(store, config, map_texts(store, config))
    return store, run_id
