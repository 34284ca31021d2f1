"""echo's LLM path against the oracle (tests/oracle.py): what the pipeline loses by itself.

Runs a corpus (crawl = import, filter, relevance, media, extract) with ECHO_LLM_BASE_URL pointing at a fake
OpenAI server whose every step is answered by the oracle: a flawless reader that knows the answer key but
only uses what each request shows. Prints echo's evaluator report (echo-bench evaluate-extractor) and every
miss with its cause, grouped and counted: each cause names where in echo the information is lost.

    .venv/bin/python bench/oracle_eval.py                                  # data/samples
    .venv/bin/python bench/oracle_eval.py --corpus tests/data/realistic    # the realistic corpus
    .venv/bin/python bench/oracle_eval.py --json out.json                 # report + misses as JSON
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from echo.llm.extract import prompt_origin  # noqa: E402
from echo.store import Store  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from llm_helpers import corpus_config, run_llm_path  # noqa: E402
from oracle import AnswerKey, KeySample, Oracle, norm, placeholder_values, visible_in  # noqa: E402

from echo import evaluate as ev  # noqa: E402

# Where each kind of loss happens in echo (file: function), quoted in the causes.
WHERE = {
    "tree_alt": "echo/llm/openai_backend.py: OpenAIBackend._tree_request renders prompts.posts_block(...) only; "
                "TreeItem.images (with alt_text) are never shown to tree_to_samples",
    "fill_posts": "echo/llm/openai_backend.py: OpenAIBackend._fill_request sends the template and image lines, "
                  "not SampleItem.posts (the evidence posts that name the value)",
    "relevance_roots": "echo/stages/relevance.py: run asks about roots alone (pending_relevance selects "
                       "roots; RelevanceItem.context is left empty), so replies that show the model are never seen",
    "cheap_filter": "echo/filters (stage 'filter'): the cheap keyword filter",
    "samples_from_answer": "echo/llm/extract.py: samples_from_answer (ids outside the tree, used-once rule, "
                           "merge by equal prompt)",
    "dedup_images": "echo/llm/extract.py: dedup_images (same url, sha256 or phash)",
    "tree_posts": "echo/llm/trees.py: load_trees / build_tree (posts by root_id, quotes, max_tree_posts)",
}


@dataclass
class Miss:
    metric: str  # relevance, samples, prompt_exact, image_roles, feedback, feedback_labels, task, quality
    cause: str  # a short, groupable cause
    item: str  # what was missed (tree id, sample id, post id ...)
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"metric": self.metric, "cause": self.cause, "item": self.item, "detail": self.detail}


@dataclass
class Result:
    report: dict[str, Any]
    misses: list[Miss]
    oracle: Oracle
    requests: dict[str, int]
    server_errors: list[str]
    elapsed_s: float
    stats: dict[str, Any] = field(default_factory=dict)


def run(corpus: Path, workdir: Path, *, latency_s: float = 0.0) -> Result:
    key = AnswerKey.load(corpus / "answers.json")
    oracle = Oracle(key)
    t0 = time.monotonic()
    with FakeOpenAI(responders=oracle.responders(), latency_s=latency_s) as fake:
        config = corpus_config(corpus, workdir, fake.base_url)
        with Store(config.path("db")) as store:
            ctx = run_llm_path(config, store)
            report = ev.evaluate(store, key.doc, threshold=config.filter.relevance_threshold, max_examples=10**9)
            misses = explain(report, key, oracle, store, threshold=config.filter.relevance_threshold)
        requests = dict(collections.Counter(r.stage for r in fake.requests))
        errors = list(fake.errors)
    return Result(report, misses, oracle, requests, errors, time.monotonic() - t0, dict(ctx.stats))


# --- explaining each miss ------------------------------------------------------------------------------------


class _Facts:
    """What the store and the oracle's log say about one run."""

    def __init__(self, key: AnswerKey, oracle: Oracle, store: Store, threshold: int):
        self.key, self.oracle, self.store, self.threshold = key, oracle, store, threshold
        self.posts = {r["post_id"]: r for r in store.query("SELECT platform, post_id, text, root_id, quoted_id FROM posts")}
        self.alts = collections.defaultdict(list)
        for r in store.query("SELECT post_id, url, alt_text FROM post_media ORDER BY position"):
            self.alts[r["post_id"]].append((r["url"], r["alt_text"]))
        self.media = {r["url"]: r for r in store.query("SELECT url, status, error FROM media")}
        self.relevance = collections.defaultdict(dict)
        for r in store.query("SELECT post_id, judge, score, passed, reason FROM relevance"):
            self.relevance[r["post_id"]][r["judge"]] = r
        self.failures = store.query("SELECT step, item_key, error FROM llm_failures")
        self.samples = store.query("SELECT sample_id, root_id, anchor_post_id, prompt, prompt_fill_blank, task, quality, "
                                   "evidence_post_ids, input_media, output_media, notes, benchmark_decision, review_targets FROM samples")
        self.log = oracle.log
        self.tree_log = {e["tree"]: e for e in self.log["tree_to_samples"] if e["tree"]}
        self.rel_log = {e["post_id"]: e for e in self.log["relevance"]}
        self.roles_log = collections.defaultdict(list)
        for e in self.log["image_roles"]:
            self.roles_log[e["sample"]].append(e)
        self.fill_log = {e["sample"]: e for e in self.log["fill_blank"] if e["sample"]}
        self.filter_log = {e["sample"]: e for e in self.log["benchmark_filter"] if e["sample"]}
        self.shot_log = {e["sample"]: e for e in self.log["screenshot"] if e["sample"]}
        self.asked_replies: dict[str, list[dict]] = collections.defaultdict(list)
        for e in self.log["feedback"]:
            for r in e["replies"]:
                self.asked_replies[r["post_id"]].append({**r, "sample": e["sample"], "prompt": e["prompt"]})

    def tree(self, tid: str):
        return next(t for t in self.key.trees if t.tid == tid)

    def stored_samples(self, tree) -> list[dict]:
        return [s for s in self.samples if s["root_id"] == tree.doc["root_post_id"]]

    def passed(self, tree) -> bool:
        r = self.relevance.get(tree.doc["root_post_id"], {})
        llm, pre = r.get("llm"), r.get("prefilter")
        return bool((llm and llm["score"] is not None and llm["score"] >= self.threshold) or (pre and pre["passed"]))

    def where_is(self, text: str | None, tree, sample: KeySample | None = None) -> list[str]:
        """Where the stored corpus shows a prompt (post texts, alt texts): in the tree's posts, its sample's
        evidence and what its root quotes first; else anywhere (then each place is marked 'elsewhere')."""
        if not text:
            return []
        own = list(dict.fromkeys(tree.post_ids + list(sample.evidence_post_ids if sample else [])
                                 + [tree.doc[k] for k in ("quoted_post_id",) if tree.doc.get(k)]))
        for n, scope in enumerate((own, list(self.posts))):
            texts, names = [], []
            for pid in scope:
                if pid in self.posts:
                    texts.append(self.posts[pid]["text"] or "")
                    names.append(f"post {pid}")
                for url, alt in self.alts.get(pid, []):
                    if alt:
                        texts.append(alt)
                        names.append(f"alt text of {url} (post {pid})")
            idx = visible_in(text, texts)
            if idx:
                return [names[i] + (" (elsewhere)" if n else "") for i in idx]
        return []


