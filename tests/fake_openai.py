"""A fake OpenAI-compatible server on 127.0.0.1: POST /v1/chat/completions, scripted per stage.

Each request's stage is read from the system prompt ("Step: <stage>"). A responder per stage turns the parsed
request into an answer; the defaults behave like a plausible model reading the posts. Faults are queued per stage
and consumed one per request: "429" (with Retry-After), "500", "slow", "invalid_json", "invalid_schema",
"refusal", "empty". `reject_json_schema=True` answers 400 to response_format json_schema, like endpoints
without structured outputs. Every request is recorded; usage counts ~4 characters per token and 765 per image.

It is also a load target: HTTP/1.1 with keep-alive, a listen backlog of 4096 and one thread per connection, so
it serves many connections at once; `latency_s` adds a fixed delay to every request without holding any lock,
so a client at concurrency C sees about C / latency_s requests per second. Arrival times are recorded
(`times`, `FakeRequest.arrived`) and `max_in_window` gives the most requests seen in any window (a client's
requests-per-minute limit is checked with it). bench/fake_server_capacity.py measures the capacity.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import traceback
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_POST_RE = re.compile(r'<post (?P<attrs>[^>]*)>(?P<text>"(?:[^"\\]|\\.)*")</post>')
_ATTR_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_IMAGE_RE = re.compile(r"<image (?P<attrs>[^>]*)>")


def _attrs(s: str) -> dict[str, Any]:
    out = {}
    for k, v in _ATTR_RE.findall(s):
        out[k] = json.loads(v) if v.startswith('"') else v
    return out


@dataclass
class FakeRequest:
    stage: str
    body: dict
    system: str
    user_text: str
    n_images: int
    correction: bool  # the client is asking again after an invalid answer
    image_parts: list[tuple[str | None, str]] = field(default_factory=list)  # (alias of "Image i1:" before it, url)
    arrived: float = 0.0  # time.monotonic() when the request reached the server

    @property
    def response_format(self) -> str | None:
        rf = self.body.get("response_format")
        return rf.get("type") if rf else None

    @property
    def posts(self) -> list[dict]:
        out = []
        for m in _POST_RE.finditer(self.user_text):
            a = _attrs(m["attrs"])
            a["text"] = json.loads(m["text"])
            a["images"] = [i for i in str(a.get("images", "")).split(",") if i]
            out.append(a)
        return out

    @property
    def images(self) -> list[dict]:
        return [_attrs(m["attrs"]) for m in _IMAGE_RE.finditer(self.user_text)]

    def field(self, name: str) -> str | None:
        m = re.search(rf"^{re.escape(name)}: (.*)$", self.user_text, flags=re.M)
        return m[1] if m else None


Responder = Callable[[FakeRequest], Any]


# --- default "model": reads the posts like a cautious annotator -------------------------------------

TARGET = re.compile(r"\b(gpt-?4o|4o|chatgpt|gpt[- ]image|sora)\b", re.I)
OTHER = re.compile(r"\b(midjourney|flux|nano banana|gemini|dall-?e|stable diffusion|sdxl)\b", re.I)
IMAGEY = re.compile(r"\b(image|images|generat\w*|prompt|pic|picture|photo|render\w*|draw\w*|ghibli|edit\w*|style)\b", re.I)
PROMPT_RE = re.compile(r"prompt\s*(?:\(\d/\d\))?\s*[:：]\s*(?P<p>.+)", re.I | re.S)
QUOTED_RE = re.compile(r"[\"“](?P<p>[^\"”]{12,})[\"”]")
GOOD = re.compile(r"\b(wow|perfect|amazing|love|nailed|impressive|great|beautiful|incredible)\b", re.I)
BAD = re.compile(r"\b(wrong|fail\w*|garbled|off|extra|broken|messed|weird|changed|ugly|not)\b", re.I)
CATS = {"identity": r"face|identity|looks like", "text rendering": r"text|spell|letter|garbled",
        "color shift": r"colou?r|tint|yellow", "proportions": r"hand|finger|limb", "aspect ratio": r"aspect|crop|16:9",
        "style": r"style|ghibli|anime", "detail": r"detail|sharp|texture", "structure": r"layout|perspective|structure"}


def default_relevance(req: FakeRequest) -> dict:
    results = []
    for p in req.posts:
        t = p["text"]
        if OTHER.search(t) and not TARGET.search(t):
            score = 2
        elif TARGET.search(t) and (IMAGEY.search(t) or p.get("images")):
            score = 5
        elif p.get("images") or PROMPT_RE.search(t):
            score = 4
        elif TARGET.search(t):
            score = 2
        else:
            score = 1
        results.append({"post_id": p["id"], "score": score, "reason": "fake model"})
    return {"results": results}


def _prompt_of(text: str) -> str | None:
    m = PROMPT_RE.search(text)
    if m:
        return m["p"].strip().strip('"“”').strip()
    m = QUOTED_RE.search(text)
    return m["p"].strip() if m else None


def default_tree_to_samples(req: FakeRequest) -> dict:
    posts = req.posts
    if not posts:
        return {"samples": []}
    root = posts[0]
    evidence, prompt = [root["id"]], _prompt_of(root["text"])
    for p in posts[1:]:  # the author's own follow-ups carry the prompt or more images
        if p.get("author") == root.get("author") and p.get("reply_to") in evidence:
            evidence.append(p["id"])
            if prompt is None:
                prompt = _prompt_of(p["text"])
    feedback = [p["id"] for p in posts if p["id"] not in evidence and p.get("author") != root.get("author")]
    has_images = any(p.get("images") for p in posts if p["id"] in evidence)
    quality = "benchmark" if prompt and has_images else ("analysis" if has_images or prompt else "trash")
    n_images = sum(len(p.get("images", [])) for p in posts if p["id"] in evidence)
    task = "image_to_image" if re.search(r"\b(this photo|turn (this|my)|edit|transform)", root["text"], re.I) \
        and n_images >= 2 else "text_to_image"
    return {"samples": [{"anchor_post_id": root["id"], "prompt": prompt, "prompt_modified": False,
                         "evidence_post_ids": evidence, "quality": quality, "task": task,
                         "feedback_post_ids": feedback, "notes": ""}]}


def default_image_roles(req: FakeRequest) -> dict:
    task = req.field("Task")
    rows = []
    for n, im in enumerate(req.images):
        shot = "screenshot" in str(im.get("alt", "")).lower()
        role = "input" if task == "image_to_image" and n == 0 else "output"
        rows.append({"image_id": im["id"], "role": role, "is_screenshot": shot, "is_duplicate": False,
                     "reason": "fake model"})
    prompt = json.loads(req.field("Prompt (JSON-encoded)") or "null") or ""
    return {"images": rows, "fill_blank": bool(re.search(r"\[[^\]]+\]", prompt))}


def default_screenshot(req: FakeRequest) -> dict:
    return {"prompt": None, "boxes": []}


def default_fill_blank(req: FakeRequest) -> dict:
    return {"is_template": True, "prompt": None, "confident": False,
            "reason": "the images do not show what fills the blank"}


def default_benchmark_filter(req: FakeRequest) -> dict:
    prompt = json.loads(req.field("Prompt (JSON-encoded)") or "null")
    outputs = [im for im in req.images if im.get("role") == "output"]
    if req.field("Quality") == "trash":
        return {"decision": "discard", "review_targets": [], "reason": "no task"}
    if prompt and outputs and req.field("Prompt modified (stitched, filled or not verbatim)") == "false":
        return {"decision": "benchmark", "review_targets": [], "reason": "clear prompt and output"}
    targets = ([] if prompt else ["prompt"]) + ([] if outputs else ["output_image"])
    return {"decision": "manual_review", "review_targets": targets or ["prompt"], "reason": "needs a check"}


def default_feedback(req: FakeRequest) -> dict:
    rows = []
    for p in req.posts:
        t = p["text"]
        pol = "failure" if BAD.search(t) else ("success" if GOOD.search(t) else "neutral")
        cats = [c for c, rx in CATS.items() if re.search(rx, t, re.I)]
        words = [w for w in re.findall(r"[A-Za-z]{4,}", t)][:3]
        rows.append({"post_id": p["id"], "polarity": pol, "keywords": words, "categories": cats})
    return {"feedback": rows}


DEFAULTS: dict[str, Responder] = {
    "relevance": default_relevance, "tree_to_samples": default_tree_to_samples, "image_roles": default_image_roles,
    "screenshot": default_screenshot, "fill_blank": default_fill_blank, "benchmark_filter": default_benchmark_filter,
    "feedback": default_feedback,
}


class _Server(ThreadingHTTPServer):
    request_queue_size = 4096  # the listen backlog (the kernel caps it at net.core.somaxconn)
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class FakeOpenAI:
    responders: dict[str, Responder] = field(default_factory=dict)
    reject_json_schema: bool = False
    retry_after: float = 0.2
    slow_s: float = 1.0
    latency_s: float = 0.0  # added to every request, slept without holding a lock
    idle_timeout_s: float = 30.0  # a keep-alive connection idle this long is closed
    requests: list[FakeRequest] = field(default_factory=list)
    faults: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    statuses: list[int] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0

    def __post_init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.times: list[float] = []  # arrival times (time.monotonic()) of every POST, in order
        self.connections = 0  # TCP connections accepted (fewer than requests: keep-alive works)
        self.errors: list[str] = []  # exceptions raised by responders (answered 500)
        self._open: set[socket.socket] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # persistent connections; every answer carries Content-Length
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall
            timeout = fake.idle_timeout_s

            def log_message(self, *a):  # quiet
                pass

            def setup(self):
                super().setup()
                with fake.lock:
                    fake.connections += 1
                    fake._open.add(self.connection)

            def finish(self):
                with fake.lock:
                    fake._open.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def do_POST(self):
                arrived = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))  # always read: keeps the stream aligned
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    return self._send(400, {"error": {"message": f"body is not JSON: {e}"}})
                with fake.lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    fake.times.append(arrived)
                status = 500
                try:
                    try:
                        status, payload, headers = fake.handle(body, arrived=arrived)
                    except Exception as e:  # noqa: BLE001 - a broken responder must show, not hang the client
                        with fake.lock:
                            fake.errors.append(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
                        status, payload, headers = 500, {"error": {"message": f"responder failed: {e}"}}, {}
                    # The answer leaves latency_s after the request arrived (the responder's own time included).
                    wait = arrived + fake.latency_s - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1
                        fake.statuses.append(status)
                self._send(status, payload, headers)

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        with self.lock:
            conns = list(self._open)
        for c in conns:  # wake threads waiting on idle keep-alive connections
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server.server_close()

    def fault(self, stage: str, *kinds: str) -> None:
        self.faults[stage].extend(kinds)

    def count(self, stage: str | None = None) -> int:
        return sum(1 for r in self.requests if stage is None or r.stage == stage)

    def max_in_window(self, window_s: float = 60.0, stage: str | None = None) -> int:
        """The most requests that arrived within any window of window_s seconds (a sliding window)."""
        with self.lock:
            ts = sorted(r.arrived for r in self.requests if stage is None or r.stage == stage)
        best, lo = 0, 0
        for hi, t in enumerate(ts):
            while t - ts[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    # -- one request ------------------------------------------------------------------------------------
    def handle(self, body: dict, *, arrived: float | None = None) -> tuple[int, dict, dict]:
        msgs = body["messages"]
        system = msgs[0]["content"] if isinstance(msgs[0]["content"], str) else ""
        m = re.search(r"^Step: (\w+)", system, flags=re.M)
        stage = m[1] if m else "unknown"
        user = msgs[1]["content"]
        n_images, image_parts = 0, []
        if isinstance(user, list):
            alias = None
            for p in user:
                if p["type"] == "image_url":
                    image_parts.append((alias, p["image_url"]["url"]))
                    alias = None
                elif p["type"] == "text":
                    am = re.fullmatch(r"Image (\S+):", p.get("text", "").strip())
                    alias = am[1] if am else None
            n_images = len(image_parts)
            user = "\n".join(p.get("text", "") for p in user if p["type"] == "text")
        req = FakeRequest(stage, body, system, user, n_images, correction=len(msgs) > 2, image_parts=image_parts,
                          arrived=time.monotonic() if arrived is None else arrived)
        with self.lock:
            self.requests.append(req)
            fault = self.faults[stage].popleft() if self.faults[stage] else None
        if self.reject_json_schema and req.response_format == "json_schema":
            return 400, {"error": {"message": "response_format json_schema is not supported by this model",
                                   "type": "invalid_request_error", "param": "response_format", "code": None}}, {}
        if fault == "429":
            return 429, {"error": {"message": "rate limited", "type": "rate_limit_error"}}, \
                {"retry-after": str(self.retry_after)}
        if fault == "500":
            return 500, {"error": {"message": "internal error", "type": "server_error"}}, {}
        if fault == "slow":
            time.sleep(self.slow_s)
        responder = self.responders.get(stage) or DEFAULTS.get(stage)
        refusal = None
        if fault == "invalid_json":
            content = '{"results": [ this is not json'
        elif fault == "invalid_schema":
            content = json.dumps({"unexpected": True})
        elif fault == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that."
        elif fault == "empty":
            content = ""
        elif responder is None:
            return 400, {"error": {"message": f"no responder for stage {stage}"}}, {}
        else:
            answer = responder(req)
            content = answer if isinstance(answer, str) else json.dumps(answer)
        text_chars = sum(len(m["content"]) if isinstance(m["content"], str)
                         else sum(len(p.get("text", "")) for p in m["content"]) for m in msgs)
        t_in = text_chars // 4 + 765 * n_images
        t_out = len(content or refusal or "") // 4 + 1
        with self.lock:
            self.tokens_in += t_in
            self.tokens_out += t_out
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": t_in, "completion_tokens": t_out, "total_tokens": t_in + t_out},
        }, {}
