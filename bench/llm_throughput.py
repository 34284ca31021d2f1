"""How close does echo's LLM client get to the latency-bound limit, and does it keep to the configured RPM?

A fixed-latency OpenAI-compatible endpoint (tests/fake_openai.py in its own process, so it has its own GIL and can
take the load: see bench/fake_server_capacity.py) answers every request after --latency seconds. echo's
OpenAIBackend, as a refresh uses it (one client, one limiter, one event loop thread per run), asks N relevance
questions (one post each) at concurrency C. The latency-bound limit is C / latency requests per second; the
figure is the share of it reached in the steady state (the first and last second left out). With --rpm, the
limiter must keep every 60 s window at or under it: the most requests the server saw start in any window is
printed next to the limit.

    .venv/bin/python bench/llm_throughput.py                      # C = 4, 16, 64; latency 200 ms
    .venv/bin/python bench/llm_throughput.py --concurrency 16 --rpm 600 --requests 1500
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _serve(latency: float, conn) -> None:
    from fake_openai import FakeOpenAI

    with FakeOpenAI(latency_s=latency) as fake:
        conn.send(fake.base_url)
        conn.recv()  # run until told to stop
        conn.send((list(fake.times), fake.max_in_window(60.0)))


def run(concurrency: int, latency: float, n: int, rpm: int) -> dict:
    from echo.config import Config
    from echo.llm.backend import PostView, RelevanceItem
    from echo.llm.openai_backend import OpenAIBackend

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(latency, child), daemon=True)
    server.start()
    base_url = parent.recv()
    cfg = Config()
    cfg.llm.base_url = base_url
    cfg.llm.concurrency = concurrency
    cfg.llm.requests_per_minute = rpm
    cfg.llm.tokens_per_minute = 10**9
    cfg.llm.relevance_batch_size = 1
    backend = OpenAIBackend(cfg)  # no store: no cache, every item is asked
    backend.relevance([RelevanceItem(key="warm", platform="x", post=PostView(post_id="w", author="w", text="w"))])
    items = [RelevanceItem(key=f"x:{i}", platform="x", post=PostView(
        post_id=str(i), author=f"u{i % 97}", text=f"GPT-4o image gen, prompt: a corgi astronaut number {i}"))
        for i in range(n)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    out = backend.relevance(items)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    backend.close()
    parent.send("stop")
    times, most_in_minute = parent.recv()
    server.join(5)
    times.sort()
    # steady state: leave out the first and the last second (ramp-up and the tail)
    inner = [t for t in times if times[0] + 1.0 <= t <= times[-1] - 1.0]
    rate = (len(inner) - 1) / (inner[-1] - inner[0]) if len(inner) > 1 else float("nan")
    limit = concurrency / latency
    return {"concurrency": concurrency, "latency_s": latency, "requests": len(times), "answered": len(out.results),
            "failures": len(out.failures), "elapsed_s": round(elapsed, 2), "req_per_s": round(rate, 1),
            "limit_req_per_s": round(limit, 1), "share_of_limit": round(rate / min(limit, rpm / 60), 3),
            "client_cpu_ms_per_request": round(1000 * cpu / max(1, len(times)), 2),
            "rpm": rpm, "most_in_any_60s": most_in_minute}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="*", default=[4, 16, 64])
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--requests", type=int, default=0, help="per run (default: 20 s worth at the limit)")
    ap.add_argument("--rpm", type=int, default=1_000_000)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    for c in args.concurrency:
        n = args.requests or int(20 * c / args.latency)
        r = run(c, args.latency, n, args.rpm)
        print(r, flush=True)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
