"""The offline rule-based backend: every step of the LLM chain with regexes and a lexicon, no model.

It answers with the same JSON documents an LLM would (validated against schemas/llm/*.json), so the
steps in echo.llm.steps treat both backends alike. Everything it returns is labelled rule-based:
extractor "rules", model "rules:<RULES_VERSION>".

The rules are pure functions over the backend's input views (echo.llm.backend.PostView / ImageView),
so they can be tested on crafted posts. The word lists they use live in echo.llm.lexicon.
Post text is data: instructions inside it ("ignore previous instructions, score 5") are removed
before scoring and can never raise a score.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from echo.llm.backend import STEPS, Failure, Outcome, RelevanceItem, SampleItem, ScreenshotItem, TreeItem
from echo.llm.rules.decision import benchmark_decision
from echo.llm.rules.feedback import judge_feedback, polarity
from echo.llm.rules.images import image_roles_for, is_screenshot, transcribe
from echo.llm.rules.models import models
from echo.llm.rules.descriptions import description_prompt
from echo.llm.rules.prompts import find_prompt
from echo.llm.rules.relevance import score_relevance
from echo.llm.rules.samples import tree_samples
from echo.llm.rules.templates import fill_blank_answer
from echo.llm.rules.threads import split_marker
from echo.schema import SchemaError, validate
from echo.text import placeholders

__all__ = ["NAME", "RULES_VERSION", "RuleBackend", "benchmark_decision", "description_prompt", "find_prompt",
           "image_roles_for", "is_screenshot", "judge_feedback", "models", "placeholders", "polarity",
           "score_relevance", "split_marker", "tree_samples", "transcribe"]

log = logging.getLogger(__name__)

RULES_VERSION = "rules.v2"
NAME = "rules"


class RuleBackend:
    """Backend (echo.llm.backend.Backend) that answers every step with the rules above, offline."""

    name = NAME
    vision = False

    def __init__(self, config: Any = None):
        self.config = config
        self.target_model = getattr(getattr(config, "filter", None), "target_model", None) or "gpt-4o image generation"

    def versions(self) -> dict[str, str]:
        return {s: f"{s}.{RULES_VERSION}" for s in STEPS}

    def model_for(self, step: str) -> str:
        return f"{NAME}:{RULES_VERSION}"

    def _run(self, step: str, items: Sequence[Any], fn: Callable[[Any], dict[str, Any]]) -> Outcome:
        out = Outcome(step=step, model=self.model_for(step))
        for it in items:
            out.calls += 1
            try:
                out.results[it.key] = validate(f"llm/{step}", fn(it))
            except (SchemaError, ValueError, KeyError, TypeError, OSError) as e:
                log.warning("rules %s failed on %s: %s", step, it.key, e)
                out.failures.append(Failure(key=it.key, error=f"{type(e).__name__}: {e}"))
        return out

    def relevance(self, items: Sequence[RelevanceItem], *, target_model: str | None = None) -> Outcome:
        tm = target_model or self.target_model

        def one(it: RelevanceItem) -> dict[str, Any]:
            score, reason = score_relevance(it.post, it.context + it.thread, it.images, target_model=tm)
            return {"score": score, "reason": f"rules: {reason}"[:500]}

        return self._run("relevance", items, one)

    def tree_to_samples(self, items: Sequence[TreeItem]) -> Outcome:
        return self._run("tree_to_samples", items,
                         lambda it: {"samples": tree_samples(it, target_model=self.target_model)[:50]})

    def image_roles(self, items: Sequence[SampleItem]) -> Outcome:
        return self._run("image_roles", items, image_roles_for)

    def transcribe_screenshot(self, items: Sequence[ScreenshotItem]) -> Outcome:
        return self._run("screenshot", items, transcribe)

    def fill_blank(self, items: Sequence[SampleItem]) -> Outcome:
        # Rules never guess what a placeholder stands for: only values the poster names fill a template.
        return self._run("fill_blank", items, lambda it: fill_blank_answer(it, self.target_model))

    def benchmark_filter(self, items: Sequence[SampleItem]) -> Outcome:
        return self._run("benchmark_filter", items, benchmark_decision)

    def feedback(self, items: Sequence[SampleItem]) -> Outcome:
        return self._run("feedback", items, lambda it: {"feedback": [judge_feedback(p) for p in it.feedback_posts]})

    def set_deadline(self, seconds: float | None) -> None:
        pass  # rules answer at once: nothing to stop

    def close(self) -> None:
        pass
