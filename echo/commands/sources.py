"""Source commands: `import` raw API responses, `crawl` the configured sources, list `sources`."""

from __future__ import annotations

import argparse
import sys

from echo.commands import open_store
from echo.config import DEFAULT_MAX_FILE_BYTES
from echo.records import PLATFORMS


def cmd_import(args: argparse.Namespace, config) -> int:
    from echo.sources.importer import ImportError_, discover, import_files, summary

    try:
        files = discover(args.files, args.platform)
    except ImportError_ as e:
        print(f"echo-bench import: {e}", file=sys.stderr)
        return 2
    if not files:
        print("echo-bench import: no .json/.jsonl/.yml files found", file=sys.stderr)
        return 2
    from echo.takedowns import takedown_filter

    with open_store(config) as store:
        results = import_files(store, files, source=args.source, skip_unchanged=args.skip_unchanged,
                               taken_down=takedown_filter(store, config), max_file_bytes=args.max_file_bytes)
        for res in results:
            print(res.line())
        store.checkpoint()
    print(summary(results))
    return 0


def cmd_crawl(args: argparse.Namespace, config) -> int:
    from echo import pipeline
    from echo.progress import print_run_summary

    names = {s.name for s in config.sources}
    unknown = [n for n in args.source or [] if n not in names]
    if unknown:
        print(f"echo-bench crawl: unknown source(s) {unknown}; configured: {sorted(names)}", file=sys.stderr)
        return 2
    params = {"sources": args.source} if args.source else {}
    with open_store(config) as store:
        try:
            ctx = pipeline.refresh(config, store, params=params, only=["crawl"], progress=not args.quiet)
        except pipeline.StageFailed as e:
            print(f"echo-bench: {e}", file=sys.stderr)
            return 1
        print_run_summary(store, ctx.run_id)
    return 0


def cmd_sources(args: argparse.Namespace, config) -> int:
    from echo.sources import registry

    for s in config.sources:
        if s.kind == "import":
            detail = f"paths={s.paths}"
        else:
            try:
                missing = registry.missing_credentials(s)
            except registry.UnknownKind as e:
                print(f"{s.name:<12} {e}")
                continue
            detail = "credentials: " + ("ok" if not missing else "missing " + ", ".join(missing))
            detail += f"; {len(s.queries)} queries"
        print(f"{s.name:<12} {s.kind:<10} {'enabled ' if s.enabled else 'disabled'} {detail}")
    db = config.path("db")
    if db.exists():
        from echo.store import Store

        with Store(db, read_only=True) as store:
            if "crawl_cursors" in {r["table_name"] for r in store.query("SELECT table_name FROM duckdb_tables()")}:
                for r in store.query("SELECT source, query, cursor, watermark, updated_at FROM crawl_cursors "
                                     "ORDER BY source, query"):
                    state = "resumes at cursor" if r["cursor"] else "complete"
                    print(f"  {r['source']}: {r['query']!r} watermark={r['watermark']} ({state}, {r['updated_at']})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import raw API responses (JSON, twarc2 JSONL, recorded cassettes)")
    p.add_argument("files", nargs="+", metavar="FILE", help="files or folders (folder name may give the platform)")
    p.add_argument("--platform", choices=PLATFORMS, help="platform of every file (default: from the folder name)")
    p.add_argument("--source", default="import", help="source name stamped on the posts (default: import)")
    p.add_argument("--skip-unchanged", action="store_true", help="skip files imported before with the same sha256")
    p.add_argument("--max-file-bytes", type=int, default=DEFAULT_MAX_FILE_BYTES, metavar="N",
                   help=f"refuse bigger files with a crawl_errors row (default: {DEFAULT_MAX_FILE_BYTES})")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("crawl", help="run only the crawl stage (every enabled source, or --source NAME)")
    p.add_argument("--source", action="append", metavar="NAME", help="crawl only this configured source (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("sources", help="configured sources, their credentials and crawl cursors")
    p.set_defaults(func=cmd_sources)

