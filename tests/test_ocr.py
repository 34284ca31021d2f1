"""Screenshot OCR on rendered chat windows: prompt similarity and image-box IoU, fully offline."""

from __future__ import annotations

import difflib
import random
import socket
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from echo.media import ocr
from echo.media.evaluate import box_iou

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _font(size: int, bold: bool = False):
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size=size)


def _art(w: int, h: int, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (w, h), (rnd.randrange(60, 200), rnd.randrange(60, 200), rnd.randrange(60, 200)))
    d = ImageDraw.Draw(img)
    for _ in range(8):
        x, y, s = rnd.randrange(w), rnd.randrange(h), rnd.randrange(10, w // 2)
        d.ellipse([x, y, x + s, y + s], fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    return img


def render_chat(prompt: str, *, style: str = "bubble", dark: bool = False, width: int = 800):
    """A ChatGPT-like window. Returns the image and the true boxes [(role, [l, t, r, b])].

    style: "bubble" (upload above a right-aligned bubble), "upload-in-bubble", "labels" (older UI:
    "You" / "ChatGPT" labels, no bubbles), "text-only" (no input image).
    """
    bg = (33, 33, 33) if dark else (255, 255, 255)
    fg = (236, 236, 236) if dark else (13, 13, 13)
    bubble = (47, 47, 47) if dark else (244, 244, 244)
    f, fb, fs = _font(18), _font(20, True), _font(14)
    img = Image.new("RGB", (width, 1500), bg)
    d = ImageDraw.Draw(img)
    d.text((24, 18), "ChatGPT 4o", font=fb, fill=fg)
    d.line([0, 60, width, 60], fill=(60, 60, 60) if dark else (220, 220, 220))
    y, boxes = 90, []
    lines = textwrap.wrap(prompt, 42)
    lh = 26
    if style == "labels":
        d.text((40, y), "You", font=fb, fill=fg)
        y += 34
        up = _art(220, 220, 1)
        img.paste(up, (40, y))
        boxes.append(("input", [40, y, 260, y + 220]))
        y += 236
        for i, ln in enumerate(lines):
            d.text((40, y + i * lh), ln, font=f, fill=fg)
        y += len(lines) * lh + 30
        d.text((40, y), "ChatGPT", font=fb, fill=fg)
        y += 34
    else:
        text_w = max(d.textlength(ln, font=f) for ln in lines)
        if style == "upload-in-bubble":
            bw = max(text_w, 220) + 40
            bx = width - 40 - bw
            bh = 20 + 220 + 14 + len(lines) * lh + 14
            d.rounded_rectangle([bx, y, width - 40, y + bh], radius=18, fill=bubble)
            img.paste(_art(220, 220, 1), (int(bx + 20), y + 20))
            boxes.append(("input", [int(bx + 20), y + 20, int(bx + 240), y + 240]))
            for i, ln in enumerate(lines):
                d.text((bx + 20, y + 254 + i * lh), ln, font=f, fill=fg)
            y += bh + 30
        else:
            if style == "bubble":
                x = width - 40 - 220
                img.paste(_art(220, 220, 1), (x, y))
                boxes.append(("input", [x, y, x + 220, y + 220]))
                y += 240
            bw, bh = text_w + 40, len(lines) * lh + 24
            bx = width - 40 - bw
            d.rounded_rectangle([bx, y, width - 40, y + bh], radius=18, fill=bubble)
            for i, ln in enumerate(lines):
                d.text((bx + 20, y + 12 + i * lh), ln, font=f, fill=fg)
            y += bh + 30
        d.text((40, y), "Here is the image you asked for:", font=f, fill=fg)
        y += 40
    img.paste(_art(400, 400, 2), (40, y))
    boxes.append(("output", [40, y, 440, y + 400]))
    y += 420
    d.text((40, y), "Image created · 10:42 AM", font=fs, fill=(140, 140, 140))
    y += 50
    d.rounded_rectangle([40, y, width - 40, y + 50], radius=25, outline=(200, 200, 200), fill=bg)
    d.text((64, y + 14), "Message ChatGPT", font=f, fill=(150, 150, 150))
    y += 70
    return img.crop((0, 0, width, y)), boxes


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def match_boxes(found: list[dict], truth: list[tuple[str, list[int]]]) -> list[float]:
    """Best IoU for every true box, counting a found box only when its role matches."""
    return [max((box_iou(f["box"], box) for f in found if f["role"] == role), default=0.0) for role, box in truth]


PROMPTS = [
    "Turn this photo of my dog into a Studio Ghibli style watercolor painting with soft morning light",
    "Make it an action figure in a blister pack, with the label 'Weekend Hiker' and tiny accessories",
    "Redraw this selfie as a 1990s anime cel with a neon Tokyo street behind me at night",
]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a non-local connection fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError(f"network access attempted: {a}")))


