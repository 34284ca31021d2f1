"""`echo-bench report`: rebuild a run's HTML report from the analyst snapshot (read-only; safe during a refresh)."""

from __future__ import annotations

import argparse
import sys


def cmd_report(args: argparse.Namespace, config) -> int:
    from echo.analyst.snapshot import open_snapshot
    from echo.report import data, html
    from echo.stages import stage_names

    try:
        con = open_snapshot(config)
    except FileNotFoundError as e:
        print(f"echo-bench report: {e}", file=sys.stderr)
        return 1
    try:
        run_id = args.run or data.latest_run_id(con)
        if run_id is None:
            print("echo-bench report: the snapshot has no runs yet: run `echo-bench refresh` first", file=sys.stderr)
            return 1
        try:
            path, rd = html.build_report(con, config, run_id, stage_order=stage_names())
        except KeyError as e:
            print(f"echo-bench report: {e.args[0]}", file=sys.stderr)
            return 1
    finally:
        con.close()
    print(path)
    if rd.prompt_map.embedded_new:
        print(f"({rd.prompt_map.embedded_new} prompts were not in the snapshot's embedding cache and were embedded now)",
              file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="rebuild the HTML run report from the analyst snapshot "
                                      "(writes <reports_dir>/<run_id>.html and latest.html)")
    p.add_argument("--run", metavar="RUN_ID", help="run to report on (default: the snapshot's newest run)")
    p.set_defaults(func=cmd_report)
