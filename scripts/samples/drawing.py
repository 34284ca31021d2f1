"""Images: Pillow-drawn scenes (palette and motifs from the words of a prompt), edits, chat screenshots.

No system fonts (Pillow's bundled font) and seeded geometry, so the bytes are the same on every machine
with the same Pillow.
"""

from __future__ import annotations

import io
import random
import textwrap
import warnings

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from .model import MEDIA_BASE, Img

warnings.simplefilter("error", Image.DecompressionBombWarning)

PALETTE_WORDS: list[tuple[str, tuple[str, str, list[str]]]] = [
    ("neon", ("#0b0f2e", "#3a0d52", ["#ff2bd6", "#22e6ff", "#ffe14d"])),
    ("night", ("#0a1030", "#1d2b5c", ["#ffd166", "#7bdff2", "#f4f1de"])),
    ("rain", ("#1b2735", "#3d5a80", ["#98c1d9", "#ee6c4d", "#e0fbfc"])),
    ("sunset", ("#ff7e5f", "#6a3093", ["#feb47b", "#2b1055", "#ffdd00"])),
    ("golden", ("#f6d365", "#fda085", ["#7f5539", "#3a5a40", "#fefae0"])),
    ("snow", ("#dfe9f3", "#a7bfe8", ["#ffffff", "#6c757d", "#e63946"])),
    ("forest", ("#2d6a4f", "#081c15", ["#95d5b2", "#d8f3dc", "#b5651d"])),
    ("desert", ("#f4a261", "#e76f51", ["#264653", "#e9c46a", "#fefae0"])),
    ("sea", ("#48cae4", "#023e8a", ["#ade8f4", "#ffffff", "#f77f00"])),
    ("space", ("#03001e", "#7303c0", ["#ec38bc", "#fdeff9", "#a0c4ff"])),
    ("mars", ("#c1440e", "#3b0d02", ["#f6bd60", "#f7ede2", "#84a59d"])),
    ("watercolor", ("#fdf6ec", "#cde7f0", ["#e07a5f", "#81b29a", "#3d405b"])),
    ("pastel", ("#ffd6e0", "#c1f0f6", ["#b8b8ff", "#fff3b0", "#9381ff"])),
    ("coffee", ("#f1e3d3", "#7f5539", ["#3e2723", "#ede0d4", "#b08968"])),
    ("autumn", ("#e76f51", "#6d2e46", ["#f4a261", "#e9c46a", "#264653"])),
    ("gold", ("#3c2a21", "#d4a373", ["#ffd700", "#7f0000", "#fefae0"])),
]
DEFAULT_PALETTES = [
    ("#e0f2fe", "#7dd3fc", ["#0c4a6e", "#f97316", "#fef3c7"]),
    ("#fef9c3", "#fca5a5", ["#7c2d12", "#1e3a8a", "#ffffff"]),
    ("#dcfce7", "#86efac", ["#14532d", "#f43f5e", "#fefce8"]),
    ("#ede9fe", "#a78bfa", ["#312e81", "#facc15", "#ffffff"]),
]
MOTIF_WORDS = [
    ("cat", "animal"), ("dog", "animal"), ("corgi", "animal"), ("fox", "animal"), ("panda", "animal"), ("pet", "animal"),
    ("retriever", "animal"), ("lizard", "animal"), ("pigeon", "animal"), ("dinosaur", "animal"), ("tortoise", "animal"),
    ("octopus", "animal"), ("whale", "animal"), ("beagle", "animal"), ("bees", "animal"), ("creature", "animal"),
    ("person", "person"), ("people", "person"), ("selfie", "person"), ("portrait", "person"), ("grandpa", "person"),
    ("girl", "person"), ("friends", "person"), ("wizard", "person"), ("model", "person"), ("fisherman", "person"),
    ("barista", "person"), ("hero", "person"), ("knight", "person"), ("robot", "person"), ("toddler", "person"),
    ("holmes", "person"), ("hands", "person"), ("superhero", "person"),
    ("street", "building"), ("city", "building"), ("shop", "building"), ("station", "building"), ("library", "building"),
    ("temple", "building"), ("lighthouse", "building"), ("cafe", "building"), ("diner", "building"), ("house", "building"),
    ("skyline", "building"), ("greenhouse", "building"), ("apartment", "building"), ("room", "building"),
    ("mountain", "landscape"), ("island", "landscape"), ("desert", "landscape"), ("vineyard", "landscape"),
    ("lake", "landscape"), ("forest", "landscape"), ("field", "landscape"), ("cliff", "landscape"), ("aurora", "landscape"),
    ("car", "vehicle"), ("bicycle", "vehicle"), ("bike", "vehicle"), ("submarine", "vehicle"), ("ship", "vehicle"),
    ("boat", "vehicle"), ("train", "vehicle"), ("balloon", "vehicle"),
    ("sunset", "sun"), ("sunrise", "sun"), ("golden hour", "sun"), ("moon", "sun"), ("planet", "sun"), ("mars", "sun"),
    ("galaxy", "sun"), ("night", "sun"),
    ("sea", "water"), ("waves", "water"), ("beach", "water"), ("puddles", "water"), ("rain", "water"), ("dock", "water"),
    ("poster", "sign"), ("menu", "sign"), ("sign", "sign"), ("card", "sign"), ("logo", "sign"), ("cover", "sign"),
    ("infographic", "sign"), ("diagram", "sign"), ("map", "sign"), ("screen", "sign"), ("icons", "sign"), ("list", "sign"),
    ("mug", "object"), ("cup", "object"), ("keyboard", "object"), ("teapot", "object"), ("strawberry", "object"),
    ("cake", "object"), ("jar", "object"), ("bowl", "object"), ("globe", "object"), ("terrarium", "object"),
    ("typewriter", "object"), ("statue", "object"), ("bottle", "object"), ("avocado", "object"), ("chess", "object"),
]

