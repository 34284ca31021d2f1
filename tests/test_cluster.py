"""Clustering: small-set fallback (0/1/2/~150 samples), c-TF-IDF labels, stability, stage no-op on re-run."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from echo.config import ClusterSettings
from echo.dedup.cluster import NOISE, cluster_embeddings, ctfidf_top_terms

TOPICS = {
    "ghibli": ["studio ghibli style portrait of {s}", "turn {s} into a ghibli anime scene", "{s} in the style of studio ghibli"],
    "poster": ["a vintage travel poster of {s} with bold title text", "retro art deco poster advertising {s}",
               "minimalist poster design for {s} with large typography"],
    "figure": ["{s} as a collectible action figure in a blister pack", "make {s} into a boxed toy figurine with accessories",
               "{s} as a funko pop figure inside its box"],
    "pixel": ["pixel art sprite sheet of {s}", "16-bit pixel art game scene with {s}", "retro pixel art of {s}"],
    "food": ["a hyperrealistic food photo of {s} on a marble table", "overhead food photography of {s}, soft light",
             "a michelin star plated dish of {s}, close up"],
}
SUBJECTS = {
    "ghibli": ["my grandparents", "a family picnic", "a seaside town", "our wedding photo", "a cat on a windowsill",
               "a rainy train station", "a mountain village", "my dog", "a bakery", "a bicycle ride"],
    "poster": ["Mars", "Lisbon", "the Moon", "Kyoto", "Iceland", "Saturn's rings", "Venice", "Patagonia", "Cairo", "Oslo"],
    "figure": ["my boss", "a firefighter", "my sister", "a chef", "a skateboarder", "a nurse", "a gamer",
               "a rock climber", "a teacher", "a pilot"],
    "pixel": ["a knight", "a wizard", "a dragon", "a spaceship", "a forest", "a slime monster", "a castle",
              "a pirate ship", "a ninja", "a robot"],
    "food": ["ramen", "a strawberry tart", "sushi", "tacos", "a burger", "pancakes", "a pizza", "dumplings",
             "a chocolate cake", "paella"],
}


def corpus_150():
    prompts, topic = [], []
    for t, templates in TOPICS.items():
        for tpl, s in itertools.product(templates, SUBJECTS[t]):
            prompts.append(tpl.format(s=s))
            topic.append(t)
    return prompts, np.array(topic)


@pytest.fixture(scope="module")
def embedded_150():
    from echo.dedup.embed import Embedder

    prompts, topic = corpus_150()
    return prompts, topic, Embedder().encode(prompts)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_sets_do_not_fail(n):
    x = np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32)
    r = cluster_embeddings(x, ClusterSettings())
    assert r.labels.shape == (n,) and r.xy.shape == (n, 2) and r.method == "agglomerative"
    assert np.isfinite(r.xy).all()
    if n == 2:  # two unrelated random vectors: no cluster of two
        assert (r.labels == NOISE).all()
    dup = np.vstack([x, x]) if n else x
    if n:
        r2 = cluster_embeddings(dup, ClusterSettings())
        assert len(set(r2.labels.tolist())) == n and NOISE not in r2.labels  # copies cluster together


def test_150_prompts_small_fallback_finds_the_topics(embedded_150):
    from sklearn.metrics import adjusted_rand_score

    prompts, topic, x = embedded_150
    assert len(prompts) == 150
    cfg = ClusterSettings()
    r = cluster_embeddings(x, cfg)
    again = cluster_embeddings(x, cfg)
    assert np.array_equal(r.labels, again.labels) and np.allclose(r.xy, again.xy)  # stable
    clustered = r.labels != NOISE
    ari = adjusted_rand_score(topic[clustered], r.labels[clustered])
    print(f"150 prompts: {len(set(r.labels)) - (NOISE in r.labels)} clusters, noise={1 - clustered.mean():.2f}, ARI={ari:.2f}")
    assert clustered.mean() >= 0.8 and ari >= 0.6
    terms = ctfidf_top_terms(prompts, r.labels, 4)
    words = " ".join(" ".join(t) for t in terms.values())
    for expected in ("ghibli", "poster", "pixel"):
        assert expected in words
    assigned = cluster_embeddings(x, ClusterSettings(assign_noise=True))
    assert (assigned.labels != NOISE).all()


def test_ctfidf_prefers_terms_specific_to_a_cluster():
    docs = ["red apple pie", "red apple tart", "blue whale song", "blue whale swim", "the blue red thing"]
    labels = np.array([0, 0, 1, 1, NOISE])
    terms = ctfidf_top_terms(docs, labels, 2)
    assert "apple" in terms[0][0] and "whale" in terms[1][0] and "red" not in terms[0][:2]
    assert ctfidf_top_terms([], np.array([]), 3) == {}


def test_cluster_stage_stores_a_clustering_and_rerun_is_a_no_op(store, config, embedded_150):
    from echo.dedup.embed import Embedder
    from echo.pipeline import run_stage, start_run
    from echo.records import Sample
    from echo.stages import cluster

    prompts, _, _ = embedded_150
    store.upsert("samples", [
        Sample(sample_id=f"s{i:03d}", platform="x", root_id=str(i), anchor_post_id=str(i), prompt=p,
               prompt_modified=False, quality="benchmark", extractor="rules", extractor_version="t")
        for i, p in enumerate(prompts[:60])])
    emb = Embedder()
    ctx = start_run(config, store)
    ctx.resources.use_embedder(emb)
    run_stage(ctx, cluster.run)
    (c,) = store.query("SELECT * FROM clusterings")
    assert c["n_samples"] == 60 and c["method"] == "agglomerative" and c["n_clusters"] >= 2
    rows = store.query("SELECT * FROM clusters")
    assert len(rows) == 60 and all(r["x"] is not None for r in rows)
    assert all(r["label"] for r in rows if r["cluster_id"] != NOISE)
    ctx2 = start_run(config, store)
    ctx2.resources.use_embedder(emb)
    run_stage(ctx2, cluster.run)
    assert ctx2.stats["cluster"]["unchanged"] == 1 and store.count("clusterings") == 1
    config.cluster.min_cluster_size = 3  # new parameters: a new clustering, the old one kept
    ctx3 = start_run(config, store)
    ctx3.resources.use_embedder(emb)
    run_stage(ctx3, cluster.run)
    assert store.count("clusterings") == 2 and store.count("clusters") == 120


def test_cluster_stage_with_no_samples(store, config):
    from echo.pipeline import run_stage, start_run
    from echo.stages import cluster

    run_stage(start_run(config, store), cluster.run)
    assert store.scalar("SELECT n_samples FROM clusterings") == 0 and store.count("clusters") == 0


@pytest.mark.slow
def test_large_path_umap_hdbscan_is_stable_and_subsampling_assigns_everyone():
    from sklearn.metrics import adjusted_rand_score

    from bench.synthetic import synthetic_embeddings

    x, topic, _ = synthetic_embeddings(1500, points_per_topic=150, seed=1)
    cfg = ClusterSettings(small_set=300, umap_epochs=100)
    a = cluster_embeddings(x, cfg)
    b = cluster_embeddings(x, cfg)
    assert a.method == "umap+hdbscan" and np.array_equal(a.labels, b.labels) and np.allclose(a.xy, b.xy)
    ari = adjusted_rand_score(topic, a.labels)
    assert ari >= 0.8, ari
    sub = cluster_embeddings(x, ClusterSettings(small_set=300, umap_epochs=100, max_fit_samples=600))
    assert sub.params["fit_samples"] == 600 and np.isnan(sub.probabilities).sum() == 900
    assert adjusted_rand_score(topic, sub.labels) >= 0.7 and np.isfinite(sub.xy).all()


def test_extending_a_clustering_keeps_the_known_rows_and_places_new_ones_with_their_neighbours():
    from bench.synthetic import synthetic_embeddings
    from echo.dedup.cluster import extend_clustering

    x, topic, _ = synthetic_embeddings(1200, points_per_topic=200, dup_share=0.0, seed=3)
    rng = np.random.default_rng(0)
    known = rng.random(1200) >= 0.05  # ~60 new rows
    labels = np.where(known, topic + 10, NOISE)  # known rows carry their topic (as cluster id 10+)
    labels[np.flatnonzero(known)[:5]] = NOISE  # some known noise stays noise
    probs = np.where(known, 0.9, 0.0)
    xy = np.stack([topic * 10.0, np.zeros(1200)], axis=1) + rng.normal(scale=0.5, size=(1200, 2))
    out_labels, out_probs, out_xy = extend_clustering(x, known, labels, probs, xy, k=15)
    assert np.array_equal(out_labels[known], labels[known]) and np.array_equal(out_xy[known], xy[known])
    assert np.array_equal(out_probs[known], probs[known]) and np.isnan(out_probs[~known]).all()
    new = np.flatnonzero(~known)
    assert (out_labels[new] == topic[new] + 10).mean() >= 0.95  # a new row joins its topic's cluster
    assert np.abs(out_xy[new, 0] - topic[new] * 10.0).mean() < 2.0  # and lands among its neighbours on the map
    # nothing known: nothing to extend from; nothing new: unchanged
    none_known = extend_clustering(x, np.zeros(1200, bool), labels, probs, xy, k=15)
    assert (none_known[0] == labels).all()
    all_known = extend_clustering(x, np.ones(1200, bool), labels, probs, xy, k=15)
    assert np.array_equal(all_known[0], labels) and np.array_equal(all_known[2], xy)


@pytest.mark.slow
def test_cluster_stage_extends_a_fit_until_refit_share_of_the_samples_changed(store, config, embedded_150):
    """150 samples fit with UMAP + HDBSCAN; 5 new ones (3%) join it; 10 more (10% since the fit) refit."""
    from echo.dedup.embed import Embedder
    from echo.pipeline import run_stage, start_run
    from echo.records import Sample
    from echo.stages import cluster

    prompts, topic, _ = embedded_150
    config.cluster.small_set, config.cluster.umap_epochs, config.cluster.refit_share = 100, 100, 0.05
    emb = Embedder()

    def add(texts, start):
        store.upsert("samples", [
            Sample(sample_id=f"s{start + i:03d}", platform="x", root_id=str(start + i), anchor_post_id=str(start + i),
                   prompt=p, prompt_modified=False, quality="benchmark", extractor="rules", extractor_version="t")
            for i, p in enumerate(texts)])

    def refresh():
        ctx = start_run(config, store)
        ctx.resources.use_embedder(emb)
        return run_stage(ctx, cluster.run)

    add(prompts, 0)
    assert refresh()["fitted"] == 1
    first = {r["sample_id"]: r for r in store.query("SELECT c.* FROM clusters c JOIN clusterings g USING "
                                                    "(clustering_id) WHERE g.method = 'umap+hdbscan'")}
    assert len(first) == 150 and all(r["text_hash"] for r in first.values())
    new = ["studio ghibli style portrait of my neighbours", "retro art deco poster advertising Prague",
           "pixel art sprite sheet of a goblin", "overhead food photography of waffles, soft light",
           "a funko pop figure of a librarian inside its box"]
    add(new, 150)
    stats = refresh()
    assert stats["extended"] == 1 and stats["placed"] == 5 and "fitted" not in stats
    (ext,) = store.query("SELECT * FROM clusterings WHERE method = 'umap+hdbscan+extended'")
    params = ext["params"] if isinstance(ext["params"], dict) else __import__("json").loads(ext["params"])
    assert ext["n_samples"] == 155 and params["changed_since_fit"] == 5
    rows = {r["sample_id"]: r for r in store.query("SELECT * FROM clusters WHERE clustering_id = ?",
                                                   [ext["clustering_id"]])}
    for sid, r in first.items():  # the fitted samples keep their cluster and place
        assert (rows[sid]["cluster_id"], rows[sid]["x"], rows[sid]["y"]) == (r["cluster_id"], r["x"], r["y"])
    members = {}  # cluster -> topics of its fitted samples
    for i, t in enumerate(topic):
        members.setdefault(first[f"s{i:03d}"]["cluster_id"], []).append(t)
    for sid, t in zip(["s150", "s151", "s152", "s153", "s154"], ["ghibli", "poster", "pixel", "food", "figure"]):
        c = rows[sid]["cluster_id"]  # a cluster (not noise) made mostly of its topic's fitted samples
        assert c != NOISE and max(set(members[c]), key=members[c].count) == t, (sid, rows[sid])
        assert rows[sid]["probability"] is None
    add([f"retro pixel art of a {w}" for w in ("frog", "comet", "lantern", "yeti", "tram", "owl", "kite", "mole",
                                                "crab", "fox")], 155)
    again = refresh()
    assert again["fitted"] == 1 and "extended" not in again  # 15 of 165 changed since the fit: over 5%
    assert store.scalar("SELECT method FROM clusterings ORDER BY created_at DESC LIMIT 1") == "umap+hdbscan"


def test_old_clusterings_lose_their_rows_and_a_state_seen_before_is_clustered_again(store, config, embedded_150):
    """Each changed run writes a row per sample: only the newest keep_assignments clusterings keep theirs. A sample
    set that matches an older clustering makes that clustering the newest again, with its rows."""
    from echo.dedup.embed import Embedder
    from echo.pipeline import run_stage, start_run
    from echo.records import Sample
    from echo.stages import cluster

    prompts, _, _ = embedded_150
    config.cluster.keep_assignments = 2
    emb = Embedder()

    def refresh(n):
        store.delete("samples", "true")
        store.upsert("samples", [
            Sample(sample_id=f"s{i:03d}", platform="x", root_id=str(i), anchor_post_id=str(i), prompt=p,
                   prompt_modified=False, quality="benchmark", extractor="rules", extractor_version="t")
            for i, p in enumerate(prompts[:n])])
        ctx = start_run(config, store)
        ctx.resources.use_embedder(emb)
        return run_stage(ctx, cluster.run)

    for n in (40, 41, 42, 43):
        refresh(n)
    kept = store.query("SELECT g.n_samples, count(c.sample_id) AS rows FROM clusterings g "
                       "LEFT JOIN clusters c USING (clustering_id) GROUP BY ALL ORDER BY g.n_samples")
    assert [(r["n_samples"], r["rows"]) for r in kept] == [(40, 0), (41, 0), (42, 42), (43, 43)]
    stats = refresh(40)  # back to the first state: its clustering exists, without rows, and is not the newest
    assert "unchanged" not in stats and stats["samples"] == 40
    newest = store.scalar("SELECT clustering_id FROM clusterings ORDER BY created_at DESC LIMIT 1")
    assert store.scalar("SELECT count(*) FROM clusters WHERE clustering_id = ?", [newest]) == 40
    assert store.count("clusters") == 40 + 43 and store.count("clusterings") == 4
    assert refresh(40)["unchanged"] == 1
