"""echo-bench: a thin command line over the library.

Core commands live here; each area adds its own in `echo/commands/<area>.py` with `register(subparsers)`.
A command function takes (args, config) and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from echo import __version__
from echo.commands import open_store
from echo.config import ConfigError, load_config

AREA_COMMANDS = (
    "echo.commands.sources",   # import, crawl, sources
    "echo.commands.review",    # review
    "echo.commands.evaluate",  # evaluate, evaluate-extractor
    "echo.commands.media",     # media
    "echo.commands.release",   # freeze, verify, diff, export, forget, releases
    "echo.commands.analyst",   # sql
    "echo.commands.report",    # report
)


def cmd_refresh(args: argparse.Namespace, config) -> int:
    from echo import pipeline, runlock
    from echo.progress import print_run_summary
    from echo.run import stage_name

    if args.release:
        config.release.freeze_on_refresh = True
    params = {"release_version": args.release} if args.release else {}

    def waiting(holder: runlock.Holder) -> None:
        print(f"echo-bench: waiting: {holder.describe()}", file=sys.stderr, flush=True)

    with runlock.refresh_lock(config.path("db"), command=args.command_line, wait=args.wait, on_wait=waiting), \
            open_store(config) as store:
        try:
            ctx = pipeline.refresh(config, store, trigger="cli", params=params, only=args.only, skip=args.skip,
                                   progress=not args.quiet)
        except pipeline.StageFailed as e:
            print(f"echo-bench: {e}", file=sys.stderr)
            print("echo-bench: the run row records the failure: echo-bench runs --last", file=sys.stderr)
            return 1
        print_run_summary(store, ctx.run_id, [stage_name(s) for s in pipeline.selected_stages(args.only, args.skip)])
    return 0


def cmd_runs(args: argparse.Namespace, config) -> int:
    from echo.progress import status_line

    with open_store(config) as store:
        rows = store.query(
            "SELECT run_id, status, failed_stage, started_at, finished_at, trigger, error, problems, stage_stats "
            "FROM runs ORDER BY started_at DESC LIMIT ?", [1 if args.last else args.limit])
    for r in rows:
        print(f"{r['started_at']:%Y-%m-%d %H:%M:%S}  {r['trigger'] or '':<8} {status_line(r)}")
        if args.last or args.verbose:
            print(json.dumps(json.loads(r["stage_stats"] or "{}"), indent=2))
    return 0


def cmd_stages(args: argparse.Namespace, config) -> int:
    from echo.run import stage_doc, stage_name
    from echo.stages import STAGES

    for s in STAGES:
        print(f"{stage_name(s):<10} {stage_doc(s)}")
    return 0


def cmd_tables(args: argparse.Namespace, config) -> int:
    with open_store(config, read_only=True) as store:
        counts = store.counts()
        hashes = store.content_hashes() if args.hash else {}
    for name, n in counts.items():
        print(f"{name:<18} {n:>9}" + (f"  {hashes[name]}" if name in hashes else ""))
    return 0


def cmd_config(args: argparse.Namespace, config) -> int:
    print(json.dumps(config.to_dict(), indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="echo-bench", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="config file (default: $ECHO_CONFIG or ./echo.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"echo-bench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("refresh", help="run the whole pipeline once (what the nightly deployment runs)")
    r.add_argument("--only", action="append", metavar="STAGE", help="run only this stage (repeatable)")
    r.add_argument("--skip", action="append", metavar="STAGE", help="skip this stage (repeatable)")
    r.add_argument("--release", metavar="VERSION", help="freeze a release with this version even if nothing changed")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    r.add_argument("--wait", action="store_true", help="if a refresh is running, wait for it instead of stopping")
    r.set_defaults(func=cmd_refresh)

    r = sub.add_parser("runs", help="list recent runs with their per-stage counts")
    r.add_argument("--last", action="store_true", help="only the newest run, with its stage stats")
    r.add_argument("--limit", type=int, default=10)
    r.set_defaults(func=cmd_runs)

    sub.add_parser("stages", help="list the pipeline stages in order").set_defaults(func=cmd_stages, needs_config=False)
    r = sub.add_parser("tables", help="row count of every table (and a content hash without run bookkeeping)")
    r.add_argument("--hash", action="store_true",
                   help="content hash per table, leaving out run ids and write times: equal input gives equal hashes")
    r.set_defaults(func=cmd_tables)

    sub.add_parser("config", help="print the effective configuration (file + environment)").set_defaults(func=cmd_config)

    for module in AREA_COMMANDS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                continue  # area without commands yet
            raise
        mod.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from echo.runlock import DatabaseUnavailable

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = " ".join(["echo-bench", *argv])  # names a refresh to whoever finds it running
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        config = load_config(args.config, required=True) if getattr(args, "needs_config", True) else None
    except ConfigError as e:
        print(f"echo-bench: config error: {e}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, config) or 0)
    except DatabaseUnavailable as e:  # busy (a refresh runs) or unwritable: one line, no traceback
        print(f"echo-bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("echo-bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