def _pattern(tree) -> str:
    return f" (pattern {tree.doc['pattern']})" if tree.doc.get("pattern") else ""


def _sample_by_prompt(tree, prompt: str | None) -> KeySample | None:
    p = norm(prompt)
    return next((s for s in tree.samples if norm(s.doc.get("prompt")) == p), None) or \
        next((s for s in tree.samples if not p and not s.doc.get("prompt")), None)


def _why_tree_lost(f: _Facts, tree) -> tuple[str, str]:
    """Why a relevant tree never reached tree_to_samples."""
    root = tree.doc["root_post_id"]
    if root not in f.posts:
        return "relevance: root post not stored", "the import did not store it (echo/sources)"
    rel = f.relevance.get(root, {})
    if rel.get("cheap") and not rel["cheap"]["passed"]:
        return "relevance: cheap filter dropped the root", \
            f"{WHERE['cheap_filter']}: {rel['cheap']['reason']}{_pattern(tree)}"
    if rel.get("prefilter") and not rel["prefilter"]["passed"]:
        return "relevance: prefilter dropped the root", "echo/dedup/prefilter.py"
    logged = f.rel_log.get(root)
    if logged is None:
        fails = [x for x in f.failures if x["step"] == "relevance" and x["item_key"].endswith(root)]
        return ("relevance: LLM call failed", fails[0]["error"][:200]) if fails else \
            ("relevance: root never asked", "echo/stages/relevance.py: pending_relevance")
    if logged["score"] < 4:
        ev_ids = sorted(tree.relevance_evidence - set(logged["shown"]))
        return ("relevance: no evidence post shown with the root",
                f"{WHERE['relevance_roots']}; evidence in {ev_ids[:3]}{_pattern(tree)}")
    return "relevance: oracle said relevant, not stored as passed", f"score {logged['score']}"