_FONTS: dict[int, ImageFont.FreeTypeFont] = {}


def font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled font (no system fonts), so the bytes are the same on every machine with this Pillow.
    if size not in _FONTS:
        _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def palette_for(text: str, rng: random.Random) -> tuple[str, str, list[str]]:
    low = text.lower()
    for word, pal in PALETTE_WORDS:
        if word in low:
            return pal
    return DEFAULT_PALETTES[rng.randrange(len(DEFAULT_PALETTES))]


def motifs_for(text: str) -> list[str]:
    low = text.lower()
    found: list[str] = []
    for word, motif in MOTIF_WORDS:
        if word in low and motif not in found:
            found.append(motif)
    if not found:
        found = ["object"]
    if len(found) == 1:
        found.append("landscape" if found[0] != "landscape" else "sun")
    return found[:3]


def gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    g = Image.linear_gradient("L").resize(size)
    return ImageOps.colorize(g, top, bottom).convert("RGB")


def draw_motif(d: ImageDraw.ImageDraw, motif: str, box: tuple[int, int, int, int], colors: list[str],
               rng: random.Random, outline: str | None) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    c1, c2, c3 = colors[0], colors[1 % len(colors)], colors[2 % len(colors)]
    if motif == "animal":
        d.ellipse([x0 + w * 0.15, y0 + h * 0.45, x0 + w * 0.85, y0 + h * 0.9], fill=c1, outline=outline, width=2)
        hx, hy, r = x0 + w * 0.5, y0 + h * 0.35, w * 0.2
        d.polygon([(hx - r, hy - r * 0.2), (hx - r * 0.6, hy - r * 1.5), (hx - r * 0.1, hy - r * 0.7)], fill=c1, outline=outline)
        d.polygon([(hx + r, hy - r * 0.2), (hx + r * 0.6, hy - r * 1.5), (hx + r * 0.1, hy - r * 0.7)], fill=c1, outline=outline)
        d.ellipse([hx - r, hy - r, hx + r, hy + r], fill=c1, outline=outline, width=2)
        d.ellipse([hx - r * 0.5, hy - r * 0.2, hx - r * 0.2, hy + r * 0.1], fill=c3)
        d.ellipse([hx + r * 0.2, hy - r * 0.2, hx + r * 0.5, hy + r * 0.1], fill=c3)
    elif motif == "person":
        hx, r = x0 + w * 0.5, min(w, h) * 0.16
        d.rounded_rectangle([x0 + w * 0.25, y0 + h * 0.45, x0 + w * 0.75, y1], radius=int(w * 0.15), fill=c2, outline=outline, width=2)
        d.ellipse([hx - r, y0 + h * 0.12, hx + r, y0 + h * 0.12 + 2 * r], fill=c3, outline=outline, width=2)
    elif motif == "building":
        n = rng.randint(2, 4)
        bw = w / n
        for i in range(n):
            top = y0 + h * rng.uniform(0.1, 0.5)
            d.rectangle([x0 + i * bw + 2, top, x0 + (i + 1) * bw - 2, y1], fill=[c1, c2][i % 2], outline=outline, width=1)
            for wy in range(int(top) + 6, int(y1) - 6, 12):
                for wx in range(int(x0 + i * bw) + 6, int(x0 + (i + 1) * bw) - 8, 10):
                    if rng.random() < 0.6:
                        d.rectangle([wx, wy, wx + 4, wy + 5], fill=c3)
    elif motif == "landscape":
        pts = [(x0, y1)]
        for i in range(6):
            pts.append((x0 + w * i / 5, y0 + h * rng.uniform(0.3, 0.75)))
        pts.append((x1, y1))
        d.polygon(pts, fill=c1, outline=outline)
        d.polygon([(x0, y1), (x0 + w * 0.3, y0 + h * 0.6), (x0 + w * 0.7, y1)], fill=c2, outline=outline)
    elif motif == "vehicle":
        d.rounded_rectangle([x0 + w * 0.1, y0 + h * 0.4, x0 + w * 0.9, y0 + h * 0.75], radius=10, fill=c1, outline=outline, width=2)
        d.rectangle([x0 + w * 0.3, y0 + h * 0.25, x0 + w * 0.7, y0 + h * 0.42], fill=c2, outline=outline)
        for cx in (x0 + w * 0.28, x0 + w * 0.72):
            d.ellipse([cx - w * 0.1, y0 + h * 0.65, cx + w * 0.1, y0 + h * 0.85], fill="#222222", outline=c3, width=3)
    elif motif == "sun":
        r = min(w, h) * 0.22
        cx, cy = x0 + w * rng.uniform(0.3, 0.7), y0 + h * rng.uniform(0.25, 0.45)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c3, outline=outline)
    elif motif == "water":
        for i in range(5):
            yy = y0 + h * (0.55 + i * 0.09)
            d.line([(x0 + w * (0.1 * (i % 2)), yy), (x1, yy)], fill=c2, width=3)
    elif motif == "sign":
        d.rounded_rectangle([x0 + w * 0.1, y0 + h * 0.15, x0 + w * 0.9, y0 + h * 0.7], radius=8, fill=c3, outline=outline or c1, width=3)
    else:  # object
        d.rounded_rectangle([x0 + w * 0.3, y0 + h * 0.35, x0 + w * 0.7, y0 + h * 0.85], radius=12, fill=c1, outline=outline, width=2)
        d.ellipse([x0 + w * 0.35, y0 + h * 0.2, x0 + w * 0.65, y0 + h * 0.45], fill=c2, outline=outline, width=2)


