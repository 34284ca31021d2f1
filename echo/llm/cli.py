"""echo-bench review and echo-bench evaluate-extractor.

review: samples the benchmark filter sent to manual review, and the accept/reject decisions a person
records for them in review_decisions (the release step admits accepted samples, keeps rejected ones out).
evaluate-extractor: precision and recall of the stored extraction against the sample corpus answer key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from typing import Any

from echo.store import Store

DECISIONS = ("accept", "reject")


class ReviewError(ValueError):
    pass


# --- library -------------------------------------------------------------------------------------


def pending_reviews(store: Store, *, include_decided: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Samples with benchmark_decision 'manual_review', oldest first, with their evidence posts' text
    and any decision already recorded."""
    rows = store.query(f"""
        SELECT s.sample_id, s.platform, s.root_id, s.anchor_post_id, s.prompt, s.prompt_fill_blank, s.task, s.quality,
               s.review_targets, s.input_media, s.output_media, s.evidence_post_ids, s.is_screenshot, s.notes,
               s.extractor, s.created_at, d.decision, d.reviewer, d.note, d.decided_at
        FROM samples s LEFT JOIN review_decisions d USING (sample_id)
        WHERE s.benchmark_decision = 'manual_review' {'' if include_decided else 'AND d.sample_id IS NULL'}
        ORDER BY s.created_at NULLS LAST, s.sample_id
        {'LIMIT ' + str(int(limit)) if limit else ''}""")
    if not rows:
        return rows
    keys = sorted({f"{r['platform']}\x1f{pid}" for r in rows for pid in (r["evidence_post_ids"] or [])})
    posts = {(p["platform"], p["post_id"]): p for p in store.query(
        "SELECT platform, post_id, author, url, text FROM posts WHERE list_contains(?::VARCHAR[], platform || '\x1f' || post_id)",
        [keys])}
    for r in rows:
        r["evidence"] = [posts.get((r["platform"], pid), {"post_id": pid, "text": None})
                         for pid in (r["evidence_post_ids"] or [])]
    return rows


def record_decision(store: Store, sample_id: str, decision: str, *, reviewer: str | None = None,
                    note: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Store an accept/reject decision for a sample (a later decision replaces an earlier one)."""
    decision = (decision or "").strip().lower()
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    rows = store.query("SELECT sample_id, benchmark_decision, review_targets FROM samples WHERE sample_id = ?", [sample_id])
    if not rows:
        hits = store.query("SELECT sample_id FROM samples WHERE sample_id LIKE ? LIMIT 3", [sample_id + "%"])
        if len(hits) == 1 and len(sample_id) >= 6:
            return record_decision(store, hits[0]["sample_id"], decision, reviewer=reviewer, note=note, now=now)
        raise ReviewError(f"no sample {sample_id!r}" + (" (ambiguous prefix)" if hits else ""))
    row = {
        "sample_id": rows[0]["sample_id"], "decision": decision,
        "reviewer": reviewer or os.environ.get("ECHO_REVIEWER") or _login(),
        "note": note, "targets": rows[0]["review_targets"] or [],
        "decided_at": now or dt.datetime.now(dt.UTC),
    }
    store.upsert("review_decisions", [row])
    return row


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def format_review(r: dict[str, Any]) -> str:
    lines = [f"sample {r['sample_id']}  [{r['platform']}] task={r['task']} quality={r['quality']}"
             f"{'  (chat screenshot)' if r['is_screenshot'] else ''}",
             f"  check:    {', '.join(r['review_targets'] or []) or '-'}",
             f"  prompt:   {r['prompt']!r}" if r["prompt"] else "  prompt:   (none)"]
    if r.get("prompt_fill_blank"):
        lines.append(f"  template: {r['prompt_fill_blank']!r}")
    for name in ("input_media", "output_media"):
        for u in r[name] or []:
            lines.append(f"  {name.split('_')[0]:<8}  {u}")
    for p in r.get("evidence", []):
        text = (p.get("text") or "").replace("\n", " ")
        lines.append(f"  post      {p.get('author') or ''} {p.get('url') or p['post_id']}\n            {text[:300]}")
    if r.get("notes"):
        lines.append(f"  notes:    {r['notes'][:300]}")
    if r.get("decision"):
        lines.append(f"  decided:  {r['decision']} by {r['reviewer']} at {r['decided_at']}" + (f" ({r['note']})" if r["note"] else ""))
    return "\n".join(lines)


# --- commands --------------------------------------------------------------------------------------


def cmd_review(args: argparse.Namespace, config) -> int:
    from echo.cli import _open_store

    with _open_store(config) as store:
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


def cmd_evaluate(args: argparse.Namespace, config) -> int:
    from pathlib import Path

    from echo.cli import _open_store
    from echo import evaluate as ev

    answers_path = Path(args.answers) if args.answers else config.path("samples_dir") / "answers.json"
    try:
        answers = ev.load_answers(answers_path)
    except ev.AnswerKeyError as e:
        print(f"echo-bench evaluate-extractor: {e}", file=sys.stderr)
        return 2
    with _open_store(config, read_only=True) as store:
        report = ev.evaluate(store, answers, threshold=config.filter.relevance_threshold)
    report["answers"] = str(answers_path)
    out = Path(args.out) if args.out else config.path("reports_dir") / "extractor_eval.json"
    ev.write_report(report, out)
    if args.json:
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        return 0
    print(f"{report['trees_stored']}/{report['trees']} trees stored, {report['samples_stored']} samples "
          f"(expected {report['samples_expected']}); extractor: {', '.join(report['extractors']) or '-'}")
    print(f"{'metric':<22}{'precision':>10}{'recall':>8}")
    for name, p, r, extra in ev.summary_rows(report):
        print(f"{name:<22}{p:>10.3f}{r:>8.3f}  {extra}")
    print(f"report: {out}")
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

    e = sub.add_parser("evaluate-extractor", help="precision/recall of stored extraction vs the sample corpus answer key")
    e.add_argument("--answers", help="answer key (default: <samples_dir>/answers.json)")
    e.add_argument("--out", help="report file (default: <reports_dir>/extractor_eval.json)")
    e.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e.set_defaults(func=cmd_evaluate)