def explain(report: dict, key: AnswerKey, oracle: Oracle, store: Store, *, threshold: int = 4) -> list[Miss]:
    f = _Facts(key, oracle, store, threshold)
    ex = report["examples"]
    out: list[Miss] = []

    # relevance ----------------------------------------------------------------------------------------------
    for e in ex.get("relevance_wrong", []):
        tree = f.tree(e["tree"]) if e.get("tree") else next(t for t in key.trees if t.doc["root_post_id"] == e["root"])
        if e["expected"]:
            cause, detail = _why_tree_lost(f, tree)
        else:
            logged = f.rel_log.get(tree.doc["root_post_id"])
            cause, detail = ("relevance: passed though not relevant", f"oracle score {logged['score'] if logged else None}"
                             f"; prefilter {f.relevance.get(tree.doc['root_post_id'], {}).get('prefilter')}")
        out.append(Miss("relevance", cause, tree.tid, detail))

    # samples --------------------------------------------------------------------------------------------------
    missed_samples: set[str] = set()
    for e in ex.get("sample_missed", []):
        tree = f.tree(e["tree"])
        s = _sample_by_prompt(tree, e.get("prompt"))
        sid = s.sid if s else f"{tree.tid}#?"
        missed_samples.add(sid)
        logged = f.tree_log.get(tree.tid)
        if not f.passed(tree):
            cause, detail = "samples: tree lost at relevance", " / ".join(_why_tree_lost(f, tree))
        elif logged is None:
            fails = [x["error"][:200] for x in f.failures if x["step"] == "tree_to_samples" and tree.doc["root_post_id"] in x["item_key"]]
            cause, detail = "samples: tree never sent to tree_to_samples", fails[0] if fails else "not pending (echo/stages/extract.py: pending_trees)"
        elif s and not logged["samples"].get(s.sid, {}).get("returned"):
            missing = [pid for pid in s.evidence_post_ids if pid not in logged["shown"]]
            stored = [pid for pid in missing if pid in f.posts]
            cause = "samples: none of its evidence posts shown to tree_to_samples"
            detail = f"{WHERE['tree_posts']}; not shown {missing[:3]} (stored: {stored[:3]})"
        else:
            cause, detail = "samples: oracle returned it, echo dropped or merged it", WHERE["samples_from_answer"]
        out.append(Miss("samples", cause, sid, detail))
    for e in ex.get("sample_extra", []):
        out.append(Miss("samples", "samples: extra sample stored", e["tree"], f"prompt {e.get('prompt')!r}, quality {e.get('quality')}"))

    # prompts --------------------------------------------------------------------------------------------------
    for e in ex.get("prompt_wrong", []):
        tree = f.tree(e["tree"])
        s = _sample_by_prompt(tree, e["expected"])
        out.append(_explain_prompt(f, tree, s, e.get("got")))
    for sid in sorted(missed_samples):
        s = next((x for x in key.samples if x.sid == sid), None)
        if s is not None and norm(s.doc.get("prompt")):
            out.append(Miss("prompt_exact", "prompt: its sample was missed (see samples)", sid))

    # image roles ----------------------------------------------------------------------------------------------
    for e in ex.get("roles_wrong", []):
        tree = f.tree(e["tree"])
        exp, got = {tuple(x) for x in e["expected"]}, {tuple(x) for x in e["got"]}
        s = next((x for x in tree.samples if ev._roles(x.doc, set(), expected=True) == exp), None)
        for url, role in sorted(exp - got):
            out.append(_explain_role_fn(f, s, url, role, got))
        for url, role in sorted(got - exp):
            out.append(_explain_role_fp(f, s, url, role, exp))

    # feedback -------------------------------------------------------------------------------------------------
    for e in ex.get("feedback_wrong", []):
        out.append(_explain_feedback(f, e))
    for e in ex.get("feedback_label_wrong", []):
        out.append(Miss("feedback_labels", "feedback: echo changed the oracle's labels", e["post_id"],
                        f"expected {e['expected']}, stored {e['got']} (echo/llm/extract.py: extract_trees step 7)"))

    # beyond the evaluator: the benchmark decision of matched samples ------------------------------------------
    for tree in key.trees:
        stored = f.stored_samples(tree)
        for e, p in ev._match([s.doc for s in tree.samples], stored):
            s = next(x for x in tree.samples if x.doc is e)
            if p["benchmark_decision"] != s.decision:
                out.append(_explain_decision(f, s, p))

    # task / quality -------------------------------------------------------------------------------------------
    for metric in ("task", "quality"):
        for e in ex.get(f"{metric}_wrong", []):
            out.append(Miss(metric, f"{metric}: stored value differs from the key (the oracle answered the key's)",
                            e["tree"], f"expected {e['expected']}, stored {e['got']} (echo/llm/extract.py: "
                                       "extract_trees: screenshot boxes / apply_roles set the task)"))
    return out