@pytest.mark.parametrize("style, dark, prompt", [
    ("bubble", False, PROMPTS[0]),
    ("bubble", True, PROMPTS[1]),
    ("upload-in-bubble", False, PROMPTS[2]),
    ("labels", False, PROMPTS[1]),
])
def test_transcribes_prompt_and_finds_image_boxes(style, dark, prompt, no_network):
    ocr._engine.cache_clear()  # build the engine under the no-network guard: models ship in the package
    img, truth = render_chat(prompt, style=style, dark=dark)
    got = ocr.transcribe_screenshot(img)
    sim = similarity(got["prompt"], prompt)
    ious = match_boxes(got["boxes"], truth)
    print(f"{style} dark={dark}: prompt similarity {sim:.3f}, box IoU {[round(v, 3) for v in ious]}, "
          f"via {got['method']}")
    assert sim >= 0.95, got["prompt"]
    assert min(ious) >= 0.9, (got["boxes"], truth)
    assert len(got["boxes"]) == len(truth)
    assert got["is_chat"] and "rapidocr" in got["engine"]
    assert "ChatGPT" not in got["prompt"] and "Message" not in got["prompt"]


def test_chat_screenshot_heuristic(tmp_path):
    shot, _ = render_chat(PROMPTS[0])
    shot.save(tmp_path / "shot.png")
    assert ocr.is_chat_screenshot(tmp_path / "shot.png")
    # generated pictures, with or without a caption, are not chat screenshots
    art = _art(512, 512, 5)
    assert not ocr.is_chat_screenshot(art)
    captioned = Image.new("RGB", (640, 640), (250, 250, 250))
    captioned.paste(_art(400, 400, 6), (120, 60))
    ImageDraw.Draw(captioned).text((120, 500), "a cozy cabin at dawn", font=_font(24), fill=(20, 20, 20))
    assert not ocr.is_chat_screenshot(captioned)
    assert not ocr.is_chat_screenshot(Image.new("RGB", (800, 1000), (255, 255, 255)))


def test_text_only_screenshot_has_only_an_output_box():
    img, truth = render_chat(PROMPTS[0], style="text-only")
    got = ocr.transcribe_screenshot(img)
    assert similarity(got["prompt"], PROMPTS[0]) >= 0.95
    assert [b["role"] for b in got["boxes"]] == ["output"]
    assert box_iou(got["boxes"][0]["box"], truth[0][1]) >= 0.9


def test_chrome_lines_are_recognised():
    for chrome in ["ChatGPT", "ChatGPT 4o", "You", "You said:", "Send a message", "Message ChatGPT", "10:42 AM",
                   "Image created", "ChatGPT can make mistakes. Check important info.", "4o", "Ask anything"]:
        assert ocr._is_chrome(chrome), chrome
    for text in ["Make it a Ghibli poster", "You are a cat in a hat", "4o, draw a cat"]:
        assert not ocr._is_chrome(text), text


