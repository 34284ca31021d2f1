"""Select what a release contains and build its rows from the database (pure reads, no writes).

Rules (README, "Releases"):
- benchmark configs (text_to_image, image_to_image): quality 'benchmark', a prompt, a known task, and
  benchmark_decision 'benchmark' or 'manual_review' accepted in review_decisions; image_to_image needs an
  input image in the media store;
- analysis: every other usable sample (never trash, never discarded, never rejected-and-trash);
- NSFW samples are left out of every config unless release.include_nsfw;
- one sample per duplicate group: the canonical, except that a sample in the parent's benchmark configs
  keeps its place (sticky membership) and then represents its group;
- a sample rejected in review never enters the benchmark configs.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from echo.config import Config
from echo.records import TASKS
from echo.privacy import Pseudonymizer
from echo.release.rows import BENCHMARK_CONFIGS, CONFIGS, arrow_schema
from echo.store import Store

log = logging.getLogger("echo.release")


class LeakageError(AssertionError):
    """A duplicate group (or a sample) would appear in more than one config."""


@dataclass
class ReleaseContent:
    rows: dict[str, list[dict]]
    excluded: collections.Counter = field(default_factory=collections.Counter)
    # why a sample that is in the database is not in a benchmark config (for the changelog)
    reasons: dict[str, str] = field(default_factory=dict)
    source_runs: list[str] = field(default_factory=list)
    first_post: str | None = None
    last_post: str | None = None

    def ids(self, configs=CONFIGS) -> set[str]:
        return {r["id"] for c in configs for r in self.rows[c]}


def _table_exists(store: Store, name: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]))


def review_decisions(store: Store) -> dict[str, str]:
    """sample_id -> 'accept' | 'reject' (the newest decision when the table has a time column).

    The table belongs to `echo-bench review`; a database without it has no decisions.
    """
    if not _table_exists(store, "review_decisions"):
        return {}
    cols = {r["column_name"] for r in store.query(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'review_decisions'")}
    order = next((c for c in ("decided_at", "reviewed_at", "created_at", "updated_at") if c in cols), None)
    sql = "SELECT sample_id, lower(decision) AS decision FROM review_decisions"
    if order:
        sql += f' ORDER BY "{order}" NULLS FIRST, decision'
    out: dict[str, str] = {}
    for r in store.query(sql):
        if order:
            out[r["sample_id"]] = r["decision"]
        else:  # no time to order by: any rejection wins
            out[r["sample_id"]] = "reject" if "reject" in (out.get(r["sample_id"]), r["decision"]) else r["decision"]
    return out


def _media_refs(store: Store, keep_urls: bool) -> dict[str, dict]:
    refs = {}
    for m in store.query("SELECT url, sha256, path, width, height FROM media "
                         "WHERE status = 'ok' AND sha256 IS NOT NULL AND path IS NOT NULL"):
        refs[m["url"]] = {"sha256": m["sha256"], "path": m["path"], "url": m["url"] if keep_urls else None,
                          "width": m["width"], "height": m["height"]}
    return refs


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.UTC).isoformat() if t is not None else None


def build_content(store: Store, config: Config, pseudonymize: Pseudonymizer,
                  parent_benchmark: set[str] | None = None) -> ReleaseContent:
    rel = config.release
    parent_benchmark = parent_benchmark or set()
    # the columns a row is built from, no more: each timestamp costs a conversion to Python
    samples = store.query(
        "SELECT s.sample_id, s.platform, s.prompt, s.prompt_modified, s.prompt_fill_blank, s.task, s.quality, "
        "s.input_media, s.output_media, s.is_screenshot, s.input_boxes, s.has_nsfw, s.benchmark_decision, "
        "s.extractor, s.extractor_version, s.run_id, "
        "p.created_at AS posted_at, p.author AS post_author, p.url AS post_url "
        "FROM samples s LEFT JOIN posts p ON p.platform = s.platform AND p.post_id = s.anchor_post_id "
        "ORDER BY s.sample_id")
    dups = {r["sample_id"]: r for r in store.query(
        "SELECT sample_id, group_id, canonical_sample_id, is_canonical FROM duplicates")}
    reviews = review_decisions(store)
    media = _media_refs(store, rel.keep_urls)

    evidence_runs: dict[str, set[str]] = collections.defaultdict(set)
    for r in store.query(
            "SELECT e.sample_id, p.run_id FROM (SELECT sample_id, platform, unnest(evidence_post_ids) AS pid "
            "FROM samples) e JOIN posts p ON p.platform = e.platform AND p.post_id = e.pid WHERE p.run_id IS NOT NULL"):
        evidence_runs[r["sample_id"]].add(r["run_id"])

    feedback: dict[str, list[dict]] = collections.defaultdict(list)
    for r in store.query(
            "SELECT f.sample_id, f.platform, f.polarity, f.keywords, f.categories, p.author FROM feedback f "
            "LEFT JOIN posts p ON p.platform = f.platform AND p.post_id = f.post_id "
            "ORDER BY f.sample_id, p.created_at NULLS LAST, f.post_id"):
        feedback[r["sample_id"]].append({
            "polarity": r["polarity"], "keywords": sorted(r["keywords"] or []),
            "categories": sorted(r["categories"] or []), "author": pseudonymize(r["platform"], r["author"])})

    clusters: dict[str, tuple[int, str | None]] = {}
    newest = store.scalar("SELECT clustering_id FROM clusterings ORDER BY created_at DESC NULLS LAST, clustering_id DESC LIMIT 1")
    if newest is not None:
        for r in store.query("SELECT sample_id, cluster_id, label FROM clusters WHERE clustering_id = ?", [newest]):
            clusters[r["sample_id"]] = (r["cluster_id"], r["label"])

    content = ReleaseContent(rows={c: [] for c in CONFIGS})
    placed: dict[str, str] = {}  # sample_id -> config
    by_id = {s["sample_id"]: s for s in samples}
    for s in samples:
        sid = s["sample_id"]
        review = reviews.get(sid)
        if s["quality"] == "trash":
            content.excluded["trash"] += 1
            content.reasons[sid] = "now trash"
            continue
        if s["benchmark_decision"] == "discard":
            content.excluded["discarded"] += 1
            content.reasons[sid] = "discarded"
            continue
        if s["has_nsfw"] and not rel.include_nsfw:
            content.excluded["nsfw"] += 1
            content.reasons[sid] = "marked NSFW"
            continue
        inputs = [media[u] for u in (s["input_media"] or []) if u in media]
        s["_inputs"], s["_outputs"] = inputs, [media[u] for u in (s["output_media"] or []) if u in media]
        fits_task = s["task"] in TASKS and bool((s["prompt"] or "").strip()) and (
            s["task"] != "image_to_image" or bool(inputs))
        decided = s["benchmark_decision"] == "benchmark" or (
            s["benchmark_decision"] == "manual_review" and review == "accept")
        if review == "reject":
            content.reasons[sid] = "rejected in review"
        if fits_task and review != "reject" and (
                (s["quality"] == "benchmark" and decided) or sid in parent_benchmark):
            placed[sid] = s["task"]
        else:
            placed[sid] = "analysis"
            if sid in parent_benchmark and sid not in content.reasons:
                content.reasons[sid] = "no longer a complete benchmark task"

    # One sample per duplicate group.
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for sid in placed:
        d = dups.get(sid)
        groups[d["group_id"] if d else f"single:{sid}"].append(sid)
    keep: dict[str, str] = {}  # sample_id -> group id
    for gid, members in groups.items():
        sticky = sorted((m for m in members if m in parent_benchmark and placed[m] in BENCHMARK_CONFIGS),
                        key=lambda m: (not (dups.get(m) or {"is_canonical": True})["is_canonical"], m))
        if sticky:
            chosen = sticky[0]
        else:
            canon = [m for m in members if (dups.get(m) or {"is_canonical": True})["is_canonical"]]
            chosen = canon[0] if canon else None
        for m in members:
            if m == chosen:
                keep[m] = gid
            else:
                content.excluded["duplicate"] += 1
                content.reasons.setdefault(m, "duplicate of another released sample")

    runs: set[str] = set()
    posted: list[dt.datetime] = []
    for sid in sorted(keep):
        s = by_id[sid]
        cfg = placed[sid]
        c_id, c_label = clusters.get(sid, (None, None))
        sample_runs = sorted(({s["run_id"]} if s["run_id"] else set()) | evidence_runs.get(sid, set()))
        runs.update(sample_runs)
        if s["posted_at"] is not None:
            posted.append(s["posted_at"])
        row: dict[str, Any] = {
            "id": sid, "prompt": s["prompt"], "prompt_modified": bool(s["prompt_modified"]),
            "prompt_fill_blank": s["prompt_fill_blank"], "task": s["task"],
            "input_images": s["_inputs"], "output_images": s["_outputs"],
            "quality": s["quality"], "is_screenshot": bool(s["is_screenshot"]),
            "input_boxes": (json.dumps(json.loads(s["input_boxes"]), sort_keys=True, ensure_ascii=False)
                            if s["input_boxes"] is not None else None),
            "community_feedback": feedback.get(sid, []), "has_nsfw": bool(s["has_nsfw"]),
            "platform": s["platform"],
            "posted_at": s["posted_at"].astimezone(dt.UTC) if s["posted_at"] is not None else None,
            "author": pseudonymize(s["platform"], s["post_author"]),
            "post_url": s["post_url"] if rel.keep_urls else None,
            "duplicate_group_id": None if keep[sid].startswith("single:") else keep[sid],
            "cluster_id": c_id, "cluster_label": c_label,
            "provenance": {"run_ids": sample_runs, "extractor": s["extractor"],
                           "extractor_version": s["extractor_version"]},
        }
        names = arrow_schema(cfg).names
        content.rows[cfg].append({k: row[k] for k in names})

    content.source_runs = sorted(runs)
    content.first_post = _iso(min(posted)) if posted else None
    content.last_post = _iso(max(posted)) if posted else None
    assert_no_leakage(content.rows)
    return content


def assert_no_leakage(rows: dict[str, list[dict]]) -> None:
    """No sample and no duplicate group may appear in two configs (nor twice in one)."""
    seen_ids: dict[str, str] = {}
    seen_groups: dict[str, str] = {}
    for cfg in CONFIGS:
        for r in rows.get(cfg, []):
            if r["id"] in seen_ids:
                raise LeakageError(f"sample {r['id']} is in both {seen_ids[r['id']]} and {cfg}")
            seen_ids[r["id"]] = cfg
            g = r.get("duplicate_group_id")
            if g is not None:
                if g in seen_groups:
                    raise LeakageError(f"duplicate group {g} spans {seen_groups[g]} and {cfg}")
                seen_groups[g] = cfg
