"""DedupSettings: normalization, image index, the three layers, groups and canonical choice, and the stage."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from echo.config import DedupSettings
from echo.dedup.images import parse_phash, similar_hash_pairs
from echo.dedup.normalize import exact_dedup_text, prompt_hash
from echo.dedup.duplicates import DedupItem, canonical_key, find_duplicates


@pytest.fixture(scope="module")
def embedder():
    from echo.dedup.embed import Embedder

    return Embedder()


def test_exact_dedup_text_ignores_case_space_punctuation_urls_and_handles():
    a = exact_dedup_text("A corgi  in an ASTRONAUT suit, on the Moon!! https://t.co/abc @bob.bsky.social")
    assert a == "a corgi in an astronaut suit on the moon"
    assert prompt_hash("“A corgi in an astronaut suit — on the moon”") == prompt_hash(a)
    assert prompt_hash("4 cats on a sofa") != prompt_hash("5 cats on a sofa")
    assert exact_dedup_text("ｆｕｌｌ　width") == "full width"  # NFKC
    assert prompt_hash("https://x.com/a @b !!") is None and prompt_hash(None) is None


def test_multi_index_hashing_matches_all_pairs():
    rng = random.Random(3)
    base = [rng.getrandbits(64) for _ in range(150)]
    hashes = base + [h ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) for h in base[:60]]
    found = {(a, b) for a, b, _ in similar_hash_pairs(hashes, 6)}
    truth = {(a, b) for a, b in itertools.combinations(range(len(hashes)), 2)
             if (hashes[a] ^ hashes[b]).bit_count() <= 6}
    assert found == truth and len(truth) >= 60
    assert parse_phash("ffd8a0c0e0f0f8fc") == 0xFFD8A0C0E0F0F8FC and parse_phash("zz") is None


def test_hash_pairs_in_small_batches_and_piles_over_max_bucket(monkeypatch):
    from echo.dedup import images

    monkeypatch.setattr(images, "PAIR_BATCH", 5)  # many batches, one pair list
    rng = random.Random(8)
    for _ in range(20):
        base = [rng.getrandbits(64) for _ in range(rng.randrange(2, 80))]
        hashes = base + [h ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
                         for h in base[: len(base) // 2]] + [base[0]] * rng.randrange(0, 6)
        truth = [(a, b, (hashes[a] ^ hashes[b]).bit_count()) for a, b in itertools.combinations(range(len(hashes)), 2)
                 if (hashes[a] ^ hashes[b]).bit_count() <= 4]
        assert similar_hash_pairs(hashes, 4) == truth
    # 12 copies of one picture with max_bucket 5: each copy is compared with the first only, one group still
    pile = [rng.getrandbits(64) for _ in range(20)] + [0xF0F0F0F0F0F0F0F0] * 12
    pairs = [(a, b, d) for a, b, d in similar_hash_pairs(pile, 4, max_bucket=5) if a >= 20]
    assert pairs == [(20, b, 0) for b in range(21, 32)]


# Known groups: (prompt, group). Group None means no duplicate exists.
CONSTRUCTED = [
    ("a corgi wearing a tiny astronaut suit on the moon, photorealistic", "corgi"),
    ("A corgi wearing a tiny astronaut suit on the moon -- photorealistic!!", "corgi"),
    ("@bob a corgi wearing a tiny astronaut suit on the moon, photorealistic https://t.co/xyz", "corgi"),
    ("a corgi wearing a small astronaut suit on the moon, photorealistic", "corgi"),
    ("Create a Studio Ghibli style poster of a cozy ramen shop at night in the rain", "ramen"),
    ("create a studio ghibli style poster of a cozy ramen shop at night in the rain.", "ramen"),
    ("Studio Ghibli style poster of a cozy ramen shop at night, in the rain", "ramen"),
    ("an infographic explaining how photosynthesis works, labelled diagram, clean flat design", "infographic"),
    ("an infographic explaining how photosynthesis works, labeled diagram, clean flat design", "infographic"),
    ("a corgi playing in fresh snow, golden hour", None),
    ("a watercolor painting of a lighthouse at dawn", None),
    ("a cyberpunk street market in the rain with neon signs", None),
    ("a menu for an italian restaurant with six pasta dishes and prices", None),
    ("a chess board where every piece is a different fruit", None),
    ("a photo of my cat but as a renaissance oil painting", None),
    ("a comic strip with four panels about a robot learning to cook", None),
    ("a minimalist logo for a coffee brand called Orbit", None),
    ("a pixel art sprite sheet of a knight walking", None),
    ("an astronaut riding a horse on mars, photorealistic", None),
    ("a cozy cabin interior in winter, studio ghibli style", None),
]


def _items_for(embedder, rows, extra=()):
    items = [DedupItem(sample_id=f"s{i:02d}", prompt=p, has_output=True) for i, (p, _) in enumerate(rows)]
    items += list(extra)
    text_rows = [i for i, it in enumerate(items) if it.prompt]
    vectors = embedder.encode([items[i].prompt for i in text_rows])
    return items, text_rows, vectors


def _pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    for s, g in groups.items():
        by.setdefault(g, []).append(s)
    return {tuple(sorted(p)) for m in by.values() for p in itertools.combinations(m, 2)}


def test_constructed_set_pairwise_precision_and_recall(embedder):
    # two extra samples share a near-identical output image but have unrelated prompts
    img = 0x9F3A5C7E1B2D4F60
    extra = [DedupItem(sample_id="img1", prompt="my dog as a superhero, comic style", output_phashes=[img]),
             DedupItem(sample_id="img2", prompt="turn the attached photo into a marvel cover",
                       output_phashes=[img ^ 0b11]),
             # 5 bits off with an unrelated prompt: a pHash collision of a simple image, not a repost
             DedupItem(sample_id="img3", prompt="a bowl of tomato soup on a checkered tablecloth",
                       output_phashes=[img ^ 0b11111])]
    items, text_rows, vectors = _items_for(embedder, CONSTRUCTED, extra)
    truth_groups = {f"s{i:02d}": (g or f"solo{i}") for i, (_, g) in enumerate(CONSTRUCTED)}
    truth_groups.update(img1="img", img2="img", img3="img3")
    result = find_duplicates(items, vectors, text_rows, DedupSettings(text_threshold=0.92, image_hamming=6))
    predicted = {r["sample_id"]: r["group_id"] for r in result.rows}
    assert set(predicted) == {it.sample_id for it in items}  # every sample has a row
    truth, pred = _pairs(truth_groups), _pairs(predicted)
    precision = len(truth & pred) / len(pred)
    recall = len(truth & pred) / len(truth)
    print(f"pairwise precision={precision:.3f} recall={recall:.3f} ({len(pred)} predicted, {len(truth)} true)")
    assert precision >= 0.9 and recall >= 0.8
    assert result.pairs["exact"] >= 3 and result.pairs["text"] >= 1 and result.pairs["image"] == 1
    assert result.pairs["image_uncorroborated"] == 2  # img3 with img1 and with img2
    by_id = {r["sample_id"]: r for r in result.rows}
    assert by_id["img2"]["method"] == "image" or by_id["img1"]["method"] == "image"
    dropped = [r for r in result.rows if not r["is_canonical"]]
    assert all(r["matched_sample_id"] and r["method"] in ("exact", "text", "image") and r["similarity"] > 0.9
               for r in dropped)
    canon_per_group = {}
    for r in result.rows:
        canon_per_group.setdefault(r["group_id"], set()).add(r["canonical_sample_id"])
        assert r["is_canonical"] == (r["sample_id"] == r["canonical_sample_id"])
    assert all(len(c) == 1 for c in canon_per_group.values())


def test_canonical_rule_order():
    t0 = dt.datetime(2025, 3, 26, tzinfo=dt.UTC)
    base = dict(prompt="same prompt", evidence_posts=1, has_output=True, engagement=5, created_at=t0)
    cands = {
        "analysis": DedupItem(sample_id="a", quality="analysis", **{**base, "evidence_posts": 9}),
        "bench_more_evidence": DedupItem(sample_id="b", quality="benchmark", **{**base, "evidence_posts": 3}),
        "bench_popular": DedupItem(sample_id="c", quality="benchmark", **{**base, "engagement": 500}),
        "bench_early": DedupItem(sample_id="d", quality="benchmark", **{**base, "created_at": t0 - dt.timedelta(days=1)}),
        "bench": DedupItem(sample_id="e", quality="benchmark", **base),
    }
    ranked = [it.sample_id for it in sorted(cands.values(), key=canonical_key)]
    assert ranked == ["b", "c", "d", "e", "a"]
    with_inputs = DedupItem(sample_id="z", quality="benchmark", has_input=True, **base)
    assert canonical_key(with_inputs) < canonical_key(cands["bench"])  # images beat engagement
    result = find_duplicates(list(cands.values()), None, [], DedupSettings())
    assert {r["canonical_sample_id"] for r in result.rows} == {"b"}
    assert all(r["method"] == "exact" for r in result.rows if not r["is_canonical"])


def test_same_edit_prompt_on_other_photos_is_a_duplicate_but_not_across_tasks_or_templates():
    photo_a, photo_b = 0x0F0F0F0F0F0F0F0F, 0xF0F0F0F0F0F0F0F0
    edit = "turn this into a studio ghibli style illustration"
    template = "turn this into a [STYLE] illustration"
    items = [
        DedupItem(sample_id="e1", prompt=edit, task="image_to_image", input_phashes=[photo_a]),
        DedupItem(sample_id="e2", prompt=edit, task="image_to_image", input_phashes=[photo_b]),
        DedupItem(sample_id="e3", prompt=edit, task="image_to_image", input_phashes=[photo_a ^ 1]),
        DedupItem(sample_id="t1", prompt=edit, task="text_to_image"),
        DedupItem(sample_id="f1", prompt=template, task="image_to_image", is_template=True),
        DedupItem(sample_id="f2", prompt=template, task="image_to_image", is_template=True),
        DedupItem(sample_id="f3", prompt=template, task="image_to_image"),  # filled with the literal text: concrete
    ]
    rows = {r["sample_id"]: r for r in find_duplicates(items, None, [], DedupSettings()).rows}
    assert rows["e1"]["group_id"] == rows["e2"]["group_id"] == rows["e3"]["group_id"]  # a re-run by others
    assert rows["f1"]["group_id"] == rows["f2"]["group_id"]  # reposts of one template
    groups = {rows[s]["group_id"] for s in ("e1", "t1", "f1", "f3")}
    assert len(groups) == 4


def test_a_similar_picture_needs_closely_related_prompts(embedder):
    img = 0x9F3A5C7E1B2D4F60
    items = [DedupItem(sample_id="a", prompt="a ceramic corgi planter on a windowsill", output_phashes=[img]),
             DedupItem(sample_id="b", prompt="an exhibition poster with a chrome metaball", output_phashes=[img ^ 0b1111]),
             DedupItem(sample_id="c", prompt="a ceramic corgi planter on a sunny windowsill", output_phashes=[img ^ (0b111 << 8)]),
             DedupItem(sample_id="d", prompt=None, output_phashes=[img ^ (0b11 << 20)]),
             DedupItem(sample_id="e", prompt=None, output_phashes=[img ^ (0b1111 << 40)])]
    text_rows = [0, 1, 2]
    vectors = embedder.encode([items[i].prompt for i in text_rows])
    rows = {r["sample_id"]: r for r in find_duplicates(items, vectors, text_rows, DedupSettings()).rows}
    assert rows["a"]["group_id"] == rows["c"]["group_id"]  # 3 bits and nearly the same prompt
    assert rows["b"]["group_id"] != rows["a"]["group_id"]  # 4 bits, unrelated prompt: a collision
    assert rows["d"]["group_id"] == rows["a"]["group_id"]  # 2 bits: the same picture, no prompt needed
    assert rows["e"]["group_id"] not in {rows[s]["group_id"] for s in "abcd"}  # 4 bits and nothing to compare


def _seed_store(store, prompts, *, quality="benchmark"):
    from echo.records import Post, Sample

    t0 = dt.datetime(2025, 3, 27, tzinfo=dt.UTC)
    for i, p in enumerate(prompts):
        store.upsert("posts", [Post(platform="x", post_id=str(i), text=p, like_count=i, created_at=t0)])
        store.upsert("samples", [Sample(sample_id=f"s{i}", platform="x", root_id=str(i), anchor_post_id=str(i),
                                        prompt=p, prompt_modified=False, quality=quality, extractor="rules",
                                        extractor_version="t", output_media=[f"https://img/{i}.png"],
                                        evidence_post_ids=[str(i)])])


def test_stage_writes_a_row_per_sample_and_second_run_is_a_no_op(store, config, embedder):
    from echo.pipeline import run_stage, start_run
    from echo.records import Media
    from echo.stages import dedup, embed

    def context():
        ctx = start_run(config, store)
        ctx.resources.use_embedder(embedder)
        return ctx

    prompts = [p for p, _ in CONSTRUCTED[:9]] + ["a watercolor painting of a lighthouse at dawn"]
    _seed_store(store, prompts)
    store.upsert("media", [Media(url="https://img/9.png", status="ok", phash="9f3a5c7e1b2d4f60"),
                           Media(url="https://img/0.png", status="ok", phash="9f3a5c7e1b2d4f61")])
    ctx = context()
    run_stage(ctx, embed.run)
    assert ctx.stats["embed"]["embedded"] == 10 and ctx.stats["embed"]["sentences_per_s"] > 0
    s1 = run_stage(ctx, dedup.run)
    rows = store.query("SELECT * FROM duplicates ORDER BY sample_id")
    assert len(rows) == 10 and s1["pairs_image"] == 1
    groups = {r["sample_id"]: r["group_id"] for r in rows}
    assert groups["s0"] == groups["s1"] == groups["s9"]  # s9 joined the corgis through its image
    assert groups["s4"] == groups["s5"] and groups["s7"] == groups["s8"]
    for g in set(groups.values()):
        members = [r for r in rows if r["group_id"] == g]
        assert sum(r["is_canonical"] for r in members) == 1 and all(r["group_size"] == len(members) for r in members)
    ctx2 = context()
    run_stage(ctx2, embed.run)
    run_stage(ctx2, dedup.run)
    assert ctx2.stats["embed"]["embedded"] == 0 and ctx2.stats["dedup"]["unchanged"] == 1
    assert store.count("duplicates") == 10 and store.count("embeddings") == 10
    # a sample turning into trash loses its row; its group is recomputed
    store.execute("UPDATE samples SET quality = 'trash' WHERE sample_id = 's9'")
    run_stage(context(), dedup.run)
    assert store.count("duplicates") == 9
