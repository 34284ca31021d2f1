"""The prompt map: mined prompts and earlier benchmarks' prompts embedded with the dedup model, projected to 2-D.

Reference sets (PartiPrompts, GenEval, DiffusionDB) are subsampled deterministically: the prompts with the
smallest sha256 of their text, so every run picks the same ones and the embedding cache makes them free
after the first run. Mined and reference vectors are projected jointly (PCA to 50 dimensions, then t-SNE
with a fixed random_state), so distances on the map compare the sets with each other.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from echo.config import Config
from echo.dedup.embed import Embedder, embedder_loader
from echo.npzcache import read_npz, write_npz
from echo.report import data

TSNE_ITERATIONS = 500  # sklearn's minimum is 250; 500 settles a map of ~1,000 points

def reference_subsample(prompts: Sequence[str], n: int) -> list[str]:
    """Up to n distinct prompts, the ones with the smallest sha256 (stable across runs and machines)."""
    unique = sorted(set(prompts), key=lambda p: hashlib.sha256(p.encode("utf-8")).hexdigest())
    return unique[:n]


def _writable_store(db: Any) -> bool:
    from echo.store import Store

    return isinstance(db, Store) and not db.read_only


def embed_texts(texts: Sequence[str], config: Config, db: Any, embedder: Callable[[], Embedder],
                stats: dict | None = None) -> np.ndarray:
    """L2-normalized embeddings of texts through the dedup area's embedding cache (echo.dedup.embed).

    On the live store new vectors are added to the cache, so the next run embeds nothing; the model is
    loaded (by calling `embedder`) only when something is missing. On a read-only connection (the analyst snapshot) cached
    vectors are read and the missing ones are embedded in memory, not stored.
    """
    from echo.dedup import embed as dedup_embed
    from echo.dedup.normalize import embedding_key, normalize_for_embedding, text_hash

    model = config.embed.cache_name
    counts: collections.Counter = collections.Counter()
    if _writable_store(db):
        hashes = [embedding_key(t) for t in texts]
        have = dedup_embed.cached_hashes(db, hashes, model)
        if len(have) == len(set(hashes)):
            counts["cached"] += len(set(hashes))
            vectors = dedup_embed.load_vectors(db, hashes, model)
        else:
            _, vectors = dedup_embed.embed_texts(db, embedder(), texts, stats=counts)
    else:
        normalized = [normalize_for_embedding(t) for t in texts]
        hashes = [text_hash(n) for n in normalized]
        found = {r["text_hash"]: np.asarray(r["vector"], dtype=np.float32) for r in data.query(
            db, "SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN (SELECT unnest(?::VARCHAR[]))",
            [model, sorted(set(hashes))])}
        missing = {h: n for h, n in zip(hashes, normalized) if h not in found}
        counts["cached"] += len(found)
        counts["embedded"] += len(missing)
        if missing:
            todo = sorted(missing)
            found.update(zip(todo, embedder().encode([missing[h] for h in todo])))
        vectors = np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, 0), np.float32)
    if stats is not None:
        stats["embedded_new"] = stats.get("embedded_new", 0) + counts["embedded"]
        stats["embedded_cached"] = stats.get("embedded_cached", 0) + counts["cached"]
    return np.asarray(vectors, dtype=np.float32)


def project_2d(vectors: np.ndarray, random_state: int = 42) -> np.ndarray:
    """Joint 2-D layout: PCA (to at most 50 dims) then t-SNE; PCA alone below 10 points."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    if n < 3:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    x = np.asarray(vectors, dtype=np.float32)
    dims = min(50, n - 1, x.shape[1])
    reduced = PCA(n_components=dims, random_state=random_state).fit_transform(x)
    if n < 10:
        return reduced[:, :2] if dims >= 2 else np.column_stack([reduced[:, 0], np.zeros(n)])
    from threadpoolctl import threadpool_limits

    tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3.0), init="pca", random_state=random_state,
                learning_rate="auto", max_iter=TSNE_ITERATIONS, n_jobs=1)
    # One thread: OpenMP threads spinning on a busy machine made t-SNE 2-3x slower than one thread.
    with threadpool_limits(1):
        return tsne.fit_transform(reduced)


LAYOUT_VERSION = "tsne-v1"
LAYOUT_FILE = "prompt-map.npz"
LAYOUT_REFIT_SHARE = 0.1  # share of the map's points that may change since its t-SNE before it is laid out again


def layout_settings(random_state: int) -> str:
    return f"{LAYOUT_VERSION}\x1f{TSNE_ITERATIONS}\x1f{random_state}"


def text_keys(texts: Sequence[str]) -> np.ndarray:
    return np.array([hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts])