def _explain_prompt(f: _Facts, tree, s: KeySample | None, got: str | None) -> Miss:
    sid = s.sid if s else f"{tree.tid}#?"
    if s is None:
        return Miss("prompt_exact", "prompt: wrong (no key sample with that prompt)", sid, f"stored {got!r}")
    logged = f.tree_log.get(tree.tid, {}).get("samples", {}).get(s.sid, {})
    returned = logged.get("returned_prompt")
    where = f.where_is(s.text, tree, s) or f.where_is(s.doc.get("prompt"), tree, s)
    loc = f" (prompt_location {s.doc['prompt_location']})" if s.doc.get("prompt_location") else ""
    if returned and norm(returned) == norm(s.doc.get("prompt")):
        stored = [x for x in f.stored_samples(tree) if s.anchor_post_id in (x["evidence_post_ids"] or [])]
        notes = "; ".join(x["notes"] or "" for x in stored)
        if "placeholders left unfilled" in notes and not s.doc.get("prompt_fill_blank"):
            return Miss("prompt_exact", "prompt: a complete prompt taken for a template, then dropped", sid,
                        "echo/llm/extract.py: has_placeholder (_PLACEHOLDER) flags its brackets ([🎃], {x}, [Jackie Chan]) "
                        "although the oracle said fill_blank=false (apply_roles ORs them); extract_trees step 5 then "
                        "rejects fill_blank's unchanged prompt (has_placeholder(filled) / equal to the template) and "
                        f"sets prompt None; notes: {notes[:200]}")
        return Miss("prompt_exact", "prompt: oracle gave the right prompt, echo changed it", sid,
                    f"stored {got!r}; notes: {notes[:300]}")
    if returned and s.doc.get("prompt_fill_blank") and norm(returned) == norm(s.prompt_fill_blank):
        fill = f.fill_log.get(s.sid)
        values = placeholder_values(s.prompt_fill_blank, s.doc.get("prompt") or "") or {}
        named = {h: f.where_is(v, tree, s) for h, v in values.items()}
        if fill is None:
            return Miss("prompt_exact", "prompt: template never sent to fill_blank", sid,
                        "echo/llm/extract.py: extract_trees step 5 (fill_flag from image_roles / has_placeholder)")
        if not fill["visible"] and values and all(named.values()):
            return Miss("prompt_exact", "prompt: fill-in-the-blank value not shown to fill_blank", sid,
                        f"{WHERE['fill_posts']}; values {values} are named in {named}")
        if not fill["visible"]:
            unnamed = sorted(h for h, w in named.items() if not w)
            return Miss("prompt_exact", "prompt: a fill-in-the-blank value is in no text at all (images only?)", sid,
                        f"not in any post or alt text: {unnamed or 'the key has no filled values'}; "
                        f"named elsewhere: {sorted(h for h, w in named.items() if w)} ({WHERE['fill_posts']})")
        return Miss("prompt_exact", "prompt: fill_blank answered, echo dropped the filled prompt", sid,
                    f"stored {got!r} (echo/llm/extract.py: extract_trees step 5)")
    if s.doc.get("is_screenshot"):
        shot = f.shot_log.get(s.sid)
        if shot is None:
            return Miss("prompt_exact", "prompt: only in a screenshot that was never transcribed", sid,
                        "echo/llm/extract.py: extract_trees step 4 (is_screenshot from image_roles)")
        return Miss("prompt_exact", "prompt: screenshot transcribed, echo did not keep its prompt", sid,
                    f"stored {got!r}; transcription {shot.get('prompt')!r} (extract_trees step 4: used only "
                    "when the tree stage gave no prompt)")
    if not where:
        return Miss("prompt_exact", "prompt: not in any stored post or alt text", sid,
                    "lost before the LLM path (import / parser)")
    if all(w.endswith("(elsewhere)") for w in where):
        return Miss("prompt_exact", "prompt: not in the tree's stored posts (only elsewhere in the corpus)", sid,
                    f"{WHERE['tree_posts']}{loc}; found in {where[:2]}")
    if all(w.startswith("alt text") for w in where):
        return Miss("prompt_exact", "prompt: only in an image's alt text, which tree_to_samples never shows", sid,
                    f"{WHERE['tree_alt']}{loc}; in {where}")
    shown = set(f.tree_log.get(tree.tid, {}).get("shown", []))
    unseen = [w for w in where if w.startswith("post ") and w.split()[1] not in shown]
    if unseen:
        return Miss("prompt_exact", "prompt: in a post not shown to tree_to_samples", sid,
                    f"{WHERE['tree_posts']}{loc}; {unseen}")
    return Miss("prompt_exact", "prompt: shown, but the oracle could not find it (check the oracle)", sid,
                f"in {where}{loc}")


