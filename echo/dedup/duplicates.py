"""Exact, near-duplicate-text and image duplicates over samples, joined into groups with one canonical each.

Three layers find pairs over non-trash samples:
1. exact: equal `exact_dedup_text` hash (echo.dedup.normalize);
2. text: cosine of prompt embeddings >= dedup.text_threshold, from a k-NN graph (echo.dedup.ann);
3. image: output-image pHash Hamming distance <= dedup.image_hamming (echo.dedup.images); a missing
   pHash is no evidence either way. A match farther than dedup.image_hamming_alone bits counts only when
   the two prompts are not unrelated (cosine >= dedup.image_text_floor, or a prompt is missing): simple,
   low-detail images collide at 4-6 bits.
A text pair (1 or 2) is dropped when the two samples are known to be different tasks, or when both are
image edits whose input images have pHashes and none of them match: "make it Ghibli style" on two
different photos is two samples, not one.

Pairs are joined with union-find. Each group keeps one canonical sample, by this rule (first wins):
quality (benchmark > analysis), more evidence posts, more of input+output images present, engagement of
the anchor post (likes + reposts), earliest anchor post, smallest sample_id. Every other member records
the pair that tied it to the group: its strongest link on the path to the canonical (exact > text > image,
then similarity), with method, similarity and matched sample.

Every non-trash sample gets a row; a sample without duplicates is the canonical of its own group of one.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from echo.config import DedupSettings
from echo.dedup.ann import KnnGraph, pairs_from_graph
from echo.dedup.images import similar_hash_pairs
from echo.dedup.knn_cache import GraphFile, cached_knn_graph
from echo.dedup.normalize import prompt_hash
from echo.dedup.unionfind import UnionFind
from echo.records import stable_id

QUALITY_RANK = {"benchmark": 0, "analysis": 1}
METHOD_RANK = {"exact": 3, "text": 2, "image": 1}


@dataclass
class DedupItem:
    """What dedup needs to know about one sample."""

    sample_id: str
    prompt: str | None = None
    quality: str = "benchmark"
    task: str | None = None
    evidence_posts: int = 0
    has_input: bool = False
    has_output: bool = False
    engagement: int = 0
    created_at: object = None  # datetime or None (None sorts last)
    output_phashes: list[int] = field(default_factory=list)
    input_phashes: list[int] = field(default_factory=list)
    is_template: bool = False  # `prompt` is an unfilled template (the sample has no concrete prompt)


def canonical_key(item: DedupItem) -> tuple:
    """Smaller is better: the documented canonical rule."""
    created = item.created_at.timestamp() if item.created_at is not None else float("inf")
    return (QUALITY_RANK.get(item.quality, 2), -item.evidence_posts, -(int(item.has_input) + int(item.has_output)),
            -item.engagement, created, item.sample_id)


def _never_duplicates(a: DedupItem, b: DedupItem) -> bool:
    """Samples of different tasks are never duplicates, nor are a template and a prompt filled from it (the filled
    one is a concrete benchmark item, the template is not). The same edit instruction re-run on another photo is a
    duplicate: a benchmark holds the instruction once, and its re-runs must not land in two splits."""
    return bool(a.task and b.task and a.task != b.task) or a.is_template != b.is_template


@dataclass
class DedupResult:
    rows: list[dict]
    pairs: dict[str, int]  # method -> pairs found (before union)
    graph: KnnGraph | None
    text_rows: list[int]  # indices into items that have a text vector (rows of the graph)
    knn: str = ""  # how the graph was made: 'reused', 'updated', 'computed' or 'ann' (echo.dedup.knn_cache)
    knn_rows_searched: int = 0


def find_duplicates(items: list[DedupItem], vectors: np.ndarray | None, text_rows: list[int], cfg: DedupSettings, *,
                    random_state: int = 42, graph_file: GraphFile | None = None) -> DedupResult:
    """Pairs from the three layers, union-find groups, canonical choice and one row per item.

    `vectors[r]` is the prompt embedding of `items[text_rows[r]]` (L2-normalized). With `graph_file` the exact
    k-NN graph of the last run is read from it, updated and written back (the result is the same).
    """
    n = len(items)
    best: dict[tuple[int, int], tuple[str, float]] = {}
    found = {"exact": 0, "text": 0, "image": 0, "text_vetoed": 0, "image_uncorroborated": 0}

    def add(a: int, b: int, method: str, sim: float) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        if method != "image" and _never_duplicates(items[a], items[b]):
            found["text_vetoed"] += 1
            return
        found[method] += 1
        old = best.get(key)
        if old is None or (METHOD_RANK[method], sim) > (METHOD_RANK[old[0]], old[1]):
            best[key] = (method, float(sim))

    # 1. exact prompt hash
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        h = prompt_hash(it.prompt)
        if h:
            by_hash[h].append(i)
    for members in by_hash.values():
        for pos in range(1, len(members)):
            # link to the first earlier member it may duplicate (another task or a template may not)
            prev = next((p for p in members[:pos]
                         if not _never_duplicates(items[p], items[members[pos]])), members[0])
            add(prev, members[pos], "exact", 1.0)

    # 2. near-duplicate text
    graph, knn_how, searched = None, "", 0
    if vectors is not None and len(text_rows) >= 2:
        k = min(max(cfg.ann_neighbors, 2), len(text_rows))
        graph, knn_how, searched = cached_knn_graph(vectors, k, ann_min_rows=cfg.ann_min_rows,
                                                    random_state=random_state, graph_file=graph_file)
        pairs, sims = pairs_from_graph(graph, cfg.text_threshold)
        for (ra, rb), s in zip(pairs.tolist(), sims.tolist()):
            add(text_rows[ra], text_rows[rb], "text", min(s, 1.0))

    # 3. output images
    owners: list[int] = []
    hashes: list[int] = []
    for i, it in enumerate(items):
        for h in dict.fromkeys(it.output_phashes):
            owners.append(i)
            hashes.append(h)
    vec_row = {item: r for r, item in enumerate(text_rows)}
    for a, b, d in similar_hash_pairs(hashes, cfg.image_hamming):
        ia, ib = owners[a], owners[b]
        if d > cfg.image_hamming_alone:
            both = ia in vec_row and ib in vec_row and vectors is not None
            if not both or float(vectors[vec_row[ia]] @ vectors[vec_row[ib]]) < cfg.image_text_floor:
                found["image_uncorroborated"] += 1
                continue
        add(ia, ib, "image", 1.0 - d / 64.0)

    uf = UnionFind(n)
    for a, b in best:
        uf.union(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    adjacency: dict[int, list[tuple[int, str, float]]] = defaultdict(list)
    for (a, b), (m, s) in best.items():
        adjacency[a].append((b, m, s))
        adjacency[b].append((a, m, s))

    rows: list[dict] = []
    for members in groups.values():
        canon = min(members, key=lambda i: canonical_key(items[i]))
        group_id = "g" + stable_id("dup-group", min(items[i].sample_id for i in members))
        base = {"group_id": group_id, "canonical_sample_id": items[canon].sample_id, "group_size": len(members)}
        rows.append({"sample_id": items[canon].sample_id, "is_canonical": True, "method": None,
                     "similarity": None, "matched_sample_id": None, **base})
        if len(members) == 1:
            continue
        # Prim from the canonical: each member is explained by its strongest link into the tree.
        seen = {canon}
        heap = [(-METHOD_RANK[m], -s, items[nb].sample_id, nb, canon, m, s) for nb, m, s in adjacency[canon]]
        heapq.heapify(heap)
        while heap:
            _, _, _, node, via, m, s = heapq.heappop(heap)
            if node in seen:
                continue
            seen.add(node)
            rows.append({"sample_id": items[node].sample_id, "is_canonical": False, "method": m,
                         "similarity": round(s, 6), "matched_sample_id": items[via].sample_id, **base})
            for nb, m2, s2 in adjacency[node]:
                if nb not in seen:
                    heapq.heappush(heap, (-METHOD_RANK[m2], -s2, items[nb].sample_id, nb, node, m2, s2))
    return DedupResult(rows, found, graph, text_rows, knn_how, searched)
