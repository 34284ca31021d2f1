"""The LLM chain (relevance, tree-to-samples, image roles, screenshots, fill-in-the-blank, benchmark filter, feedback)
behind one backend interface: an OpenAI-compatible client, or the offline rule-based backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from echo.config import Config
    from echo.llm.backend import Backend
    from echo.store import Store


def get_backend(config: Config, store: Store | None = None) -> Backend:
    """Rules when config.llm.base_url is empty (offline default), else the OpenAI-compatible client.

    `store` backs the LLM answer cache (llm_cache); without it answers are not cached.
    """
    if not (config.llm.base_url or "").strip():
        from echo.llm.rules import RuleBackend

        return RuleBackend(config)
    from echo.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(config, store=store)
