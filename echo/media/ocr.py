"""Chat-window screenshots: is this one, what did the user ask, and where are the images in it.

Offline: RapidOCR (rapidocr-onnxruntime ships its PP-OCR ONNX models inside the package; nothing is
downloaded). Layout is read with OpenCV, no model:

1. background = the most common colour of the screenshot's border;
2. everything that differs from it, minus the OCR text lines, is grouped into connected regions;
3. a region whose dominant colour is a flat grey (any lightness) and that holds text is a message
   bubble: its text is a message and its inside is searched again (an upload inside a bubble);
   any other large solid region is an embedded image;
4. the user's message is the first bubble on the right half (ChatGPT, Gemini, Claude style), else
   the text after a "You" label, else the right-aligned lines, else the text above the first image;
5. images that start before the user's message ends are inputs, later ones are outputs.

Limits: an image whose background is the chat background colour shrinks to its visible content;
a grey-backed image that carries text can be taken for a bubble.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

OCR_VERSION = "ocr-1"
MIN_TEXT_SCORE = 0.5

# Whole lines that are chat UI chrome, never part of a prompt (matched case-insensitively, trimmed).
_CHROME = re.compile(
    r"""^(?:
        chatgpt(?:\s*(?:4o|4o\s*mini|4|5|plus|pro|o\d.*))?\s*[v>]?
      | (?:gpt|gpt-?4o?|gpt-?4o-?mini|4o|o\d)
      | you(?:\s+said)?:?
      | user:? | assistant:? | me:? | gemini:? | claude:?
      | (?:send\s+a\s+)?message(?:\s+chatgpt)?\.*
      | ask\s+anything\.*
      | new\s+chat | share | edited | copy | regenerate | retry | search | reason | tools | voice
      | chatgpt\s+can\s+make\s+mistakes.* | .*check\s+important\s+info.*
      | (?:image\s+)?created.* | generating\s+image.* | (?:thought|thinking)\s+for.*
      | today | yesterday
      | \d{1,2}[:.]\d{2}(?:\s*[ap]\.?\s?m\.?)?
      | \d{1,2}/\d{1,2}/\d{2,4}(?:,?\s+\d{1,2}[:.]\d{2}(?:\s*[ap]\.?\s?m\.?)?)?
      | [^\w]{0,3}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_SPEAKER_USER = re.compile(r"^(?:you|user|me)(?:\s+said)?:?$", re.IGNORECASE)
_SPEAKER_OTHER = re.compile(r"^(?:chatgpt.*|assistant:?|gemini:?|claude:?)$", re.IGNORECASE)


@dataclass
class Line:
    text: str
    box: list[int]  # [left, top, right, bottom]
    score: float


@dataclass
class Region:
    box: list[int]
    kind: str  # "image" or "bubble"
    lines: list[Line] = field(default_factory=list)


@dataclass
class Analysis:
    width: int
    height: int
    lines: list[Line]
    images: list[Region]
    bubbles: list[Region]
    background: tuple[int, int, int]
    background_share: float


# --- OCR engine ---------------------------------------------------------------------------------

_engine_lock = threading.Lock()


# PP-OCR's recogniser often puts "blank" just ahead of "space" between English words, so the argmax
# drops the space ("LEGOminifigure"). Inside words the space probability stays below ~0.02, at word
# gaps it reaches 0.06-0.45: a blank column whose space probability reaches this is read as a space.
SPACE_MIN_PROB = 0.05


class _SpaceRecoveringDecode:
    def __init__(self, decode):
        self.decode = decode
        self.space = len(decode.character) - 1 if decode.character and decode.character[-1] == " " else None

    def __call__(self, preds: np.ndarray, *args, **kwargs):
        if self.space is not None and preds.ndim == 3:
            preds = preds.copy()
            blank_wins = preds.argmax(axis=2) == 0
            promote = blank_wins & (preds[:, :, self.space] >= SPACE_MIN_PROB)
            preds[:, :, self.space][promote] = preds[:, :, 0][promote] + 1.0
        return self.decode(preds, *args, **kwargs)


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    rec = getattr(engine, "text_rec", None)
    if rec is not None and hasattr(getattr(rec, "postprocess_op", None), "character"):
        rec.postprocess_op = _SpaceRecoveringDecode(rec.postprocess_op)
    return engine


def engine_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("rapidocr-onnxruntime")
    except PackageNotFoundError:
        v = "?"
    return f"rapidocr-onnxruntime {v} PP-OCRv4"


# The text detector's memory grows with the pixels it is given: +700 MB over the loaded engine for a
# 2048 x 2048 image, +460 MB at this cap (and 3x faster). A desktop screenshot (1920 x 1080) is read at its own
# scale, a phone's (1170 x 2532) at 0.82; rendered chats scaled 2.5x give the same prompts and boxes.
OCR_MAX_PIXELS = 2_000_000


def ocr_lines(rgb: np.ndarray) -> list[Line]:
    """Text lines with their boxes (in `rgb`'s pixels), top to bottom."""
    h, w = rgb.shape[:2]
    scale = min(1.0, (OCR_MAX_PIXELS / (w * h)) ** 0.5) if w * h else 1.0
    if scale < 1.0:
        small = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                            Image.Resampling.LANCZOS, reducing_gap=2.0)
        bgr = np.asarray(small)[:, :, ::-1].copy()
    else:
        bgr = rgb[:, :, ::-1].copy()  # RapidOCR takes OpenCV's BGR order
    with _engine_lock:  # onnxruntime sessions are shared; one image at a time keeps memory flat
        result, _ = _engine()(bgr)
    del bgr
    lines = []
    for quad, text, score in result or []:
        if float(score) < MIN_TEXT_SCORE or not str(text).strip():
            continue
        xs = [p[0] / scale for p in quad]
        ys = [p[1] / scale for p in quad]
        box = [int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))]
        lines.append(Line(text=re.sub(r"\s+", " ", str(text)).strip(), box=box, score=round(float(score), 4)))
    lines.sort(key=lambda ln: (ln.box[1], ln.box[0]))
    return lines


