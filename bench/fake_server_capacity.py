"""Can tests/fake_openai.py be trusted as a load target? Drive it alone with httpx at concurrency C.

Each of C threads (each with its own httpx.Client) sends chat completions back to back (a relevance request of 10 posts, like echo's batches)
for --seconds; the server adds --latency to every request. An ideal server then completes C / latency
requests per second; the figure printed is the share of that reached (>= 0.95 means the server, not its
capacity, sets the pace). Also printed: how many TCP connections were opened (keep-alive: C), the most
requests seen in any 1 s window, the CPU time per request of the server (with --subprocess; its capacity on
one core is about 1000 / that many requests per second, whatever else the machine runs) and of the client
process (without --subprocess: client and server together).

    .venv/bin/python bench/fake_server_capacity.py                    # C = 4, 16, 64; latency 200 ms; 10 s each
    .venv/bin/python bench/fake_server_capacity.py --subprocess      # the server in its own process (no shared GIL)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

SYSTEM = "Step: relevance\nYou rate social media posts for a benchmark of the image-generation model \"gpt-4o\"."


def request_body(n_posts: int = 10) -> dict:
    posts = "\n".join(f'<post id="p{i}" author="user{i}" depth=0>"GPT-4o image generation, prompt: a corgi '
                      f'astronaut number {i} on the moon, watercolor"</post>' for i in range(n_posts))
    return {"model": "fake", "temperature": 0,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": f"Rate these {n_posts} posts.\n{posts}"}],
            "response_format": {"type": "json_object"}}


def drive(base_url: str, concurrency: int, seconds: float) -> dict:
    """C threads, each with its own httpx.Client (one keep-alive connection), posting back to back.

    One client per worker: httpcore's shared pool costs O(connections) per request
    (connection_pool._assign_requests_to_connections), which at C = 64 measures the client, not the server.
    Only requests that finish inside the measured window count, so the rate is the steady state.
    """
    body = json.dumps(request_body()).encode()
    headers = {"content-type": "application/json"}
    clients = [httpx.Client(base_url=base_url, timeout=30.0, limits=httpx.Limits(max_connections=1))
               for _ in range(concurrency)]
    lock = threading.Lock()
    done, failed, latencies, rates = 0, 0, [], []
    start = threading.Barrier(concurrency + 1)
    window: dict[str, float] = {}

    def worker(client: httpx.Client) -> None:
        nonlocal done, failed
        client.post("/chat/completions", content=body, headers=headers)  # warm-up: opens the connection
        start.wait()
        t0, n, last = time.monotonic(), 0, None
        while True:
            s = time.monotonic()
            try:
                r = client.post("/chat/completions", content=body, headers=headers)
                ok = r.status_code == 200 and bool(r.json()["choices"])
            except httpx.HTTPError:
                ok = False
            e = time.monotonic()
            if e > window["stop"]:
                with lock:
                    rates.append(n / (last - t0) if last else 0.0)
                return
            n, last = n + 1, e
            with lock:
                latencies.append(e - s)
                if ok:
                    done += 1
                else:
                    failed += 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    window["stop"] = time.monotonic() + 3600  # set properly once every worker is warm
    start.wait()
    cpu0 = time.process_time()
    window["stop"] = time.monotonic() + seconds
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu0
    for c in clients:
        c.close()
    latencies.sort()
    # Each worker's rate over the time its counted requests took (no bias from the request cut at the end).
    return {"done": done, "failed": failed, "rps": sum(rates), "process_cpu_ms": 1000 * cpu / max(1, done),
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def _serve(latency: float, port_q, stop_ev, stats_q) -> None:
    with FakeOpenAI(latency_s=latency) as fake:
        cpu0 = time.process_time()
        port_q.put(fake.base_url)
        stop_ev.wait()
        stats_q.put({"connections": fake.connections, "requests": fake.count(), "max_1s": fake.max_in_window(1.0),
                     "server_cpu_ms": 1000 * (time.process_time() - cpu0) / max(1, fake.count())})


def run(concurrency: int, latency: float, seconds: float, subprocess: bool) -> dict:
    if subprocess:
        ctx = multiprocessing.get_context("spawn")
        port_q, stats_q, stop_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(latency, port_q, stop_ev, stats_q), daemon=True)
        proc.start()
        base_url = port_q.get(timeout=60)
        res = drive(base_url, concurrency, seconds)
        stop_ev.set()
        res.update(stats_q.get(timeout=60))
        proc.join(timeout=30)
    else:
        with FakeOpenAI(latency_s=latency) as fake:
            res = drive(fake.base_url, concurrency, seconds)
            res.update(connections=fake.connections, requests=fake.count(), max_1s=fake.max_in_window(1.0),
                       server_cpu_ms=float("nan"))
    ideal = concurrency / latency
    res.update(concurrency=concurrency, latency_ms=latency * 1000, ideal_rps=ideal,
               share=res["rps"] / ideal)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", default="4,16,64", help="comma-separated client concurrencies")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds the server adds to every request")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured time per concurrency")
    ap.add_argument("--subprocess", action="store_true", help="run the server in its own process")
    args = ap.parse_args()
    where = "own process" if args.subprocess else "same process as the client"
    print(f"fake OpenAI server ({where}), latency {args.latency * 1000:.0f} ms, {args.seconds:.0f} s per run, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'C':>4}{'ideal rps':>11}{'rps':>9}{'share':>8}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}{'conns':>7}"
          f"{'max/1s':>8}{'server cpu ms/req':>19}{'client cpu ms/req':>19}")
    worst = 1.0
    for c in (int(x) for x in args.concurrency.split(",")):
        r = run(c, args.latency, args.seconds, args.subprocess)
        worst = min(worst, r["share"])
        print(f"{c:>4}{r['ideal_rps']:>11.1f}{r['rps']:>9.1f}{r['share']:>8.3f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['failed']:>8}{r['connections']:>7}{r['max_1s']:>8}{r['server_cpu_ms']:>19.2f}{r['process_cpu_ms']:>19.2f}")
    print(f"worst share of C/latency: {worst:.3f} ({'>= 0.95: ok' if worst >= 0.95 else 'below 0.95'}); "
          f"load average after: {os.getloadavg()[0]:.1f}")
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
