"""Image roles (input, output, irrelevant), duplicates and chat screenshots of a sample, and OCR of screenshots."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from echo.llm import lexicon as lx
from echo.llm.backend import ImageView, SampleItem, ScreenshotItem
from echo.llm.injection import strip_injection
from echo.llm.rules.patterns import BEFORE_AFTER, INPUT_ALT, OUTPUT_ALT, SCREENSHOT
from echo.llm.rules.prompts import enumerated_prompts, similar_prompts
from echo.text import placeholders

def mentions_screenshot(texts: Iterable[str]) -> bool:
    return any(SCREENSHOT.search(t or "") for t in texts)


def is_screenshot(image: ImageView, texts: Sequence[str] = ()) -> tuple[bool, str]:
    """A chat-window screenshot? The media layer's hint wins; else alt text, the post's wording, the shape."""
    if image.is_screenshot_hint is not None:
        return bool(image.is_screenshot_hint), "media layer hint"
    if image.alt_text and SCREENSHOT.search(image.alt_text):
        return True, "alt text says screenshot"
    if image.width and image.height and image.height / image.width >= lx.SCREENSHOT_TALL_RATIO:
        return True, f"phone-screen shape {image.width}x{image.height}"
    if mentions_screenshot(texts):
        return True, "the post says screenshot"
    return False, ""


def image_roles_for(item: SampleItem) -> dict[str, Any]:
    """image_roles document: input / output / irrelevant per image, duplicates and screenshots flagged."""
    post_order = {p.post_id: i for i, p in enumerate(item.posts)}
    texts_by_post = {p.post_id: strip_injection(p.text)[0] for p in item.posts}
    images = sorted(item.images, key=lambda im: (post_order.get(im.post_id, len(post_order)), im.position))
    seen_urls: set[str] = set()
    seen_hash: set[str] = set()
    rows: list[dict[str, Any]] = []
    live: list[tuple[dict[str, Any], ImageView]] = []
    for im in images:
        dup = im.image_id in seen_urls or (im.sha256 is not None and im.sha256 in seen_hash)
        seen_urls.add(im.image_id)
        if im.sha256:
            seen_hash.add(im.sha256)
        if dup:
            rows.append({"image_id": im.image_id, "role": "irrelevant", "is_screenshot": False, "is_duplicate": True,
                         "reason": "rules: same URL or same bytes as an earlier image"})
            continue
        shot, why = is_screenshot(im, [texts_by_post.get(im.post_id, "")])
        row = {"image_id": im.image_id, "role": "output", "is_screenshot": shot, "is_duplicate": False,
               "reason": "rules: " + (f"chat screenshot ({why})" if shot else "")}
        rows.append(row)
        live.append((row, im))

    plain = [(r, im) for r, im in live if not r["is_screenshot"]]
    # a post listing several prompts with one image each: this sample's image is the one at its position
    anchor = item.posts[0] if item.posts else None
    listed = enumerated_prompts(strip_injection(anchor.text)[0]) if anchor else []
    own = [(r, im) for r, im in plain if anchor and im.post_id == anchor.post_id]
    k = next((j for j, x in enumerate(listed) if similar_prompts(x, item.prompt, 0.9)), None)
    if listed and k is not None and len(own) == len(listed):
        for j, (r, _im) in enumerate(own):
            if j != k:
                r["role"] = "irrelevant"
                r["reason"] += f"belongs to prompt {j + 1} of the list"
        plain = [x for j, x in enumerate(own) if j == k] + [x for x in plain if x not in own]
    if item.task == "image_to_image" and plain:
        labelled_input = [(r, im) for r, im in plain if im.alt_text and INPUT_ALT.search(im.alt_text)
                          and not OUTPUT_ALT.search(im.alt_text)]
        if labelled_input:
            for r, im in plain:
                is_in = any(im is x for _, x in labelled_input)
                r["role"] = "input" if is_in else "output"
                r["reason"] += "alt text says " + ("input" if is_in else "result")
        elif len(plain) >= 2:
            before_after = any(BEFORE_AFTER.search(t) for t in texts_by_post.values())
            for j, (r, _im) in enumerate(plain):
                r["role"] = "input" if j == 0 else "output"
                r["reason"] += ("before/after: " if before_after else "image-to-image: ") + (
                    "first image is the input" if j == 0 else "later image is a result")
        else:
            plain[0][0]["reason"] += "image-to-image with one image: taken as the result, the input is missing"
    else:
        for r, _im in plain:
            r["reason"] += "text-to-image: a result"
    for r in rows:
        r["reason"] = r["reason"][:500]
    return {"images": rows, "fill_blank": bool(placeholders(item.prompt or item.prompt_fill_blank))}


def transcribe(item: ScreenshotItem) -> dict[str, Any]:
    """OCR of a chat screenshot (echo.media.ocr) when the file is here; else no prompt."""
    from echo.media import ocr

    if not item.image.path:
        return {"prompt": None, "boxes": []}
    return ocr.screenshot_answer(ocr.transcribe_screenshot(item.image.path))
