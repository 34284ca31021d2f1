"""An oracle for echo's LLM path: a responder set for tests/fake_openai.py that answers every step as a flawless
reader would, from an answer key, but only from what each request actually shows.

If a prompt's text is not in the request, the oracle cannot return it; a reply the request does not show
cannot be judged. Every miss of the pipeline against the oracle is then the pipeline's own loss (what it did
not show, or what it did with a right answer). Trees and samples are located by the post ids a request shows;
images by their pixels (the request carries downscaled JPEG data URLs; they are compared as small RGB
thumbnails with the corpus media files the key's media_url_prefix points at).

Answer keys: data/samples/answers.json, and the realistic corpus's key (same format plus per tree
`relevance_evidence_post_ids`, `pattern`, `split`; per sample `case`, `prompt_location`; templates there have
prompt = null and prompt_fill_blank = the template). Fields a key lacks fall back: without
relevance_evidence_post_ids any post of a relevant tree is evidence; without benchmark_decision the decision
follows quality (benchmark -> benchmark, or manual_review when the key has no prompt; else discard).

    oracle = Oracle(AnswerKey.load("data/samples/answers.json"))
    with FakeOpenAI(responders=oracle.responders()) as server: ...
    assert oracle.violations == []

A request carrying an image_url that is not a data: URL is a violation (a model server that fetches URLs is an
SSRF hole); so is a request the oracle cannot parse. Every decision is logged (`oracle.log`) for
bench/oracle_eval.py, which explains each miss.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from fake_openai import FakeRequest

from echo.evaluate import normalize_prompt

# A relevance request: each post asked about is a <post> line; the posts shown only to explain one (what it replies
# to or quotes, its thread's replies and quotes) are <context of="post id"> lines.
_CONTEXT_LINE_RE = re.compile(r'^<context (?P<attrs>[^>]*)>(?P<text>"(?:[^"\\]|\\.)*")</context>\s*$')
_POST_LINE_RE = re.compile(r'^<post (?P<attrs>[^>]*)>(?P<text>"(?:[^"\\]|\\.)*")</post>'
                           r'(?: \[(?P<n>\d+) image\(s\)(?:, alt text (?P<alt>"(?:[^"\\]|\\.)*"))?\])?\s*$')
_ATTR_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_IMAGE_LINE_RE = re.compile(r"<image (?P<attrs>[^>]*)>")
_SIZE_RE = re.compile(r"Screenshot (?P<id>\S+), (?P<w>\d+) x (?P<h>\d+) pixels")
# Placeholders of a fill-in-the-blank template: {{x}}, [x], <x>, {x}, (x).
_PLACEHOLDER = re.compile(r"\{\{[^{}\n]{1,80}\}\}|\[[^\[\]\n]{1,80}\]|<[^<>\n]{1,80}>|\{[^{}\n]{1,80}\}|\([^()\n]{1,80}\)")

THUMB = 16  # thumbnail side for pixel matching
MATCH_MAE = 12.0  # mean absolute difference (0-255, RGB thumbnails) under which two images show the same picture
TIE_MAE = 2.0  # candidates this close to the best are ties (identical pictures): the first in key order wins
MIN_PART = 12  # a part of a split prompt must be at least this many characters


def _attrs(s: str) -> dict[str, Any]:
    return {k: json.loads(v) if v.startswith('"') else v for k, v in _ATTR_RE.findall(s)}


def norm(s: str | None) -> str:
    """Text as compared for visibility: the evaluator's prompt normalization (case, quotes, escapes, spacing)."""
    return normalize_prompt(s)


