"""DedupSettings against the bundled sample corpus's answer key (duplicate_group per sample), with real embeddings
and real pHashes of the corpus images."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest

from echo.config import DedupSettings
from echo.dedup.duplicates import DedupItem, find_duplicates


def _phash(path):
    import imagehash
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            return int(str(imagehash.phash(im)), 16)


def corpus_items(sample_corpus_dir):
    key = json.loads((sample_corpus_dir / "answers.json").read_text())
    prefix = key["media_url_prefix"]

    def hashes(urls):
        out = []
        for u in urls:
            f = sample_corpus_dir / "media" / u.split("?")[0].removeprefix(prefix)
            if f.is_file():
                out.append(_phash(f))
        return out

    items, groups = [], {}
    for tree in key["trees"]:
        for n, s in enumerate(tree.get("samples", [])):
            if s["quality"] == "trash":
                continue
            sid = f"{tree['tree_id']}#{n}"
            items.append(DedupItem(sample_id=sid, prompt=s["prompt"], quality=s["quality"], task=s.get("task"),
                                   evidence_posts=len(s.get("evidence_post_ids") or []),
                                   has_input=bool(s["input_images"]), has_output=bool(s["output_images"]),
                                   output_phashes=hashes(s["output_images"]), input_phashes=hashes(s["input_images"])))
            groups[sid] = s.get("duplicate_group") or sid
    return items, groups


def _pairs(groups):
    by = {}
    for s, g in groups.items():
        by.setdefault(g, []).append(s)
    return {tuple(sorted(p)) for m in by.values() for p in itertools.combinations(m, 2)}


@pytest.fixture(scope="module")
def embedder():
    from echo.dedup.embed import Embedder

    return Embedder()


def test_corpus_duplicate_groups_pairwise_precision_recall(sample_corpus_dir, embedder):
    items, truth_groups = corpus_items(sample_corpus_dir)
    assert len(items) >= 100
    text_rows = [i for i, it in enumerate(items) if it.prompt]
    vectors = embedder.encode([items[i].prompt for i in text_rows])
    result = find_duplicates(items, vectors, text_rows, DedupSettings())
    predicted = {r["sample_id"]: r["group_id"] for r in result.rows}
    truth, pred = _pairs(truth_groups), _pairs(predicted)
    precision = len(truth & pred) / max(len(pred), 1)
    recall = len(truth & pred) / len(truth)
    missed = sorted(truth - pred)
    extra = sorted(pred - truth)
    print(f"corpus pairwise precision={precision:.3f} recall={recall:.3f} pairs={result.pairs} "
          f"missed={missed} extra={extra}")
    assert precision >= 0.9 and recall >= 0.85
