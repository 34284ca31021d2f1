"""Synthetic 384-d embeddings: topic clusters with planted near-duplicates (so recall is measurable)."""

from __future__ import annotations

import numpy as np


def synthetic_embeddings(n: int, *, dim: int = 384, dup_share: float = 0.05, seed: int = 0,
                         points_per_topic: int = 500, spread: float = 1.2, dup_noise: float = 0.3):
    """(x, topic, dup_of): n L2-normalized rows. Within a topic cosine is ~1/(1+spread^2) (~0.4);
    a planted duplicate is its original plus small noise (cosine ~0.98). dup_of[i] is the original's
    row or -1."""
    rng = np.random.default_rng(seed)
    n_dups = int(n * dup_share)
    n_orig = n - n_dups
    n_topics = max(2, n_orig // points_per_topic)
    centers = rng.standard_normal((n_topics, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    topic = rng.integers(0, n_topics, n)
    x = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for s in range(0, n_orig, step):
        e = min(s + step, n_orig)
        x[s:e] = centers[topic[s:e]] + spread * rng.standard_normal((e - s, dim), dtype=np.float32) / np.sqrt(dim)
    dup_of = np.full(n, -1, dtype=np.int64)
    originals = rng.choice(n_orig, size=n_dups, replace=True)
    dup_of[n_orig:] = originals
    topic[n_orig:] = topic[originals]
    for s in range(n_orig, n, step):
        e = min(s + step, n)
        x[s:e] = x[originals[s - n_orig:e - n_orig]] + dup_noise * rng.standard_normal((e - s, dim), dtype=np.float32) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, topic, dup_of