def thumbnail(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB").resize((THUMB, THUMB), Image.BILINEAR), dtype=np.float32)


def decode_data_url(url: str) -> Image.Image | None:
    m = re.match(r"data:[^;,]*;base64,(.*)$", url, flags=re.S)
    if not m:
        return None
    img = Image.open(io.BytesIO(base64.b64decode(m[1])))
    img.load()
    return img


def visible_in(prompt: str | None, texts: list[str]) -> list[int] | None:
    """Indices of the texts that together show the prompt (one text holding it, or its parts in order over
    several, each part at least MIN_PART characters, as a split prompt is); None when it is not shown."""
    p = norm(prompt)
    if not p:
        return None
    ts = [norm(t) for t in texts]
    for i, t in enumerate(ts):
        if p in t:
            return [i]
    used, pos = [], 0
    while pos < len(p):
        rest = p[pos:]
        best_len, best_i = 0, None
        for i, t in enumerate(ts):
            lo, hi = 0, len(rest)  # longest prefix of rest inside t (substring containment is monotone)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if rest[:mid] in t:
                    lo = mid
                else:
                    hi = mid - 1
            if lo > best_len:
                best_len, best_i = lo, i
        piece = rest[:best_len].strip(" ,;:.!?\"'-")
        if best_i is None or (len(piece) < MIN_PART and best_len < len(rest)) or not piece or len(used) >= len(ts):
            return None
        used.append(best_i)
        pos += best_len
        while pos < len(p) and p[pos] in " ,;:.!?\"'-":
            pos += 1
    return used


def placeholder_values(template: str, filled: str) -> dict[str, str] | None:
    """What fills each placeholder of a template in its filled prompt ({"<city>": "lisbon"}), or None."""
    t = norm_keep(template).strip()
    parts, holders, last = [], [], 0
    for m in _PLACEHOLDER.finditer(t):
        parts += [re.escape(t[last:m.start()]), "(.+?)"]
        holders.append(m[0])
        last = m.end()
    parts.append(re.escape(t[last:]))
    m = re.fullmatch("".join(parts), norm_keep(filled).strip())
    if not m:
        return None
    # A parenthesis the filled prompt keeps as it is was ordinary text, not a placeholder.
    return {h: v.strip() for h, v in zip(holders, m.groups()) if h != v.strip()}


def norm_keep(s: str) -> str:
    """Like norm, without stripping edges (template pieces keep their spaces when aligned with a filled prompt)."""
    s = html.unescape(s or "").lower()
    s = s.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
    return re.sub(r"\s+", " ", s)


# --- the answer key --------------------------------------------------------------------------------------


@dataclass(eq=False)  # identity: a sample is itself, not an equal-looking one
class KeySample:
    sid: str  # "<tree id>#<n>"
    tree: KeyTree
    doc: dict

    def __getattr__(self, name: str) -> Any:
        try:
            return self.doc[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def text(self) -> str | None:
        """The prompt text a reader finds in the posts: the template for fill-in-the-blank prompts."""
        return self.doc.get("prompt_fill_blank") or self.doc.get("prompt")

    @property
    def images(self) -> list[str]:
        return list(dict.fromkeys(list(self.doc.get("input_images") or []) + list(self.doc.get("output_images") or [])))

    def role_of(self, url: str) -> str | None:
        if url in (self.doc.get("input_images") or []) and not self.doc.get("is_screenshot"):
            return "input"
        if url in self.images:
            return "output"
        return None

    @property
    def decision(self) -> str:
        if self.doc.get("benchmark_decision"):
            return self.doc["benchmark_decision"]
        if self.doc.get("quality") != "benchmark":
            return "discard"
        # an unfilled template (no prompt) is a task, but someone must supply the prompt
        return "benchmark" if self.doc.get("prompt") else "manual_review"

    @property
    def feedback_by_post(self) -> dict[str, dict]:
        return {f["post_id"]: f for f in self.doc.get("feedback") or []}


@dataclass(eq=False)
class KeyTree:
    tid: str
    doc: dict
    samples: list[KeySample] = field(default_factory=list)

    @property
    def relevant(self) -> bool:
        return bool(self.doc.get("relevant"))

    @property
    def post_ids(self) -> list[str]:
        return list(self.doc.get("post_ids") or [self.doc["root_post_id"]])

    @property
    def relevance_evidence(self) -> set[str]:
        ev = self.doc.get("relevance_evidence_post_ids")
        return set(ev) if ev else set(self.post_ids)

    @property
    def other_model(self) -> bool:
        marks = list(self.doc.get("categories") or []) + [str(self.doc.get("pattern") or "")]
        return any(str(c).startswith("other_model") for c in marks)


class AnswerKey:
    """The answer key, indexed by post id, and the pixels of its media files."""

    def __init__(self, doc: dict, media_dir: Path | None):
        self.doc = doc
        self.media_prefix = doc.get("media_url_prefix") or ""
        self.media_dir = media_dir
        self.trees: list[KeyTree] = []
        self.tree_of_post: dict[str, KeyTree] = {}
        for i, t in enumerate(doc["trees"]):
            tree = KeyTree(t.get("tree_id") or t["root_post_id"], t)
            tree.samples = [KeySample(f"{tree.tid}#{n}", tree, s) for n, s in enumerate(t.get("samples") or [])]
            self.trees.append(tree)
            for pid in tree.post_ids:
                self.tree_of_post.setdefault(pid, tree)
        self.samples = [s for t in self.trees for s in t.samples]
        self.feedback_of_post: dict[str, tuple[KeySample, dict]] = {}
        for s in self.samples:
            for pid, f in s.feedback_by_post.items():
                self.feedback_of_post[pid] = (s, f)
        self._thumbs: dict[str, np.ndarray | None] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, media_dir: str | Path | None = None) -> AnswerKey:
        p = Path(path)
        doc = json.loads(p.read_text(encoding="utf-8"))
        return cls(doc, Path(media_dir) if media_dir else p.parent / "media")

    def local_path(self, url: str) -> Path | None:
        parts = urlsplit(html.unescape(url))
        bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if not self.media_dir or not self.media_prefix or not bare.startswith(self.media_prefix):
            return None
        p = self.media_dir / bare[len(self.media_prefix):]
        return p if p.is_file() else None

    def thumb(self, url: str) -> np.ndarray | None:
        with self._lock:
            if url in self._thumbs:
                return self._thumbs[url]
        p = self.local_path(url)
        t = None
        if p is not None:
            with Image.open(p) as img:
                img.load()
                t = thumbnail(img)
                self._sizes[url] = img.size
        with self._lock:
            self._thumbs[url] = t
        return t

    def size(self, url: str) -> tuple[int, int] | None:
        self.thumb(url)
        return self._sizes.get(url)

    def trees_of(self, post_ids) -> list[KeyTree]:
        out = []
        for pid in post_ids:
            t = self.tree_of_post.get(pid)
            if t is not None and t not in out:
                out.append(t)
        return out


# --- the oracle ---------------------------------------------------------------------------------------------


def _keywords(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text or "")][:5]