def caption_box(d: ImageDraw.ImageDraw, text: str, size: tuple[int, int], fg: str, bg: str, fsize: int) -> None:
    f = font(fsize)
    while f.getlength(text) > size[0] - 20 and fsize > 9:
        fsize -= 1
        f = font(fsize)
    tw = f.getlength(text)
    x = (size[0] - tw) / 2
    y = size[1] - fsize - 16
    d.rounded_rectangle([x - 8, y - 5, x + tw + 8, y + fsize + 7], radius=6, fill=bg)
    d.text((x, y), text, font=f, fill=fg)


def draw_scene(text: str, caption: str, size: tuple[int, int], geom_seed: int, style: str) -> Image.Image:
    """A picture related to `text`: palette and motifs from its words, `caption` drawn in.
    The geometry depends only on geom_seed, so an edit of a photo keeps the layout of the photo."""
    prng = random.Random(geom_seed * 7 + 1)
    top, bottom, accents = palette_for(text, prng)
    if style == "photo":
        top, bottom = "#9db4c0", "#e8dcc8"
        accents = ["#5c4033", "#6b8f71", "#f2c6a0"]
    elif style == "bw":
        top, bottom, accents = "#2b2b2b", "#bdbdbd", ["#555555", "#888888", "#dddddd"]
    elif style == "sketch":
        top, bottom, accents = "#ffffff", "#f1f1f1", ["#ffffff", "#f7f7f7", "#333333"]
    img = gradient(size, top, bottom)
    d = ImageDraw.Draw(img)
    grng = random.Random(geom_seed)
    motifs = motifs_for(text)
    outline = "#1a1a1a" if style in ("flat", "ghibli", "cartoon", "sketch", "comic") else None
    w, h = size
    boxes = [(int(w * 0.05), int(h * 0.1), int(w * 0.55), int(h * 0.8)),
             (int(w * 0.45), int(h * 0.2), int(w * 0.95), int(h * 0.85)),
             (int(w * 0.25), int(h * 0.05), int(w * 0.75), int(h * 0.5))]
    for m, b in zip(motifs, boxes):
        draw_motif(d, m, b, accents, grng, outline)
    if style == "photo":
        noise = random.Random(geom_seed + 3)
        for _ in range(w * h // 40):
            x, y = noise.randrange(w), noise.randrange(h)
            v = noise.randrange(90, 200)
            d.point((x, y), fill=(v, v, v))
        img = img.filter(ImageFilter.GaussianBlur(0.8))
        d = ImageDraw.Draw(img)
    if style == "bw":
        img = ImageOps.grayscale(img).convert("RGB")
        d = ImageDraw.Draw(img)
    if caption:
        caption_box(d, caption, size, "#111111" if style != "bw" else "#000000", "#f8f8f2", 15)
    return img


def encode(img: Image.Image, fmt: str, quality: int = 82) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", optimize=True)
    else:
        img.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


class MediaStore:
    """All media files, by name; written at the end in sorted order."""

    def __init__(self, base: str = MEDIA_BASE) -> None:
        self.files: dict[str, bytes] = {}
        self.base = base

    def add(self, name: str, data: bytes, alt: str = "") -> Img:
        if name in self.files and self.files[name] != data:
            raise ValueError(f"media name {name} used twice with different content")
        self.files[name] = data
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
        return Img(name, w, h, alt, self.base)

    def scene(self, name: str, text: str, caption: str, size: tuple[int, int], seed: int, style: str = "flat",
              fmt: str = "png", alt: str = "") -> Img:
        return self.add(f"{name}.{fmt}", encode(draw_scene(text, caption, size, seed, style), fmt), alt)

    def copy(self, src: Img, name: str, alt: str = "") -> Img:
        """A byte-identical copy under another name (a re-upload of the same file)."""
        ext = src.file.rsplit(".", 1)[1]
        return self.add(f"{name}.{ext}", self.files[src.file], alt)

    def altered(self, src: Img, name: str, scale: float = 0.85, quality: int = 68, alt: str = "") -> Img:
        """A near-duplicate: resized and recompressed as JPEG, as a re-post through another app would be."""
        with Image.open(io.BytesIO(self.files[src.file])) as im:
            im = im.convert("RGB")
            im = im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.LANCZOS)
            return self.add(f"{name}.jpg", encode(im, "jpg", quality), alt)

    def image(self, name: str, img: Image.Image, fmt: str = "png", alt: str = "") -> Img:
        return self.add(f"{name}.{fmt}", encode(img, fmt), alt)


