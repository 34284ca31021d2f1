"""What the run report and the analysis notebook show, read from the live store or the analyst snapshot.

Every function takes `db`: an echo Store (the refresh's live database) or a DuckDB connection (the
read-only analyst snapshot, `echo.analyst.snapshot.open_snapshot`). Both hold the same table names.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from echo.config import Config

EXTRACTOR_LABELS = {"rules": "rules (offline rule-based backend, no LLM)"}
_WORD = re.compile(r"[\w']+", re.UNICODE)


def query(db: Any, sql: str, params: Sequence | None = None) -> list[dict]:
    """Rows as dicts from a Store or a DuckDB connection."""
    if hasattr(db, "query") and hasattr(db, "upsert"):
        return db.query(sql, params)
    cur = db.execute(sql, params) if params is not None else db.execute(sql)
    cols = [d[0] for d in cur.description] if cur.description else []
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _json(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- the run --------------------------------------------------------------------------------------


def latest_run_id(db: Any) -> str | None:
    rows = query(db, "SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
    return rows[0]["run_id"] if rows else None


def run_info(db: Any, run_id: str) -> dict:
    """The runs row of `run_id` with params and stage_stats decoded; KeyError when there is none."""
    rows = query(db, "SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise KeyError(f"no run {run_id!r} in the runs table")
    row = rows[0]
    row["params"] = _json(row.get("params")) or {}
    row["stage_stats"] = _json(row.get("stage_stats")) or {}
    return row


def extractors(db: Any) -> list[dict]:
    """Which extractor made the samples: [{extractor, label, samples}], most samples first."""
    rows = query(db, "SELECT extractor, count(*) AS samples FROM samples GROUP BY extractor ORDER BY samples DESC, extractor")
    for r in rows:
        name = r["extractor"]
        r["label"] = EXTRACTOR_LABELS.get(name, f"{name} (LLM backend)" if name.startswith("llm:") else name)
    return rows


def stage_rows(stage_stats: dict, stage_order: Iterable[str]) -> list[dict]:
    """One row per stage in pipeline order: seconds, counters, and derived rates the stage recorded.

    Throughput counters are any key ending in `_per_s`/`per_second`; prefilter savings and recall are
    keys containing `saved` or `recall`. They are shown as the stage recorded them.
    """
    order = list(stage_order)
    names = [s for s in order if s in stage_stats] + sorted(s for s in stage_stats if s not in order)
    out = []
    for name in names:
        counters = dict(stage_stats[name])
        seconds = counters.pop("seconds", None)
        highlights = {k: v for k, v in counters.items()
                      if k.endswith(("_per_s", "per_second")) or "saved" in k or "recall" in k}
        out.append({"stage": name, "seconds": seconds, "counters": counters, "highlights": highlights})
    return out


def llm_per_sample(llm: list[dict], stage_stats: dict) -> dict | None:
    """Calls and tokens of every LLM step of the run (relevance included) per sample the run extracted."""
    samples = int((stage_stats.get("extract") or {}).get("samples") or 0)
    if not samples:
        return None
    total = {k: sum(int(u[k] or 0) for u in llm) for k in ("calls", "tokens_in", "tokens_out")}
    return {"samples": samples, **{k: round(v / samples, 2) for k, v in total.items()}}


def llm_usage(db: Any, run_id: str) -> list[dict]:
    return query(db, "SELECT step, model, calls, cache_hits, failures, tokens_in, tokens_out FROM llm_usage "
                     "WHERE run_id = ? ORDER BY step, model", [run_id])


# --- the funnel -----------------------------------------------------------------------------------


@dataclass
class ReleaseInfo:
    version: str | None
    sample_ids: set[str] = field(default_factory=set)
    note: str | None = None  # why membership is unknown, when it is


def newest_release(db: Any) -> ReleaseInfo:
    """The newest release and the ids of its benchmark samples (read from its frozen Parquet files)."""
    rows = query(db, "SELECT version, path FROM releases ORDER BY created_at DESC NULLS LAST, version DESC LIMIT 1")
    if not rows:
        return ReleaseInfo(None, note="no release has been frozen yet")
    from echo.release.verify import ReleaseIntegrityError, parent_benchmark_ids

    folder = Path(rows[0]["path"])
    try:
        return ReleaseInfo(rows[0]["version"], parent_benchmark_ids(folder))
    except (OSError, KeyError, ValueError, ReleaseIntegrityError) as e:
        return ReleaseInfo(rows[0]["version"], note=f"release files unreadable at {folder}: {e}")


FUNNEL_STEPS = ("posts", "passed_cheap_filter", "relevant", "samples", "benchmark_quality", "in_release")
FUNNEL_LABELS = {
    "posts": "posts crawled", "passed_cheap_filter": "passed cheap filter", "relevant": "relevant",
    "samples": "samples", "benchmark_quality": "benchmark quality", "in_release": "in newest release",
}


def funnel(db: Any, release: ReleaseInfo) -> list[dict]:
    """Per source: posts -> passed cheap filter -> relevant (prefilter or LLM) -> samples -> benchmark -> released."""
    posts = query(db, """
        WITH flags AS (
            SELECT p.source, p.platform, p.post_id,
                   coalesce(bool_or(r.judge = 'cheap' AND r.passed), false) AS cheap,
                   coalesce(bool_or(r.judge IN ('prefilter', 'llm') AND r.passed), false) AS relevant
            FROM posts p LEFT JOIN relevance r ON r.platform = p.platform AND r.post_id = p.post_id
            GROUP BY ALL)
        SELECT coalesce(source, '(unknown)') AS source, count(*) AS posts,
               count(*) FILTER (WHERE cheap) AS passed_cheap_filter,
               count(*) FILTER (WHERE relevant) AS relevant
        FROM flags GROUP BY 1""")
    samples = query(db, """
        SELECT coalesce(p.source, '(unknown)') AS source, count(*) AS samples,
               count(*) FILTER (WHERE s.quality = 'benchmark') AS benchmark_quality,
               count(*) FILTER (WHERE s.sample_id IN (SELECT unnest(?::VARCHAR[]))) AS in_release
        FROM samples s LEFT JOIN posts p ON p.platform = s.platform AND p.post_id = s.anchor_post_id
        GROUP BY 1""", [sorted(release.sample_ids)])
    by_source: dict[str, dict] = {}
    for r in posts + samples:
        by_source.setdefault(r["source"], {"source": r["source"], **{k: 0 for k in FUNNEL_STEPS}}).update(
            {k: v for k, v in r.items() if k != "source"})
    rows = sorted(by_source.values(), key=lambda r: (-r["posts"], r["source"]))
    if len(rows) > 1:
        rows.append({"source": "all sources", **{k: sum(r[k] for r in rows) for k in FUNNEL_STEPS}})
    return rows


# --- volume ---------------------------------------------------------------------------------------


def daily_posts(db: Any) -> dict[str, dict[dt.date, int]]:
    """platform -> {UTC day: posts created that day}."""
    rows = query(db, """
        SELECT platform, CAST(timezone('UTC', created_at) AS DATE) AS day, count(*) AS n
        FROM posts WHERE created_at IS NOT NULL GROUP BY ALL ORDER BY day, platform""")
    out: dict[str, dict[dt.date, int]] = collections.defaultdict(dict)
    for r in rows:
        out[r["platform"]][r["day"]] = int(r["n"])
    return dict(out)


# --- mixes and feedback ---------------------------------------------------------------------------


def task_mix(db: Any) -> dict[str, int]:
    rows = query(db, "SELECT coalesce(task, 'unknown') AS task, count(*) AS n FROM samples GROUP BY 1")
    found = {r["task"]: int(r["n"]) for r in rows}
    return {t: found.pop(t, 0) for t in ("text_to_image", "image_to_image", "unknown")} | found


def quality_mix(db: Any) -> dict[str, int]:
    rows = query(db, "SELECT quality, count(*) AS n FROM samples GROUP BY 1")
    found = {r["quality"]: int(r["n"]) for r in rows}
    return {q: found.pop(q, 0) for q in ("benchmark", "analysis", "trash")} | found


@dataclass
class FeedbackSummary:
    polarity: dict[str, int]
    failure_keywords: list[tuple[str, int]]
    failure_categories: list[tuple[str, int]]
    samples_with_feedback: int

    @property
    def total(self) -> int:
        return sum(self.polarity.values())


def feedback_summary(db: Any, top: int = 15) -> FeedbackSummary:
    pol = {r["polarity"]: int(r["n"]) for r in query(db, "SELECT polarity, count(*) AS n FROM feedback GROUP BY 1")}
    polarity = {p: pol.pop(p, 0) for p in ("success", "failure", "neutral")} | pol
    kw = query(db, """
        SELECT lower(trim(k)) AS term, count(*) AS n FROM (SELECT unnest(keywords) AS k FROM feedback
        WHERE polarity = 'failure') WHERE trim(k) <> '' GROUP BY 1 ORDER BY n DESC, term LIMIT ?""", [top])
    cats = query(db, """
        SELECT c AS term, count(*) AS n FROM (SELECT unnest(categories) AS c FROM feedback WHERE polarity = 'failure')
        GROUP BY 1 ORDER BY n DESC, term""")
    n_samples = query(db, "SELECT count(DISTINCT sample_id) AS n FROM feedback")[0]["n"]
    return FeedbackSummary(polarity, [(r["term"], int(r["n"])) for r in kw],
                           [(r["term"], int(r["n"])) for r in cats], int(n_samples))


# --- prompts --------------------------------------------------------------------------------------


def mined_prompts(db: Any) -> list[str]:
    """Prompts of the mined samples that are tasks (benchmark or analysis quality), for the dataset statistics."""
    rows = query(db, "SELECT prompt FROM samples WHERE quality <> 'trash' AND coalesce(trim(prompt), '') <> '' "
                     "ORDER BY sample_id")
    return [r["prompt"] for r in rows]


def cluster_points(db: Any, limit: int) -> tuple[str | None, list[dict]]:
    """(clustering_id, [{sample_id, prompt, cluster_id, label}]) of the newest clustering; without one,
    the mined prompts with cluster_id None. Past `limit` prompts, the ones with the smallest sha256 of their
    sample id: a sample of the whole corpus that a nightly run changes by its new samples' share only, so
    the map's stored layout is extended rather than fitted again (the newest N would replace a run's worth)."""
    latest = query(db, "SELECT clustering_id FROM clusterings ORDER BY created_at DESC NULLS LAST, clustering_id DESC LIMIT 1")
    if latest:
        cid = latest[0]["clustering_id"]
        rows = query(db, """
            SELECT c.sample_id, s.prompt, c.cluster_id, c.label FROM clusters c JOIN samples s USING (sample_id)
            WHERE c.clustering_id = ? AND coalesce(trim(s.prompt), '') <> ''
            ORDER BY sha256(c.sample_id), c.sample_id LIMIT ?""", [cid, limit])
        if rows:
            return cid, rows
    rows = query(db, """
        SELECT sample_id, prompt, NULL AS cluster_id, NULL AS label FROM samples
        WHERE quality <> 'trash' AND coalesce(trim(prompt), '') <> ''
        ORDER BY sha256(sample_id), sample_id LIMIT ?""", [limit])
    return None, rows


def load_reference_prompts(folder: str | Path) -> dict[str, list[str]]:
    """dataset name -> prompts, from <folder>/*.jsonl ({"dataset", "prompt", ...} per line)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for f in sorted(folder.glob("*.jsonl")):
        prompts = []
        with f.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError as e:
                    raise ValueError(f"{f}:{i}: not JSON: {e}") from None
                p = doc.get("prompt") if isinstance(doc, dict) else None
                if isinstance(p, str) and p.strip():
                    prompts.append(p.strip())
        out[f.stem] = prompts
    return out


REFERENCE_NAMES = {"partiprompts": "PartiPrompts", "geneval": "GenEval", "diffusiondb": "DiffusionDB"}


def words(prompt: str) -> list[str]:
    return _WORD.findall(prompt.lower())


def first_bigram(prompt: str) -> str | None:
    w = words(prompt)
    return " ".join(w[:2]) if w else None


@dataclass(frozen=True)
class PromptStats:
    dataset: str
    prompts: int
    median_words: float
    mean_words: float
    distinct_first_bigrams: int

    @property
    def bigram_diversity(self) -> float:
        """Distinct first bigrams / prompts: 1.0 when no two prompts start alike."""
        return self.distinct_first_bigrams / self.prompts if self.prompts else 0.0


def prompt_stats(dataset: str, prompts: Sequence[str]) -> PromptStats:
    import statistics

    lengths = [len(words(p)) for p in prompts]
    bigrams = {b for b in (first_bigram(p) for p in prompts) if b}
    return PromptStats(dataset, len(prompts), float(statistics.median(lengths)) if lengths else 0.0,
                       float(statistics.fmean(lengths)) if lengths else 0.0, len(bigrams))


# --- gallery --------------------------------------------------------------------------------------


@dataclass
class GalleryItem:
    sample_id: str
    prompt: str
    task: str | None
    platform: str
    posted_at: dt.datetime | None
    post_url: str | None
    inputs: list[str]   # data: URIs of input thumbnails
    outputs: list[str]  # data: URIs of output thumbnails
    feedback: list[dict]  # [{polarity, keywords, categories}]


def _thumb_uri(media_dir: Path, thumb_path: str | None) -> str | None:
    """data: URI of a stored thumbnail; None when missing or outside the media store."""
    if not thumb_path:
        return None
    root = media_dir.resolve()
    p = (root / thumb_path).resolve()
    if not p.is_relative_to(root) or not p.is_file():
        return None
    mime = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".gif": "image/gif"}.get(p.suffix.lower())
    if mime is None:
        return None
    return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def gallery(db: Any, config: Config, size: int) -> tuple[list[GalleryItem], int]:
    """The newest benchmark-quality samples that have a stored output image, and how many such samples exist."""
    rows = query(db, """
        WITH thumbs AS (SELECT url, thumb_path FROM media WHERE status = 'ok' AND thumb_path IS NOT NULL),
        cand AS (
            SELECT s.sample_id, s.prompt, s.task, s.platform, s.input_media, s.output_media,
                   p.created_at AS posted_at, p.url AS post_url
            FROM samples s LEFT JOIN posts p ON p.platform = s.platform AND p.post_id = s.anchor_post_id
            WHERE s.quality = 'benchmark'
              AND s.sample_id IN (SELECT o.sample_id FROM (SELECT sample_id, unnest(output_media) AS url FROM samples) o
                                  JOIN thumbs t ON t.url = o.url))
        SELECT *, count(*) OVER () AS n_total FROM cand
        ORDER BY posted_at DESC NULLS LAST, sample_id LIMIT ?""", [size])
    if not rows:
        return [], 0
    urls = sorted({u for r in rows for u in (r["input_media"] or []) + (r["output_media"] or [])})
    thumbs = {r["url"]: r["thumb_path"] for r in query(
        db, "SELECT url, thumb_path FROM media WHERE status = 'ok' AND url IN (SELECT unnest(?::VARCHAR[]))", [urls])}
    ids = [r["sample_id"] for r in rows]
    fb: dict[str, list[dict]] = collections.defaultdict(list)
    for f in query(db, "SELECT sample_id, polarity, keywords, categories FROM feedback "
                       "WHERE sample_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY sample_id, post_id", [ids]):
        fb[f["sample_id"]].append(f)
    media_dir = config.path("media_dir")
    items = []
    for r in rows:
        def uris(urls: list[str] | None) -> list[str]:
            return [u for u in (_thumb_uri(media_dir, thumbs.get(x)) for x in (urls or [])) if u]

        items.append(GalleryItem(r["sample_id"], r["prompt"] or "", r["task"], r["platform"], r["posted_at"],
                                 r["post_url"], uris(r["input_media"])[:2], uris(r["output_media"])[:2],
                                 fb.get(r["sample_id"], [])))
    return items, int(rows[0]["n_total"])


# --- duplicates -----------------------------------------------------------------------------------


def duplicate_groups(db: Any, limit: int = 50) -> list[dict]:
    """Groups with more than one sample, from the duplicate_groups view: kept and dropped with reasons."""
    return query(db, """
        SELECT group_id, sample_id, is_canonical, method, similarity, prompt, reason FROM duplicate_groups
        WHERE group_id IN (SELECT group_id FROM duplicates GROUP BY group_id HAVING count(*) > 1
                           ORDER BY count(*) DESC, group_id LIMIT ?)
        ORDER BY group_id, is_canonical DESC, sample_id""", [limit])
