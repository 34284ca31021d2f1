"""The LLM chain over any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama, LiteLLM ...).

One backend per run, and per backend one event loop thread, one client, one rate limiter and one circuit breaker,
shared by every step and call of the run:
- Structured output: response_format json_schema (strict) when the endpoint takes it; with
  config.llm.json_schema_mode = "auto" a 400 on json_schema switches this backend to json_object (the schema
  is then spelled out in the system prompt). Every answer is validated against schemas/llm/*.json either way.
- An invalid answer is asked again once with the validation error; then it is a Failure with the raw answer.
  A refusal (message.refusal or empty content) or a body that is not a chat completion (an HTML error page
  answered with 200) is a Failure at once.
- 429, 5xx, timeouts and connection errors back off (Retry-After honoured) up to config.llm.max_retries;
  the openai client's own retries are off (max_retries=0) so this is the one retry policy. Each request has
  config.llm.timeout_s; a stage may set a deadline (set_deadline), after which nothing more is asked.
- After config.llm.breaker_failures failed attempts in a row the breaker opens: nothing more is asked this
  run and the outcome says stopped="unavailable" (the stage then fails with a clear message).
- Bounded concurrency (config.llm.concurrency) and a requests/tokens-per-minute limiter over the whole run.
- Validated answers are cached in llm_cache by (model, template version, input hash). Cache reads and writes
  happen in bulk before and after each batch of calls, never inside the event loop.
- Only image bytes that passed the media stage's safe fetcher reach the model, as data URLs. An image that was
  not stored is left out and the request says so: a model server is never handed a URL it might fetch.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import email.utils
import io
import json
import logging
import math
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import openai

try:  # the raw response class of the openai client (httpx2 from openai 3, httpx before)
    import httpx2 as _http
except ImportError:  # pragma: no cover - older openai releases
    import httpx as _http

from echo import schema
from echo.config import Config, llm_api_key
from echo.llm import prompts
from echo.llm.backend import (
    VISION_STEPS,
    Failure,
    ImageView,
    Outcome,
    RelevanceItem,
    SampleItem,
    ScreenshotItem,
    TreeItem,
)
from echo.llm.cache import LLMCache, input_hash
from echo.store import Store

log = logging.getLogger("echo.llm")
T = TypeVar("T")

# Keywords OpenAI's strict structured outputs do not accept; they are still enforced by local validation.
_STRICT_UNSUPPORTED = {"$schema", "$id", "title", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
                       "minimum", "maximum", "pattern", "format"}
_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, openai.APITimeoutError)
# Errors that no retry fixes and that would fail every item the same way: stop the pipeline stage with a clear message.
_FATAL = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
# What one image costs on OpenAI, used only to pace the TPM limiter: high detail at 1024 px, and low detail.
IMAGE_TOKENS = {"high": 765, "auto": 765, "low": 85}
DETAILS = ("auto", "low", "high")
# The HTTP connection pool does work per request that grows with its connections: spread high concurrency
# over several clients of at most this many connections each.
CONNECTIONS_PER_CLIENT = 16


class LLMConfigError(RuntimeError):
    pass


class _Stopped(Exception):
    """Raised inside a call when the deadline passed or the breaker is open: the item is not asked."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def strict_schema(doc: dict) -> dict:
    """A JSON Schema reduced to what strict structured outputs accept."""
    if isinstance(doc, dict):
        return {k: strict_schema(v) for k, v in doc.items() if k not in _STRICT_UNSUPPORTED}
    if isinstance(doc, list):
        return [strict_schema(v) for v in doc]
    return doc


def _retry_after(e: Exception) -> float | None:
    resp = getattr(e, "response", None)
    if resp is None:
        return None
    h = resp.headers
    if h.get("retry-after-ms"):
        try:
            return float(h["retry-after-ms"]) / 1000
        except ValueError:
            pass
    ra = h.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        when = email.utils.parsedate_to_datetime(ra)
        return max(0.0, when.timestamp() - time.time()) if when else None


