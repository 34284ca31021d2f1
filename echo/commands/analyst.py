"""`echo-bench sql`: query the analyst snapshot (read-only, never blocks or is blocked by a refresh)."""

from __future__ import annotations

import argparse
import sys

from echo import schema


def cmd_sql(args: argparse.Namespace, config) -> int:
    from echo.analyst.snapshot import current_snapshot_db, open_snapshot

    if args.views:
        for name, doc in schema.view_docs().items():
            print(f"{name:<24} {doc}")
        return 0
    if args.path:
        print(current_snapshot_db(config))
        return 0
    if not args.query:
        print("echo-bench sql: give a query, e.g. echo-bench sql \"SELECT * FROM crawl_funnel\"", file=sys.stderr)
        return 2
    try:
        con = open_snapshot(config)
    except FileNotFoundError as e:
        print(f"echo-bench sql: {e}", file=sys.stderr)
        return 1
    try:
        rel = con.sql(args.query)
        if rel is None:
            return 0
        if args.format == "csv":
            import csv

            w = csv.writer(sys.stdout)
            w.writerow(rel.columns)
            w.writerows(rel.fetchall())
        elif args.format == "json":
            import json

            cols = rel.columns
            for row in rel.fetchall():
                print(json.dumps(dict(zip(cols, row)), default=str, ensure_ascii=False))
        else:
            rel.show(max_rows=args.max_rows, max_width=200)
    except Exception as e:  # duckdb errors: show them plainly, exit non-zero
        print(f"echo-bench sql: {e}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def register(sub) -> None:
    p = sub.add_parser("sql", help="query the analyst snapshot (read-only; safe during a refresh)")
    p.add_argument("query", nargs="?", help="SQL over the tables and views, e.g. \"SELECT * FROM crawl_funnel\"")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--max-rows", type=int, default=50)
    p.add_argument("--views", action="store_true", help="list the documented analyst views")
    p.add_argument("--path", action="store_true", help="print the snapshot's DuckDB path (open it with duckdb -readonly)")
    p.set_defaults(func=cmd_sql)
