"""The LLM answer cache (table llm_cache): validated answers keyed by model, template version and input hash.

The input hash covers exactly what is sent (messages, with images identified by their content hash), so a
re-run on unchanged input makes no call, and any change in a post, an image or a template makes a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from echo.records import stable_id
from echo.store import Store


def input_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(model: str, template_version: str, in_hash: str) -> str:
    return stable_id("llm_cache", model, template_version, in_hash, length=32)


class LLMCache:
    """Reads and writes llm_cache in bulk. Without a store it caches nothing (every lookup misses)."""

    def __init__(self, store: Store | None):
        self.store = store

    def get_many(self, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict]:
        """(model, template_version, input_hash) -> cached answer, for the keys that have one (one query)."""
        if self.store is None or not keys:
            return {}
        by_key = {cache_key(*k): k for k in keys}
        rows = self.store.query("SELECT cache_key, response FROM llm_cache WHERE cache_key IN (SELECT unnest(?::VARCHAR[]))",
                                [list(by_key)])
        return {by_key[r["cache_key"]]: (json.loads(r["response"]) if isinstance(r["response"], str) else r["response"])
                for r in rows}

    def put_many(self, answers: Sequence[tuple[str, str, str, str, Any, int, int]]) -> None:
        """Store (step, model, template_version, input_hash, response, tokens_in, tokens_out) rows in one write."""
        if self.store is None or not answers:
            return
        now = dt.datetime.now(dt.UTC)
        self.store.upsert("llm_cache", [{
            "cache_key": cache_key(model, version, in_hash), "step": step, "model": model,
            "template_version": version, "input_hash": in_hash, "response": response,
            "tokens_in": tokens_in, "tokens_out": tokens_out, "created_at": now}
            for step, model, version, in_hash, response, tokens_in, tokens_out in answers])