class RateLimiter:
    """Sliding window over requests and (estimated) tokens: never more than `rpm` requests, nor `tpm` tokens,
    start within any `window_s` seconds. A slot is reused only a sixtieth of the window later than that (1 s a
    minute), so the server's own window holds too when requests reach it with uneven delays. `clock` and `sleep`
    are replaceable for tests."""

    def __init__(self, requests_per_minute: int, tokens_per_minute: int, window_s: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.rpm = max(1, requests_per_minute)
        self.tpm = max(1, tokens_per_minute)
        self.window = window_s
        self.reuse_after = window_s * 61 / 60
        self.clock = clock
        self.sleep = sleep
        self.events: collections.deque[tuple[float, int]] = collections.deque()
        self.tokens_in_window = 0
        self._lock: asyncio.Lock | None = None
        self.waited_s = 0.0
        self.granted: list[float] = []  # start times of every request let through (checked by tests and benches)

    async def acquire(self, tokens: int) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self.clock()
                while self.events and now - self.events[0][0] >= self.reuse_after:
                    self.tokens_in_window -= self.events.popleft()[1]
                # a request bigger than the whole budget still goes, alone in its window
                if not self.events or (len(self.events) < self.rpm and self.tokens_in_window + tokens <= self.tpm):
                    self.events.append((now, tokens))
                    self.tokens_in_window += tokens
                    self.granted.append(now)
                    return
                wait = max(0.001, self.reuse_after - (now - self.events[0][0]))
                self.waited_s += wait
                await self.sleep(wait)


@dataclass
class _Answer:
    doc: dict | None = None
    error: str | None = None
    raw: str | None = None
    calls: int = 0
    cache_hit: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    stopped: _Stopped | None = None


@dataclass
class _Request:
    """One question to the model, built before anything is sent (so the cache can be read in bulk)."""

    step: str
    messages: list[dict]
    wire_schema: str
    finish: Callable[[dict], dict] | None = None
    model: str = ""
    version: str = ""
    in_hash: str = ""
    answer: _Answer = field(default_factory=_Answer)


class OpenAIBackend:
    vision = True

    def __init__(self, config: Config, store: Store | None = None, *, api_key: str | None = None):
        llm = config.llm
        if not llm.base_url:
            raise LLMConfigError("config.llm.base_url is empty: set ECHO_LLM_BASE_URL (or use the rules backend)")
        if llm.json_schema_mode not in ("auto", "json_schema", "json_object"):
            raise LLMConfigError(f"llm.json_schema_mode must be auto, json_schema or json_object, not {llm.json_schema_mode!r}")
        unknown = set(llm.step_models) - set(prompts.STEPS)
        if unknown:
            raise LLMConfigError(f"llm.step_models: unknown step(s) {sorted(unknown)}; steps: {', '.join(prompts.STEPS)}")
        bad_detail = {k: v for k, v in llm.image_detail.items() if k not in prompts.STEPS or v not in DETAILS}
        if bad_detail:
            raise LLMConfigError(f"llm.image_detail: {bad_detail} is not valid; keys are steps "
                                 f"({', '.join(prompts.STEPS)}), values one of {', '.join(DETAILS)}")
        self.config = config
        self.llm = llm
        self.target_model = config.filter.target_model
        # Local servers (vLLM, Ollama) take any key; the client insists on one.
        self.api_key = api_key or llm_api_key() or "not-needed"
        self.cache = LLMCache(store)
        self.mode = "json_schema" if llm.json_schema_mode in ("auto", "json_schema") else "json_object"
        self.fallbacks = 0  # times json_schema was rejected and json_object used instead
        self.name = f"llm:{self.model_for('tree_to_samples')}"
        # No vision model (or images switched off): no pixels are sent, and screenshots go to OCR instead.
        self.vision = bool(llm.vision_model) and llm.send_images
        self._image_cache: dict[str, tuple[str, int, int]] = {}
        self.limiter = RateLimiter(llm.requests_per_minute, llm.tokens_per_minute)
        self.deadline: float | None = None  # time.monotonic() after which nothing is asked
        self.failures_in_a_row = 0
        self.unavailable: str | None = None  # why the breaker opened
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[openai.AsyncOpenAI] = []
        self._next_client = 0
        self._sem: asyncio.Semaphore | None = None
        self._start_lock = threading.Lock()

    # -- Backend protocol --------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        return prompts.versions()

    def model_for(self, step: str) -> str:
        if step in self.llm.step_models:
            return self.llm.step_models[step]
        return self.llm.vision_model if step in VISION_STEPS and self.llm.vision_model else self.llm.model

    def set_deadline(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def close(self) -> None:
        self._image_cache.clear()
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        for client in self._clients:
            asyncio.run_coroutine_threadsafe(client.close(), loop).result()
        self._clients = []
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join()
        loop.close()

    def relevance(self, items: Sequence[RelevanceItem], *, target_model: str | None = None) -> Outcome:
        return self._relevance(items, target_model or self.target_model)

    def tree_to_samples(self, items: Sequence[TreeItem]) -> Outcome:
        return self._per_item("tree_to_samples", items, self._tree_request)

    def image_roles(self, items: Sequence[SampleItem]) -> Outcome:
        return self._per_item("image_roles", items, self._roles_request)

    def transcribe_screenshot(self, items: Sequence[ScreenshotItem]) -> Outcome:
        return self._per_item("screenshot", items, self._screenshot_request)

    def fill_blank(self, items: Sequence[SampleItem]) -> Outcome:
        return self._per_item("fill_blank", items, self._fill_request)

    def benchmark_filter(self, items: Sequence[SampleItem]) -> Outcome:
        return self._per_item("benchmark_filter", items, self._filter_request)

    def feedback(self, items: Sequence[SampleItem]) -> Outcome:
        return self._per_item("feedback", items, self._feedback_request)

    # -- the run's event loop, client and limiter -------------------------------------------------------
    def _run(self, coro_factory: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the backend's own loop thread (it keeps the client's connections open)."""
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="echo-llm", daemon=True)
                self._thread.start()
                self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro_factory(), self._loop).result()

    def _client_here(self) -> openai.AsyncOpenAI:
        """The next of the run's clients (made on the loop, on first use), round robin."""
        if not self._clients:
            concurrency = max(1, self.llm.concurrency)
            self._clients = [openai.AsyncOpenAI(base_url=self.llm.base_url, api_key=self.api_key, max_retries=0,
                                                timeout=self.llm.timeout_s)
                             for _ in range(math.ceil(concurrency / CONNECTIONS_PER_CLIENT))]
            self._sem = asyncio.Semaphore(concurrency)
        self._next_client = (self._next_client + 1) % len(self._clients)
        return self._clients[self._next_client]

    # -- asking, in bulk ------------------------------------------------------------------------------
    def _prepare(self, req: _Request) -> None:
        req.model = self.model_for(req.step)
        req.version = prompts.template(req.step).version
        req.in_hash = input_hash({"messages": self._hashable(req.messages),
                                  "schema": schema.json_schema(f"llm/{req.wire_schema}")})

    def _ask_all(self, requests: Sequence[_Request]) -> None:
        """Answer every request: from the cache (one read), else from the model (concurrently); new valid answers
        are written to the cache in one batch afterwards."""
        for r in requests:
            self._prepare(r)
        cached = self.cache.get_many([(r.model, r.version, r.in_hash) for r in requests])
        todo = []
        for r in requests:
            doc = cached.get((r.model, r.version, r.in_hash))
            if doc is not None:
                r.answer.doc, r.answer.cache_hit = doc, True
            else:
                todo.append(r)
        if todo:
            async def ask_all() -> None:
                await asyncio.gather(*(self._ask(r) for r in todo))

            self._run(ask_all)
        self.cache.put_many([(r.step, r.model, r.version, r.in_hash, r.answer.doc, r.answer.tokens_in,
                              r.answer.tokens_out) for r in todo if r.answer.doc is not None])

    @staticmethod
    def _account(out: Outcome, ans: _Answer) -> None:
        out.calls += ans.calls
        out.cache_hits += int(ans.cache_hit)
        out.tokens_in += ans.tokens_in
        out.tokens_out += ans.tokens_out
        if ans.stopped is not None and out.stopped != "unavailable":
            out.stopped, out.stop_reason = ans.stopped.kind, ans.stopped.reason

    def _messages(self, system: str, parts: list) -> list[dict]:
        return [{"role": "system", "content": system}, {"role": "user", "content": parts}]

    def _hashable(self, messages: list[dict]) -> list:
        out = []
        for m in messages:
            content = m["content"]
            if isinstance(content, list):
                content = [{"image": p["image"].sha256 or p["image"].image_id} if p["type"] == "image_ref" else p
                           for p in content]
            out.append({"role": m["role"], "content": content})
        return out

    def _encode_image(self, im: ImageView) -> tuple[str, int, int] | None:
        """A data URL of the stored image, downscaled to image_max_side; with the size that was sent."""
        if not im.path or not Path(im.path).is_file():
            return None
        if im.path in self._image_cache:
            return self._image_cache[im.path]
        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(im.path) as img:
                img.load()
                side = self.llm.image_max_side
                if max(img.size) > side:
                    img.thumbnail((side, side))
                if img.mode not in ("RGB", "L"):
                    img = img.convert("RGB")
                buf = io.BytesIO()
                img.save(buf, format="JPEG", quality=85)
                size = img.size
        url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        self._image_cache[im.path] = (url, size[0], size[1])
        return self._image_cache[im.path]

    def sent_size(self, im: ImageView) -> tuple[int, int] | None:
        """The pixel size the model sees for an image (after downscaling), when known."""
        enc = self._encode_image(im) if self.vision else None
        if enc:
            return enc[1], enc[2]
        return (im.width, im.height) if im.width and im.height else None

    def _materialize(self, step: str, messages: list[dict], mode: str, wire_schema: str) -> list[dict]:
        out = [{"role": m["role"], "content": list(m["content"]) if isinstance(m["content"], list) else m["content"]}
               for m in messages]
        detail = self.llm.image_detail.get(step, "auto")
        for m in out:
            if isinstance(m["content"], list):
                parts = []
                for p in m["content"]:
                    if p["type"] != "image_ref":
                        parts.append(p)
                        continue
                    enc = self._encode_image(p["image"]) if self.vision else None
                    if enc:  # only bytes the safe fetcher stored, never a URL the server could fetch
                        parts.append({"type": "image_url", "image_url": {"url": enc[0], "detail": detail}})
                    else:
                        why = "images are not sent to this model" if not self.vision else "it was not downloaded"
                        parts.append({"type": "text", "text": f"(this image is not available: {why})"})
                if all(p["type"] == "text" for p in parts):
                    m["content"] = "\n".join(p["text"] for p in parts)
                else:
                    m["content"] = parts
        if mode == "json_object":
            out[0]["content"] += ("\nYour answer must be one JSON object valid against this JSON Schema:\n"
                                  + json.dumps(schema.json_schema(f"llm/{wire_schema}")))
        return out

    def _estimate_tokens(self, step: str, messages: list[dict]) -> int:
        image_tokens = IMAGE_TOKENS[self.llm.image_detail.get(step, "auto")]
        n = 0
        for m in messages:
            c = m["content"]
            if isinstance(c, str):
                n += len(c) // 4
            else:
                for p in c:
                    n += len(p.get("text", "")) // 4 if p["type"] == "text" else image_tokens
        return n + 500  # room for the answer

    def _response_format(self, mode: str, step: str, wire_schema: str) -> dict:
        if mode == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {
            "name": step, "strict": True, "schema": strict_schema(schema.json_schema(f"llm/{wire_schema}"))}}

    def _check_open(self) -> None:
        if self.unavailable:
            raise _Stopped("unavailable", self.unavailable)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _Stopped("deadline", "the stage's deadline passed before this item was asked")

    def _failed_attempt(self, step: str, error: str) -> None:
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= max(1, self.llm.breaker_failures) and not self.unavailable:
            self.unavailable = (f"the endpoint {self.llm.base_url} failed {self.failures_in_a_row} calls in a row "
                                f"(last, at {step}: {error}); no more calls this run")
            log.error("%s", self.unavailable)

    async def _send(self, step: str, model: str, messages: list[dict], wire_schema: str, ans: _Answer):
        client = self._client_here()
        attempt = 0
        while True:
            self._check_open()
            mode = self.mode
            payload = self._materialize(step, messages, mode, wire_schema)
            wait = None
            async with self._sem:
                # the window counts requests as they are sent: a slot granted before waiting for a connection
                # would let a queue of granted requests reach the server later, bunched into the next window
                await self.limiter.acquire(self._estimate_tokens(step, payload))
                self._check_open()  # the breaker may have opened while this request waited for a slot
                ans.calls += 1
                try:
                    # the documented raw request: the SDK's typed path costs more CPU per call than the model's
                    # answer takes to read at high concurrency; the answer is parsed and validated here
                    raw = await client.post("/chat/completions", cast_to=_http.Response, body={
                        "model": model, "messages": payload, "temperature": self.llm.temperature,
                        "response_format": self._response_format(mode, step, wire_schema)})
                except _FATAL as e:
                    raise LLMConfigError(f"{step}: the endpoint {self.llm.base_url} refused the request "
                                         f"({e.status_code}): {e.message}. Check ECHO_LLM_API_KEY and the model name "
                                         f"{model!r}.") from e
                except openai.BadRequestError as e:
                    if mode == "json_schema" and self.llm.json_schema_mode == "auto":
                        log.warning("%s: endpoint rejected json_schema (%s); falling back to json_object", step, e.message)
                        self.mode = "json_object"
                        self.fallbacks += 1
                        continue
                    self._failed_attempt(step, f"400 {e.message}")
                    if self.unavailable:
                        raise _Stopped("unavailable", self.unavailable) from e
                    raise
                except _RETRYABLE as e:
                    self._failed_attempt(step, f"{type(e).__name__}: {getattr(e, 'message', e)}")
                    if self.unavailable:
                        raise _Stopped("unavailable", self.unavailable) from e
                    attempt += 1
                    if attempt > self.llm.max_retries:
                        raise
                    wait = _retry_after(e)
                    if wait is None:
                        wait = self.llm.backoff_base_s * 2 ** (attempt - 1)
                    log.info("%s: %s, retry %d in %.1fs", step, type(e).__name__, attempt, wait)
                else:
                    completion = _completion(raw)
                    if completion is None:
                        # e.g. a proxy's HTML error page answered with 200: nothing to parse, likely to persist
                        self._failed_attempt(step, "the answer is not a chat completion")
                        if self.unavailable:
                            raise _Stopped("unavailable", self.unavailable)
                        raise _NotACompletion(raw.text[:2000])
                    return completion
            await asyncio.sleep(min(wait, 120.0))

    async def _ask(self, req: _Request) -> None:
        """One validated answer from the model (asked again once if invalid)."""
        ans = req.answer
        msgs = list(req.messages)
        for attempt in range(2):
            try:
                resp = await self._send(req.step, req.model, msgs, req.wire_schema, ans)
            except _Stopped as e:
                ans.stopped, ans.error = e, f"not asked: {e.reason}"
                return
            except _NotACompletion as e:
                ans.error, ans.raw = "the endpoint's answer is not a chat completion (an error page?)", e.raw
                return
            except openai.APIError as e:
                ans.error = f"{type(e).__name__}: {getattr(e, 'message', e)}"
                return
            usage = resp.get("usage") or {}
            ans.tokens_in += usage.get("prompt_tokens") or 0
            ans.tokens_out += usage.get("completion_tokens") or 0
            if not resp["choices"]:
                self._failed_attempt(req.step, "no choices in the answer")
                ans.error = "no choices in the answer"
                return
            msg = resp["choices"][0].get("message") or {}
            raw = msg.get("content")
            refusal = msg.get("refusal")
            if refusal or not (raw or "").strip():
                ans.error = f"refusal: {refusal}" if refusal else "empty answer"
                ans.raw = refusal or raw
                return
            self.failures_in_a_row = 0  # the endpoint answers: whatever the content, it is not down
            try:
                doc = json.loads(_strip_fences(raw))
                schema.validate(f"llm/{req.wire_schema}", doc)
            except (ValueError, schema.SchemaError) as e:
                ans.error, ans.raw = f"invalid answer: {e}"[:2000], raw
                if attempt == 0:
                    msgs = msgs + [{"role": "assistant", "content": raw},
                                   {"role": "user", "content": f"Your answer was invalid: {str(e)[:1500]}\n"
                                                               "Answer again with only the corrected JSON."}]
                continue
            ans.doc, ans.error, ans.raw = doc, None, None
            return

    # -- relevance (batched) -------------------------------------------------------------------------
    def _relevance(self, items: Sequence[RelevanceItem], target_model: str) -> Outcome:
        out = Outcome("relevance", self.model_for("relevance"))
        by_platform: dict[str, list[RelevanceItem]] = collections.defaultdict(list)
        for it in items:
            by_platform[it.platform].append(it)
        size = max(1, self.llm.relevance_batch_size)
        batches = [grp[i:i + size] for grp in by_platform.values() for i in range(0, len(grp), size)]
        # Posts whose batch answer was missing or contradictory are asked alone: no other post can sway them.
        solo = self._relevance_round(batches, target_model, out)
        for leftover in self._relevance_round([[it] for it in solo], target_model, out):
            out.failures.append(Failure(leftover.key, "no consistent answer for this post, even asked alone"))
        return out

    def _relevance_round(self, batches: list[list[RelevanceItem]], target_model: str,
                         out: Outcome) -> list[RelevanceItem]:
        """Ask each batch once; returns the items to ask again alone."""
        tpl = prompts.template("relevance")
        requests = []
        for batch in batches:
            system, user = tpl.render(target_model=target_model, n=len(batch),
                                      posts="\n".join(prompts.relevance_block(it) for it in batch))
            requests.append(_Request("relevance", self._messages(system, [{"type": "text", "text": user}]),
                                     "relevance_batch"))
        self._ask_all(requests)
        again: list[RelevanceItem] = []
        for batch, req in zip(batches, requests):
            ans = req.answer
            self._account(out, ans)
            if ans.doc is None:
                for it in batch:
                    out.failures.append(Failure(it.key, ans.error or "no answer", ans.raw))
                continue
            by_id = {it.post.post_id: it for it in batch}
            answers: dict[str, list[dict]] = collections.defaultdict(list)
            foreign = 0
            for r in ans.doc["results"]:
                if r["post_id"] in by_id:
                    answers[r["post_id"]].append(r)
                else:
                    foreign += 1  # an id outside the batch is dropped
            consistent = {pid: got[0] for pid, got in answers.items() if len({g["score"] for g in got}) == 1}
            anomalous = foreign > 0 or any(len(got) > 1 for got in answers.values())
            if len(batch) > 1 and (anomalous or len(consistent) < len(by_id)):
                # Missing, contradictory or invented entries: something in the batch may have steered the answer,
                # so every post of it is asked alone, where no other post can sway it.
                again.extend(batch)
                continue
            for pid, it in by_id.items():
                if pid in consistent:
                    out.results[it.key] = {"score": consistent[pid]["score"], "reason": consistent[pid]["reason"]}
                else:
                    out.failures.append(Failure(it.key, "missing or contradictory answer", json.dumps(ans.doc)[:4000]))
        return again

    # -- per-item steps -------------------------------------------------------------------------------
    def _per_item(self, step: str, items: Sequence, build: Callable[[Any], _Request | None]) -> Outcome:
        out = Outcome(step, self.model_for(step))
        asked = [(it, req) for it in items if (req := build(it)) is not None]  # None: nothing to ask
        self._ask_all([req for _, req in asked])
        for it, req in asked:
            ans = req.answer
            self._account(out, ans)
            if ans.doc is None:
                out.failures.append(Failure(it.key, ans.error or "no answer", ans.raw))
            else:
                doc = req.finish(ans.doc) if req.finish else ans.doc
                out.results[it.key] = schema.validate(f"llm/{step}", doc)
        return out

    def _tree_request(self, it: TreeItem) -> _Request:
        tpl = prompts.template("tree_to_samples")
        system, user = tpl.render(target_model=self.target_model, posts=prompts.tree_block(it))
        return _Request("tree_to_samples", self._messages(system, [{"type": "text", "text": user}]), "tree_to_samples")

    def _image_parts(self, images: Sequence[ImageView], aliases: dict[str, str]):
        parts = []
        for im in images:
            parts.append({"type": "text", "text": f"Image {aliases[im.image_id]}:"})
            parts.append({"type": "image_ref", "image": im})
        return parts

    def _roles_request(self, it: SampleItem) -> _Request | None:
        tpl = prompts.template("image_roles")
        images = list(it.images)
        if not images:
            return None
        aliases = prompts.image_aliases(images)
        back = {a: u for u, a in aliases.items()}
        system, user = tpl.render(target_model=self.target_model, prompt=prompts.quote(it.prompt), task=it.task or "unknown",
                                  posts=prompts.posts_block(it.posts, image_aliases=aliases),
                                  images="\n".join(prompts.image_line(aliases[im.image_id], im) for im in images))
        parts = [{"type": "text", "text": user}] + self._image_parts(images, aliases)

        def finish(doc: dict) -> dict:
            seen, rows = set(), []
            for r in doc["images"]:
                url = back.get(r["image_id"])
                if url and url not in seen:  # ids the model invented are dropped
                    seen.add(url)
                    rows.append({**r, "image_id": url})
            return {"images": rows, "fill_blank": doc["fill_blank"]}

        return _Request("image_roles", self._messages(system, parts), "image_roles", finish)

    def _screenshot_request(self, it: ScreenshotItem) -> _Request:
        tpl = prompts.template("screenshot")
        size = self.sent_size(it.image)
        w, h = size if size else (it.image.width or 0, it.image.height or 0)
        system, user = tpl.render(image_id="i1", width=w or "unknown", height=h or "unknown")
        parts = [{"type": "text", "text": user}, {"type": "image_ref", "image": it.image}]
        # Boxes come back in the pixels the model saw; scale them to the stored image.
        sx = (it.image.width / w) if (w and it.image.width) else 1.0
        sy = (it.image.height / h) if (h and it.image.height) else 1.0

        def finish(doc: dict) -> dict:
            boxes = []
            for b in doc["boxes"]:
                l, t, r, btm = b["box"]
                box = [math.floor(l * sx), math.floor(t * sy), math.ceil(r * sx), math.ceil(btm * sy)]
                if box[2] > box[0] and box[3] > box[1]:
                    boxes.append({"role": b["role"], "box": box})
            return {"prompt": doc["prompt"], "boxes": boxes}

        return _Request("screenshot", self._messages(system, parts), "screenshot", finish)

    def _sample_images(self, it: SampleItem):
        images = list(it.input_images) + list(it.output_images)
        roles = {im.image_id: "input" for im in it.input_images} | {im.image_id: "output" for im in it.output_images}
        aliases = prompts.image_aliases(images)
        lines = "\n".join(prompts.image_line(aliases[im.image_id], im, roles[im.image_id]) for im in images) or "(none)"
        return images, aliases, roles, lines

    def _fill_request(self, it: SampleItem) -> _Request:
        tpl = prompts.template("fill_blank")
        images, aliases, roles, lines = self._sample_images(it)
        system, user = tpl.render(prompt=prompts.quote(it.prompt_fill_blank or it.prompt), task=it.task or "unknown",
                                  images=lines, posts=prompts.posts_block(it.posts, show_images=False))
        parts = [{"type": "text", "text": user}] + self._image_parts(images, aliases)
        return _Request("fill_blank", self._messages(system, parts), "fill_blank")

    def _filter_request(self, it: SampleItem) -> _Request:
        tpl = prompts.template("benchmark_filter")
        images, aliases, roles, lines = self._sample_images(it)
        system, user = tpl.render(prompt=prompts.quote(it.prompt), prompt_modified=str(it.prompt_modified).lower(),
                                  prompt_from_screenshot=str(it.prompt_from_screenshot).lower(),
                                  task=it.task or "unknown", quality=it.quality, images=lines)
        parts = [{"type": "text", "text": user}] + self._image_parts(images, aliases)
        return _Request("benchmark_filter", self._messages(system, parts), "benchmark_filter")

    def _feedback_request(self, it: SampleItem) -> _Request | None:
        if not it.feedback_posts:
            return None
        tpl = prompts.template("feedback")
        system, user = tpl.render(categories=prompts.categories_text(), prompt=prompts.quote(it.prompt),
                                  posts=prompts.posts_block(it.feedback_posts, show_images=False))
        allowed = {p.post_id for p in it.feedback_posts}

        def finish(doc: dict) -> dict:
            seen, rows = set(), []
            for r in doc["feedback"]:
                if r["post_id"] in allowed and r["post_id"] not in seen:  # only the replies that were asked about
                    seen.add(r["post_id"])
                    rows.append(r)
            return {"feedback": rows}

        return _Request("feedback", self._messages(system, [{"type": "text", "text": user}]), "feedback", finish)


def _completion(response: _http.Response) -> dict | None:
    """The chat completion in a 2xx answer, or None when the body is not one (HTML, truncated JSON ...)."""
    try:
        doc = response.json()
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
        return None
    if doc["choices"] and not isinstance(doc["choices"][0], dict):
        return None
    return doc


class _NotACompletion(Exception):
    def __init__(self, raw: str):
        super().__init__(raw)
        self.raw = raw


def _strip_fences(raw: str) -> str:
    """Some local models wrap JSON in ``` fences even in JSON mode."""
    s = raw.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else s[3:]
        if s.rstrip().endswith("```"):
            s = s.rstrip()[:-3]
    return s.strip()
