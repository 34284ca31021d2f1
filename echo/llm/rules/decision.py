"""The benchmark decision: benchmark, manual_review (with what to check) or discard."""

from __future__ import annotations

from typing import Any

from echo.llm.backend import SampleItem
from echo.text import placeholders

def benchmark_decision(item: SampleItem) -> dict[str, Any]:
    """benchmark when a verbatim prompt has its output(s) (and input for image-to-image); manual_review
    with targets when something is uncertain; discard for analysis and trash."""
    if item.quality != "benchmark":
        return {"decision": "discard", "review_targets": [], "reason": f"rules: quality is {item.quality}"}
    targets, why = [], []
    if not (item.prompt or "").strip():
        targets.append("prompt")
        why.append("fill-in-the-blank template, placeholders not filled" if item.prompt_fill_blank else
                   "no legible prompt" + (" in the screenshot" if item.is_screenshot else ""))
    elif item.prompt_from_screenshot:
        targets.append("prompt")
        why.append("prompt transcribed from a screenshot")
    elif item.prompt_modified:
        targets.append("prompt")
        why.append("prompt stitched or not verbatim in the posts")
    elif placeholders(item.prompt):
        targets.append("prompt")
        why.append("prompt still has placeholders")
    if not item.output_images and not item.is_screenshot:
        targets.append("output_image")
        why.append("no output image")
    if item.task == "image_to_image" and not item.input_images and not item.is_screenshot:
        targets.append("input_image")
        why.append("image-to-image without an input image")
    if targets:
        return {"decision": "manual_review", "review_targets": targets, "reason": "rules: " + "; ".join(why)}
    return {"decision": "benchmark", "review_targets": [],
            "reason": "rules: verbatim prompt with output image(s)" + (" and input" if item.task == "image_to_image" else "")}
