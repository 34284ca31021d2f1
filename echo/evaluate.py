"""Scoring what a run stored against a corpus's answer key (data/samples, tests/data/realistic).

Two reports over the same stored rows. `score_corpus` (`echo-bench evaluate`): prompts found by token F1
(echo.text), relevance, task, quality, feedback, duplicate groups and samples from trees that are not
relevant, overall, per tree pattern and per split; `echo-bench evaluate CORPUS_DIR` first imports the corpus
into a fresh temporary database and runs crawl..dedup on it. `evaluate` (`echo-bench evaluate-extractor`),
the older per-metric report, compares relevance, samples, image roles and feedback with what the key says
each tree should give. Both work for any backend.

`evaluate` metrics:

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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from echo.store import Store
from echo.text import bare_prompt

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


def normalize_prompt(s: str | None) -> str:
    """The comparison form of echo.text, after HTML escapes are undone (answer keys hold the plain text)."""
    return bare_prompt(html.unescape(s)) if s else ""


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
        "AND ((judge = 'llm' AND score >= ?) OR (judge = 'prefilter' AND passed))", [roots, threshold])}
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


def _stored_by_tree(store: Store, trees: list[dict], threshold: int
                    ) -> tuple[dict[str, Any], dict[tuple[str, str], list[dict]]]:
    """What the store holds for the answer key's trees, and its samples grouped by (platform, root id)."""
    got = _stored(store, {(t["platform"], t["root_post_id"]) for t in trees}, threshold)
    samples_by_tree: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in got["samples"]:
        samples_by_tree[(s["platform"], s["root_id"])].append(s)
    return got, samples_by_tree


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
    got, samples_by_tree = _stored_by_tree(store, trees, threshold)

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
        "trees_stored": len(got["present"]),
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


# --- corpus evaluation (echo-bench evaluate) ------------------------------------------------------------------------
#
# Scores any corpus with an answer key (data/samples, tests/data/realistic) overall, per tree pattern and per
# split. A predicted prompt "is found" when its token F1 (echo.text) with the expected one is >= FOUND_F1; an
# unfilled template (expected prompt null) is found through prompt_fill_blank.

CORPUS_REPORT_VERSION = "corpus-eval.v1"
FOUND_F1 = 0.9


def _prompt_text(s: dict, template: bool) -> str | None:
    return s.get("prompt_fill_blank") if template else s.get("prompt")


def _prompt_pairs(expected: list[dict], predicted: list[dict]) -> list[tuple[dict, dict, float]]:
    """One-to-one (expected, predicted, token F1) pairs with F1 >= FOUND_F1, best first."""
    from echo.text import token_f1

    cands = []
    for i, e in enumerate(expected):
        template = e.get("prompt") is None
        exp = _prompt_text(e, template)
        if not exp:
            continue
        for j, p in enumerate(predicted):
            got = _prompt_text(p, template)
            if got:
                f1 = token_f1(exp, got)
                if f1 >= FOUND_F1:
                    cands.append((f1, -i, -j))
    pairs, used_e, used_p = [], set(), set()
    for f1, i, j in sorted(cands, reverse=True):
        if -i in used_e or -j in used_p:
            continue
        used_e.add(-i)
        used_p.add(-j)
        pairs.append((expected[-i], predicted[-j], f1))
    return pairs


@dataclass
class Tally:
    """Counts that add up over trees; metrics() turns them into rates."""

    trees: int = 0
    prompts: PR = field(default_factory=PR)
    relevance: PR = field(default_factory=PR)
    relevance_correct: int = 0
    task_n: int = 0
    task_correct: int = 0
    quality_n: int = 0
    quality_correct: int = 0
    fb_true: int = 0
    fb_judged: int = 0
    fb_polarity_correct: int = 0
    fb: PR = field(default_factory=PR)
    offtopic_samples: int = 0

    def metrics(self) -> dict[str, Any]:
        def rate(a: int, b: int) -> float:
            return round(a / b, 4) if b else 0.0

        return {
            "trees": self.trees,
            "prompts": self.prompts.as_dict(),
            "relevance": {**self.relevance.as_dict(), "accuracy": rate(self.relevance_correct, self.trees)},
            "task": {"accuracy": rate(self.task_correct, self.task_n), "n": self.task_n},
            "quality": {"accuracy": rate(self.quality_correct, self.quality_n), "n": self.quality_n},
            "feedback": {"judged_share": rate(self.fb_judged, self.fb_true), "judged": self.fb_judged, "true": self.fb_true,
                         "polarity_accuracy": rate(self.fb_polarity_correct, self.fb_judged), **self.fb.as_dict()},
            "offtopic_samples": self.offtopic_samples,
        }