INPUT_SCENES = {
    "family": "a family of three people standing in a park, sunny",
    "person": "a person standing in front of a house, portrait",
    "dog": "a brown dog sitting on grass in a field",
    "cat": "a cat sitting on a sofa in a room",
    "house": "a small house on a street with a car",
    "sketch_car": "a car",
    "bw_couple": "two people, an old couple, portrait",
    "floorplan": "room plan diagram",
    "couple": "two people at the beach, sea",
    "product": "a perfume bottle object on a table",
    "doodle": "a dinosaur drawn by a kid, house, sun",
    "street": "a street with a shop and a car",
    "room": "a bedroom with a window, room",
    "bird": "a parrot bird creature on a branch, forest",
    "garden": "a garden field with flowers and a house",
    "food": "a bowl of noodles object on a table",
    "bike": "a bicycle leaning on a wall, street",
}
STYLE_OF_EDIT = {
    "ghibli": "ghibli", "figurine": "flat", "pixar": "flat", "lego": "flat", "retro": "flat", "photo": "flat",
    "color": "flat", "oil": "flat", "iso": "flat", "cartoon": "cartoon", "studio": "flat", "storybook": "flat",
    "pencil": "sketch", "cyber": "flat", "clay": "flat", "muppet": "cartoon", "watercolor": "flat", "anime": "cartoon",
    "cinema": "flat", "glass": "flat", "cabin": "flat", "logo": "flat", "yearbook": "flat",
}
EDIT_PALETTE_WORD = {
    "ghibli": "golden", "figurine": "pastel", "pixar": "sunset", "lego": "pastel", "retro": "coffee", "photo": "night",
    "color": "autumn", "oil": "gold", "iso": "pastel", "cartoon": "golden", "studio": "snow", "storybook": "watercolor",
    "pencil": "", "cyber": "neon", "clay": "desert", "muppet": "sunset", "watercolor": "watercolor", "anime": "sunset",
    "cinema": "night", "glass": "sea", "cabin": "autumn", "logo": "coffee", "yearbook": "neon",
}


