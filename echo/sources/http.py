"""The HTTP client every connector uses: bounded concurrency, timeouts, retries, and rate limits.

- Retries with exponential backoff and jitter on 5xx, timeouts and connection errors.
- 429 and `Retry-After` (seconds or an HTTP date) are honoured.
- Rate-limit headers differ per platform (`RateLimitPolicy`): X and Bluesky send the reset as an epoch,
  Reddit as seconds until reset, Mastodon as an ISO 8601 time. When `remaining` reaches 0 the next
  request waits until the reset, never longer than `max_wait_s` (then `RateLimited` is raised).
- A block page (HTML where JSON was expected, an HTML 403) raises `SourceBlocked`; a body that is not
  JSON raises `MalformedResponse`. Both carry a clear message for the run log.
- `sleep` and `clock` are injectable so tests run without waiting.

Usage::

    with HttpClient("bluesky", base_url="https://public.api.bsky.app", concurrency=2) as http:
        page = http.get_json("/xrpc/app.bsky.feed.searchPosts", params={"q": "4o", "limit": 50})
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from echo import __version__

log = logging.getLogger("echo.sources.http")

REPO_URL = "https://github.com/echo-bench/echo"
USER_AGENT = f"echo-bench/{__version__} (+{REPO_URL})"

RETRY_STATUS = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524, 529})


class SourceError(RuntimeError):
    """A source cannot go on right now. The crawl stage stops that source, keeps what it has, and moves on."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class SourceBlocked(SourceError):
    """The platform answered with a block page, a login wall or an HTML 403 instead of API data."""


class MalformedResponse(SourceError):
    """The body could not be parsed as the JSON the API promises."""


class SourceAuthError(SourceError):
    """Credentials were refused (401, or a JSON 403 such as an X app without search access)."""


class RateLimited(SourceError):
    """The platform asks us to wait longer than the configured maximum."""


class HttpStatusError(SourceError):
    """A non-retryable HTTP error (4xx other than 401/403/429), or retries ran out."""


# --- rate-limit header semantics ----------------------------------------------------------------


def _parse_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    n = _parse_number(value)
    if n is not None:
        return max(0.0, n)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


def parse_iso_time(value: str) -> float | None:
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True)
class RateLimitPolicy:
    """How one platform announces its rate limit. `reset_kind`: epoch, seconds or iso."""

    remaining_header: str
    reset_header: str
    reset_kind: str

    def remaining(self, headers: Mapping[str, str]) -> float | None:
        return _parse_number(headers.get(self.remaining_header))

    def reset_in(self, headers: Mapping[str, str], now: float) -> float | None:
        """Seconds until the window resets, or None when the header is absent or unreadable."""
        raw = headers.get(self.reset_header)
        if raw is None:
            return None
        if self.reset_kind == "seconds":
            n = _parse_number(raw)
            return None if n is None else max(0.0, n)
        if self.reset_kind == "epoch":
            n = _parse_number(raw)
            return None if n is None else max(0.0, n - now)
        if self.reset_kind == "iso":
            t = parse_iso_time(raw)
            return None if t is None else max(0.0, t - now)
        raise ValueError(f"unknown reset_kind {self.reset_kind!r}")


RATE_LIMITS: dict[str, RateLimitPolicy] = {
    "x": RateLimitPolicy("x-rate-limit-remaining", "x-rate-limit-reset", "epoch"),
    "bluesky": RateLimitPolicy("ratelimit-remaining", "ratelimit-reset", "epoch"),
    "reddit": RateLimitPolicy("x-ratelimit-remaining", "x-ratelimit-reset", "seconds"),
    "mastodon": RateLimitPolicy("x-ratelimit-remaining", "x-ratelimit-reset", "iso"),
}


# --- Link headers (Mastodon paging) ------------------------------------------------------------


def parse_link_header(value: str | None) -> dict[str, str]:
    """rel -> URL from an RFC 8288 Link header, e.g. Mastodon's `<...?max_id=1>; rel="next"`."""
    if not value:
        return {}
    links = httpx.Response(200, headers={"link": value}).links
    return {rel: link["url"] for rel, link in links.items() if "url" in link}


def next_link(response: httpx.Response) -> str | None:
    return parse_link_header(response.headers.get("link")).get("next")


# --- the client -------------------------------------------------------------------------------


