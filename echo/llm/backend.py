"""The one interface every LLM-chain backend implements, and the inputs the pipeline hands each step.

Two backends implement `Backend`: the offline rule-based one (echo.llm.rules.RuleBackend) and the
OpenAI-compatible client (echo.llm.openai_backend.OpenAIBackend). `echo.llm.get_backend(config)` picks one:
rules when config.llm.base_url is empty, else the LLM.

Contract:
- Every method takes a batch of items (each with a unique `key`) and returns an `Outcome`.
- `Outcome.results[key]` is a document valid against schemas/llm/<step>.json (the same dict an LLM
  answers); a key missing from `results` failed and is listed in `Outcome.failures` (it is retried
  next run, never lost).
- Backends never touch the store's domain tables: echo.llm.extract turns the documents into drafts and
  enforces what must not be trusted to a model (each post used once, ids within the input set,
  prompt verbatim in the evidence, placeholder detection, media-hash duplicates).
- Image ids are media URLs (post_media.url). Post ids are platform-native ids within one tree/batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Step names, in chain order. Each has a template echo/llm/templates/<step>.v<N>.txt and a JSON Schema
# schemas/llm/<step>.json for one item's result.
STEPS = (
    "relevance",
    "tree_to_samples",
    "image_roles",
    "screenshot",
    "fill_blank",
    "benchmark_filter",
    "feedback",
)
# Stages that look at pixels: they use config.llm.vision_model.
VISION_STEPS = ("image_roles", "screenshot", "fill_blank", "benchmark_filter")


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    """A post as a backend sees it. Its text is untrusted data, never instructions."""

    post_id: str
    author: str | None
    text: str
    image_ids: tuple[str, ...] = ()  # media URLs, in post order
    depth: int = 0  # 0 for the root, 1 for a direct reply ...; quoted posts get their quoter's depth + 1
    parent_id: str | None = None
    quoted_id: str | None = None
    created_at: str | None = None  # ISO 8601


@dataclass(frozen=True)
class ImageView:
    """One image of a post, with what the media stage learned about it (None when not downloaded)."""

    image_id: str  # = url (post_media.url / media.url)
    post_id: str
    position: int = 0
    alt_text: str | None = None
    path: str | None = None  # absolute local file when media.status = 'ok'
    sha256: str | None = None
    phash: str | None = None
    width: int | None = None
    height: int | None = None
    content_type: str | None = None
    is_screenshot_hint: bool | None = None  # the media layer's guess, when it made one


@dataclass(frozen=True)
class RelevanceItem:
    """Score one post. `context` holds the posts it answers: the post it replies to or quotes (may be empty);
    `thread` holds replies and quotes of the post's thread, which can show what a post that names no model is about."""

    key: str
    platform: str
    post: PostView
    context: tuple[PostView, ...] = ()
    images: tuple[ImageView, ...] = ()
    thread: tuple[PostView, ...] = ()


@dataclass(frozen=True)
class TreeItem:
    """A root post and its tree: posts ordered by time (root first), each with depth and image ids."""

    key: str
    platform: str
    root_id: str
    posts: tuple[PostView, ...]
    images: tuple[ImageView, ...] = ()


@dataclass(frozen=True)
class SampleItem:
    """One extracted sample, as far as the chain has got. Used by image_roles, fill_blank,
    benchmark_filter and feedback; later steps see the fields earlier steps filled."""

    key: str  # sample_id
    platform: str
    root_id: str
    prompt: str | None
    prompt_modified: bool
    task: str | None  # text_to_image | image_to_image | None
    quality: str  # benchmark | analysis | trash
    posts: tuple[PostView, ...]  # evidence posts, ordered
    images: tuple[ImageView, ...] = ()  # images of the evidence posts (image_roles), or the sample's own
    input_images: tuple[ImageView, ...] = ()  # after image_roles
    output_images: tuple[ImageView, ...] = ()
    is_screenshot: bool = False
    prompt_fill_blank: str | None = None  # the template, when the prompt has [x]/<x>/(x) placeholders
    prompt_from_screenshot: bool = False
    feedback_posts: tuple[PostView, ...] = ()  # replies the tree_to_samples step said judge this sample