# --- layout -------------------------------------------------------------------------------------


MAX_PIXELS = 60_000_000


LOSSY_FORMATS = ("JPEG", "WEBP", "MPO")


def _open(path_or_image: str | Path | Image.Image) -> tuple[Image.Image, bool]:
    """An upright image, decoded with the same bomb checks as downloads, and whether its format is lossy."""
    if isinstance(path_or_image, Image.Image):
        return path_or_image, getattr(path_or_image, "format", None) in LOSSY_FORMATS
    from echo.media.validate import decode_image

    decoded = decode_image(Path(path_or_image).read_bytes(), max_pixels=MAX_PIXELS)
    return decoded.image, decoded.format in LOSSY_FORMATS


def _rgb(img: Image.Image) -> np.ndarray:
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB") if "A" in img.getbands() else img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _dominant(pixels: np.ndarray) -> tuple[tuple[int, int, int], float]:
    """Most common colour (quantised to 4-bit steps) and the share of pixels within 12 of it."""
    flat = pixels.reshape(-1, 3)
    if len(flat) == 0:
        return (0, 0, 0), 0.0
    q = (flat >> 4).astype(np.int32)
    keys = q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]
    top = np.bincount(keys).argmax()
    members = flat[keys == top]
    colour = tuple(int(c) for c in np.median(members, axis=0))
    close = np.abs(flat.astype(np.int16) - np.array(colour, dtype=np.int16)).max(axis=1) <= 12
    return colour, float(close.mean())


def _border_exact(level: np.ndarray) -> bool:
    border = np.concatenate([level[0, :], level[-1, :], level[:, 0], level[:, -1]])
    return float((border == 0).mean()) >= 0.9


def _is_grey(colour: tuple[int, int, int]) -> bool:
    return max(colour) - min(colour) <= 24


