"""Decode and check downloaded bytes: a real, complete, not-too-large image of a supported format.

Decompression bombs are refused twice: the pixel count from the header is checked against
max_pixels before decoding, and Pillow's DecompressionBombWarning is an error while decoding.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Decoded format -> (file extension, content types that may declare it)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PNG": ("png", ("image/png", "image/x-png", "image/apng")),
    "JPEG": ("jpg", ("image/jpeg", "image/jpg", "image/pjpeg")),
    "WEBP": ("webp", ("image/webp",)),
    "GIF": ("gif", ("image/gif",)),
    "BMP": ("bmp", ("image/bmp", "image/x-ms-bmp")),
}
UNDECLARED = ("", "application/octet-stream", "binary/octet-stream")

# warnings.catch_warnings and Image.MAX_IMAGE_PIXELS are process-global; decodes take turns.
_decode_lock = threading.Lock()


class ValidationError(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


ORIENTATION = 0x0112  # the EXIF tag


@dataclass
class Decoded:
    image: Image.Image  # upright (EXIF orientation applied), fully loaded
    format: str
    width: int
    height: int
    rotated: bool = False  # the stored bytes need their EXIF orientation applied to look upright

    @property
    def ext(self) -> str:
        return FORMATS[self.format][0]


def decode_image(data: bytes, *, max_pixels: int, content_type: str | None = None) -> Decoded:
    """Decode bytes into an upright image, or raise ValidationError with a short reason code."""
    if not data:
        raise ValidationError("empty", "no bytes")
    with _decode_lock, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            try:
                img = Image.open(io.BytesIO(data))
            except UnidentifiedImageError:
                raise ValidationError("not_an_image", "Pillow cannot identify the bytes") from None
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                raise ValidationError("too_many_pixels", str(e)) from None
            fmt = img.format or ""
            if fmt == "MPO":  # multi-picture JPEG from phones: the first frame is a plain JPEG
                fmt = "JPEG"
            if fmt not in FORMATS:
                raise ValidationError("unsupported_format", fmt or "unknown")
            w, h = img.size
            if w <= 0 or h <= 0:
                raise ValidationError("bad_dimensions", f"{w}x{h}")
            if w * h > max_pixels:
                raise ValidationError("too_many_pixels", f"{w}x{h} = {w * h} > max_pixels {max_pixels}")
            try:
                img.load()
                rotated = img.getexif().get(ORIENTATION, 1) not in (0, 1)
                ImageOps.exif_transpose(img, in_place=True)  # in place: no second copy of the pixels
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                raise ValidationError("too_many_pixels", str(e)) from None
            except (OSError, SyntaxError, ValueError, EOFError) as e:
                reason = "truncated" if "truncated" in str(e).lower() else "corrupt"
                raise ValidationError(reason, f"{type(e).__name__}: {e}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    if content_type is not None:
        main = content_type.split(";", 1)[0].strip().lower()
        if main not in UNDECLARED and main not in FORMATS[fmt][1]:
            raise ValidationError("content_type_mismatch", f"declared {main}, decoded {fmt}")
    return Decoded(image=img, format=fmt, width=img.width, height=img.height, rotated=rotated)