@dataclass(frozen=True)
class ScreenshotItem:
    """A chat-window screenshot to transcribe: the user's prompt and the boxes of images inside it."""

    key: str  # sample_id + image url
    image: ImageView
    context: tuple[PostView, ...] = ()


# --- outputs ------------------------------------------------------------------------------------


@dataclass
class Failure:
    key: str
    error: str
    raw_answer: str | None = None


@dataclass
class Outcome:
    """What one backend call over a batch produced, and what it cost."""

    step: str
    model: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    calls: int = 0  # requests actually made (rules: items processed)
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    # why the backend stopped asking before every item was answered: "deadline" (the stage's time is up;
    # the rest is asked next run) or "unavailable" (the endpoint failed too many times in a row)
    stopped: str | None = None
    stop_reason: str | None = None

    def merge(self, other: Outcome) -> Outcome:
        self.results.update(other.results)
        self.failures.extend(other.failures)
        self.stopped = self.stopped or other.stopped
        self.stop_reason = self.stop_reason or other.stop_reason
        self.calls += other.calls
        self.cache_hits += other.cache_hits
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        return self


class LLMUnavailable(RuntimeError):
    """The endpoint failed so many calls in a row that asking more is pointless: the stage stops, the run fails."""


@runtime_checkable
class Backend(Protocol):
    """Runs the LLM chain's steps over batches. Results are validated JSON documents keyed by item key."""

    name: str  # samples.extractor: "rules" or "llm:<model>"
    vision: bool  # can look at images; when False, steps fall back to OCR for screenshots

    def versions(self) -> dict[str, str]:
        """Step -> version of its template or rules, e.g. {"relevance": "relevance.v1", ...}."""
        ...

    def model_for(self, step: str) -> str:
        """The model (or "rules:<version>") that answers this step: relevance.model, feedback.model ..."""
        ...

    def relevance(self, items: Sequence[RelevanceItem], *, target_model: str) -> Outcome:
        """results[key] valid against llm/relevance: {"score": 1-5, "reason": str}."""
        ...

    def tree_to_samples(self, items: Sequence[TreeItem]) -> Outcome:
        """results[key] valid against llm/tree_to_samples: {"samples": [...]}."""
        ...

    def image_roles(self, items: Sequence[SampleItem]) -> Outcome:
        """results[key] valid against llm/image_roles: {"images": [...], "fill_blank": bool}."""
        ...

    def transcribe_screenshot(self, items: Sequence[ScreenshotItem]) -> Outcome:
        """results[key] valid against llm/screenshot. Only called when `vision` is True."""
        ...

    def fill_blank(self, items: Sequence[SampleItem]) -> Outcome:
        """results[key] valid against llm/fill_blank: {"prompt": str|null, "confident": bool, "reason": str}."""
        ...

    def benchmark_filter(self, items: Sequence[SampleItem]) -> Outcome:
        """results[key] valid against llm/benchmark_filter: {"decision", "review_targets", "reason"}."""
        ...

    def feedback(self, items: Sequence[SampleItem]) -> Outcome:
        """results[key] valid against llm/feedback: {"feedback": [{post_id, polarity, keywords, categories}]}."""
        ...

    def set_deadline(self, seconds: float | None) -> None:
        """Stop asking `seconds` from now (None: no deadline); items not asked by then fail with stopped="deadline"."""
        ...

    def close(self) -> None:
        ...


def extractor_version(backend: Backend, steps: Sequence[str] = STEPS[1:]) -> str:
    """samples.extractor_version: the step versions joined, e.g. "tree_to_samples.v1+image_roles.v1+..."."""
    v = backend.versions()
    return "+".join(v[s] for s in steps)


def as_dict(item: Any) -> dict:
    """An input dataclass as plain JSON-able data (for hashing and logging)."""
    return dataclasses.asdict(item)