def duplicate_scores(true_groups: dict[str, list[str]], pred_group: dict[str, str],
                     members: dict[str, list[str]], matched: dict[str, str]) -> dict[str, Any]:
    """Group recovery and pairwise precision/recall.

    true_groups: expected group id -> expected sample keys; matched: expected sample key -> predicted sample id;
    pred_group: predicted sample id -> predicted group id; members: predicted group id -> its sample ids.
    A true group is recovered when every member has a matched sample, all of them sit in one predicted group,
    and that group holds no other sample. Pairwise: over pairs of matched expected samples, 'same group' in
    the key vs in the prediction.
    """
    recovered = 0
    for keys in true_groups.values():
        got = [matched.get(k) for k in keys]
        if None in got:
            continue
        gids = {pred_group.get(s) for s in got}
        if len(gids) == 1 and None not in gids and set(members.get(gids.pop(), [])) <= set(got):
            recovered += 1
    group_of = {k: g for g, keys in true_groups.items() for k in keys}
    keys = sorted(matched)
    pairs = PR()
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            ka, kb = keys[a], keys[b]
            same_true = ka in group_of and group_of.get(kb) == group_of[ka]
            ga, gb = pred_group.get(matched[ka]), pred_group.get(matched[kb])
            same_pred = ga is not None and ga == gb
            pairs.tp += same_true and same_pred
            pairs.fp += same_pred and not same_true
            pairs.fn += same_true and not same_pred
    return {"groups": len(true_groups), "recovered": recovered,
            "recovered_share": round(recovered / len(true_groups), 4) if true_groups else 0.0,
            "pairwise": pairs.as_dict()}


def score_corpus(store: Store, answers: dict[str, Any], *, threshold: int = 4, backend: str | None = None,
                 max_examples: int = 25) -> dict[str, Any]:
    """The corpus evaluation: prompts (token F1), relevance, task, quality, feedback, duplicate groups and samples
    from trees that are not relevant; overall, per pattern and per split."""
    trees = answers["trees"]
    got, samples_by_tree = _stored_by_tree(store, trees, threshold)
    all_fb = store.query("SELECT platform, post_id, polarity FROM feedback")
    pred_fb: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in all_fb:
        pred_fb[(f["platform"], f["post_id"])].add(f["polarity"])
    dup_rows = store.query("SELECT sample_id, group_id FROM duplicates")
    pred_group = {r["sample_id"]: r["group_id"] for r in dup_rows}
    members: dict[str, list[str]] = defaultdict(list)
    for r in dup_rows:
        members[r["group_id"]].append(r["sample_id"])

    tree_of_post = {(t["platform"], pid): t for t in trees for pid in t.get("post_ids") or [t["root_post_id"]]}
    true_fb: dict[tuple[str, str], dict] = {}
    for t in trees:
        for e in t["samples"]:
            for f in e.get("feedback") or []:
                true_fb[(t["platform"], f["post_id"])] = f

    overall = Tally()
    per_pattern: dict[str, Tally] = defaultdict(Tally)
    per_split: dict[str, Tally] = defaultdict(Tally)
    examples: dict[str, list] = defaultdict(list)
    matched: dict[str, str] = {}  # expected sample ('tree_id#index') -> predicted sample_id
    key_split: dict[str, str] = {}
    true_groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # split -> group -> keys

    def note(kind: str, item: dict) -> None:
        if len(examples[kind]) < max_examples:
            examples[kind].append(item)

    def buckets(t: dict) -> list[Tally]:
        return [overall, per_pattern[t.get("pattern") or "-"], per_split[t.get("split") or "-"]]

    for t in trees:
        key = (t["platform"], t["root_post_id"])
        expected, predicted = t["samples"], samples_by_tree.get(key, [])
        pred_rel = key in got["passed"]
        pairs = _prompt_pairs(expected, predicted)
        found_e = {id(e) for e, _, _ in pairs}
        found_p = {id(p) for _, p, _ in pairs}
        rest = _match([e for e in expected if id(e) not in found_e], [p for p in predicted if id(p) not in found_p])
        all_pairs = [(e, p) for e, p, _ in pairs] + rest
        for bucket in buckets(t):
            bucket.trees += 1
            bucket.relevance.sets({1} if pred_rel else set(), {1} if t["relevant"] else set())
            bucket.relevance_correct += pred_rel == bool(t["relevant"])
            bucket.prompts.tp += len(pairs)
            bucket.prompts.fn += sum(1 for e in expected if _prompt_text(e, e.get("prompt") is None)) - len(pairs)
            bucket.prompts.fp += sum(1 for p in predicted if p.get("prompt") or p.get("prompt_fill_blank")) - len(found_p)
            for e, p in all_pairs:
                if e.get("task"):
                    bucket.task_n += 1
                    bucket.task_correct += e["task"] == p.get("task")
                bucket.quality_n += 1
                bucket.quality_correct += e.get("quality") == p.get("quality")
            if not t["relevant"]:
                bucket.offtopic_samples += len(predicted)
        if pred_rel != bool(t["relevant"]):
            note("relevance_wrong", {"tree": t.get("tree_id"), "pattern": t.get("pattern"), "expected": t["relevant"]})
        for e in expected:
            if id(e) not in found_e:
                best = max((token_f1_safe(e, p) for p in predicted), default=None)
                note("prompt_missed", {"tree": t.get("tree_id"), "pattern": t.get("pattern"), "expected": e.get("prompt")
                                       or e.get("prompt_fill_blank"), "best_token_f1": best})
        if not t["relevant"] and predicted:
            note("offtopic_sample", {"tree": t.get("tree_id"), "pattern": t.get("pattern"),
                                     "prompt": predicted[0].get("prompt")})
        tree_key = t.get("tree_id") or t["root_post_id"]
        for e, p in all_pairs:
            matched[f"{tree_key}#{expected.index(e)}"] = p["sample_id"]
        for i, e in enumerate(expected):
            key_split[f"{tree_key}#{i}"] = t.get("split") or "-"
            if e.get("duplicate_group"):
                true_groups["overall"][e["duplicate_group"]].append(f"{tree_key}#{i}")
                true_groups[t.get("split") or "-"][e["duplicate_group"]].append(f"{tree_key}#{i}")

    for fkey, f in true_fb.items():
        t = tree_of_post.get(fkey)
        got_pol = pred_fb.get(fkey, set())
        for bucket in (buckets(t) if t else [overall]):
            bucket.fb_true += 1
            if got_pol:
                bucket.fb_judged += 1
                bucket.fb_polarity_correct += f["polarity"] in got_pol
        if f["polarity"] not in got_pol:
            note("feedback_wrong", {"post_id": fkey[1], "expected": f["polarity"], "got": sorted(got_pol)})
    for fkey, pols in pred_fb.items():
        t = tree_of_post.get(fkey)
        if t is None or not pols - {"neutral"}:
            continue
        for bucket in buckets(t):
            if fkey in true_fb:
                bucket.fb.tp += 1
            else:
                bucket.fb.fp += 1
    for fkey in true_fb:
        if not pred_fb.get(fkey, set()) - {"neutral"}:
            t = tree_of_post.get(fkey)
            for bucket in (buckets(t) if t else [overall]):
                bucket.fb.fn += 1

    def with_dups(tally: Tally, split: str) -> dict[str, Any]:
        m = tally.metrics()
        scope = {k: v for k, v in matched.items() if split == "overall" or key_split[k] == split}
        m["duplicates"] = duplicate_scores(true_groups[split], pred_group, members, scope)
        return m

    return {
        "version": CORPUS_REPORT_VERSION,
        "computed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backend": backend or (", ".join(sorted({s["extractor"] for s in got["samples"]})) or "-"),
        "extractors": sorted({f"{s['extractor']} {s['extractor_version']}" for s in got["samples"]}),
        "found_token_f1": FOUND_F1,
        "counts": {
            "trees": len(trees), "trees_relevant": sum(1 for t in trees if t["relevant"]),
            "trees_stored": len(got["present"]),
            "samples_expected": sum(len(t["samples"]) for t in trees), "samples_stored": len(got["samples"]),
            "feedback_expected": len(true_fb),
            "duplicate_groups_expected": len(true_groups["overall"]),
        },
        "overall": with_dups(overall, "overall"),
        "per_pattern": {k: per_pattern[k].metrics() for k in sorted(per_pattern)},
        "per_split": {k: with_dups(per_split[k], k) for k in sorted(per_split)},
        "examples": dict(examples),
    }