def _read_layout(path: Path | None, settings: str) -> dict | None:
    doc = read_npz(path, ("keys", "xy", "changed_since_fit"), settings)
    if doc is None or doc["xy"].shape != (len(doc["keys"]), 2):
        return None
    return doc


def _write_layout(path: Path | None, keys: np.ndarray, xy: np.ndarray, changed_since_fit: int, settings: str) -> None:
    if write_npz(path, settings, keys=keys, xy=xy, changed_since_fit=np.int64(changed_since_fit)):
        for old in path.parent.glob("prompt-map-*.npy"):
            try:
                old.unlink(missing_ok=True)  # layouts of an older echo
            except OSError:
                pass


def cached_layout(vectors_fn, texts: Sequence[str], random_state: int, cache_dir: Path | None,
                  refit_share: float = LAYOUT_REFIT_SHARE) -> tuple[np.ndarray, str]:
    """(xy, how): how is 'reused' when these exact texts were mapped before; 'extended' when at most refit_share
    of the points changed (new or gone) since the stored t-SNE: the others keep their place and new points go
    among their most similar neighbours; else 'fitted' (a new t-SNE). The layout is stored for the next run."""
    settings = layout_settings(random_state)
    path = cache_dir / LAYOUT_FILE if cache_dir is not None else None
    keys = text_keys(texts)
    stored = _read_layout(path, settings)
    if stored is not None and np.array_equal(stored["keys"], keys):
        return stored["xy"].astype(np.float64), "reused"
    vectors = vectors_fn()
    if stored is not None and len(texts) > 0:
        place = {k: i for i, k in enumerate(stored["keys"].tolist())}
        known = np.array([k in place for k in keys.tolist()], dtype=bool)
        changed = int((~known).sum()) + (len(place) - len(set(keys[known].tolist())))
        since_fit = int(stored["changed_since_fit"]) + changed
        if known.any() and since_fit <= refit_share * len(texts):
            from echo.dedup.cluster import extend_clustering

            xy = np.zeros((len(texts), 2))
            xy[known] = stored["xy"][[place[k] for k in keys[known].tolist()]]
            n = len(texts)
            _, _, xy = extend_clustering(vectors, known, np.zeros(n, int), np.zeros(n), xy, k=10)
            _write_layout(path, keys, xy, since_fit, settings)
            return xy, "extended"
    xy = project_2d(vectors, random_state=random_state)
    _write_layout(path, keys, xy, 0, settings)
    return xy, "fitted"


@dataclass
class PromptMap:
    """Points on the shared map. dataset is 'mined' or a reference set's name."""

    dataset: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    cluster_id: list[int | None] = field(default_factory=list)
    label: list[str | None] = field(default_factory=list)
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    clustering_id: str | None = None
    embedded_new: int = 0  # texts this build had to embed (not in the cache)
    embedded_cached: int = 0
    layout: str = "none"  # 'reused' (these exact texts), 'extended' (a few new points placed) or 'fitted' (t-SNE)

    @property
    def layout_reused(self) -> bool:
        return self.layout == "reused"

    def count(self, dataset: str) -> int:
        return sum(1 for d in self.dataset if d == dataset)


def build_prompt_map(db: Any, config: Config, embedder: Callable[[], Embedder] | None = None,
                     references: dict[str, list[str]] | None = None, layout_dir: Path | None = None) -> PromptMap:
    """Mined prompts of the newest clustering (coloured by cluster) plus a hashed subsample of each reference set.

    `embedder` gives the embedding model when texts are missing from the cache (default: load the configured one).
    """
    embedder = embedder or embedder_loader(config)
    clustering_id, points = data.cluster_points(db, config.report.map_max_prompts)
    if references is None:
        references = data.load_reference_prompts(config.resolve(config.report.reference_prompts_dir))
    m = PromptMap(clustering_id=clustering_id)
    for p in points:
        m.dataset.append("mined")
        m.text.append(p["prompt"])
        m.cluster_id.append(p["cluster_id"])
        m.label.append(p["label"])
    if not points:
        return m  # nothing mined: the map would show only the references
    for name, prompts in sorted(references.items()):
        for text in reference_subsample(prompts, config.report.reference_sample_size):
            m.dataset.append(name)
            m.text.append(text)
            m.cluster_id.append(None)
            m.label.append(None)
    stats: dict = {}
    m.xy, m.layout = cached_layout(lambda: embed_texts(m.text, config, db, embedder, stats=stats),
                                   m.text, config.cluster.random_state, layout_dir)
    m.embedded_new, m.embedded_cached = stats.get("embedded_new", 0), stats.get("embedded_cached", 0)
    return m
