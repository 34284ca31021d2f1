"""How well screenshot OCR matches an answer key: prompt similarity and image-box IoU per screenshot."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any


def box_iou(a: list[int], b: list[int]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip().lower()


def prompt_similarity(found: str | None, truth: str) -> float:
    """difflib ratio of the normalised texts (1.0 = identical, case and spacing runs ignored)."""
    return difflib.SequenceMatcher(None, _norm(found or ""), _norm(truth)).ratio()


def char_error_rate(found: str | None, truth: str) -> float:
    """Levenshtein distance / len(truth) on the normalised texts."""
    a, b = _norm(found or ""), _norm(truth)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(1, len(b))


def screenshot_truths(answers_path: str | Path) -> list[dict]:
    """[{url, prompt, boxes: {input: [...], output: [...]}}] for every screenshot sample of an answer key."""
    doc = json.loads(Path(answers_path).read_text(encoding="utf-8"))
    out: dict[str, dict] = {}
    for tree in doc.get("trees", []):
        for s in tree.get("samples", []):
            boxes = s.get("input_boxes") or {}
            if not s.get("is_screenshot") or not isinstance(boxes, dict) or not boxes.get("screenshot"):
                continue
            out[boxes["screenshot"]] = {
                "url": boxes["screenshot"], "prompt": s["prompt"],
                "boxes": {role: boxes[role] for role in ("input", "output") if boxes.get(role)},
            }
    return list(out.values())


def score(result: dict[str, Any] | None, truth: dict) -> dict[str, Any]:
    """Compare one transcription ({prompt, boxes: [{role, box}]}) with its truth."""
    result = result or {}
    boxes = result.get("boxes") or []
    if isinstance(boxes, str):
        boxes = json.loads(boxes)
    ious = {role: round(max((box_iou(b["box"], tbox) for b in boxes if b.get("role") == role), default=0.0), 3)
            for role, tbox in truth["boxes"].items()}
    return {
        "url": truth["url"], "similarity": round(prompt_similarity(result.get("prompt"), truth["prompt"]), 3),
        "cer": round(char_error_rate(result.get("prompt"), truth["prompt"]), 3), "iou": ious,
        "found_boxes": len(boxes), "true_boxes": len(truth["boxes"]),
        "prompt": result.get("prompt"), "true_prompt": truth["prompt"],
    }