def token_f1_safe(e: dict, p: dict) -> float:
    from echo.text import token_f1

    template = e.get("prompt") is None
    return round(token_f1(_prompt_text(e, template), _prompt_text(p, template)), 3)


def corpus_table(report: dict[str, Any]) -> str:
    """A readable table of a corpus report: overall, per split, per pattern."""
    head = (f"{'':<20}{'trees':>6}{'prompt P':>10}{'R':>7}{'F1':>7}{'rel P':>8}{'R':>7}{'acc':>7}{'task':>7}{'qual':>7}"
            f"{'fb judged':>10}{'pol acc':>9}{'fb F1':>7}{'dup rec':>9}{'offtopic':>9}")
    lines = [f"backend: {report['backend']}  (prompt found at token F1 >= {report['found_token_f1']})", head,
             "-" * len(head)]

    def row(name: str, m: dict) -> str:
        d = m.get("duplicates")
        dup = f"{d['recovered']}/{d['groups']}" if d else "-"
        return (f"{name:<20}{m['trees']:>6}{m['prompts']['precision']:>10.3f}{m['prompts']['recall']:>7.3f}"
                f"{m['prompts']['f1']:>7.3f}{m['relevance']['precision']:>8.3f}{m['relevance']['recall']:>7.3f}"
                f"{m['relevance']['accuracy']:>7.3f}"
                f"{m['task']['accuracy']:>7.3f}{m['quality']['accuracy']:>7.3f}{m['feedback']['judged_share']:>10.3f}"
                f"{m['feedback']['polarity_accuracy']:>9.3f}{m['feedback']['f1']:>7.3f}{dup:>9}{m['offtopic_samples']:>9}")

    lines.append(row("overall", report["overall"]))
    for k, m in report["per_split"].items():
        lines.append(row(f"split {k}", m))
    lines.append("")
    for k, m in report["per_pattern"].items():
        lines.append(row(k, m))
    return "\n".join(lines)