def _explain_decision(f: _Facts, s: KeySample, p: dict) -> Miss:
    got = f"{p['benchmark_decision']} {list(p['review_targets'] or [])}"
    answered = f.filter_log.get(s.sid)
    if p["benchmark_decision"] is None:
        return Miss("decision", "decision: never made (an earlier step failed for the sample)", s.sid, f"notes: {p['notes']}")
    if answered is None:
        return Miss("decision", "decision: benchmark_filter never asked about it", s.sid, f"stored {got}")
    if answered["decision"] == s.decision:
        notes = p["notes"] or ""
        if "unverified input_image" in notes and s.doc.get("is_screenshot"):
            return Miss("decision", "decision: downgraded, a chat screenshot's input image is a box inside it", s.sid,
                        "echo/llm/extract.py: guard_decision wants an input-role image for image_to_image and ignores "
                        f"Draft.input_boxes (a screenshot has one role, here output); stored {got}")
        if "unverified prompt" in notes and p["prompt"]:
            texts = [f.posts[pid]["text"] or "" for pid in p["evidence_post_ids"] or [] if pid in f.posts]
            origin = prompt_origin(p["prompt"], texts)
            if origin == "not_found" and any(re.search(r"&(amp|lt|gt|quot);", t) for t in texts):
                return Miss("decision", "decision: downgraded, stored post text keeps HTML escapes (&amp; &gt;)", s.sid,
                            "echo/sources/x.py: parse_tweet and echo/sources/reddit.py: link_post / comment_post store "
                            "text without html.unescape; echo/llm/extract.py: prompt_origin then finds the (unescaped) "
                            f"prompt 'not_found' and guard_decision downgrades; stored {got}")
            if origin == "not_found":
                return Miss("decision", "decision: downgraded, prompt_origin cannot verify a prompt the posts show", s.sid,
                            "echo/llm/extract.py: prompt_origin (a sentence split across thread posts, thread marks or "
                            f"t.co links between the parts) -> 'not_found' -> guard_decision; stored {got}")
        return Miss("decision", "decision: oracle gave the key's, echo downgraded it", s.sid,
                    f"stored {got} (echo/llm/extract.py: guard_decision); notes: {notes[:200]}")
    return Miss("decision", "decision: the benchmark_filter request showed a sample unlike the key's", s.sid,
                f"differs in {answered['targets']} (upstream losses); stored {got}")


def _explain_role_fn(f: _Facts, s: KeySample | None, url: str, role: str, got: set) -> Miss:
    sid = s.sid if s else "?"
    media = f.media.get(url)
    if media is None or media["status"] != "ok":
        return Miss("image_roles", "role: image not downloaded", f"{sid} {url}",
                    f"media status {media['status'] if media else 'absent'}: {media['error'] if media else ''} (echo/media)")
    logs = f.roles_log.get(sid, [])
    answered = [i for e in logs for i in e["images"] if i["url"] == url]
    if not logs:
        return Miss("image_roles", "role: sample never sent to image_roles", f"{sid} {url}",
                    "echo/llm/extract.py: extract_trees step 3 (only drafts with images)")
    if not answered:
        return Miss("image_roles", "role: image not shown in its sample's image_roles request", f"{sid} {url}",
                    f"{WHERE['dedup_images']} or its post is not in the sample's evidence")
    given = answered[0]["role"] if not answered[0]["screenshot"] else "screenshot"
    return Miss("image_roles", "role: oracle answered it, echo stored another role", f"{sid} {url}",
                f"expected {role}, oracle {given}, stored {sorted(r for u, r in got if u == url)} "
                "(echo/llm/extract.py: apply_roles / Draft.images_with)")


