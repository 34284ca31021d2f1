"""Precision and recall of the extraction chain against an answer key (data/samples/answers.json).

Compares what a run stored (relevance, samples, image roles, feedback) with what the key says each
tree should give. Works for any backend; `echo-bench evaluate-extractor` prints and writes the report.

Metrics (each with tp/fp/fn, precision, recall, f1):
- relevance: trees whose root passed relevance (llm score >= threshold, or prefilter pass) vs `relevant`;
- samples: predicted samples matched one-to-one to expected ones within a tree (shared evidence posts,
  then prompt similarity); unmatched predictions are false positives, unmatched expectations misses;
- prompt_exact: prompts equal after normalization (case, quotes, HTML escapes, spacing, edge punctuation);
- task, quality: per class over matched samples (precision/recall per label, macro average, accuracy);
- image_roles: (url, role) pairs of matched samples; a chat screenshot counts as (url, 'screenshot');
- feedback: which replies judge a sample (any polarity but neutral); feedback_polarity: the same posts
  with the right polarity; feedback_categories: (post, category) pairs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from echo.store import Store

REPORT_VERSION = "extractor-eval.v1"


class AnswerKeyError(ValueError):
    """The answer key is missing or not in the expected format."""


def load_answers(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise AnswerKeyError(f"answer key {p} not found (the sample corpus writes data/samples/answers.json: "
                             "python scripts/make_samples.py)")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:
        raise AnswerKeyError(f"{p}: not valid JSON: {e}") from None
    trees = doc.get("trees") if isinstance(doc, dict) else None
    if not isinstance(trees, list) or not trees:
        raise AnswerKeyError(f"{p}: expected an object with a non-empty 'trees' list")
    for i, t in enumerate(trees):
        missing = [k for k in ("platform", "root_post_id", "relevant", "samples") if k not in t]
        if missing:
            raise AnswerKeyError(f"{p}: trees[{i}] lacks {missing}")
    return doc


# --- normalization -------------------------------------------------------------------------------


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'", "«": '"', "»": '"'})


def normalize_prompt(s: str | None) -> str:
    if not s:
        return ""
    s = html.unescape(s).translate(_QUOTES).lower()
    s = re.sub(r"\s+", " ", s).strip()
    return s.strip(" \"'.,;:!…")


def normalize_url(u: str) -> str:
    """Media URLs compare without query strings (reddit preview '?width=...&amp;s=...' variants)."""
    parts = urlsplit(html.unescape(u))
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, "", ""))


# --- scoring helpers -------------------------------------------------------------------------------


@dataclass
class PR:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def as_dict(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}

    def sets(self, predicted: set, expected: set) -> None:
        self.tp += len(predicted & expected)
        self.fp += len(predicted - expected)
        self.fn += len(expected - predicted)


def classification(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, Any]:
    """Per-label precision/recall over (expected, predicted) label pairs; None expected labels are skipped."""
    per: dict[str, PR] = defaultdict(PR)
    n = correct = 0
    for exp, pred in pairs:
        if exp is None:
            continue
        n += 1
        if pred == exp:
            correct += 1
            per[exp].tp += 1
        else:
            per[exp].fn += 1
            if pred is not None:
                per[pred].fp += 1
    labels = {k: v.as_dict() for k, v in sorted(per.items())}
    macro_p = sum(v["precision"] for v in labels.values()) / len(labels) if labels else 0.0
    macro_r = sum(v["recall"] for v in labels.values()) / len(labels) if labels else 0.0
    return {"precision": round(macro_p, 4), "recall": round(macro_r, 4),
            "accuracy": round(correct / n, 4) if n else 0.0, "n": n, "per_label": labels}


# --- loading what the run stored ----------------------------------------------------------------------


def _stored(store: Store, keys: set[tuple[str, str]], threshold: int) -> dict[str, Any]:
    roots = [f"{p}\x1f{r}" for p, r in keys]
    passed = {(r["platform"], r["post_id"]) for r in store.query(
        "SELECT DISTINCT platform, post_id FROM relevance WHERE list_contains(?::VARCHAR[], platform || '\x1f' || post_id) "
        "AND ((stage = 'llm' AND score >= ?) OR (stage = 'prefilter' AND passed))", [roots, threshold])}
    present = {(r["platform"], r["post_id"]) for r in store.query(
        "SELECT platform, post_id FROM posts WHERE list_contains(?::VARCHAR[], platform || '\x1f' || post_id)", [roots])}
    samples = store.query(
        "SELECT sample_id, platform, root_id, anchor_post_id, prompt, prompt_fill_blank, task, quality, input_media, "
        "output_media, evidence_post_ids, is_screenshot, benchmark_decision, review_targets, extractor, extractor_version "
        "FROM samples WHERE list_contains(?::VARCHAR[], platform || '\x1f' || root_id)", [roots])
    sids = [s["sample_id"] for s in samples]
    shots = defaultdict(set)
    for r in store.query("SELECT sample_id, url FROM image_roles WHERE is_screenshot AND list_contains(?::VARCHAR[], sample_id)",
                         [sids]):
        shots[r["sample_id"]].add(r["url"])
    feedback = store.query(
        "SELECT platform, post_id, sample_id, polarity, categories FROM feedback WHERE list_contains(?::VARCHAR[], sample_id)",
        [sids])
    return {"passed": passed, "present": present, "samples": samples, "screenshots": shots, "feedback": feedback}


# --- matching ------------------------------------------------------------------------------------------


def _match(expected: list[dict], predicted: list[dict]) -> list[tuple[dict, dict]]:
    """One-to-one pairs: a prediction and an expectation that share evidence posts, best prompt fit first."""
    cands = []
    for i, e in enumerate(expected):
        e_ev = set(e.get("evidence_post_ids") or [])
        for j, p in enumerate(predicted):
            p_ev = set(p.get("evidence_post_ids") or []) | {p["anchor_post_id"]}
            overlap = len(e_ev & p_ev)
            if not overlap:
                continue
            sim = difflib.SequenceMatcher(None, normalize_prompt(e.get("prompt")), normalize_prompt(p.get("prompt"))).ratio()
            anchor = 1.0 if e.get("anchor_post_id") == p["anchor_post_id"] else 0.0
            cands.append((sim + overlap / len(e_ev | p_ev) + 0.1 * anchor, i, j))
    pairs, used_e, used_p = [], set(), set()
    for _score, i, j in sorted(cands, reverse=True):
        if i in used_e or j in used_p:
            continue
        used_e.add(i)
        used_p.add(j)
        pairs.append((expected[i], predicted[j]))
    return pairs


def _roles(s: dict, screenshots: set[str], expected: bool) -> set[tuple[str, str]]:
    if expected:
        if s.get("is_screenshot"):
            return {(normalize_url(u), "screenshot") for u in set(s.get("output_images") or []) | set(s.get("input_images") or [])}
        return ({(normalize_url(u), "input") for u in s.get("input_images") or []}
                | {(normalize_url(u), "output") for u in s.get("output_images") or []})
    out = set()
    for u in s.get("input_media") or []:
        out.add((normalize_url(u), "screenshot" if u in screenshots else "input"))
    for u in s.get("output_media") or []:
        out.add((normalize_url(u), "screenshot" if u in screenshots else "output"))
    return out


# --- the evaluation ----------------------------------------------------------------------------------------


def evaluate(store: Store, answers: dict[str, Any], *, threshold: int = 4, max_examples: int = 25) -> dict[str, Any]:
    trees = answers["trees"]
    keys = {(t["platform"], t["root_post_id"]) for t in trees}
    got = _stored(store, keys, threshold)
    samples_by_tree: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in got["samples"]:
        samples_by_tree[(s["platform"], s["root_id"])].append(s)

    relevance, detection, prompts, roles = PR(), PR(), PR(), PR()
    fb_detect, fb_polarity, fb_cats, screenshots = PR(), PR(), PR(), PR()
    task_pairs, quality_pairs = [], []
    examples: dict[str, list] = defaultdict(list)

    def note(kind: str, item: dict) -> None:
        if len(examples[kind]) < max_examples:
            examples[kind].append(item)

    exp_fb: dict[tuple[str, str], dict] = {}
    for t in trees:
        key = (t["platform"], t["root_post_id"])
        pred_rel = key in got["passed"]
        relevance.sets({key} if pred_rel else set(), {key} if t["relevant"] else set())
        if pred_rel != bool(t["relevant"]):
            note("relevance_wrong", {"tree": t.get("tree_id"), "root": t["root_post_id"], "expected": t["relevant"],
                                     "categories": t.get("categories"), "root_stored": key in got["present"]})
        expected = t["samples"]
        predicted = samples_by_tree.get(key, [])
        pairs = _match(expected, predicted)
        detection.tp += len(pairs)
        detection.fn += len(expected) - len(pairs)
        detection.fp += len(predicted) - len(pairs)
        matched_e = {id(e) for e, _ in pairs}
        matched_p = {id(p) for _, p in pairs}
        for e in expected:
            if id(e) not in matched_e:
                note("sample_missed", {"tree": t.get("tree_id"), "categories": t.get("categories"), "prompt": e.get("prompt")})
        for p in predicted:
            if id(p) not in matched_p:
                note("sample_extra", {"tree": t.get("tree_id"), "categories": t.get("categories"), "prompt": p.get("prompt"),
                                      "quality": p["quality"]})
        for p in predicted:
            if p.get("prompt"):
                prompts.fp += 1  # taken back below when it matches
        for e, p in pairs:
            ne, np_ = normalize_prompt(e.get("prompt")), normalize_prompt(p.get("prompt"))
            if ne and ne == np_:
                prompts.tp += 1
                prompts.fp -= 1
            elif ne:
                prompts.fn += 1
                note("prompt_wrong", {"tree": t.get("tree_id"), "categories": t.get("categories"),
                                      "expected": e.get("prompt"), "got": p.get("prompt")})
            task_pairs.append((e.get("task"), p.get("task")))
            quality_pairs.append((e.get("quality"), p.get("quality")))
            if e.get("task") != p.get("task") and e.get("task"):
                note("task_wrong", {"tree": t.get("tree_id"), "categories": t.get("categories"), "expected": e.get("task"),
                                    "got": p.get("task")})
            if e.get("quality") != p.get("quality"):
                note("quality_wrong", {"tree": t.get("tree_id"), "categories": t.get("categories"),
                                       "expected": e.get("quality"), "got": p.get("quality")})
            r_pred = _roles(p, got["screenshots"].get(p["sample_id"], set()), expected=False)
            r_exp = _roles(e, set(), expected=True)
            roles.sets(r_pred, r_exp)
            if r_pred != r_exp:
                note("roles_wrong", {"tree": t.get("tree_id"), "categories": t.get("categories"),
                                     "expected": sorted(r_exp), "got": sorted(r_pred)})
            screenshots.sets({1} if p.get("is_screenshot") else set(), {1} if e.get("is_screenshot") else set())
        for e in expected:
            for f in e.get("feedback") or []:
                exp_fb[(t["platform"], f["post_id"])] = f
        for e in expected:
            if id(e) not in matched_e and normalize_prompt(e.get("prompt")):
                prompts.fn += 1

    pred_fb = {(f["platform"], f["post_id"]): f for f in got["feedback"] if f["polarity"] != "neutral"}
    fb_detect.sets(set(pred_fb), set(exp_fb))
    fb_polarity.sets({(k, f["polarity"]) for k, f in pred_fb.items()}, {(k, f["polarity"]) for k, f in exp_fb.items()})
    fb_cats.sets({(k, c) for k, f in pred_fb.items() for c in (f["categories"] or [])},
                 {(k, c) for k, f in exp_fb.items() for c in (f.get("categories") or [])})
    for k in set(pred_fb) ^ set(exp_fb):
        note("feedback_wrong", {"post_id": k[1], "expected": exp_fb.get(k, {}).get("polarity"),
                                "got": pred_fb.get(k, {}).get("polarity")})
    for k in set(pred_fb) & set(exp_fb):
        pc, ec = sorted(pred_fb[k]["categories"] or []), sorted(exp_fb[k].get("categories") or [])
        if pc != ec or pred_fb[k]["polarity"] != exp_fb[k]["polarity"]:
            note("feedback_label_wrong", {"post_id": k[1], "expected": [exp_fb[k]["polarity"], ec],
                                          "got": [pred_fb[k]["polarity"], pc]})

    extractors = sorted({f"{s['extractor']} {s['extractor_version']}" for s in got["samples"]})
    return {
        "version": REPORT_VERSION,
        "computed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "trees": len(trees),
        "trees_stored": len(keys & got["present"]),
        "samples_expected": sum(len(t["samples"]) for t in trees),
        "samples_stored": len(got["samples"]),
        "extractors": extractors,
        "metrics": {
            "relevance": relevance.as_dict(),
            "samples": detection.as_dict(),
            "prompt_exact": prompts.as_dict(),
            "task": classification(task_pairs),
            "quality": classification(quality_pairs),
            "image_roles": roles.as_dict(),
            "screenshots": screenshots.as_dict(),
            "feedback": fb_detect.as_dict(),
            "feedback_polarity": fb_polarity.as_dict(),
            "feedback_categories": fb_cats.as_dict(),
        },
        "examples": dict(examples),
    }


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(p)
    return p


def summary_rows(report: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(metric, precision, recall, extra) for printing."""
    rows = []
    for name, m in report["metrics"].items():
        extra = f"acc {m['accuracy']:.3f} n={m['n']}" if "accuracy" in m else f"tp={m['tp']} fp={m['fp']} fn={m['fn']}"
        rows.append((name, m["precision"], m["recall"], extra))
    return rows
