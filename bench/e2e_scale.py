"""End-to-end scale benchmark: a full refresh, a no-op refresh and a +1% refresh over a synthetic corpus.

    .venv/bin/python -m bench.e2e_scale --posts 10000 [--image-size 256] [--out DIR] [--extra-pct 1]
                                        [--llm-endpoint URL] [--skip STAGE]... [--py-spy full,extra]

The corpus comes from bench/scale_corpus.py (generated once, reused while its settings match). Each run is
a fresh `echo-bench --config <out>/echo.toml refresh -q` subprocess; the database starts empty:

1. full:  every stage over the whole corpus;
2. noop:  the same again, nothing new;
3. extra: --extra-pct % NEW posts appended (new files: new trees, new replies to old trees, reposts), then a refresh.

Per run it records wall seconds, the child's CPU seconds and peak RSS (os.wait4 rusage of that child: its own
high-water mark, or the largest of its own children, never this process's), per-stage seconds and counters
(the `runs.stage_stats` JSON of the run's row, read after the process ends), per-stage CPU seconds and peak RSS
(sampled from /proc every --sample-s and attributed to stages by the run row's start time plus the stage
seconds), row counts of every table, and the load average before and after (the machine is shared).
It prints a markdown table and writes <out>/e2e_scale.json and <out>/e2e_scale.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scale_corpus  # noqa: E402
from echo.stages import stage_names  # noqa: E402

STAGE_ORDER = tuple(stage_names())
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- /proc sampling -------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _rss_cpu(pid: int) -> tuple[int, float] | None:
    """(resident KB, user+system CPU seconds) of one process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            rss_pages = int(f.read().split()[1])
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except (OSError, IndexError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return rss_pages * PAGE_KB, (int(fields[11]) + int(fields[12])) / CLK_TCK


class Sampler(threading.Thread):
    """Samples (time, RSS of the process tree in KB, CPU seconds of the tree) until stopped. Kills the tree
    when its RSS passes `rss_limit_kb` (the machine is shared: better a clear failure than the OOM killer)."""

    def __init__(self, pid: int, interval: float, rss_limit_kb: int = 0, *, skip_root: bool = False):
        super().__init__(daemon=True)
        self.pid = pid
        self.skip_root = skip_root  # sample (and kill) only the root's descendants
        self.interval = interval
        self.rss_limit_kb = rss_limit_kb
        self.killed_at_kb = 0
        self.samples: list[tuple[float, int, float]] = []
        self.stop = threading.Event()
        self._cpu_done: dict[int, float] = {}  # last CPU seen of each process (exited children keep theirs)

    def run(self) -> None:
        tick = 0
        pids = [self.pid]
        while not self.stop.is_set():
            if tick % 4 == 0 or not pids:  # the tree changes rarely; scanning /proc costs more than reading it
                pids = _tree(self.pid)[1:] if self.skip_root else _tree(self.pid)
            tick += 1
            rss = 0
            for p in pids:
                got = _rss_cpu(p)
                if got:
                    rss += got[0]
                    self._cpu_done[p] = got[1]
            if rss:
                self.samples.append((time.time(), rss, sum(self._cpu_done.values())))
            if self.rss_limit_kb and rss > self.rss_limit_kb and not self.killed_at_kb:
                self.killed_at_kb = rss
                for p in reversed(pids):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.stop.wait(self.interval)


@dataclass
class Measured:
    exit_code: int
    t_start: float
    t_end: float
    cpu_s: float  # user + system of the child and its waited-for children
    peak_rss_kb: int  # the child's high-water mark (or its largest waited-for child's)
    samples: list[tuple[float, int, float]]
    killed_at_kb: int  # tree RSS at which the sampler killed it (0: not killed)


# Starts the measured command and reports its rusage. Why a launcher: on Linux a child's ru_maxrss starts
# from the RSS of the process that spawned it (exec records the old mm's high-water mark; with vfork that mm
# is the spawner's own), so a command spawned straight from this process would report this process's peak
# whenever it is the larger. The launcher is a fresh ~10 MB interpreter, so what it reports is the command's.
LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"exit_code": os.waitstatus_to_exitcode(status), "maxrss_kb": ru.ru_maxrss,
               "cpu_s": ru.ru_utime + ru.ru_stime}, f)
