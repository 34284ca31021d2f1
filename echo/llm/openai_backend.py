"""The LLM chain over any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama, LiteLLM ...).

- Structured output: response_format json_schema (strict) when the endpoint takes it; with
  config.llm.json_schema_mode = "auto" a 400 on json_schema switches this backend to json_object (the schema
  is then spelled out in the system prompt). Every answer is validated against schemas/llm/*.json either way.
- An invalid answer is asked again once with the validation error; then it is a Failure with the raw answer.
  A refusal (message.refusal or empty content) is a Failure at once.
- 429, 5xx, timeouts and connection errors back off (Retry-After honoured) up to config.llm.max_retries;
  the openai client's own retries are off (max_retries=0) so this is the one retry policy.
- Bounded concurrency (config.llm.concurrency) and a requests/tokens-per-minute limiter.
- Validated answers are cached in llm_cache by (model, template version, input hash).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai

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
IMAGE_TOKENS = 765  # what one high-detail 1024 px image costs on OpenAI; used only to pace the TPM limiter


class LLMConfigError(RuntimeError):
    pass


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
    """Sliding one-minute window over requests and (estimated) tokens."""

    def __init__(self, requests_per_minute: int, tokens_per_minute: int, window_s: float = 60.0):
        self.rpm = max(1, requests_per_minute)
        self.tpm = max(1, tokens_per_minute)
        self.window = window_s
        self.events: collections.deque[tuple[float, int]] = collections.deque()
        self.lock = asyncio.Lock()
        self.waited_s = 0.0

    async def acquire(self, tokens: int) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                while self.events and now - self.events[0][0] >= self.window:
                    self.events.popleft()
                used = sum(t for _, t in self.events)
                if not self.events or (len(self.events) < self.rpm and used + tokens <= self.tpm):
                    self.events.append((now, tokens))
                    return
                wait = max(0.01, self.window - (now - self.events[0][0]))
                self.waited_s += wait
                await asyncio.sleep(wait)


@dataclass
class _Answer:
    doc: dict | None = None
    error: str | None = None
    raw: str | None = None
    calls: int = 0
    cache_hit: bool = False
    tokens_in: int = 0
    tokens_out: int = 0


def _run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["v"] = asyncio.run(factory())
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["e"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


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
        self.limiter: RateLimiter | None = None
        self.sem: asyncio.Semaphore | None = None

    # -- Backend protocol --------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        return prompts.versions()

    def model_for(self, step: str) -> str:
        if step in self.llm.step_models:
            return self.llm.step_models[step]
        return self.llm.vision_model if step in VISION_STEPS and self.llm.vision_model else self.llm.model

    def close(self) -> None:
        self._image_cache.clear()

    def relevance(self, items: Sequence[RelevanceItem], *, target_model: str | None = None) -> Outcome:
        return _run_sync(lambda: self._with_client(self._relevance, items, target_model or self.target_model))

    def tree_to_samples(self, items: Sequence[TreeItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "tree_to_samples", items, self._tree_request))

    def image_roles(self, items: Sequence[SampleItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "image_roles", items, self._roles_request))

    def transcribe_screenshot(self, items: Sequence[ScreenshotItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "screenshot", items, self._screenshot_request))

    def fill_blank(self, items: Sequence[SampleItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "fill_blank", items, self._fill_request))

    def benchmark_filter(self, items: Sequence[SampleItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "benchmark_filter", items, self._filter_request))

    def feedback(self, items: Sequence[SampleItem]) -> Outcome:
        return _run_sync(lambda: self._with_client(self._per_item, "feedback", items, self._feedback_request))

    # -- plumbing ----------------------------------------------------------------------------------
    async def _with_client(self, fn, *args):
        # One client per event loop: httpx connections are bound to the loop that opened them.
        self.limiter = RateLimiter(self.llm.requests_per_minute, self.llm.tokens_per_minute)
        self.sem = asyncio.Semaphore(max(1, self.llm.concurrency))
        async with openai.AsyncOpenAI(base_url=self.llm.base_url, api_key=self.api_key, max_retries=0,
                                      timeout=self.llm.timeout_s) as client:
            return await fn(client, *args)

    def _messages(self, step: str, system: str, parts: list) -> list[dict]:
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
        """A data URL of the image, downscaled to image_max_side; with the size that was sent."""
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

    def _materialize(self, messages: list[dict], mode: str, wire_schema: str) -> list[dict]:
        out = [{"role": m["role"], "content": list(m["content"]) if isinstance(m["content"], list) else m["content"]}
               for m in messages]
        for m in out:
            if isinstance(m["content"], list):
                parts = []
                for p in m["content"]:
                    if p["type"] != "image_ref":
                        parts.append(p)
                        continue
                    im: ImageView = p["image"]
                    enc = self._encode_image(im) if self.vision else None
                    if enc:
                        parts.append({"type": "image_url", "image_url": {"url": enc[0]}})
                    elif self.vision and im.image_id.startswith(("http://", "https://")):
                        parts.append({"type": "image_url", "image_url": {"url": im.image_id}})
                    else:
                        parts.append({"type": "text", "text": "(image not available)"})
                if all(p["type"] == "text" for p in parts):
                    m["content"] = "\n".join(p["text"] for p in parts)
                else:
                    m["content"] = parts
        if mode == "json_object":
            out[0]["content"] += ("\nYour answer must be one JSON object valid against this JSON Schema:\n"
                                  + json.dumps(schema.json_schema(f"llm/{wire_schema}")))
        return out

    def _estimate_tokens(self, messages: list[dict]) -> int:
        n = 0
        for m in messages:
            c = m["content"]
            if isinstance(c, str):
                n += len(c) // 4
            else:
                for p in c:
                    n += len(p.get("text", "")) // 4 if p["type"] == "text" else IMAGE_TOKENS
        return n + 500  # room for the answer

    def _response_format(self, mode: str, step: str, wire_schema: str) -> dict:
        if mode == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {
            "name": step, "strict": True, "schema": strict_schema(schema.json_schema(f"llm/{wire_schema}"))}}

    async def _send(self, client, step: str, model: str, messages: list[dict], wire_schema: str, ans: _Answer):
        attempt = 0
        while True:
            mode = self.mode
            payload = self._materialize(messages, mode, wire_schema)
            await self.limiter.acquire(self._estimate_tokens(payload))
            wait = None
            async with self.sem:
                ans.calls += 1
                try:
                    return await client.chat.completions.create(
                        model=model, messages=payload, temperature=self.llm.temperature,
                        response_format=self._response_format(mode, step, wire_schema))
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
                    raise
                except _RETRYABLE as e:
                    attempt += 1
                    if attempt > self.llm.max_retries:
                        raise
                    wait = _retry_after(e)
                    if wait is None:
                        wait = self.llm.backoff_base_s * 2 ** (attempt - 1)
                    log.info("%s: %s, retry %d in %.1fs", step, type(e).__name__, attempt, wait)
            await asyncio.sleep(min(wait, 120.0))

    async def _ask(self, client, step: str, messages: list[dict], wire_schema: str,
                   check: Callable[[dict], None] | None = None) -> _Answer:
        """One validated answer: from the cache, or asked (and asked again once if invalid)."""
        model = self.model_for(step)
        version = prompts.template(step).version
        h = input_hash({"messages": self._hashable(messages), "schema": schema.json_schema(f"llm/{wire_schema}")})
        ans = _Answer()
        cached = self.cache.get(model, version, h)
        if cached is not None:
            ans.doc, ans.cache_hit = cached, True
            return ans
        msgs = list(messages)
        for attempt in range(2):
            try:
                resp = await self._send(client, step, model, msgs, wire_schema, ans)
            except openai.APIError as e:
                ans.error = f"{type(e).__name__}: {getattr(e, 'message', e)}"
                return ans
            if resp.usage:
                ans.tokens_in += resp.usage.prompt_tokens or 0
                ans.tokens_out += resp.usage.completion_tokens or 0
            if not resp.choices:
                ans.error = "no choices in the answer"
                return ans
            msg = resp.choices[0].message
            raw = msg.content
            refusal = getattr(msg, "refusal", None)
            if refusal or not (raw or "").strip():
                ans.error = f"refusal: {refusal}" if refusal else "empty answer"
                ans.raw = refusal or raw
                return ans
            try:
                doc = json.loads(_strip_fences(raw))
                schema.validate(f"llm/{wire_schema}", doc)
                if check:
                    check(doc)
            except (ValueError, schema.SchemaError) as e:
                ans.error, ans.raw = f"invalid answer: {e}"[:2000], raw
                if attempt == 0:
                    msgs = msgs + [{"role": "assistant", "content": raw},
                                   {"role": "user", "content": f"Your answer was invalid: {str(e)[:1500]}\n"
                                                               "Answer again with only the corrected JSON."}]
                continue
            ans.doc, ans.error, ans.raw = doc, None, None
            self.cache.put(step, model, version, h, doc, ans.tokens_in, ans.tokens_out)
            return ans
        return ans

    @staticmethod
    def _account(out: Outcome, ans: _Answer) -> None:
        out.calls += ans.calls
        out.cache_hits += int(ans.cache_hit)
        out.tokens_in += ans.tokens_in
        out.tokens_out += ans.tokens_out

    # -- relevance (batched) -------------------------------------------------------------------------
    async def _relevance(self, client, items: Sequence[RelevanceItem], target_model: str) -> Outcome:
        out = Outcome("relevance", self.model_for("relevance"))
        by_platform: dict[str, list[RelevanceItem]] = collections.defaultdict(list)
        for it in items:
            by_platform[it.platform].append(it)
        size = max(1, self.llm.relevance_batch_size)
        batches = [grp[i:i + size] for grp in by_platform.values() for i in range(0, len(grp), size)]
        solo: list[RelevanceItem] = []
        results = await asyncio.gather(*(self._relevance_batch(client, b, target_model, out) for b in batches))
        for r in results:
            solo.extend(r)
        # Posts whose batch answer was missing or contradictory are asked alone: no other post can sway them.
        again = await asyncio.gather(*(self._relevance_batch(client, [it], target_model, out) for it in solo))
        for leftover in again:
            for it in leftover:
                out.failures.append(Failure(it.key, "no consistent answer for this post, even asked alone"))
        return out

    async def _relevance_batch(self, client, batch: list[RelevanceItem], target_model: str,
                               out: Outcome) -> list[RelevanceItem]:
        tpl = prompts.template("relevance")
        blocks = []
        for it in batch:
            ctx = "".join(f"  (replying to) {prompts.post_block(c, show_images=False)}\n" for c in it.context)
            alts = [im.alt_text for im in it.images if im.alt_text]
            extra = f" [{len(it.post.image_ids)} image(s)" + (f", alt text {prompts.quote(' | '.join(alts))}" if alts else "") + "]" \
                if it.post.image_ids else ""
            blocks.append(ctx + prompts.post_block(it.post, show_images=False) + extra)
        system, user = tpl.render(target_model=target_model, n=len(batch), posts="\n".join(blocks))
        ans = await self._ask(client, "relevance", self._messages("relevance", system, [{"type": "text", "text": user}]),
                              "relevance_batch")
        self._account(out, ans)
        if ans.doc is None:
            if len(batch) == 1:
                out.failures.append(Failure(batch[0].key, ans.error or "no answer", ans.raw))
                return []
            for it in batch:
                out.failures.append(Failure(it.key, ans.error or "no answer", ans.raw))
            return []
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
            return list(batch)
        for pid, it in by_id.items():
            if pid in consistent:
                out.results[it.key] = {"score": consistent[pid]["score"], "reason": consistent[pid]["reason"]}
            else:
                out.failures.append(Failure(it.key, "missing or contradictory answer", json.dumps(ans.doc)[:4000]))
        return []

    # -- per-item steps -------------------------------------------------------------------------------
    async def _per_item(self, client, step: str, items: Sequence, build) -> Outcome:
        out = Outcome(step, self.model_for(step))

        async def one(it):
            req = build(it)
            if req is None:  # nothing to ask (e.g. no feedback posts)
                return
            messages, wire, check, finish = req
            ans = await self._ask(client, step, messages, wire, check)
            self._account(out, ans)
            if ans.doc is None:
                out.failures.append(Failure(it.key, ans.error or "no answer", ans.raw))
            else:
                doc = finish(ans.doc) if finish else ans.doc
                out.results[it.key] = schema.validate(f"llm/{step}", doc)

        await asyncio.gather(*(one(it) for it in items))
        return out

    def _tree_request(self, it: TreeItem):
        tpl = prompts.template("tree_to_samples")
        aliases = prompts.image_aliases(list(it.images))
        system, user = tpl.render(target_model=self.target_model,
                                  posts=prompts.posts_block(it.posts, image_aliases=aliases))
        return self._messages("tree_to_samples", system, [{"type": "text", "text": user}]), "tree_to_samples", None, None

    def _image_parts(self, images: Sequence[ImageView], aliases: dict[str, str]):
        parts = []
        for im in images:
            parts.append({"type": "text", "text": f"Image {aliases[im.image_id]}:"})
            parts.append({"type": "image_ref", "image": im})
        return parts

    def _roles_request(self, it: SampleItem):
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

        return self._messages("image_roles", system, parts), "image_roles", None, finish

    def _screenshot_request(self, it: ScreenshotItem):
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

        return self._messages("screenshot", system, parts), "screenshot", None, finish

    def _sample_images(self, it: SampleItem):
        images = list(it.input_images) + list(it.output_images)
        roles = {im.image_id: "input" for im in it.input_images} | {im.image_id: "output" for im in it.output_images}
        aliases = prompts.image_aliases(images)
        lines = "\n".join(prompts.image_line(aliases[im.image_id], im, roles[im.image_id]) for im in images) or "(none)"
        return images, aliases, roles, lines

    def _fill_request(self, it: SampleItem):
        tpl = prompts.template("fill_blank")
        images, aliases, roles, lines = self._sample_images(it)
        system, user = tpl.render(prompt=prompts.quote(it.prompt_fill_blank or it.prompt), task=it.task or "unknown",
                                  images=lines)
        parts = [{"type": "text", "text": user}] + self._image_parts(images, aliases)
        return self._messages("fill_blank", system, parts), "fill_blank", None, None

    def _filter_request(self, it: SampleItem):
        tpl = prompts.template("benchmark_filter")
        images, aliases, roles, lines = self._sample_images(it)
        system, user = tpl.render(prompt=prompts.quote(it.prompt), prompt_modified=str(it.prompt_modified).lower(),
                                  prompt_from_screenshot=str(it.prompt_from_screenshot).lower(),
                                  task=it.task or "unknown", quality=it.quality, images=lines)
        parts = [{"type": "text", "text": user}] + self._image_parts(images, aliases)
        return self._messages("benchmark_filter", system, parts), "benchmark_filter", None, None

    def _feedback_request(self, it: SampleItem):
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

        return self._messages("feedback", system, [{"type": "text", "text": user}]), "feedback", None, finish


def _strip_fences(raw: str) -> str:
    """Some local models wrap JSON in ``` fences even in JSON mode."""
    s = raw.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else s[3:]
        if s.rstrip().endswith("```"):
            s = s.rstrip()[:-3]
    return s.strip()
