"""From fetched bytes to a stored image: validate, write content-addressed, thumbnail, hash; and screenshot crops.

Pure of the database: each function returns the `media` row it would store; the media stage writes them.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from echo.media import store as mstore
from echo.media.fetch import FetchError, Fetched
from echo.media.validate import Decoded, ValidationError, decode_image


@dataclass
class Stored:
    row: dict
    new_file: bool


def store_image(media_dir: Path, data: bytes, decoded: Decoded, thumb_size: int) -> dict:
    """Write the file and thumbnail (once per content) and return the media columns they fill."""
    sha, rel, new = mstore.put_bytes(media_dir, data, decoded.ext)
    thumb = mstore.make_thumbnail(media_dir, sha, decoded.image, thumb_size, original=rel,
                                  image_format=decoded.format, rotated=decoded.rotated)
    return {
        "sha256": sha, "path": rel, "thumb_path": thumb, "format": decoded.format, "size_bytes": len(data),
        "width": decoded.width, "height": decoded.height, "phash": mstore.perceptual_hash(decoded.image),
        "_new_file": new,
    }


def failure_row(url: str, reason: str, detail: str, *, retryable: bool, attempts: int, max_attempts: int,
                run_id: str, content_type: str | None = None, size: int | None = None,
                final_url: str | None = None) -> dict:
    gave_up = retryable and attempts >= max_attempts
    error = f"{reason}: {detail}" if detail else reason
    if gave_up:
        error += f" (gave up after {attempts} attempts)"
    return {
        "url": url, "status": "failed", "error": error[:1000], "retryable": retryable and not gave_up,
        "attempts": attempts, "content_type": content_type, "size_bytes": size, "final_url": final_url,
        "sha256": None, "path": None, "thumb_path": None, "format": None, "width": None, "height": None,
        "phash": None, "fetched_at": dt.datetime.now(dt.UTC), "run_id": run_id,
    }


def process(url: str, result: Fetched | FetchError, *, config, run_id: str, prior_attempts: int,
            screenshot_hint: bool = False) -> Stored:
    """A fetch result -> the media row. The image is decoded once: validated, stored, thumbnailed, hashed and
    checked for a chat-screenshot layout (`screenshot_hint`: its post or alt text says screenshot); an image that
    cannot be one gets is_screenshot = false now, the others are left for OCR. The pixels are dropped after."""
    media = config.media
    max_attempts = max(1, media.max_retries)
    if isinstance(result, FetchError):
        row = failure_row(url, result.reason, result.detail, retryable=result.retryable,
                          attempts=prior_attempts + 1, max_attempts=max_attempts, run_id=run_id)
        return Stored(row, False)
    try:
        decoded = decode_image(result.data, max_pixels=media.max_pixels, content_type=result.content_type)
    except ValidationError as e:
        row = failure_row(url, e.reason, e.detail, retryable=False, attempts=prior_attempts + 1,
                          max_attempts=max_attempts, run_id=run_id, content_type=result.content_type,
                          size=len(result.data), final_url=result.final_url)
        return Stored(row, False)
    cols = store_image(config.path("media_dir"), result.data, decoded, media.thumb_size)
    new = cols.pop("_new_file")
    row = {
        "url": url, "status": "ok", "error": None, "retryable": None, "attempts": prior_attempts,
        "content_type": result.content_type, "final_url": result.final_url,
        "fetched_at": dt.datetime.now(dt.UTC), "run_id": run_id, **cols,
    }
    if media.ocr and not may_be_screenshot(decoded.image, screenshot_hint):
        row["is_screenshot"] = False
    return Stored(row, new)


def may_be_screenshot(image: Image.Image, hint: bool) -> bool:
    """Worth an OCR look: a chat-window layout, or a big enough image its post calls a screenshot."""
    from echo.media import ocr

    return ocr.could_be_screenshot(image) or (hint and min(image.size) >= 150)


def crop_url(parent_sha: str, box: list[int]) -> str:
    return f"crop:{parent_sha}:{','.join(str(int(v)) for v in box)}"


def open_stored(config, rel_path: str) -> Image.Image:
    data = (config.path("media_dir") / rel_path).read_bytes()
    return decode_image(data, max_pixels=config.media.max_pixels).image


def crop_rows(media_dir: Path, thumb_size: int, parent_url: str, parent_sha: str, image: Image.Image,
              boxes: list[dict], run_id: str) -> tuple[list[dict], list[dict]]:
    """Each image region of a screenshot stored as media of its own: (their media rows, the boxes with crop URLs)."""
    rows, out = [], []
    for b in boxes:
        l, t, r, btm = (int(v) for v in b["box"])
        l, t, r, btm = max(0, l), max(0, t), min(image.width, r), min(image.height, btm)
        if r - l < 8 or btm - t < 8:
            continue
        crop = image.crop((l, t, r, btm))
        if crop.mode not in ("RGB", "RGBA", "L"):
            crop = crop.convert("RGB")
        buf = io.BytesIO()
        crop.save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
        decoded = Decoded(image=crop, format="PNG", width=crop.width, height=crop.height)
        cols = store_image(media_dir, data, decoded, thumb_size)
        cols.pop("_new_file")
        url = crop_url(parent_sha, [l, t, r, btm])
        rows.append({"url": url, "status": "ok", "error": None, "content_type": "image/png", "parent_url": parent_url,
                     "crop_box": [l, t, r, btm], "is_screenshot": False, "fetched_at": dt.datetime.now(dt.UTC),
                     "run_id": run_id, "attempts": 0, **cols})
        out.append({**b, "box": [l, t, r, btm], "url": url})
    return rows, out