"""


def run_measured(cmd: list[str], *, cwd: Path, env: dict[str, str] | None, log_path: Path, sample_s: float = 0.5,
                 rss_limit_kb: int = 0) -> Measured:
    """Run `cmd` to completion, output to `log_path`: its exit code, CPU seconds and peak RSS (its own rusage,
    through a launcher: never this process's, nor an earlier child's as RUSAGE_CHILDREN would mix in), and
    /proc samples of its process tree (killed when past rss_limit_kb)."""
    usage_path = log_path.with_suffix(".rusage.json")
    usage_path.unlink(missing_ok=True)
    t0 = time.time()
    with log_path.open("wb") as log:
        launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(usage_path), *cmd], cwd=str(cwd), env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        sampler = Sampler(launcher.pid, sample_s, rss_limit_kb, skip_root=True)
        sampler.start()
        launcher.wait()
        t1 = time.time()
        sampler.stop.set()
        sampler.join()
    if launcher.returncode != 0 or not usage_path.exists():
        raise RuntimeError(f"the launcher of {cmd} failed (exit {launcher.returncode}); see {log_path}")
    usage = json.loads(usage_path.read_text())
    return Measured(usage["exit_code"], t0, t1, usage["cpu_s"], usage["maxrss_kb"], sampler.samples,
                    sampler.killed_at_kb)


# --- one run --------------------------------------------------------------------------------------


def echo_command(config: Path, skip: list[str]) -> list[str]:
    exe = Path(sys.executable).with_name("echo-bench")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "echo.cli"]
    return base + ["--config", str(config), "refresh", "-q"] + [a for s in skip for a in ("--skip", s)]


def child_env(llm_endpoint: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHO_") or k == "ECHO_LLM_API_KEY"}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"})
    if llm_endpoint:
        env["ECHO_LLM_BASE_URL"] = llm_endpoint
    return env


def read_run(db: Path) -> tuple[dict | None, dict[str, int]]:
    """The newest runs row (stage_stats decoded, start as epoch seconds) and row counts of every table."""
    import duckdb

    if not db.exists():
        return None, {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT run_id, status, failed_stage, error, epoch(started_at), epoch(finished_at), "
                          "stage_stats FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                            "ORDER BY table_name").fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    if row is None:
        return None, counts
    keys = ("run_id", "status", "failed_stage", "error", "started_epoch", "finished_epoch", "stage_stats")
    run = dict(zip(keys, row))
    run["stage_stats"] = json.loads(run["stage_stats"] or "{}")
    return run, counts


def unfinished_stage(run: dict | None, skip: list[str]) -> str | None:
    """The stage a run was in when its process died: the first selected stage with no stats (each stage
    writes its stats when it ends, also when it fails). None when the run finished or failed cleanly."""
    if not run or run["status"] != "running":
        return None
    return next((s for s in STAGE_ORDER if s not in skip and s not in run["stage_stats"]), None)


def attribute(samples: list[tuple[float, int, float]], run: dict | None, t_start: float, t_end: float,
              killed_in: str | None = None) -> dict:
    """Per-phase peak RSS (MB) and CPU seconds: 'startup' before the run row, each stage in turn, 'finish'
    after (or the stage the process died in)."""
    bounds: list[tuple[str, float, float]] = []
    if run and run.get("started_epoch"):
        t = float(run["started_epoch"])
        bounds.append(("startup", t_start, t))
        stats = run["stage_stats"]
        for name in [s for s in STAGE_ORDER if s in stats] + [s for s in stats if s not in STAGE_ORDER]:
            sec = float(stats[name].get("seconds", 0.0))
            bounds.append((name, t, t + sec))
            t += sec
        bounds.append((killed_in or "finish", t, t_end))
    else:
        bounds.append(("all", t_start, t_end))
    out: dict[str, dict[str, float]] = {}
    prev_cpu = 0.0
    for name, a, b in bounds:
        inside = [s for s in samples if a <= s[0] < b]
        if not inside:
            continue
        cpu_end = inside[-1][2]
        out[name] = {"peak_rss_mb": round(max(s[1] for s in inside) / 1024, 1),
                     "cpu_s_sampled": round(max(0.0, cpu_end - prev_cpu), 2), "wall_s": round(b - a, 1)}
        prev_cpu = cpu_end
    return out


def run_refresh(name: str, out: Path, *, skip: list[str], llm_endpoint: str | None, sample_s: float,
                py_spy: bool, rss_limit_mb: int = 0) -> dict[str, Any]:
    cmd = echo_command(out / "echo.toml", skip)
    if py_spy:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        cmd = [spy, "record", "--format", "speedscope", "--rate", "25", "--subprocesses", "-o",
               str(out / f"profile_{name}.speedscope.json"), "--"] + cmd
    log_path = out / f"{name}.log"
    load_before = os.getloadavg()
    m = run_measured(cmd, cwd=out, env=child_env(llm_endpoint), log_path=log_path, sample_s=sample_s,
                     rss_limit_kb=rss_limit_mb * 1024)
    load_after = os.getloadavg()
    run, counts = read_run(out / "data" / "echo.duckdb")
    died_in = unfinished_stage(run, skip)
    stages = {}
    if run:
        phases = attribute(m.samples, run, m.t_start, m.t_end, died_in)
        for stage, stats in run["stage_stats"].items():
            counters = {k: v for k, v in stats.items() if k != "seconds"}
            stages[stage] = {"seconds": stats.get("seconds"), **phases.get(stage, {}), "counters": counters}
        phases = {k: v for k, v in phases.items() if k not in stages}
    else:
        phases = attribute(m.samples, None, m.t_start, m.t_end)
    if died_in and died_in in phases:
        phases[died_in]["unfinished"] = True
    tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
    sampled_peak = max((smp[1] for smp in m.samples), default=0)
    profile = out / f"profile_{name}.speedscope.json"
    profile_summary = summarize_profile(profile) if py_spy and profile.exists() else None
    return {
        "run": name, "command": cmd, "exit_code": m.exit_code, "wall_s": round(m.t_end - m.t_start, 2),
        "cpu_s": round(m.samples[-1][2] if py_spy and m.samples else m.cpu_s, 2),  # py-spy's rusage is its own
        # under py-spy the rusage is py-spy's (it may not fold in its child's): then the sampled tree peak
        "peak_rss_mb": round((sampled_peak if py_spy else m.peak_rss_kb) / 1024, 1),
        "peak_rss_source": "sampled process tree (py-spy run)" if py_spy else "wait4 rusage of the refresh process",
        "peak_tree_rss_mb_sampled": round(sampled_peak / 1024, 1),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "run_id": run and run["run_id"], "status": run and run["status"], "failed_stage": run and run["failed_stage"],
        "error": run and run["error"], "died_in_stage": died_in,
        "killed_by_benchmark": (f"tree RSS {m.killed_at_kb / 1024:,.0f} MB passed --rss-limit-mb {rss_limit_mb:,}"
                                if m.killed_at_kb else None),
        "stages": stages, "other_phases": phases, "rows": counts,
        "log": str(log_path), "log_tail": tail if m.exit_code else tail[-12:],
        "profile": str(profile) if profile_summary else None, "profile_summary": profile_summary,
    }


# --- py-spy profiles -------------------------------------------------------------------------------


def _stage_of_frame(frame: dict) -> tuple[str | None, str | None]:
    """(the stage this frame is the entry point of, the stage whose module this frame is in), by the
    echo.stages.STAGES functions. The second places worker-thread samples, whose stacks lack the entry."""
    from echo.run import stage_name
    from echo.stages import STAGES

    path = frame["file"].replace("\\", "/")
    entry = module_of = None
    for st in STAGES:
        if path.endswith(st.__module__.replace(".", "/") + ".py"):
            module_of = module_of or stage_name(st)
            if frame["name"] == st.__name__:
                entry = stage_name(st)
    return entry, module_of


def summarize_profile(path: Path, top: int = 12) -> dict:
    """Per stage of a py-spy speedscope profile: sampled seconds and the functions with the most inclusive
    and self time (echo's own frames and the libraries they call alike)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    frames = doc["shared"]["frames"]
    # one label per function (lines of the same function add up)
    label = [f"{f['name']} ({'/'.join(f['file'].replace(chr(92), '/').split('/')[-2:])})" for f in frames]
    found = [_stage_of_frame(f) for f in frames]
    per: dict[str, dict[str, Any]] = {}
    for prof in doc["profiles"]:
        for stack, w in zip(prof["samples"], prof.get("weights") or [1] * len(prof["samples"])):
            stage = next((found[i][0] for i in stack if found[i][0]), None)
            if stage is None:
                thread_of = next((found[i][1] for i in stack if found[i][1]), None)
                stage = f"{thread_of} (worker threads)" if thread_of else "outside stages"
            d = per.setdefault(stage, {"seconds": 0.0, "incl": {}, "self": {}})
            d["seconds"] += w
            for name in {label[i] for i in stack}:
                d["incl"][name] = d["incl"].get(name, 0.0) + w
            if stack:
                d["self"][label[stack[-1]]] = d["self"].get(label[stack[-1]], 0.0) + w
    out = {}
    for stage, d in sorted(per.items(), key=lambda kv: -kv[1]["seconds"]):
        total = d["seconds"] or 1.0
        # frames on every sample of the stage (the entry point and its callers) say nothing
        incl = sorted(((n, v) for n, v in d["incl"].items() if v < total * 0.98), key=lambda kv: -kv[1])[:top]
        out[stage] = {"sampled_s": round(d["seconds"], 1),
                      "top_inclusive": [[n, round(v / total, 3)] for n, v in incl],
                      "top_self": [[n, round(v / total, 3)] for n, v in
                                   sorted(d["self"].items(), key=lambda kv: -kv[1])[:top]]}
    return out


# --- report ---------------------------------------------------------------------------------------


def _fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def status(r: dict) -> str:
    if r.get("died_in_stage"):
        why = "killed by the benchmark's RSS limit" if r.get("killed_by_benchmark") else f"exit {r['exit_code']}"
        return f"died in {r['died_in_stage']} ({why})"
    if r["failed_stage"]:
        return f"failed at {r['failed_stage']}"
    return r["status"] or f"exit {r['exit_code']}"


def markdown(result: dict) -> str:
    runs = result["runs"]
    p = result["corpus"]["params"]
    lines = [f"### {p['posts']:,} posts, {p['image_size']} px images ({result['backend']})", ""]
    lines.append("| run | wall s | CPU s | peak RSS MB | new posts | samples (total) | status | load 1-min before -> after |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in runs:
        crawl = r["stages"].get("crawl", {}).get("counters", {})
        lines.append(f"| {r['run']} | {_fmt(r['wall_s'])} | {_fmt(r['cpu_s'])} | {_fmt(r['peak_rss_mb'], 0)} | "
                     f"{_fmt(crawl.get('posts_new'))} | {_fmt(r['rows'].get('samples'))} | "
                     f"{status(r)} | "
                     f"{r['load_before'][0]:.1f} -> {r['load_after'][0]:.1f} |")
    lines += ["", "Per stage: seconds (sampled CPU s, peak RSS MB)", "",
              "| stage | " + " | ".join(r["run"] for r in runs) + " |", "|---|" + "---|" * len(runs)]
    names = [s for s in ("startup",) + STAGE_ORDER + ("finish",)
             if any(s in r["stages"] or s in r["other_phases"] for r in runs)]
    for s in names:
        cells = []
        for r in runs:
            st = r["stages"].get(s) or r["other_phases"].get(s)
            if not st:
                cells.append("-")
                continue
            sec = st.get("seconds")
            shown = _fmt(sec) if sec is not None else f"~{_fmt(st.get('wall_s'))}"
            if st.get("unfinished"):
                shown = f"died after {shown}"
            cells.append(f"{shown} ({_fmt(st.get('cpu_s_sampled'))}, {_fmt(st.get('peak_rss_mb'), 0)})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    d = result["derived"]
    if not d:
        return "\n".join(lines) + "\n"
    ratios = "; ".join(f"{r['run']} / full: {_fmt(d.get(r['run'] + '_pct_of_full'))}% of wall, "
                       f"{_fmt(d.get(r['run'] + '_cpu_pct_of_full'))}% of CPU" for r in runs
                       if r["run"] != "full" and r["exit_code"] == 0)
    lines += ["", f"{ratios}. Full refresh: {_fmt(d.get('full_ms_per_post'), 2)} ms wall and "
              f"{_fmt(d.get('full_cpu_ms_per_post'), 2)} ms CPU per post (extra runs add {result['extra_pct']:g}% posts)."]
    return "\n".join(lines) + "\n"


def derived(runs: list[dict], posts: int) -> dict:
    by = {r["run"]: r for r in runs}
    out: dict[str, float] = {}
    full = by.get("full")
    if full and full["exit_code"] == 0 and full["wall_s"]:
        out["full_ms_per_post"] = round(full["wall_s"] * 1000 / posts, 3)
        out["full_cpu_ms_per_post"] = round(full["cpu_s"] * 1000 / posts, 3)
        for name, r in by.items():
            if name != "full" and r["exit_code"] == 0:
                out[f"{name}_pct_of_full"] = round(100 * r["wall_s"] / full["wall_s"], 2)
                out[f"{name}_cpu_pct_of_full"] = round(100 * r["cpu_s"] / full["cpu_s"], 2)
    return out


def machine() -> dict:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import duckdb

    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "kernel": platform.release()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--image-pool", type=int, default=scale_corpus.DEFAULT_IMAGE_POOL)
    ap.add_argument("--corpus-jobs", type=int, default=os.cpu_count() or 1,
                    help="processes drawing the corpus images (default: one per CPU; same bytes)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", help="run folder (default /tmp/echo-scale-<posts>-<size>px)")
    ap.add_argument("--extra-pct", type=float, default=1.0, help="new posts for the incremental run, %% of --posts")
    ap.add_argument("--llm-endpoint", help="OpenAI-compatible /v1 URL: the LLM path instead of the rules backend")
    ap.add_argument("--skip", action="append", default=[], metavar="STAGE", help="passed to refresh (repeatable)")
    ap.add_argument("--runs", default="full,noop,extra",
                    help="runs in order, from full, noop, extra (repeatable: full,noop,extra,extra)")
    ap.add_argument("--py-spy", default="", metavar="RUNS", help="profile these runs with py-spy (e.g. full)")
    ap.add_argument("--sample-s", type=float, default=0.5, help="RSS/CPU sampling interval")
    ap.add_argument("--rss-limit-mb", type=int, default=8192,
                    help="kill a refresh whose process tree passes this RSS (0: no limit); the machine is shared")
    ap.add_argument("--report", metavar="JSON", help="only print the markdown of an earlier e2e_scale.json")
    ap.add_argument("--profile-summary", metavar="SPEEDSCOPE", help="only summarize a py-spy speedscope file per stage")
    args = ap.parse_args(argv)
    if args.report:
        result = json.loads(Path(args.report).read_text(encoding="utf-8"))
        result["derived"] = derived(result["runs"], result["corpus"]["params"]["posts"])
        print(markdown(result))
        return 0
    if args.profile_summary:
        print(json.dumps(summarize_profile(Path(args.profile_summary)), indent=1))
        return 0

    out = Path(args.out or f"/tmp/echo-scale-{args.posts}-{args.image_size}px").resolve()
    kinds = [r for r in args.runs.split(",") if r]
    bad = set(kinds) - {"full", "noop", "extra"}
    if bad:
        ap.error(f"unknown run(s) {sorted(bad)}")
    # a repeated kind is numbered: full,noop,extra,extra -> full, noop, extra, extra2
    seen: dict[str, int] = {}
    runs_wanted = []
    for kind in kinds:
        seen[kind] = seen.get(kind, 0) + 1
        runs_wanted.append((kind, kind if seen[kind] == 1 else f"{kind}{seen[kind]}"))
    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()

    t0 = time.time()
    manifest = scale_corpus.generate(out, args.posts, image_size=args.image_size, image_pool=args.image_pool,
                                     seed=args.seed, jobs=args.corpus_jobs)
    manifest = scale_corpus.reset_extra(out)
    corpus_s = time.time() - t0
    print(f"corpus: {out / 'corpus'} ({corpus_s:.1f} s)", flush=True)
    if "full" in kinds and (out / "data").exists():
        shutil.rmtree(out / "data")  # the full run starts from an empty database

    runs = []
    for kind, name in runs_wanted:
        if kind == "extra":
            manifest = scale_corpus.add_extra(out, args.extra_pct, jobs=args.corpus_jobs)
        print(f"run {name} ...", flush=True)
        r = run_refresh(name, out, skip=args.skip, llm_endpoint=args.llm_endpoint, sample_s=args.sample_s,
                        py_spy=name in args.py_spy.split(","), rss_limit_mb=args.rss_limit_mb)
        print(f"  {r['wall_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB, status {r['status']} "
              f"(exit {r['exit_code']})", flush=True)
        runs.append(r)
        # written after every run: a long run (1M posts) keeps its figures if a later one is stopped
        md = write_result(out, started, load_start, args, manifest, corpus_s, runs)
        if r["exit_code"] != 0:
            print("\n".join(r["log_tail"]), file=sys.stderr)
            break

    print()
    print(md)
    print(f"written: {out / 'e2e_scale.json'}, {out / 'e2e_scale.md'}")
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


def write_result(out: Path, started, load_start, args, manifest: dict, corpus_s: float, runs: list) -> str:
    result = {
        "benchmark": "bench/e2e_scale.py", "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(), "machine": machine(),
        "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in os.getloadavg()],
        "backend": f"llm at {args.llm_endpoint}" if args.llm_endpoint else "rules backend",
        "skip": args.skip, "extra_pct": args.extra_pct, "out": str(out),
        "corpus": {"params": manifest["params"], "generate_s": round(corpus_s, 1),
                   "batches": [{k: v for k, v in b.items() if k != "files"} | {"files": len(b["files"])}
                               for b in manifest["batches"]]},
        "runs": runs, "derived": derived(runs, args.posts),
    }
    (out / "e2e_scale.json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    md = markdown(result)
    (out / "e2e_scale.md").write_text(md, encoding="utf-8")
    return md


if __name__ == "__main__":
    sys.exit(main())
