"""Manual review: samples the benchmark filter sent to review, and the accept/reject decisions a person records for
them in review_decisions (the release step admits accepted samples and keeps rejected ones out)."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any

from echo.store import Store

DECISIONS = ("accept", "reject")


class ReviewError(ValueError):
    pass


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
