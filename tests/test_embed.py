"""Embeddings: offline model, normalized vectors, a cache that never embeds a text twice."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from echo.dedup.embed import EmbedError, Embedder, embed_texts, load_vectors


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_vectors_are_normalized_and_cached_once(store, embedder):
    stats = collections.Counter()
    texts = ["a cat wearing a party hat", "A cat  wearing a party hat", "a lighthouse at dawn, watercolor",
             "a cat wearing a party hat"]
    hashes, vecs = embed_texts(store, embedder, texts, stats=stats)
    assert vecs.shape == (4, embedder.dim) == (4, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert hashes[0] == hashes[3] != hashes[1]  # whitespace collapsed, case kept for the model
    assert stats["embedded"] == 3 and store.count("embeddings") == 3 and stats["sentences_per_s"] > 0
    assert float(vecs[0] @ vecs[2]) < 0.5 < float(vecs[0] @ vecs[1])
    again = collections.Counter()
    hashes2, vecs2 = embed_texts(store, embedder, texts + ["a brand new text"], stats=again)
    assert again["embedded"] == 1 and again["cached"] == 3 and store.count("embeddings") == 4
    assert np.allclose(vecs2[:4], vecs, atol=1e-6)
    row = store.query("SELECT model, dim, len(vector) AS n FROM embeddings LIMIT 1")[0]
    assert row == {"model": "all-MiniLM-L6-v2", "dim": 384, "n": 384}


def test_missing_vectors_and_unknown_models_fail_clearly(store, tmp_path):
    with pytest.raises(EmbedError, match="no cached"):
        load_vectors(store, ["deadbeef"], "all-MiniLM-L6-v2")
    with pytest.raises(EmbedError, match="offline"):
        Embedder(str(tmp_path / "no-such-model"))


def test_embed_stage_skips_trash_and_loads_no_model_when_all_cached(store, config, embedder):
    from echo.pipeline import run_stage, start_run
    from echo.records import Sample
    from echo.stages import embed

    def sample(i, prompt, quality="benchmark"):
        return Sample(sample_id=f"s{i}", platform="x", root_id="1", anchor_post_id=str(i), prompt=prompt,
                      prompt_modified=False, quality=quality, extractor="rules", extractor_version="t")

    store.upsert("samples", [sample(1, "a red fox in the snow"), sample(2, "spam spam", "trash"), sample(3, None),
                             sample(4, "a red fox in the snow")])
    ctx = start_run(config, store)
    ctx.resources.use_embedder(embedder)
    run_stage(ctx, embed.run)
    assert ctx.stats["embed"]["embedded"] == 1 and ctx.stats["embed"]["prompts"] == 2
    ctx2 = start_run(config, store)  # no embedder given
    run_stage(ctx2, embed.run)
    assert ctx2.resources._embedder is None and ctx2.stats["embed"]["cached"] == 1


def test_long_texts_go_in_smaller_batches_and_every_text_keeps_its_row(embedder):
    from echo.dedup.embed import LONG_TEXT_CHARS, length_capped_batches

    texts = ["short prompt"] * 100 + ["x" * 5000] * 40 + ["y" * 300] * 30
    batches = length_capped_batches(texts, 64, max_chars=16 * 1024)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    # 16 of the long ones; the last 8 with 8 of 300 chars; then 54 (16k / 300); short ones 64 at a time
    assert [len(b) for b in batches] == [16, 16, 16, 54, 64, 4]
    for b in batches:
        longest = min(max(len(texts[i]) for i in b), LONG_TEXT_CHARS)
        assert len(b) <= 64 and (len(b) == 1 or len(b) * longest <= 16 * 1024)
    assert max(len(b) for b in batches if all(len(texts[i]) == 5000 for i in b)) == 16
    assert max(len(b) for b in batches) == 64  # short texts keep the full batch size
    # the split changes no vector beyond padding noise: the same texts, one at a time
    mixed = ["a red fox in the snow", "a watercolor lighthouse at dawn, " * 40, "neon city at night"]
    together = Embedder(batch_size=64).encode(mixed)
    alone = np.concatenate([embedder.encode([t]) for t in mixed])
    assert np.allclose(together, alone, atol=1e-5)
