"""Estimate LLM calls and tokens per 1,000 posts: run relevance + extract against the fake OpenAI server
(tests/fake_openai.py, ~4 characters a token, 765 tokens an image) and extrapolate.

    .venv/bin/python bench/llm_cost.py               # data/samples when it exists, else a synthetic corpus
    .venv/bin/python bench/llm_cost.py --synthetic 200

An estimate: real token counts depend on the model's tokenizer, image sizes and how long its answers are.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from echo import pipeline  # noqa: E402
from echo.config import load_config  # noqa: E402
from echo.store import Store  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from llm_helpers import add, image, post  # noqa: E402

SUBJECTS = ["a corgi astronaut on the moon", "a lighthouse in a storm", "my cat as a renaissance portrait",
            "a neon city street in the rain", "a cozy cabin in the snow", "a ramen bowl in Ghibli style"]
REPLIES = ["wow this is perfect", "the hands are wrong again", "text is garbled on the sign", "love the colors",
           "it changed her face completely", "how long did it take?"]


def synthetic(store: Store, media: Path, n_roots: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    posts, mrows, links, k = [], [], [], 0
    for r in range(n_roots):
        rid = f"r{r}"
        if r % 5 == 4:  # off-topic posts that pass the keyword filter
            posts.append(post(rid, f"GPT-4o wrote my unit tests today, {rng.choice(['nice', 'meh'])}", f"a{r}", minutes=r))
            continue
        posts.append(post(rid, f"GPT-4o image gen. Prompt: {rng.choice(SUBJECTS)}, {rng.choice(['watercolor', 'photo', 'isometric'])}",
                          f"a{r}", minutes=r))
        for _ in range(rng.randint(1, 2)):
            k += 1
            url, m = image(media, f"im{k}", (rng.randrange(256), rng.randrange(256), rng.randrange(256)), size=(512, 512))
            mrows.append(m)
            links.append((rid, url, k, None))
        posts.append(post(f"{rid}f", "and the second one", f"a{r}", root=rid, parent=rid, minutes=r))
        for j in range(rng.randint(1, 4)):
            posts.append(post(f"{rid}c{j}", rng.choice(REPLIES), f"u{r}{j}", root=rid, parent=rid, minutes=r))
    add(store, posts, mrows, links)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=0, help="use N synthetic root posts instead of data/samples")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="echo-llm-cost-"))
    config = load_config(ROOT / "echo.toml", env={})
    config.base_dir = str(ROOT)
    config.paths.db = str(tmp / "echo.duckdb")
    config.paths.media_dir = str(tmp / "media")
    use_samples = not args.synthetic and any((ROOT / "data" / "samples").glob("*/*.json*"))
    with Store(config.paths.db) as store, FakeOpenAI() as fake:
        config.llm.base_url = fake.base_url
        if use_samples:
            stages = ["crawl", "filter", "relevance", "media", "extract"]
            corpus = "data/samples"
        else:
            synthetic(store, tmp / "media", args.synthetic or 200)
            stages = ["relevance", "extract"]
            corpus = f"synthetic ({args.synthetic or 200} roots)"
        ctx = pipeline.refresh(config, store, only=stages)
        posts = store.count("posts")
        rows = store.query("SELECT stage, model, calls, tokens_in, tokens_out FROM llm_usage WHERE run_id = ? "
                           "ORDER BY tokens_in DESC", [ctx.run_id])
        print(f"corpus: {corpus}; {posts} posts, {store.count('samples')} samples; estimate per 1,000 posts:")
        print(f"{'stage':<18}{'model':<14}{'calls':>8}{'tokens in':>12}{'tokens out':>12}")
        tc = ti = to = 0
        for r in rows:
            f = 1000 / posts
            tc, ti, to = tc + r["calls"] * f, ti + r["tokens_in"] * f, to + r["tokens_out"] * f
            print(f"{r['stage']:<18}{r['model']:<14}{r['calls'] * f:>8.0f}{r['tokens_in'] * f:>12,.0f}{r['tokens_out'] * f:>12,.0f}")
        print(f"{'total':<32}{tc:>8.0f}{ti:>12,.0f}{to:>12,.0f}")
        print(f"failures: {store.count('llm_failures')}; decisions: " + str(store.query(
            'SELECT benchmark_decision AS d, count(*) AS n FROM samples GROUP BY 1 ORDER BY 1')))
        n = fake.count()
        pipeline.refresh(config, store, only=stages)
        print(f"re-run on unchanged data: {fake.count() - n} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