def _snippet(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "..."


def _looks_like_html(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    if "html" in ctype:
        return True
    head = response.content[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


class HttpClient:
    """One connector's HTTP session. Thread-safe; at most `concurrency` requests in flight."""

    def __init__(
        self,
        platform: str,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        concurrency: int = 2,
        timeout_s: float = 20.0,
        max_retries: int = 5,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_wait_s: float = 900.0,
        rate_limit: RateLimitPolicy | None | str = "platform",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ):
        self.platform = platform
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_wait_s = max_wait_s
        self.rate_limit = RATE_LIMITS.get(platform) if rate_limit == "platform" else rate_limit
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.stats: collections.Counter[str] = collections.Counter()
        self._semaphore = threading.BoundedSemaphore(max(1, concurrency))
        self._lock = threading.Lock()
        self._not_before = 0.0  # clock time before which no request may start (rate-limit window)
        all_headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
        self._client = httpx.Client(
            base_url=base_url or "",
            headers=all_headers,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            transport=transport,
        )

    # -- lifecycle
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def headers(self) -> httpx.Headers:
        """Default headers sent with every request (connectors set Authorization here)."""
        return self._client.headers

    # -- waiting
    def _wait(self, seconds: float, why: str, url: str) -> None:
        if seconds > self.max_wait_s:
            raise RateLimited(
                f"{self.platform}: {why} asks to wait {seconds:.0f}s, more than max_wait_s={self.max_wait_s:.0f}s; "
                "stopping this source for now (the next run resumes from its cursor)", url=url)
        if seconds > 0:
            self.stats["wait_seconds"] += round(seconds)
            log.info("%s: %s, waiting %.1fs", self.platform, why, seconds)
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max_s, self.backoff_base_s * (2 ** attempt))
        return cap / 2 + self.rng() * cap / 2  # equal jitter: never less than half the cap

    def _respect_window(self, url: str) -> None:
        with self._lock:
            delay = self._not_before - self.clock()
        if delay > 0:
            self.stats["rate_limit_waits"] += 1
            self._wait(delay, "rate-limit window exhausted", url)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        if self.rate_limit is None:
            return
        remaining = self.rate_limit.remaining(response.headers)
        if remaining is None or remaining > 0:
            return
        now = self.clock()
        reset_in = self.rate_limit.reset_in(response.headers, now)
        if reset_in is None:
            return
        with self._lock:
            self._not_before = max(self._not_before, now + reset_in)

    # -- requests
    def request(self, method: str, url: str, *, expect_json: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries; return a 2xx response (whose JSON is checked when expect_json) or raise SourceError."""
        attempt = 0
        while True:
            self._respect_window(url)
            try:
                with self._semaphore:
                    self.stats["requests"] += 1
                    response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as e:  # timeouts, refused or reset connections
                kind = "timeout" if isinstance(e, httpx.TimeoutException) else "connection error"
                self.stats["transport_errors"] += 1
                if attempt >= self.max_retries:
                    raise HttpStatusError(f"{self.platform}: {kind} on {url} after {attempt + 1} attempts: {e!r}",
                                          url=url) from e
                self.stats["retries"] += 1
                self._wait(self._backoff(attempt), f"{kind} ({type(e).__name__})", url)
                attempt += 1
                continue

            self._note_rate_limit(response)
            status = response.status_code
            full_url = str(response.request.url)
            if status == 429 or status in RETRY_STATUS:
                self.stats[f"http_{status}"] += 1
                if attempt >= self.max_retries:
                    raise (RateLimited if status == 429 else HttpStatusError)(
                        f"{self.platform}: HTTP {status} on {full_url} after {attempt + 1} attempts",
                        url=full_url, status=status, body=_snippet(response.text))
                now = self.clock()
                delay = parse_retry_after(response.headers.get("retry-after"), now)
                if delay is None and status == 429 and self.rate_limit is not None:
                    delay = self.rate_limit.reset_in(response.headers, now)
                if delay is None:
                    delay = self._backoff(attempt)
                self.stats["retries"] += 1
                self._wait(delay, f"HTTP {status}", full_url)
                attempt += 1
                continue
            if status >= 400:
                self._raise_for_status(response)
            if expect_json:
                self._check_json(response)
            return response

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        url = str(response.request.url)
        body = _snippet(response.text)
        if _looks_like_html(response) and status in (401, 403, 451):
            raise SourceBlocked(f"{self.platform}: blocked: HTTP {status} with an HTML page from {url}: {body}",
                                url=url, status=status, body=body)
        if status in (401, 403):
            raise SourceAuthError(f"{self.platform}: HTTP {status} from {url} (credentials or access level refused): "
                                  f"{body}", url=url, status=status, body=body)
        raise HttpStatusError(f"{self.platform}: HTTP {status} from {url}: {body}", url=url, status=status, body=body)

    def _check_json(self, response: httpx.Response) -> None:
        url = str(response.request.url)
        if _looks_like_html(response):
            raise SourceBlocked(
                f"{self.platform}: blocked: got an HTML page where JSON was expected from {url} "
                f"(block page or login wall?): {_snippet(response.text)}",
                url=url, status=response.status_code, body=_snippet(response.text))
        try:
            response.json()
        except (ValueError, UnicodeDecodeError) as e:
            raise MalformedResponse(f"{self.platform}: response from {url} is not valid JSON ({e}): "
                                    f"{_snippet(response.text)}", url=url, status=response.status_code,
                                    body=_snippet(response.text)) from e

    def get(self, url: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, params=_clean_params(params), **kwargs)

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.get(url, params=params, **kwargs).json()

    def post_json(self, url: str, *, json_body: Any = None, **kwargs: Any) -> Any:
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode()
            kwargs.setdefault("headers", {})["content-type"] = "application/json"
        return self.request("POST", url, **kwargs).json()


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop None values so optional parameters can be passed unconditionally."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}
