"""Near-duplicate images by 64-bit pHash Hamming distance, without comparing all pairs.

Multi-index hashing: cut each hash into m = max_distance + 1 disjoint bit chunks. Two hashes within
Hamming distance d <= max_distance differ in at most d chunks, so (pigeonhole) at least one chunk is
identical. Hashes are bucketed per chunk value; only hashes sharing a bucket are compared, and each
candidate pair is then checked on the full 64 bits. In numpy: buckets by sorting the chunk values, pairs
inside them generated as index arrays (no Python loop over pairs).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

HASH_BITS = 64


def parse_phash(value: str | None) -> int | None:
    """media.phash (hex) as an int; None for missing or malformed values (no evidence)."""
    if not value:
        return None
    try:
        h = int(value, 16)
    except ValueError:
        return None
    return h if 0 <= h < (1 << HASH_BITS) else None


def _chunks(max_distance: int) -> list[tuple[int, int]]:
    m = max_distance + 1
    bounds = np.linspace(0, HASH_BITS, m + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


# candidate pairs handled at once (a few int64 arrays of this length): memory stays flat on piles of one meme
PAIR_BATCH = 1 << 21


def _bucket_pairs(starts: np.ndarray, sizes: np.ndarray, max_bucket: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of positions (i, j), i < j, of every pair inside each bucket [start, start + size) of a sorted
    array; a bucket larger than max_bucket gives only the pairs of its first member."""
    big = sizes > max_bucket
    heads = np.repeat(starts[big], sizes[big] - 1)
    yield heads, heads + 1 + _ranks(sizes[big] - 1)
    # a member at place p of a bucket pairs with the size - 1 - p members after it
    full_starts, full_sizes = starts[~big], sizes[~big]
    member = np.repeat(full_starts, full_sizes) + _ranks(full_sizes)
    after = np.repeat(full_sizes, full_sizes) - 1 - _ranks(full_sizes)
    cut = np.searchsorted(np.cumsum(after), np.arange(PAIR_BATCH, int(after.sum()), PAIR_BATCH), side="right")
    for m, c in zip(np.split(member, cut), np.split(after, cut)):
        first = np.repeat(m, c)
        yield first, first + 1 + _ranks(c)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - offsets


def similar_hash_pairs(hashes: list[int], max_distance: int, max_bucket: int = 5000) -> list[tuple[int, int, int]]:
    """(i, j, distance) for i < j with popcount(h_i ^ h_j) <= max_distance, sorted.

    A bucket with more than `max_bucket` members (e.g. thousands of copies of one meme) is compared only
    against its first member; those copies are all equal on that chunk and still end up in one group.
    """
    if max_distance < 0 or len(hashes) < 2:
        return []
    if max_distance >= HASH_BITS:
        raise ValueError("image_hamming must be below 64")
    h = np.array(hashes, dtype=np.uint64)
    n = h.size
    found = []
    for lo, hi in _chunks(max_distance):
        chunk = (h >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(chunk, kind="stable")  # members of a bucket in index order, as they were appended
        sorted_chunk = chunk[order]
        starts = np.flatnonzero(np.r_[True, sorted_chunk[1:] != sorted_chunk[:-1]])
        sizes = np.diff(np.r_[starts, n])
        keep = sizes >= 2
        for i, j in _bucket_pairs(starts[keep], sizes[keep], max_bucket):
            a, b = order[i], order[j]
            d = np.bitwise_count(h[a] ^ h[b])
            close = d <= max_distance
            found.append((a[close].astype(np.int64) * n + b[close], d[close]))
    keys = np.concatenate([f[0] for f in found])
    dist = np.concatenate([f[1] for f in found]).astype(np.int64)
    keys, first = np.unique(keys, return_index=True)  # a pair found in several chunks once; sorted by (i, j)
    return list(zip((keys // n).tolist(), (keys % n).tolist(), dist[first].tolist()))