def edit_pair(media: MediaStore, name: str, kind: str, edit_style: str, caption: str, seed: int,
              size: tuple[int, int] = (256, 256)) -> tuple[Img, Img]:
    """An input 'photo' and the edited output: same layout, new palette and style, caption drawn in."""
    scene = INPUT_SCENES[kind]
    in_style = {"sketch_car": "sketch", "doodle": "sketch", "floorplan": "sketch", "bw_couple": "bw"}.get(kind, "photo")
    inp = media.scene(f"{name}-input", scene, "", size, seed, in_style, "jpg")
    out_text = f"{scene} {EDIT_PALETTE_WORD.get(edit_style, '')}"
    out = media.scene(f"{name}-output", out_text, caption, size, seed, STYLE_OF_EDIT.get(edit_style, "flat"), "png")
    return inp, out


def chat_screenshot(prompt: str, inp: Image.Image, out: Image.Image, variant: int) -> tuple[Image.Image, dict]:
    """A ChatGPT-style window: the user's uploaded image and prompt bubble, then the generated image."""
    W = 560
    dark = variant % 2 == 1
    bg = "#212121" if dark else "#ffffff"
    fg = "#ececec" if dark else "#0d0d0d"
    bubble = "#303030" if dark else "#f1f1f1"
    muted = "#9b9b9b" if dark else "#6b6b6b"
    f_text, f_small, f_title = font(18), font(14), font(17)
    lines = textwrap.wrap(prompt, width=32)
    line_h = 25
    in_w, out_w = 180, 300
    in_img = inp.resize((in_w, int(inp.height * in_w / inp.width)), Image.Resampling.LANCZOS)
    out_img = out.resize((out_w, int(out.height * out_w / out.width)), Image.Resampling.LANCZOS)
    header = 52
    y = header + 20
    in_box = [W - 24 - in_img.width, y, W - 24, y + in_img.height]
    y = in_box[3] + 10
    # wider word gaps than the font's own space, so OCR keeps the words apart
    space = f_text.getlength(" ") + 4
    bubble_w = max(sum(f_text.getlength(w) for w in ln.split(" ")) + space * (len(ln.split(" ")) - 1) for ln in lines) + 32
    bubble_box = [W - 24 - bubble_w, y, W - 24, y + len(lines) * line_h + 22]
    y = bubble_box[3] + 26
    label_y = y
    y += 30
    out_box = [56, y, 56 + out_img.width, y + out_img.height]
    y = out_box[3] + 18
    icons_y = y
    y += 40
    H = y + 70
    img = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, W, header], fill=bg)
    d.line([0, header, W, header], fill="#3a3a3a" if dark else "#e5e5e5", width=1)
    d.text((20, 16), "ChatGPT 4o", font=f_title, fill=fg)
    d.text((20 + f_title.getlength("ChatGPT 4o") + 6, 18), "v", font=f_small, fill=muted)
    d.ellipse([W - 46, 14, W - 20, 40], fill="#7c3aed")
    d.text((W - 38, 18), "M", font=f_small, fill="#ffffff")
    img.paste(in_img, (in_box[0], in_box[1]))
    d.rounded_rectangle(bubble_box, radius=18, fill=bubble)
    for i, ln in enumerate(lines):
        x = bubble_box[0] + 16
        for word in ln.split(" "):
            d.text((x, bubble_box[1] + 11 + i * line_h), word, font=f_text, fill=fg)
            x += f_text.getlength(word) + space
    d.ellipse([20, label_y - 2, 44, label_y + 22], outline=fg, width=2)
    d.text((56, label_y + 2), "Image created", font=f_small, fill=muted)
    img.paste(out_img, (out_box[0], out_box[1]))
    for i in range(4):
        d.rounded_rectangle([56 + i * 30, icons_y, 76 + i * 30, icons_y + 20], radius=4, outline=muted, width=2)
    d.rounded_rectangle([20, H - 58, W - 20, H - 14], radius=22, fill=bubble)
    d.text((40, H - 46), "Ask anything", font=f_small, fill=muted)
    boxes = {"input": [int(v) for v in in_box], "output": [int(v) for v in out_box],
             "prompt_bubble": [int(v) for v in bubble_box], "size": [W, H]}
    return img, boxes

