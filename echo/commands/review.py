"""`echo-bench review`: samples the benchmark filter sent to manual review, and the accept/reject decisions a
person records for them (echo.review)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from echo.commands import open_store
from echo.review import ReviewError, format_review, pending_reviews, record_decision
from echo.store import Store


def cmd_review(args: argparse.Namespace, config) -> int:
    with open_store(config) as store:
        try:
            if args.accept or args.reject:
                for sid in args.accept or []:
                    row = record_decision(store, sid, "accept", reviewer=args.reviewer, note=args.note)
                    print(f"accepted {row['sample_id']}")
                for sid in args.reject or []:
                    row = record_decision(store, sid, "reject", reviewer=args.reviewer, note=args.note)
                    print(f"rejected {row['sample_id']}")
                return 0
        except ReviewError as e:
            print(f"echo-bench review: {e}", file=sys.stderr)
            return 2
        rows = pending_reviews(store, include_decided=args.all, limit=args.limit)
        if args.json:
            print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
            return 0
        interactive = not args.list and sys.stdin.isatty() and sys.stdout.isatty()
        if not rows:
            print("nothing to review")
            return 0
        if not interactive:
            for r in rows:
                print(format_review(r) + "\n")
            print(f"{len(rows)} sample(s); decide with: echo-bench review --accept ID [--note ...] | --reject ID")
            return 0
        return _interactive(store, rows, args.reviewer)


def _interactive(store: Store, rows: list[dict[str, Any]], reviewer: str | None) -> int:
    done = 0
    for i, r in enumerate(rows, 1):
        print(f"\n[{i}/{len(rows)}]\n" + format_review(r))
        while True:
            try:
                answer = input("  [a]ccept, [r]eject, [s]kip, [q]uit > ").strip().lower()
            except EOFError:
                answer = "q"
            if answer in ("a", "r"):
                note = input("  note (optional) > ").strip() or None
                record_decision(store, r["sample_id"], "accept" if answer == "a" else "reject", reviewer=reviewer, note=note)
                done += 1
                break
            if answer in ("s", ""):
                break
            if answer == "q":
                print(f"{done} decision(s) recorded")
                return 0
    print(f"{done} decision(s) recorded")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("review", help="list samples waiting for manual review; accept or reject them",
                       description="Without options: an interactive review when run in a terminal, else a listing.")
    r.add_argument("--list", action="store_true", help="print the listing even in a terminal (no questions)")
    r.add_argument("--all", action="store_true", help="include samples that already have a decision")
    r.add_argument("--limit", type=int, help="at most this many samples")
    r.add_argument("--json", action="store_true", help="the listing as JSON")
    r.add_argument("--accept", action="append", metavar="ID", help="accept this sample (repeatable; a unique id prefix works)")
    r.add_argument("--reject", action="append", metavar="ID", help="reject this sample (repeatable)")
    r.add_argument("--note", help="note stored with --accept/--reject")
    r.add_argument("--reviewer", help="who decides (default: $ECHO_REVIEWER, else the login name)")
    r.set_defaults(func=cmd_review)