def test_stage_ocrs_screenshots_once_and_stores_crops(config, tmp_path):
    from echo import pipeline
    from echo.stages import media as mstage
    from echo.store import Store

    folder = tmp_path / "corpus"
    folder.mkdir()
    shot, truth = render_chat(PROMPTS[0])
    shot.save(folder / "shot.png")
    _art(300, 300, 9).save(folder / "art.png")
    prefix = "https://corpus.invalid/m/"
    config.media.url_map = {prefix: str(folder) + "/"}
    with Store(config.path("db")) as store:
        store.upsert("posts", [{"platform": "bluesky", "post_id": "p1", "root_id": "p1", "text": "4o did this"}])
        store.upsert("relevance", [{"platform": "bluesky", "post_id": "p1", "judge": "llm", "passed": True,
                                    "model": "rules", "prompt_version": "t"}])
        store.upsert("post_media", [
            {"platform": "bluesky", "post_id": "p1", "url": prefix + "shot.png", "position": 0},
            {"platform": "bluesky", "post_id": "p1", "url": prefix + "art.png", "position": 1},
        ])
        ctx = pipeline.start_run(config, store)
        pipeline.run_stage(ctx, mstage.run)
        stats = ctx.stage_stats("media")
        assert stats["local"] == 2 and stats["screenshots"] == 1 and stats["crops"] == 2

        (row,) = store.query("SELECT * FROM screenshot_ocr WHERE is_chat")
        assert row["url"] == prefix + "shot.png"
        assert similarity(row["prompt"], PROMPTS[0]) >= 0.95
        import json

        boxes = json.loads(row["boxes"])
        assert [b["role"] for b in boxes] == ["input", "output"]
        flags = {r["url"]: r["is_screenshot"] for r in store.query("SELECT url, is_screenshot FROM media")}
        assert flags[prefix + "shot.png"] is True and flags[prefix + "art.png"] is False
        crops = store.query("SELECT * FROM media WHERE parent_url IS NOT NULL ORDER BY crop_box[2]")
        assert [c["url"] for c in crops] == [b["url"] for b in boxes]
        for crop, (role, box) in zip(crops, truth):
            assert crop["status"] == "ok" and crop["url"].startswith("crop:") and box_iou(crop["crop_box"], box) >= 0.9
            assert (crop["width"], crop["height"]) == (crop["crop_box"][2] - crop["crop_box"][0],
                                                       crop["crop_box"][3] - crop["crop_box"][1])
            assert (config.path("media_dir") / crop["path"]).is_file()

        before = store.query("SELECT * FROM media ORDER BY url")
        ctx2 = pipeline.start_run(config, store)
        pipeline.run_stage(ctx2, mstage.run)
        s2 = ctx2.stage_stats("media")
        assert s2["ocr"] == 0 and s2["screenshot_checked"] == 0 and s2["local"] == 0
        assert store.query("SELECT * FROM media ORDER BY url") == before


def test_space_recovery_reads_a_likely_space_between_words():
    import numpy as np

    class FakeDecode:
        character = ["blank", "a", "b", " "]

        def __call__(self, preds, *a, **k):
            idx = preds.argmax(axis=2)[0]
            out, prev = "", None
            for i in idx:
                if i != prev and i != 0:
                    out += self.character[i]
                prev = i
            return out

    def col(blank=0.0, a=0.0, b=0.0, space=0.0):
        return [blank, a, b, space]

    # "a", blank (space 0.3: a word gap), "b", blank (space 0.01: inside a word), "b"
    preds = np.array([[col(a=0.9), col(blank=0.65, space=0.3), col(b=0.9), col(blank=0.95, space=0.01), col(b=0.9)]])
    assert FakeDecode()(preds) == "abb"
    assert ocr._SpaceRecoveringDecode(FakeDecode())(preds) == "a bb"


@pytest.mark.parametrize("dark", [False, True])
def test_recompressed_jpeg_screenshot(dark):
    """Platforms recompress screenshots: JPEG noise must not merge an upload with its bubble."""
    import io

    img, truth = render_chat(PROMPTS[2], dark=dark)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    got = ocr.transcribe_screenshot(Image.open(io.BytesIO(buf.getvalue())))
    ious = match_boxes(got["boxes"], truth)
    print(f"JPEG q70 dark={dark}: similarity {similarity(got['prompt'], PROMPTS[2]):.3f}, IoU {ious}")
    assert similarity(got["prompt"], PROMPTS[2]) >= 0.95
    assert len(got["boxes"]) == 2 and min(ious) >= 0.85


def test_a_large_screenshot_is_read_scaled_down_with_boxes_in_its_own_pixels(monkeypatch):
    """A high-DPI screenshot (2000 x 2605, past ocr.OCR_MAX_PIXELS) is read at a smaller scale, which bounds the
    detector's memory; the prompt and the boxes, mapped back to the image's pixels, are as good as at 1x."""
    img, truth = render_chat(PROMPTS[0])
    big = img.resize((img.width * 5 // 2, img.height * 5 // 2), Image.Resampling.LANCZOS)
    truth = [(role, [v * 5 // 2 for v in box]) for role, box in truth]
    assert big.width * big.height > ocr.OCR_MAX_PIXELS
    seen = []
    real = ocr._engine

    def engine():
        e = real()
        return lambda bgr: seen.append(bgr.shape) or e(bgr)

    monkeypatch.setattr(ocr, "_engine", engine)
    got = ocr.transcribe_screenshot(big)
    assert seen and all(h * w <= ocr.OCR_MAX_PIXELS * 1.01 for h, w, _ in seen)
    assert similarity(got["prompt"], PROMPTS[0]) >= 0.95
    assert len(got["boxes"]) == len(truth)
    assert min(match_boxes(got["boxes"], truth)) >= 0.9