class Oracle:
    def __init__(self, key: AnswerKey):
        self.key = key
        self.violations: list[str] = []
        self.log: dict[str, list[dict]] = defaultdict(list)
        self._lock = threading.Lock()

    def responders(self) -> dict[str, Any]:
        def wrap(fn):
            def respond(req: FakeRequest):
                self._check(req)
                return fn(req)
            return respond

        return {stage: wrap(getattr(self, stage)) for stage in (
            "relevance", "tree_to_samples", "image_roles", "screenshot", "fill_blank", "benchmark_filter", "feedback")}

    # -- bookkeeping ----------------------------------------------------------------------------------------
    def _record(self, stage: str, entry: dict) -> None:
        with self._lock:
            self.log[stage].append(entry)

    def _violation(self, msg: str) -> None:
        with self._lock:
            self.violations.append(msg)

    def _check(self, req: FakeRequest) -> None:
        for alias, url in req.image_parts:
            if not url.startswith("data:"):
                self._violation(f"{req.stage}: image {alias or '?'} is sent as a URL, not a data: URL: {url[:120]}")

    # -- what a request shows -----------------------------------------------------------------------------
    def _pixels(self, req: FakeRequest) -> dict[str, Image.Image]:
        out = {}
        for n, (alias, url) in enumerate(req.image_parts, 1):
            img = decode_data_url(url) if url.startswith("data:") else None
            if img is not None:
                out[alias or f"i{n}"] = img
        return out

    def _match_image(self, img: Image.Image, candidates: list[str]) -> tuple[str | None, float]:
        """The key media URL among candidates showing the same picture (None if none is close enough).

        Candidates are the images of the sample the request is about (located by the post ids it shows), so
        identical pictures of other samples or trees cannot be confused with them; ties keep key order."""
        t = thumbnail(img)
        scored = []
        for url in dict.fromkeys(candidates):
            k = self.key.thumb(url)
            if k is not None:
                scored.append((float(np.abs(t - k).mean()), url))
        if not scored:
            return None, float("inf")
        best = min(d for d, _ in scored)
        if best > MATCH_MAE:
            return None, best
        return next(u for d, u in scored if d <= best + TIE_MAE), best

    @staticmethod
    def _texts(req: FakeRequest) -> tuple[list[str], list[str]]:
        """The readable texts of a request (post texts, then image alt texts) and their sources."""
        texts, where = [], []
        for p in req.posts:
            texts.append(p["text"])
            where.append(f"post:{p['id']}")
        for im in req.images:
            if im.get("alt"):
                texts.append(im["alt"])
                where.append(f"alt:{im.get('post')}")
        for m in re.finditer(r'alt text ("(?:[^"\\]|\\.)*")', req.user_text):
            texts.append(json.loads(m[1]))
            where.append("alt:relevance")
        return texts, where

    @staticmethod
    def _prompt_field(req: FakeRequest, name: str = "Prompt (JSON-encoded)") -> str | None:
        raw = req.field(name)
        try:
            return json.loads(raw) if raw is not None else None
        except ValueError:
            return None

    # -- 1. relevance -------------------------------------------------------------------------------------
    def relevance(self, req: FakeRequest) -> dict:
        results, context = [], {}
        lines = req.user_text.splitlines()
        for line in lines:
            c = _CONTEXT_LINE_RE.match(line)
            if c:
                a = _attrs(c["attrs"])
                context.setdefault(a["of"], []).append(a["id"])
        for line in lines:
            m = _POST_LINE_RE.match(line)
            if not m:
                continue
            a = _attrs(m["attrs"])
            shown = [a["id"]] + context.get(a["id"], [])
            tree = self.key.tree_of_post.get(a["id"])
            if tree is None:
                score, why, ev = 1, "post not in the answer key", []
            elif not tree.relevant:
                score, why, ev = (2, "another model", []) if tree.other_model else (1, "not about the target model", [])
            else:
                ev = [pid for pid in shown if pid in tree.relevance_evidence]
                score, why = (5, "shows the target model's image generation") if ev else \
                    (3, "the posts shown do not say which model made it")
            results.append({"post_id": a["id"], "score": score, "reason": why})
            self._record("relevance", {"post_id": a["id"], "tree": tree.tid if tree else None, "score": score,
                                       "shown": shown, "evidence_shown": ev})
        return {"results": results}

    # -- 2. tree_to_samples --------------------------------------------------------------------------------------
    def tree_to_samples(self, req: FakeRequest) -> dict:
        posts = req.posts
        shown = [p["id"] for p in posts]
        tree = self.key.tree_of_post.get(shown[0]) if shown else None
        if tree is None:
            self._record("tree_to_samples", {"tree": None, "shown": shown, "samples": {}})
            return {"samples": []}
        texts, where = self._texts(req)
        out, seen = [], {}
        for s in tree.samples:
            evidence = [pid for pid in s.evidence_post_ids if pid in shown]
            anchor = s.anchor_post_id if s.anchor_post_id in shown else (evidence[0] if evidence else None)
            feedback = [pid for pid in s.feedback_by_post if pid in shown]
            prompt, modified, found = None, False, None
            for candidate, is_key_prompt in ((s.text, s.text == s.doc.get("prompt")), (s.doc.get("prompt"), True)):
                idx = visible_in(candidate, texts) if candidate else None
                if idx is not None:
                    prompt, found = candidate, [where[i] for i in idx]
                    modified = bool(s.doc.get("prompt_modified")) if is_key_prompt else len(idx) > 1
                    break
            seen[s.sid] = {"returned": anchor is not None, "prompt_visible": prompt is not None,
                           "prompt_where": found, "evidence_shown": evidence, "feedback_shown": feedback,
                           "returned_prompt": prompt}
            if anchor is None:
                continue  # none of its posts is shown: nothing to anchor it on
            if anchor not in evidence:
                evidence.insert(0, anchor)
            out.append({"anchor_post_id": anchor, "prompt": prompt, "prompt_modified": modified,
                        "evidence_post_ids": evidence, "quality": s.quality, "task": s.task,
                        "feedback_post_ids": feedback, "notes": "" if prompt or not s.text else "prompt not shown"})
        self._record("tree_to_samples", {"tree": tree.tid, "shown": shown, "samples": seen})
        return {"samples": out}

    # -- which key sample a per-sample request is about ------------------------------------------------------------
    def _sample_for(self, req: FakeRequest, prompt: str | None, pixels: dict[str, Image.Image]) -> KeySample | None:
        post_ids = [p["id"] for p in req.posts] + [im.get("post") for im in req.images if im.get("post")]
        cands = [s for t in self.key.trees_of(post_ids) for s in t.samples]
        if not cands:
            return None
        shown = set(post_ids)
        p = norm(prompt)

        def score(s: KeySample) -> tuple:
            same_prompt = bool(p) and p in (norm(s.doc.get("prompt")), norm(s.doc.get("prompt_fill_blank")))
            overlap = len(shown & set(s.evidence_post_ids))
            return (same_prompt, overlap)

        best = max(cands, key=score)
        ties = [s for s in cands if score(s) == score(best)]
        if len(ties) > 1 and pixels:  # same posts, no prompt to tell them apart: the images do
            def hits(s: KeySample) -> int:
                return sum(1 for img in pixels.values() if self._match_image(img, s.images)[0])
            best = max(ties, key=hits)
        return best

    # -- 3. image_roles -----------------------------------------------------------------------------------------
    def image_roles(self, req: FakeRequest) -> dict:
        prompt = self._prompt_field(req)
        pixels = self._pixels(req)
        lines = {im["id"]: im for im in req.images}
        sample = self._sample_for(req, prompt, pixels)
        rows, seen_thumbs, entry = [], [], []
        for alias, im in lines.items():
            img = pixels.get(alias)
            url, role, shot, dup = None, "irrelevant", False, False
            if img is not None:
                t = thumbnail(img)
                dup = any(float(np.abs(t - o).mean()) <= MATCH_MAE for o in seen_thumbs)
                seen_thumbs.append(t)
                # Only this sample's pictures get a role: another generation shown beside it is not its output.
                url = self._match_image(img, sample.images)[0] if sample else None
                if url:
                    role = sample.role_of(url) or "irrelevant"
                    shot = bool(sample.doc.get("is_screenshot"))
            rows.append({"image_id": alias, "role": role, "is_screenshot": shot, "is_duplicate": dup,
                         "reason": f"key {url}" if url else "not an image of this sample"})
            entry.append({"alias": alias, "post": im.get("post"), "url": url, "role": role, "screenshot": shot,
                          "duplicate": dup, "pixels": img is not None})
        template = sample.doc.get("prompt_fill_blank") if sample else None
        fill = bool(template) and norm(prompt) == norm(template)
        self._record("image_roles", {"sample": sample.sid if sample else None, "prompt": prompt, "images": entry,
                                     "fill_blank": fill})
        return {"images": rows, "fill_blank": fill}

    # -- 4. screenshot ----------------------------------------------------------------------------------------------
    def screenshot(self, req: FakeRequest) -> dict:
        m = _SIZE_RE.search(req.user_text)
        pixels = list(self._pixels(req).values())
        shots = [s for s in self.key.samples if s.doc.get("is_screenshot")]
        urls = [u for s in shots for u in s.images]
        url = self._match_image(pixels[0], urls)[0] if pixels else None
        sample = next((s for s in shots if url in s.images), None)
        if sample is None or not m:
            self._record("screenshot", {"sample": None, "url": url})
            return {"prompt": None, "boxes": []}
        w, h = int(m["w"]), int(m["h"])
        boxes = []
        doc_boxes = sample.doc.get("input_boxes") or {}
        size = doc_boxes.get("size") if isinstance(doc_boxes, dict) else None
        ow, oh = size or self.key.size(url) or (w, h)
        items = ([(r, doc_boxes[r]) for r in ("input", "output") if doc_boxes.get(r)] if isinstance(doc_boxes, dict)
                 else [(b["role"], b["box"]) for b in doc_boxes if b.get("role") in ("input", "output")])
        for role, (l, t, r, b) in items:
            boxes.append({"role": role, "box": [round(l * w / ow), round(t * h / oh), round(r * w / ow), round(b * h / oh)]})
        prompt = sample.text
        self._record("screenshot", {"sample": sample.sid, "url": url, "size": [w, h], "prompt": prompt})
        return {"prompt": prompt, "boxes": boxes}

    # -- 5. fill_blank ----------------------------------------------------------------------------------------------
    def fill_blank(self, req: FakeRequest) -> dict:
        template = self._prompt_field(req, "Template (JSON-encoded)")
        posts = [im.get("post") for im in req.images if im.get("post")]
        cands = [s for s in self.key.samples if s.doc.get("prompt_fill_blank") and norm(s.prompt_fill_blank) == norm(template)]
        in_tree = [s for s in cands if s.tree in self.key.trees_of(posts)]
        sample = (in_tree or cands or [None])[0]
        entry = {"sample": sample.sid if sample else None, "template": template}
        if sample is None:
            complete = [s for s in self.key.samples if s.doc.get("prompt") and norm(s.prompt) == norm(template)]
            if complete:  # no template at all: its brackets hold the values the user used
                self._record("fill_blank", {**entry, "sample": complete[0].sid, "visible": True, "values": {},
                                            "complete": True})
                return {"is_template": False, "prompt": template, "confident": True,
                        "reason": "not a template: the brackets hold the values the user used"}
        if sample is None or not sample.doc.get("prompt"):
            self._record("fill_blank", {**entry, "visible": False, "values": None})
            return {"is_template": True, "prompt": None, "confident": False,
                    "reason": "nothing shown says what fills the blank"}
        values = placeholder_values(template, sample.prompt) or {}
        rest = "\n".join(line for line in req.user_text.splitlines() if not line.startswith("Template (JSON-encoded):"))
        texts, _ = self._texts(FakeRequest(req.stage, req.body, req.system, rest, req.n_images, req.correction))
        hay = " \n ".join(norm_keep(t) for t in texts + [rest])
        missing = [h for h, v in values.items() if not re.search(rf"(?<!\w){re.escape(v)}(?!\w)", hay)]
        self._record("fill_blank", {**entry, "visible": bool(values) and not missing, "values": values, "missing": missing})
        if values and not missing:
            return {"is_template": True, "prompt": sample.prompt, "confident": True,
                    "reason": "the value is named in the request"}
        return {"is_template": True, "prompt": None, "confident": False,
                "reason": f"nothing shown says what fills {', '.join(missing) or 'the blank'}"}

    # -- 6. benchmark_filter ------------------------------------------------------------------------------------------
    def benchmark_filter(self, req: FakeRequest) -> dict:
        prompt = self._prompt_field(req)
        task = req.field("Task")
        pixels = self._pixels(req)
        sample = self._sample_for(req, prompt, pixels)
        if sample is None:
            self._record("benchmark_filter", {"sample": None})
            return {"decision": "manual_review", "review_targets": ["prompt"], "reason": "cannot tell what this is"}
        decision = sample.decision
        targets: list[str] = []
        if decision != "discard":
            if norm(prompt) != norm(sample.doc.get("prompt")):
                targets.append("prompt")
            shown = {"input": set(), "output": set()}
            for im in req.images:
                img = pixels.get(im["id"])
                url = self._match_image(img, sample.images)[0] if img is not None else None
                shown[im.get("role") if im.get("role") in shown else "output"].add(url)
            if sample.doc.get("is_screenshot"):
                ok_in = ok_out = set(sample.images) <= (shown["input"] | shown["output"])
            else:
                ok_in = shown["input"] == set(sample.doc.get("input_images") or [])
                ok_out = shown["output"] == set(sample.doc.get("output_images") or [])
            task_ok = task == (sample.task or "unknown")
            if not ok_in or (not task_ok and "image_to_image" in (task, sample.task)):
                targets.append("input_image")
            if not ok_out:
                targets.append("output_image")
            if decision == "benchmark" and targets:
                decision = "manual_review"
            elif decision == "manual_review":
                targets = list(dict.fromkeys(list(sample.doc.get("review_targets") or []) + targets)) or ["prompt"]
        self._record("benchmark_filter", {"sample": sample.sid, "decision": decision, "targets": targets})
        return {"decision": decision, "review_targets": targets if decision == "manual_review" else [],
                "reason": "as the key says" if not targets else "differs from the key: " + ", ".join(targets)}

    # -- 7. feedback -------------------------------------------------------------------------------------------------
    def feedback(self, req: FakeRequest) -> dict:
        prompt = self._prompt_field(req)
        posts = req.posts
        trees = self.key.trees_of(p["id"] for p in posts)
        for q in posts:  # a judging quote-post may be a tree of its own: the tree it judges counts too
            if q["id"] in self.key.feedback_of_post and self.key.feedback_of_post[q["id"]][0].tree not in trees:
                trees.append(self.key.feedback_of_post[q["id"]][0].tree)
        p = norm(prompt)
        by_prompt = [s for t in trees for s in t.samples
                     if p and p in (norm(s.doc.get("prompt")), norm(s.doc.get("prompt_fill_blank")))]
        judged = {self.key.feedback_of_post[q["id"]][0].sid for q in posts if q["id"] in self.key.feedback_of_post}
        if by_prompt:
            sample = by_prompt[0]
        else:
            # No prompt shown to tell which generation: the replies judge the only one their thread has.
            only = [s for s in self.key.samples if s.sid in judged]
            sample = only[0] if len(only) == 1 and len(only[0].tree.samples) == 1 else None
        rows, entry = [], []
        for q in posts:
            got = self.key.feedback_of_post.get(q["id"])
            if sample is not None and got and got[0] is sample:
                pol, cats = got[1]["polarity"], list(got[1].get("categories") or [])
            else:
                pol, cats = "neutral", []
            rows.append({"post_id": q["id"], "polarity": pol, "keywords": _keywords(q["text"]), "categories": cats})
            entry.append({"post_id": q["id"], "polarity": pol, "key_sample": got[0].sid if got else None})
        self._record("feedback", {"sample": sample.sid if sample else None, "prompt": prompt, "replies": entry})
        return {"feedback": rows}
