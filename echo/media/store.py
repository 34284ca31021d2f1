"""Content-addressed media files: <media_dir>/<sha256[:2]>/<sha256>.<ext>, thumbnails under thumbs/.

Identical bytes from any number of URLs are stored once. Paths in the media table are relative to
config.path('media_dir'), so the folder can move. `media_bytes` / `media_path` are the lookups other
areas (extract, report, HF export) use.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path

import imagehash
from PIL import Image

THUMB_DIR = "thumbs"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def relative_path(sha256: str, ext: str) -> str:
    return f"{sha256[:2]}/{sha256}.{ext}"


def thumb_relative_path(sha256: str) -> str:
    return f"{THUMB_DIR}/{sha256[:2]}/{sha256}.webp"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def put_bytes(media_dir: Path, data: bytes, ext: str) -> tuple[str, str, bool]:
    """Store bytes under their content address. Returns (sha256, relative path, newly written)."""
    digest = sha256_hex(data)
    rel = relative_path(digest, ext)
    path = media_dir / rel
    if path.is_file() and path.stat().st_size == len(data):
        return digest, rel, False
    _write_atomic(path, data)
    return digest, rel, True


# Formats a browser shows as they are: a small image in one of them is its own thumbnail.
WEB_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


def make_thumbnail(media_dir: Path, sha256: str, image: Image.Image, size: int, *, original: str | None = None,
                   image_format: str | None = None, rotated: bool = False) -> str:
    """A WEBP thumbnail at most size x size (aspect kept) for the report; written once per content. An image
    already that small, upright as stored and in a format browsers show, is its own thumbnail (`original`, its
    stored path)."""
    if original is not None and max(image.size) <= size and image_format in WEB_FORMATS and not rotated:
        return original
    rel = thumb_relative_path(sha256)
    path = media_dir / rel
    if path.is_file():
        return rel
    w, h = image.size
    scale = min(1.0, size / max(w, h))
    # reducing_gap: a box reduction first, then LANCZOS on the last steps. 2.0 (Pillow's thumbnail default) is
    # 57 dB PSNR from a full LANCZOS resize against 65 dB at 3.0, and 2.4x faster on 2048 px images (29 -> 12 ms).
    thumb = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS,
                         reducing_gap=2.0)
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA" if "A" in thumb.getbands() or "transparency" in thumb.info else "RGB")
    buf = io.BytesIO()
    thumb.save(buf, format="WEBP", quality=80, method=2)
    _write_atomic(path, buf.getvalue())
    return rel


def perceptual_hash(image: Image.Image) -> str:
    """64-bit pHash as 16 hex characters (imagehash), on the upright image."""
    img = image
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGBA").convert("RGB") if "A" in img.getbands() else img.convert("RGB")
    return str(imagehash.phash(img))


def phash_distance(a: str, b: str) -> int:
    return imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b)


# --- lookups for other areas ---------------------------------------------------------------------


def _stored_file(store, config, url: str, column: str) -> Path | None:
    row = store.query(f"SELECT {column} AS rel FROM media WHERE url = ? AND status = 'ok'", [url])
    if not row or not row[0]["rel"]:
        return None
    path = config.path("media_dir") / row[0]["rel"]
    return path if path.is_file() else None


def media_path(store, config, url: str) -> Path | None:
    """The stored file of a media URL (status ok and file present), else None."""
    return _stored_file(store, config, url, "path")


def thumb_path(store, config, url: str) -> Path | None:
    """The stored thumbnail of a media URL, else None."""
    return _stored_file(store, config, url, "thumb_path")


def media_bytes(store, config, url: str) -> bytes | None:
    """The bytes of a downloaded image (checked against its sha256), or None when it is not stored."""
    row = store.query("SELECT path, sha256 FROM media WHERE url = ? AND status = 'ok'", [url])
    if not row or not row[0]["path"]:
        return None
    path = config.path("media_dir") / row[0]["path"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if row[0]["sha256"] and sha256_hex(data) != row[0]["sha256"]:
        return None  # a damaged file is treated as missing rather than exported
    return data