def _overlap(a: list[int], b: list[int]) -> float:
    """Share of a's area covered by b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return w * h / area


def _regions(rgb: np.ndarray, lines: list[Line], background: tuple[int, int, int], offset: tuple[int, int],
             full_size: tuple[int, int], depth: int, lossy: bool) -> tuple[list[Region], list[Region]]:
    import cv2

    h, w = rgb.shape[:2]
    level = np.abs(rgb.astype(np.int16) - np.array(background, dtype=np.int16)).max(axis=2)
    # A lossless capture (PNG) has a background of one exact colour; JPEG noise rules out exact checks
    # and needs a higher threshold (bubbles still differ from the background by ~14 levels).
    exact_background = not lossy and float((level == 0).mean()) >= 0.3 and _border_exact(level)
    diff = level > (6 if exact_background else 10)
    mask = diff.astype(np.uint8)
    ox, oy = offset
    for ln in lines:
        # Text on the background is not an image: punch it out. Text on a bubble or an image belongs
        # to that region: fill it in, so the region stays solid.
        l, t, r, b = ln.box[0] - ox - 2, ln.box[1] - oy - 2, ln.box[2] - ox + 2, ln.box[3] - oy + 2
        l, t, r, b = max(0, l), max(0, t), min(w, r), min(h, b)
        if r <= l or b <= t:
            continue
        ring = np.concatenate([diff[max(0, t - 4):t, l:r].ravel(), diff[b:b + 4, l:r].ravel(),
                               diff[t:b, max(0, l - 4):l].ravel(), diff[t:b, r:r + 4].ravel()])
        mask[t:b, l:r] = 1 if ring.size and ring.mean() > 0.5 else 0
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    fw, fh = full_size
    min_side = max(32, int(0.1 * fw))  # avatars, icons and emoji are smaller than any shared image
    images: list[Region] = []
    bubbles: list[Region] = []
    candidates = []
    for i in range(1, n):
        x, y, cw, ch, area = (int(v) for v in stats[i])
        box = [x + ox, y + oy, x + cw + ox, y + ch + oy]
        if not exact_background and any(_overlap(ln.box, box) > 0.6 for ln in lines):
            # JPEG noise can bridge the gap between an upload and its bubble: split at empty row runs.
            candidates.extend(_split_rows(diff, mask, x, y, cw, ch))
        else:
            candidates.append((x, y, cw, ch, area))
    for x, y, cw, ch, area in candidates:
        if cw < min_side or ch < min_side or area < 0.4 * cw * ch:
            continue  # too small, or a thin outline (input field, divider)
        box = [x + ox, y + oy, x + cw + ox, y + ch + oy]
        if (cw >= 0.97 * w and ch >= 0.97 * h) and depth > 0:
            continue
        crop = rgb[y:y + ch, x:x + cw]
        inside = [ln for ln in lines if _overlap(ln.box, box) > 0.6]
        colour, share = _dominant(crop)
        if inside and share >= 0.5 and _is_grey(colour) and depth < 2:
            bubble = Region(box=box, kind="bubble", lines=inside)
            bubbles.append(bubble)
            inner_images, inner_bubbles = _regions(crop, inside, colour, (x + ox, y + oy), full_size, depth + 1,
                                                     lossy)
            images.extend(inner_images)
            bubbles.extend(inner_bubbles)
        else:
            if exact_background:
                x, y, cw, ch = _grow_faint_edges(rgb, background, x, y, cw, ch)
                box = [x + ox, y + oy, x + cw + ox, y + ch + oy]
            images.append(Region(box=box, kind="image"))
    return images, bubbles


def _split_rows(diff: np.ndarray, mask: np.ndarray, x: int, y: int, w: int, h: int, gap: int = 4):
    """Split a box at runs of >= gap rows that are (almost) background; each part trimmed to its content."""
    fill = diff[y:y + h, x:x + w].mean(axis=1)
    parts, start, empty = [], None, 0
    for i, f in enumerate(fill):
        if f < 0.05:
            empty += 1
            if start is not None and empty >= gap:
                parts.append((start, i - empty + 1))
                start = None
        else:
            if start is None:
                start = i
            empty = 0
    if start is not None:
        parts.append((start, h))
    out = []
    for top, bottom in parts:
        sub = mask[y + top:y + bottom, x:x + w]
        cols = np.flatnonzero(sub.any(axis=0))
        if cols.size:
            left, right = int(cols[0]), int(cols[-1]) + 1
            area = int(sub[:, left:right].sum())
            out.append((x + left, y + top, right - left, bottom - top, area))
    return out


def _grow_faint_edges(rgb: np.ndarray, background: tuple[int, int, int], x: int, y: int, w: int, h: int):
    """Extend an image box over rows/columns that differ from a lossless background by even one level
    (an image whose own background fades into the chat's: a sketch on near-white paper)."""
    bg = np.array(background, dtype=np.int16)
    H, W = rgb.shape[:2]

    def differs(pixels: np.ndarray) -> bool:
        return pixels.size > 0 and float((np.abs(pixels.astype(np.int16) - bg).max(axis=-1) >= 1).mean()) >= 0.9

    while y > 0 and differs(rgb[y - 1, x:x + w]):
        y, h = y - 1, h + 1
    while y + h < H and differs(rgb[y + h, x:x + w]):
        h += 1
    while x > 0 and differs(rgb[y:y + h, x - 1]):
        x, w = x - 1, w + 1
    while x + w < W and differs(rgb[y:y + h, x + w]):
        w += 1
    return x, y, w, h


def analyze(path_or_image: str | Path | Image.Image, *, lossy: bool | None = None) -> Analysis:
    """OCR and layout of an image. `lossy` (JPEG/WEBP source) is read from the file or image when not given."""
    img, lossy_format = _open(path_or_image)
    lossy = lossy_format if lossy is None else lossy
    rgb = _rgb(img)
    h, w = rgb.shape[:2]
    border = np.concatenate([rgb[0, :], rgb[-1, :], rgb[:, 0], rgb[:, -1]])
    background, _ = _dominant(border)
    close = np.abs(rgb.astype(np.int16) - np.array(background, dtype=np.int16)).max(axis=2) <= 12
    lines = ocr_lines(rgb)
    images, bubbles = _regions(rgb, lines, background, (0, 0), (w, h), 0, lossy)
    images.sort(key=lambda r: (r.box[1], r.box[0]))
    bubbles.sort(key=lambda r: (r.box[1], r.box[0]))
    return Analysis(width=w, height=h, lines=lines, images=images, bubbles=bubbles, background=background,
                    background_share=float(close.mean()))


# --- the user's message -------------------------------------------------------------------------


def _is_chrome(text: str) -> bool:
    return bool(_CHROME.match(text.strip()))


def _join(lines: list[Line]) -> str:
    out = ""
    for ln in sorted(lines, key=lambda x: (x.box[1], x.box[0])):
        t = ln.text.strip()
        if not out:
            out = t
        elif out.endswith("-") and t[:1].islower():
            out = out + t  # a word hyphenated across the wrap
        else:
            out = f"{out} {t}"
    return re.sub(r"\s+", " ", out).strip()


def _user_message(a: Analysis) -> tuple[list[Line], list[int] | None, str]:
    """Lines of the user's message, its vertical span [top, bottom], and how it was found."""
    text_bubbles = [b for b in a.bubbles if any(not _is_chrome(ln.text) for ln in b.lines)
                    and not (b.box[1] <= 2 and b.box[2] - b.box[0] >= 0.9 * a.width)]
    right = [b for b in text_bubbles if (b.box[0] + b.box[2]) / 2 > a.width * 0.5]
    for candidates, how in ((right, "right bubble"), (text_bubbles, "bubble")):
        if candidates:
            b = candidates[0]
            msg = [ln for ln in b.lines if not _is_chrome(ln.text)]
            return msg, [b.box[1], b.box[3]], how
    for i, ln in enumerate(a.lines):
        if _SPEAKER_USER.match(ln.text.strip()):
            msg: list[Line] = []
            for nxt in a.lines[i + 1:]:
                if _SPEAKER_OTHER.match(nxt.text.strip()):
                    break
                # without a reply label, an image after the message text starts the reply
                if msg and any(msg[-1].box[3] <= im.box[1] <= nxt.box[1] for im in a.images):
                    break
                if not _is_chrome(nxt.text) and not any(_overlap(nxt.box, im.box) > 0.5 for im in a.images):
                    msg.append(nxt)
            if msg:
                return msg, [ln.box[1], msg[-1].box[3]], "speaker label"
    content = [ln for ln in a.lines if not _is_chrome(ln.text)
               and not any(_overlap(ln.box, im.box) > 0.5 for im in a.images)]
    right_lines = [ln for ln in content if ln.box[0] > a.width * 0.25 and ln.box[2] > a.width * 0.75]
    if right_lines:
        block = [right_lines[0]]
        for ln in right_lines[1:]:  # consecutive lines of one message
            if ln.box[1] - block[-1].box[3] > 2.0 * (block[-1].box[3] - block[-1].box[1]):
                break
            block.append(ln)
        return block, [block[0].box[1], block[-1].box[3]], "right-aligned lines"
    first_image = a.images[0].box[1] if a.images else a.height
    above = [ln for ln in content if ln.box[3] <= first_image]
    if above:
        return above, [above[0].box[1], above[-1].box[3]], "text above the first image"
    return [], None, "none"


def _label(a: Analysis, span: list[int] | None) -> list[dict[str, Any]]:
    out = []
    for im in a.images:
        if span is not None:
            role = "input" if im.box[1] < span[1] else "output"
        else:
            role = "input" if (len(a.images) > 1 and im is a.images[0]) else "output"
        out.append({"role": role, "box": list(im.box)})
    return out


def transcribe(a: Analysis) -> dict[str, Any]:
    msg, span, how = _user_message(a)
    return {
        "prompt": _join(msg),
        "boxes": _label(a, span),
        "lines": [asdict(ln) for ln in a.lines],
        "method": how,
        "is_chat": looks_like_chat(a),
        "engine": engine_name(),
        "version": OCR_VERSION,
        "size": [a.width, a.height],
    }


def looks_like_chat(a: Analysis) -> bool:
    """A chat layout: text plus an embedded image on a flat UI background, or chat chrome words."""
    if len(a.lines) < 2:
        return False
    chrome = sum(1 for ln in a.lines if _is_chrome(ln.text) and re.search(r"[a-z]{3}", ln.text, re.I))
    has_bubble = any(any(not _is_chrome(ln.text) for ln in b.lines) for b in a.bubbles)
    flat_ui = a.background_share >= 0.25 and _is_grey(a.background)
    if not flat_ui:
        return False
    if has_bubble and (a.images or chrome):
        return True
    return bool(a.images) and chrome >= 1 and len(a.lines) >= 3


# --- public API ---------------------------------------------------------------------------------


def could_be_screenshot(image: Image.Image) -> bool:
    """Cheap pre-check before OCR: big enough, and a flat grey UI background around the border."""
    w, h = image.size
    if min(w, h) < 240 or max(w, h) < 320:
        return False
    small = image.convert("RGB")
    small.thumbnail((256, 256))
    rgb = np.asarray(small, dtype=np.uint8)
    border = np.concatenate([rgb[0, :], rgb[-1, :], rgb[:, 0], rgb[:, -1]])
    colour, border_share = _dominant(border)
    if not _is_grey(colour) or border_share < 0.5:
        return False
    close = np.abs(rgb.astype(np.int16) - np.array(colour, dtype=np.int16)).max(axis=2) <= 12
    return float(close.mean()) >= 0.25


def is_chat_screenshot(path: str | Path | Image.Image) -> bool:
    """Heuristic: does this image show a chat window (text messages around embedded images)?"""
    img, lossy = _open(path)
    if not could_be_screenshot(img):
        return False
    return looks_like_chat(analyze(img, lossy=lossy))


def transcribe_screenshot(path: str | Path | Image.Image) -> dict[str, Any]:
    """The user's prompt in a chat screenshot and the image regions in it.

    Returns {"prompt": str, "boxes": [{"role": "input"|"output", "box": [l, t, r, b]}], "lines": [...],
    "is_chat": bool, "method": how the user's message was found, "engine", "version", "size": [w, h]}.
    """
    return transcribe(analyze(path))


def screenshot_answer(transcription: Any) -> dict | None:
    """An OCR transcription (transcribe_screenshot's result, or its stored screenshot_ocr row) in the shape a
    vision model answers the screenshot step with (schemas/llm/screenshot.json). None when there is none."""
    import json

    from echo import schema

    if not isinstance(transcription, dict):
        return None
    boxes = transcription.get("boxes") or []
    if isinstance(boxes, str):
        boxes = json.loads(boxes)
    out = []
    for b in boxes:
        role, box = (b.get("role"), b.get("box")) if isinstance(b, dict) else (None, b)
        if role in ("input", "output") and isinstance(box, (list, tuple)) and len(box) == 4:
            box = [max(0, int(round(v))) for v in box]
            if box[2] > box[0] and box[3] > box[1]:
                out.append({"role": role, "box": box})
    prompt = transcription.get("prompt")
    prompt = prompt.strip() if isinstance(prompt, str) and prompt.strip() else None
    return schema.validate("llm/screenshot", {"prompt": prompt, "boxes": out})
