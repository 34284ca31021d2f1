"""The LLM answer cache (table llm_cache): validated answers keyed by model, template version and input hash.

The input hash covers exactly what is sent (messages, with images identified by their content hash), so a
re-run on unchanged input makes no call, and any change in a post, an image or a template makes a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from echo.records import stable_id
from echo.store import Store


def input_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(model: str, template_version: str, in_hash: str) -> str:
    return stable_id("llm_cache", model, template_version, in_hash, length=32)


class LLMCache:
    """Reads and writes llm_cache. Without a store it caches nothing (every lookup misses)."""

    def __init__(self, store: Store | None):
        self.store = store

    def get(self, model: str, template_version: str, in_hash: str) -> dict | None:
        if self.store is None:
            return None
        raw = self.store.scalar("SELECT response FROM llm_cache WHERE cache_key = ?",
                                [cache_key(model, template_version, in_hash)])
        if raw is None:
            return None
        return json.loads(raw) if isinstance(raw, str) else raw

    def put(self, step: str, model: str, template_version: str, in_hash: str, response: Any,
            tokens_in: int, tokens_out: int) -> None:
        if self.store is None:
            return
        self.store.upsert("llm_cache", [{
            "cache_key": cache_key(model, template_version, in_hash), "step": step, "model": model,
            "template_version": template_version, "input_hash": in_hash, "response": response,
            "tokens_in": tokens_in, "tokens_out": tokens_out, "created_at": dt.datetime.now(dt.UTC),
        }])