def _explain_role_fp(f: _Facts, s: KeySample | None, url: str, role: str, exp: set) -> Miss:
    sid = s.sid if s else "?"
    answered = [i for e in f.roles_log.get(sid, []) for i in e["images"] if i["url"] == url]
    if any(u == url for u, _ in exp):
        return Miss("image_roles", "role: stored with another role", f"{sid} {url}", f"stored {role}; see the matching miss")
    return Miss("image_roles", "role: extra image stored for the sample", f"{sid} {url}",
                f"stored {role}, oracle answered {[a['role'] for a in answered]} (echo/llm/extract.py: extract_trees "
                "step 3 takes every image of the evidence posts)")


def _explain_feedback(f: _Facts, e: dict) -> Miss:
    pid = e["post_id"]
    if e.get("expected") is None:
        return Miss("feedback", "feedback: a reply judged that the key does not count", pid, f"stored {e.get('got')}")
    s, _ = f.key.feedback_of_post[pid]
    asked = f.asked_replies.get(pid, [])
    logged = f.tree_log.get(s.tree.tid)
    if not f.passed(s.tree):
        return Miss("feedback", "feedback: tree lost at relevance", pid, s.sid)
    if logged is None:
        return Miss("feedback", "feedback: tree never sent to tree_to_samples", pid, s.sid)
    if pid not in logged["shown"]:
        return Miss("feedback", "feedback: reply not shown in tree_to_samples", pid,
                    f"{WHERE['tree_posts']}; stored: {pid in f.posts}")
    if not asked:
        returned = pid in (logged["samples"].get(s.sid, {}).get("feedback_shown") or [])
        return Miss("feedback", "feedback: reply never asked about in a feedback request", pid,
                    f"oracle listed it for {s.sid}: {returned}; {WHERE['samples_from_answer']}")
    a = asked[-1]
    if a["polarity"] == "neutral":
        return Miss("feedback", "feedback: asked under a sample the request does not identify as the one it judges",
                    pid, f"judges {s.sid}; request prompt {a['prompt']!r}, oracle matched sample {a['sample']}")
    return Miss("feedback", "feedback: oracle judged it, echo did not store it", pid,
                f"oracle {a['polarity']} (echo/llm/extract.py: extract_trees step 7)")


# --- printing ---------------------------------------------------------------------------------------------------


def print_result(res: Result, corpus: Path) -> None:
    r = res.report
    print(f"corpus {corpus}: {r['trees']} trees ({r['trees_stored']} stored), {r['samples_expected']} samples "
          f"expected, {r['samples_stored']} stored; {sum(res.requests.values())} LLM requests {res.requests}; "
          f"{res.elapsed_s:.0f} s")
    print(f"oracle violations: {len(res.oracle.violations)}; server errors: {len(res.server_errors)}")
    for v in res.oracle.violations[:20]:
        print("  VIOLATION", v)
    print(f"\n{'metric':<22}{'precision':>10}{'recall':>8}  extra")
    for name, p, rc, extra in ev.summary_rows(r):
        print(f"{name:<22}{p:>10.3f}{rc:>8.3f}  {extra}")
    groups = collections.defaultdict(list)
    for m in res.misses:
        groups[(m.metric, m.cause)].append(m)
    print(f"\n{len(res.misses)} misses, by cause:")
    for (metric, cause), ms in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        print(f"  {len(ms):>4}  [{metric}] {cause}")
    print("\nevery miss:")
    for m in sorted(res.misses, key=lambda m: (m.metric, m.cause, m.item)):
        print(f"  [{m.metric}] {m.cause} | {m.item} | {m.detail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "data" / "samples"), help="corpus folder with answers.json")
    ap.add_argument("--workdir", help="where the store and media go (default: a temporary folder)")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds the fake server adds to each request")
    ap.add_argument("--json", help="write the report and the misses to this file")
    args = ap.parse_args()
    corpus = Path(args.corpus).resolve()
    if not (corpus / "answers.json").is_file():
        print(f"{corpus}/answers.json not found", file=sys.stderr)
        return 2
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="echo-oracle-eval-"))
    res = run(corpus, workdir, latency_s=args.latency)
    print_result(res, corpus)
    if args.json:
        Path(args.json).write_text(json.dumps({"report": res.report, "misses": [m.as_dict() for m in res.misses],
                                               "violations": res.oracle.violations, "requests": res.requests},
                                              indent=2, default=str), encoding="utf-8")
    return 1 if res.oracle.violations or res.server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
