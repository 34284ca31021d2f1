"""`echo-bench media`: status counts, failures by reason, and retrying failed downloads."""

from __future__ import annotations

import argparse
import json
import sys

from echo.commands import open_store


def register(subparsers) -> None:
    p = subparsers.add_parser("media", help="media status counts and failures; --retry-failed downloads them again")
    p.add_argument("--failures", type=int, default=10, metavar="N", help="list up to N failed URLs (default 10)")
    p.add_argument("--retry-failed", action="store_true",
                   help="reset failed downloads (also final ones) and run the media stage now")
    p.add_argument("--reason", action="append", metavar="CODE",
                   help="with --retry-failed: only failures with this reason code (repeatable), e.g. timeout")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_media)


def summary(store, config, *, failures: int = 10) -> dict:
    by_status = {r["status"]: r["n"] for r in store.query(
        "SELECT status, count(*) AS n FROM media WHERE parent_url IS NULL GROUP BY status ORDER BY status")}
    reasons = {r["reason"]: r["n"] for r in store.query(
        """SELECT split_part(split_part(error, ':', 1), ' ', 1) AS reason, count(*) AS n FROM media
           WHERE status = 'failed' GROUP BY reason ORDER BY n DESC, reason""")}
    retrying = store.scalar("SELECT count(*) FROM media WHERE status = 'failed' AND retryable")
    files = store.query(
        "SELECT count(DISTINCT sha256) AS n, sum(size_bytes) AS b FROM "
        "(SELECT DISTINCT sha256, size_bytes FROM media WHERE status = 'ok')")[0]
    shots = store.query(
        """SELECT count(*) FILTER (WHERE is_chat) AS chat, count(*) AS checked,
                  count(*) FILTER (WHERE is_chat AND coalesce(prompt, '') <> '') AS with_prompt
           FROM screenshot_ocr""")[0]
    crops = store.scalar("SELECT count(*) FROM media WHERE parent_url IS NOT NULL")
    from echo.stages.media import pending_urls

    pending, _ = pending_urls(store, config)
    failed = store.query(
        "SELECT url, error, attempts, retryable FROM media WHERE status = 'failed' ORDER BY fetched_at DESC, url LIMIT ?",
        [failures])
    return {
        "by_status": by_status, "pending": len(pending), "failures_by_reason": reasons, "retrying": int(retrying or 0),
        "stored_files": int(files["n"] or 0), "stored_bytes": int(files["b"] or 0),
        "screenshots": {"ocr_checked": int(shots["checked"] or 0), "chat": int(shots["chat"] or 0),
                        "with_prompt": int(shots["with_prompt"] or 0), "crops": int(crops or 0)},
        "recent_failures": failed,
    }


def reset_failed(store, reasons: list[str] | None = None) -> int:
    """Make failed downloads pending again (attempts reset); returns how many."""
    rows = store.query("SELECT url, error FROM media WHERE status = 'failed'")
    if reasons:
        rows = [r for r in rows if (r["error"] or "").split(":", 1)[0].split(" ", 1)[0] in set(reasons)]
    store.upsert("media", [{"url": r["url"], "status": "pending", "retryable": True, "attempts": 0} for r in rows],
                 update=["status", "retryable", "attempts"])
    return len(rows)


def _print(s: dict) -> None:
    print("media by status: " + (", ".join(f"{k}={v}" for k, v in s["by_status"].items()) or "none"))
    print(f"pending downloads: {s['pending']}   failed and retrying next run: {s['retrying']}")
    print(f"stored files: {s['stored_files']} ({s['stored_bytes'] / 1e6:.1f} MB)")
    sc = s["screenshots"]
    print(f"screenshots: {sc['chat']} chat of {sc['ocr_checked']} OCR'd, {sc['with_prompt']} with a prompt, "
          f"{sc['crops']} crops")
    if s["failures_by_reason"]:
        print("failures by reason:")
        for reason, n in s["failures_by_reason"].items():
            print(f"  {reason:<24} {n}")
    if s["recent_failures"]:
        print("recent failures:")
        for r in s["recent_failures"]:
            print(f"  {r['url']}\n    {r['error']} (attempts {r['attempts']}{', will retry' if r['retryable'] else ''})")


def cmd_media(args: argparse.Namespace, config) -> int:
    store = open_store(config, read_only=not args.retry_failed)  # a busy database: echo.cli's one-line error
    with store:
        if args.retry_failed:
            from echo import pipeline

            n = reset_failed(store, args.reason)
            print(f"reset {n} failed download(s); running the media stage")
            try:
                ctx = pipeline.refresh(config, store, trigger="cli", only=["media"], progress=True,
                                       params={"retry_failed": True})
            except pipeline.StageFailed as e:
                print(f"echo-bench: {e}", file=sys.stderr)
                return 1
            print("media stage: " + ", ".join(f"{k}={v}" for k, v in sorted(ctx.stats["media"].items())))
        s = summary(store, config, failures=args.failures)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        _print(s)
    return 0
