"""Near-duplicate images by 64-bit pHash Hamming distance, without comparing all pairs.

Multi-index hashing: cut each hash into m = max_distance + 1 disjoint bit chunks. Two hashes within
Hamming distance d <= max_distance differ in at most d chunks, so (pigeonhole) at least one chunk is
identical. Hashes are bucketed per chunk value; only hashes sharing a bucket are compared, and each
candidate pair is then checked on the full 64 bits.
"""

from __future__ import annotations

from collections import defaultdict

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


def similar_hash_pairs(hashes: list[int], max_distance: int, max_bucket: int = 5000) -> list[tuple[int, int, int]]:
    """(i, j, distance) for i < j with popcount(h_i ^ h_j) <= max_distance.

    A bucket with more than `max_bucket` members (e.g. thousands of copies of one meme) is compared only
    against its first member; those copies are all equal on that chunk and still end up in one group.
    """
    if max_distance < 0 or len(hashes) < 2:
        return []
    if max_distance >= HASH_BITS:
        raise ValueError("image_hamming must be below 64")
    out: dict[tuple[int, int], int] = {}
    for lo, hi in _chunks(max_distance):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            buckets[(h >> lo) & mask].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            heads = members if len(members) <= max_bucket else members[:1]
            for a_pos, a in enumerate(heads):
                for b in members[a_pos + 1:]:
                    key = (a, b) if a < b else (b, a)
                    if key in out:
                        continue
                    d = (hashes[a] ^ hashes[b]).bit_count()
                    if d <= max_distance:
                        out[key] = d
    return [(a, b, d) for (a, b), d in sorted(out.items())]
