"""A deterministic synthetic corpus of N posts for the end-to-end scale benchmark (bench/e2e_scale.py).

    .venv/bin/python -m bench.scale_corpus --posts 10000 --out /tmp/echo-scale-10k [--image-size 256]
    .venv/bin/python -m bench.scale_corpus --out /tmp/echo-scale-10k --extra 1     # +1% NEW posts

It writes, under --out:

    echo.toml                     an `import` source over corpus/, [media] url_map to corpus/media, data in data/
    corpus/x/base_00001.jsonl     X API v2 search pages (twarc2 style: one page of <= 100 tweets a line,
                                  `includes.users/media/tweets`, `meta`), about 1,000 posts a file
    corpus/bluesky/base_00001.json  a list of app.bsky.feed.getPostThread responses, about 1,000 posts a file
    corpus/media/                 PNG/JPEG images drawn with Pillow (--image-size px on the long side)
    corpus/manifest.json          parameters, counts per batch, what --extra needs to continue
    corpus/reposts.jsonl          every planted repost: its root, the root it copies, how (the dedup truth)

What is in it (per tree, the share is of root posts): posts naming the target model (GPT-4o / ChatGPT
image generation) with images and a prompt in one of the forms people use ("Prompt: ...", quoted, alt text,
in the author's reply, a plain description, "ChatGPT made me a ..."), image edits (input + output), comparisons,
questions, showcases without a prompt, complaints, posts about other image models, off-topic "4o"/"gpt" chatter
and posts naming no model at all; replies with success/failure feedback (every feedback category), questions
and chatter; ~5% reposts of an earlier prompt (verbatim or lightly edited; the same image under a new URL or a
recompressed copy; sometimes on the other platform). X ~80% of trees, Bluesky ~20%.

Prompts recombine data/reference_prompts (DiffusionDB prompts, CC0-1.0; PartiPrompts, Apache-2.0; GenEval,
MIT: see data/reference_prompts/LICENSES.md): a subject from one prompt plus style fragments from others.

Images come from a bounded pool (--image-pool, default 50,000 files): every image slot gets a new pool file
until the pool is used up, then pool files are reused. A file used again (a repost, or pool reuse) gets a
distinct URL (`?k=<media key>`, as platforms give every upload its own URL); echo's url_map ignores the query.
Past the pool size, unrelated posts share identical images (image-dedup sees them as exact matches): keep
--image-pool above ~0.4 x posts for realistic dedup (at 256 px a pool file is ~5-15 KB).

`--extra PCT` appends a batch of PCT% NEW posts (new files, new ids, dated after everything before): new
trees, some new replies to existing trees (X: the root comes along in includes.tweets; Bluesky: a thread
view of the reply with the root as its parent) and new reposts of earlier prompts. Batches are recorded in
the manifest; `reset_extra` removes them. Same arguments, same bytes (given the same Pillow version).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import io
import json
import math
import random
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "data" / "reference_prompts"
MEDIA_PREFIX = "https://scale-corpus.invalid/media/"
GENERATOR_VERSION = 1
POSTS_PER_FILE = 1000
TWEETS_PER_PAGE = 100
DEFAULT_IMAGE_POOL = 50_000
UTC = dt.UTC
WINDOW_START = dt.datetime(2025, 3, 18, tzinfo=UTC)
WINDOW_DAYS = 75
SPIKE_DAYS = (dt.datetime(2025, 3, 25, 18, tzinfo=UTC), dt.datetime(2025, 3, 26, 12, tzinfo=UTC),
              dt.datetime(2025, 4, 23, 16, tzinfo=UTC))
EXTRA_DAYS = 7  # each --extra batch covers the week after the previous batch
TWITTER_EPOCH_MS = 1288834974657
B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
MAX_REPLY_TARGETS = 5000  # existing roots kept in the manifest for --extra replies
MAX_REPOST_SOURCES = 5000  # earlier prompts kept in the manifest for --extra reposts
REPOST_WINDOW = 500

# --- what a tree is about (share of roots) ------------------------------------------------------

TREE_KINDS: dict[str, float] = {
    "t2i_marker": 0.17,       # "... Prompt: <prompt>" with images
    "t2i_quoted": 0.05,       # 'Asked 4o for "<prompt>" ...'
    "t2i_alt": 0.03,          # prompt in the image's alt text
    "t2i_in_reply": 0.05,     # "prompt in the replies 👇" + the author's reply
    "t2i_description": 0.05,  # the prompt itself as the post text
    "t2i_made_me": 0.03,      # "ChatGPT made me a ..."
    "i2i": 0.07,              # input photo + edited output, an edit instruction
    "comparison": 0.02,       # same prompt, 4o vs another model
    "question": 0.04,         # a question about how 4o renders things, no images
    "showcase": 0.04,         # "4o image gen is wild" + images, no prompt
    "complaint": 0.03,        # refusals, rate limits; sometimes a meme
    "other_model": 0.12,      # Midjourney, Flux, Nano Banana ... with prompt and images
    "off_topic": 0.20,        # "4o"/"gpt" chatter that is not about images
    "no_model": 0.05,         # names no model (fails the cheap filter)
    "repost": 0.05,           # an earlier prompt posted again
}
PROMPT_KINDS = ("t2i_marker", "t2i_quoted", "t2i_alt", "t2i_in_reply", "t2i_description", "t2i_made_me", "i2i",
                "other_model", "comparison")
TARGET_KINDS = ("t2i_marker", "t2i_quoted", "t2i_alt", "t2i_in_reply", "t2i_description", "t2i_made_me", "i2i",
                "comparison", "question", "showcase", "complaint", "repost")

# --- words ----------------------------------------------------------------------------------------

TARGET_NAMES = ["GPT-4o", "4o image gen", "ChatGPT", "gpt-image-1", "the new ChatGPT image gen", "GPT-4o image generation",
                "Sora images", "ChatGPT's image generation", "4o"]
OTHER_MODELS = ["Midjourney v7", "Midjourney", "Flux 1.1 Pro", "Flux Kontext", "Ideogram 3", "Nano Banana",
                "Gemini 2.5 Flash Image", "Imagen 4", "DALL-E 3", "Stable Diffusion 3.5", "SDXL", "Recraft v3"]
HASHTAGS = ["#gpt4o", "#aiart", "#chatgpt", "#4o", "#aiimage", "#generativeart", "#openai"]
REACTIONS = ["and it nailed it", "first try", "honestly impressed", "no edits", "this is wild", "took two tries",
             "not bad at all", "I'm speechless", "better than I expected", "it's getting scary good"]
OPENERS = ["Tried", "Testing", "Playing with", "Another one from", "Still blown away by", "Spent the evening with",
           "Quick test of", "Day {n} of", "Weekend experiments with"]
STYLES = ["Studio Ghibli style illustration", "Pixar-style 3D render", "watercolor painting", "LEGO box art",
          "1950s magazine ad", "claymation still", "pencil sketch with cross-hatching", "anime key visual",
          "Renaissance oil painting", "vintage travel poster", "Simpsons character", "Funko Pop figure in its box",
          "cyberpunk scene with neon lights", "children's book illustration", "isometric 3D diorama",
          "ukiyo-e woodblock print", "low-poly game asset", "stained glass window", "comic book cover", "Muppet"]
EDIT_SUBJECTS = ["selfie", "dog", "cat", "family photo", "living room", "garden", "car", "kid's drawing",
                 "wedding photo", "street", "parrot", "grandpa", "bike", "kitchen", "beach photo", "band photo"]
EDIT_FORMS = ["Turn this photo into a {style}", "Make it a {style}, keep the face", "Restyle this as a {style}",
              "Turn my {subject} into a {style}", "Transform this {subject} into a {style}, same composition",
              "Redraw this as a {style} and keep the pose"]
SUCCESS_ASPECTS = [("text on the sign", "actually readable"), ("hands", "perfect for once"), ("colors", "spot on"),
                   ("lighting", "gorgeous"), ("detail on the reflections", "unreal"), ("face", "exactly like her"),
                   ("style", "on point"), ("composition", "so clean"), ("fur texture", "crisp"),
                   ("lettering", "legible"), ("proportions", "correct"), ("shadows", "consistent")]
SUCCESS_FIXED = ["nailed it", "this is stunning", "no notes", "10/10", "chef's kiss", "love it", "wow 🤯",
                 "it kept her face exactly, wow", "this is exactly the Ghibli vibe", "so good 🔥", "looks amazing honestly",
                 "it got the text right, first time I've seen that", "perfect hands for once 👏"]
FAILURE_FIXED = ["the text is garbled, half the letters are made up", "extra fingers on the left hand 👀",
                 "it changed her face, that's not her anymore", "colors are off, everything has that yellow tint",
                 "wrong aspect ratio, you asked for 16:9 and it gave you a square", "the head is way too big for the body",
                 "that's not Ghibli, that's generic anime", "all the background detail turned to mush when you zoom in",
                 "the shadows go two different ways and the reflection doesn't match",
                 "took 4 minutes and hit a content policy refusal the first time",
                 "the wheels are different sizes and the frame doesn't connect", "it cropped the top of the building off",
                 "the dog looks nothing like yours", "it ignored half the prompt", "the menu is gibberish lol",
                 "the cat has five legs 💀", "skin tone went orange, classic 4o tint", "the sign is misspelled"]
FAILURE_ASPECTS = [("text", "garbled"), ("letters", "misspelled"), ("hands", "wrong"), ("face", "distorted"),
                   ("colors", "washed out"), ("background", "blurry"), ("perspective", "broken"), ("proportions", "off"),
                   ("edges", "smudged"), ("reflection", "inconsistent")]
INTROS = ["", "", "wow, ", "ok ", "honestly ", "damn, ", "close but ", "hmm ", "lol ", "sadly "]
QUESTIONS = ["what app is this?", "is this the free tier or plus?", "how long did it take?", "can you share the prompt?",
             "which model is this?", "does this work in the API yet?", "how many tries did this take?",
             "what aspect ratio did you ask for?", "is this on mobile or desktop?", "did you upscale it?"]
CHATTER = ["saving this", "following", "bookmarked", "the internet is going to be flooded with these",
           "need this on my wall", "my feed is nothing but these today", "ok I have to try this", "sending this to my mom",
           "this thread is gold", "ha"]
AUTHOR_REPLIES = ["thanks!", "thank you 🙏", "it took a couple of tries", "plus tier, on desktop", "glad you like it",
                  "yeah the hands were lucky"]
REPLY_IMAGE_TEXTS = ["here's mine with the same prompt", "tried your prompt, got this", "same prompt, my version",
                     "ran it again, here's my result"]
OFF_TOPIC = ["gpt-4o wrote my {thing} in {n} minutes", "4o is so much faster at {task} now",
             "anyone else getting rate limited on gpt-4o today?", "used chatgpt to plan my trip to {city}",
             "chatgpt helped me debug my {lang} code, {verdict}", "4o voice mode is wild, it laughed at my joke",
             "the gpt store is a ghost town", "gpt-4o-mini pricing is {n} cents per million tokens, right?",
             "asked chatgpt for a {thing} and it gave me a numbered list again", "gpt is down again?",
             "my gpt-4o {thing} prompt broke after the update", "switched from gpt-4o to o3 for {task}",
             "it's 4o degrees in {city} today, I'm melting", "chatgpt memory feature remembered my {thing}, creepy"]
NO_MODEL = ["just finished my first {thing}", "the sunset in {city} tonight 😍", "new blog post about {task}",
            "coffee first, then {task}", "anyone else watching the game tonight?", "my {lang} build is broken again",
            "{city} in spring is something else", "finally cleaned my desk"]
THINGS = ["cover letter", "unit tests", "SQL query", "wedding speech", "essay", "regex", "meal plan", "resume",
          "bedtime story", "newsletter", "pitch deck", "haiku", "workout plan", "email to my landlord", "watercolor"]
TASKS = ["coding", "summaries", "translation", "spreadsheets", "email", "math homework", "data cleaning", "research"]
CITIES = ["Lisbon", "Tokyo", "Nairobi", "Austin", "Berlin", "Seoul", "Lima", "Oslo", "Madrid", "Chennai", "Toronto"]
LANGS = ["Python", "Rust", "TypeScript", "Go", "Kotlin", "SQL"]
VERDICTS = ["took one message", "it made it worse", "10 minutes saved", "it hallucinated a library"]
QUESTION_POSTS = ["Does {model} still mess up hands? Every portrait I try has six fingers",
                  "Is it just me or does {model} add a yellow tint to everything?",
                  "Why does {model} crop my 16:9 images into squares?",
                  "How do you get {model} to render small text correctly? Mine is always garbled",
                  "Has anyone figured out how to keep the same character across images in {model}?",
                  "Does {model} keep faces when you edit a photo, or is it random?"]
SHOWCASE = ["{model} is wild 🤯", "ok {model} is actually insane", "a few of my favorites from {model} this week",
            "{model} keeps getting better", "can't stop making these with {model}"]
COMPLAINTS = ["{model} refused to draw {subject} again 🙄", "hit the image limit on {model} after 3 pictures",
              "{model} has been generating for 10 minutes, is it down?", "why is {model} so slow today"]
OTHER_FORMS = ["{other} is insane. Prompt: {prompt}", "made with {other}: {prompt}", '{other} test: "{prompt}"',
               "{other} v. good at this. Prompt: {prompt}", "Prompt: {prompt}\n\nMade with {other}"]
FIRST = ["maya", "leo", "nina", "omar", "sofia", "kenji", "ava", "lucas", "priya", "jonas", "chloe", "mateo", "hana",
         "felix", "zoe", "arjun", "ines", "theo", "amara", "noah", "yuki", "elena", "sam", "lina", "diego", "freya",
         "kai", "mila", "oscar", "rosa", "ben", "aisha", "hugo", "iris", "tomas", "nora", "raj", "clara", "emil"]
LAST = ["kowalski", "tanaka", "okafor", "lindqvist", "moreau", "reyes", "novak", "haddad", "fischer", "santos",
        "byrne", "ivanova", "nakamura", "costa", "weber", "ali", "park", "rossi", "dubois", "larsen", "mensah"]
WORDS = ["pixel", "draws", "makes", "lab", "studio", "art", "codes", "photo", "dreams", "ink", "prompts", "designs"]
SYNONYMS = {"big": "large", "large": "big", "small": "tiny", "tiny": "small", "photo": "picture", "picture": "photo",
            "cute": "adorable", "beautiful": "gorgeous", "old": "ancient", "red": "crimson", "blue": "azure",
            "painting": "artwork", "city": "town", "dog": "puppy", "cat": "kitten", "house": "cottage",
            "night": "nighttime", "forest": "woods", "dark": "moody", "bright": "vivid", "man": "guy",
            "woman": "lady", "detailed": "intricate", "happy": "joyful", "a": "one"}
EDIT_TAILS = [", highly detailed", ", 4k", ", cinematic lighting", ", trending on artstation", ", ultra realistic"]


# --- small helpers --------------------------------------------------------------------------------


def _sub_rng(seed: int, *parts: Any) -> random.Random:
    h = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def _b32(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        out = B32_SORT[n & 31] + out
        n >>= 5
    return out


def _iso_ms(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _millis(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _x_id(t: dt.datetime, counter: int) -> str:
    """A snowflake: milliseconds since the X epoch << 22 | the corpus-wide post counter (unique below 4M posts)."""
    return str(((_millis(t) - TWITTER_EPOCH_MS) << 22) | (counter & 0x3FFFFF))


def _cid(*parts: Any) -> str:
    return "bafyrei" + base64.b32encode(hashlib.sha256(repr(parts).encode()).digest()).decode().lower().rstrip("=")[:52]


def _esc(s: str) -> str:
    """X API v2 returns text HTML-escaped."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- prompts --------------------------------------------------------------------------------------


_CLEAN = re.compile(r"[^\w\s,.'\-:;!&()/]+", re.UNICODE)


class PromptBank:
    """Prompts recombined from data/reference_prompts: a subject from one prompt, style fragments from others."""

    def __init__(self, folder: Path = REFERENCE_DIR):
        subjects: list[str] = []
        modifiers: set[str] = set()
        for name in ("diffusiondb", "partiprompts", "geneval"):
            path = folder / f"{name}.jsonl"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the corpus draws its prompts from data/reference_prompts")
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                text = " ".join(_CLEAN.sub(" ", json.loads(line)["prompt"]).split())
                if name == "diffusiondb":
                    parts = [p.strip(" .") for p in text.split(",") if p.strip(" .")]
                    if not parts:
                        continue
                    if 3 <= len(parts[0].split()) <= 25:
                        subjects.append(parts[0])
                    modifiers.update(p for p in parts[1:] if 1 <= len(p.split()) <= 5 and len(p) <= 40)
                elif 3 <= len(text.split()) <= 40:
                    subjects.append(text.rstrip("."))
        self.subjects = sorted(set(subjects))
        self.modifiers = sorted(modifiers)
        if not self.subjects or not self.modifiers:
            raise ValueError(f"no usable prompts in {folder}")

    def prompt(self, rng: random.Random) -> str:
        subject = rng.choice(self.subjects)
        k = rng.choice((0, 1, 1, 2, 2, 3))
        text = ", ".join([subject] + rng.sample(self.modifiers, k))
        return text[0].upper() + text[1:] if rng.random() < 0.6 else text

    def edit_prompt(self, rng: random.Random) -> str:
        form = rng.choice(EDIT_FORMS)
        text = form.format(style=rng.choice(STYLES), subject=rng.choice(EDIT_SUBJECTS))
        if rng.random() < 0.5:
            text += ", " + rng.choice(self.modifiers)
        return text

    @staticmethod
    def light_edit(prompt: str, rng: random.Random) -> str:
        """A near-verbatim copy: one word swapped, a fragment dropped or a tail added."""
        words = prompt.split(" ")
        swappable = [i for i, w in enumerate(words) if w.lower().strip(",.") in SYNONYMS]
        choice = rng.random()
        if swappable and choice < 0.5:
            i = rng.choice(swappable)
            core = words[i].strip(",.")
            repl = SYNONYMS[core.lower()]
            words[i] = words[i].replace(core, repl if not core[:1].isupper() else repl.capitalize())
            return " ".join(words)
        parts = prompt.split(", ")
        if len(parts) >= 3 and choice < 0.8:
            del parts[rng.randrange(1, len(parts))]
            return ", ".join(parts)
        return prompt.rstrip(".") + rng.choice(EDIT_TAILS)


# --- images ---------------------------------------------------------------------------------------


def _render_to(path: Path, seed: int, index: int, size: int, fmt: str) -> int:
    data = render_image(seed, index, size, fmt)
    path.write_bytes(data)
    return len(data)


class ImagePool:
    """Pool files drawn on demand (file i is the same picture every time); written once, reused after `cap`.

    With jobs > 1, new files are drawn by worker processes while the trees are generated (a 2048 px file takes
    0.05-0.16 s); `wait` is called before a file is read and `drain` before the batch is recorded."""

    def __init__(self, folder: Path, size: int, cap: int, seed: int, next_index: int = 0, jobs: int = 1):
        self.folder = folder
        self.size = size
        self.cap = max(1, cap)
        self.seed = seed
        self.next_index = next_index
        self.written = 0
        self.bytes = 0
        self.pending: dict[str, Any] = {}
        self.executor = None
        if jobs > 1:
            from concurrent.futures import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(jobs)

    def file_name(self, i: int, photo: bool = False) -> str:
        png = not photo and _sub_rng(self.seed, "imgfmt", i).random() < 0.7  # outputs mostly PNG, photos JPEG
        return f"img{i:07d}.{'png' if png else 'jpg'}"

    def take(self, rng: random.Random, *, photo: bool = False) -> tuple[str, bool, tuple[int, int]]:
        """(file, first use, (width, height)). New files until the pool is full, then a random earlier one."""
        if self.next_index < self.cap:
            i = self.next_index
            self.next_index += 1
            name = self.file_name(i, photo)
            path = self.folder / name
            if not path.exists():
                fmt = "PNG" if name.endswith(".png") else "JPEG"
                if self.executor is None:
                    self._store(path, render_image(self.seed, i, self.size, fmt))
                else:
                    self.pending[name] = self.executor.submit(_render_to, path, self.seed, i, self.size, fmt)
            return name, True, image_shape(self.seed, i, self.size)
        i = rng.randrange(self.cap)
        name = self.file_name(i, photo)
        if not (self.folder / name).exists() and name not in self.pending:
            name = self.file_name(i, not photo)
        return name, False, image_shape(self.seed, i, self.size)

    def recompressed(self, name: str, tag: str) -> tuple[str, tuple[int, int]]:
        """A lossy copy of pool file `name` (JPEG, quality 60-80, sometimes 90% size): near-identical pixels."""
        from PIL import Image

        out = f"{Path(name).stem}-r{tag}.jpg"
        path = self.folder / out
        self.wait(name)
        rng = _sub_rng(self.seed, "recompress", name, tag)
        with Image.open(self.folder / name) as im:
            size = im.size
            if rng.random() < 0.4:
                size = (max(1, im.width * 9 // 10), max(1, im.height * 9 // 10))
            if not path.exists():
                im = im.convert("RGB")
                if size != im.size:
                    im = im.resize(size, Image.Resampling.BICUBIC)
                buf = io.BytesIO()
                im.save(buf, format="JPEG", quality=rng.randrange(60, 81))
                self._store(path, buf.getvalue())
        return out, size

    def wait(self, name: str) -> None:
        """Block until pool file `name` is on disk (it may still be drawn by a worker)."""
        future = self.pending.pop(name, None)
        if future is not None:
            self._count(future.result())

    def drain(self) -> None:
        """Wait for every file still being drawn; a worker's error is raised here."""
        for name in list(self.pending):
            self.wait(name)

    def close(self) -> None:
        self.drain()
        if self.executor is not None:
            self.executor.shutdown()
            self.executor = None

    def _store(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)
        self._count(len(data))

    def _count(self, n_bytes: int) -> None:
        self.written += 1
        self.bytes += n_bytes


def image_shape(seed: int, index: int, size: int) -> tuple[int, int]:
    """(width, height) of pool image `index`: square, 2:3 or 3:2 with `size` on the long side."""
    aspect = _sub_rng(seed, "shape", index).choice(("1:1", "1:1", "1:1", "2:3", "3:2"))
    return {"1:1": (size, size), "3:2": (size, size * 2 // 3), "2:3": (size * 2 // 3, size)}[aspect]


def render_image(seed: int, index: int, size: int, fmt: str) -> bytes:
    """A gradient with 6-14 random shapes: distinct perceptual hashes, cheap to draw at any size."""
    from PIL import Image, ImageDraw, ImageOps

    rng = _sub_rng(seed, "img", index)
    w, h = image_shape(seed, index, size)

    def color() -> tuple[int, int, int]:
        return rng.randrange(256), rng.randrange(256), rng.randrange(256)

    grad = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((w, h), Image.Resampling.BILINEAR)
    img = ImageOps.colorize(grad, color(), color())
    d = ImageDraw.Draw(img)
    for _ in range(rng.randrange(6, 15)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(w // 12, w // 2), y0 + rng.randrange(h // 12, h // 2)
        shape = rng.random()
        if shape < 0.45:
            d.ellipse((x0, y0, x1, y1), fill=color())
        elif shape < 0.8:
            d.rectangle((x0, y0, x1, y1), fill=color())
        else:
            d.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=color())
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, format="PNG", compress_level=1 if size > 1024 else 6)
    else:
        img.save(buf, format="JPEG", quality=rng.randrange(78, 93))
    return buf.getvalue()


# --- the model of a corpus -----------------------------------------------------------------------


@dataclass
class User:
    index: int
    handle: str
    name: str
    x_id: str
    did: str


@dataclass
class Media:
    file: str
    url: str
    key: str  # X media key
    alt: str | None
    width: int
    height: int


@dataclass
class Post:
    counter: int
    platform: str
    post_id: str  # X snowflake or at:// URI
    author: User
    created: dt.datetime
    text: str
    parent: Post | None = None
    root: Post | None = None  # None for a root
    images: list[Media] = field(default_factory=list)
    likes: int = 0
    replies: list[Post] = field(default_factory=list)
    cid: str = ""


@dataclass
class Tree:
    kind: str
    platform: str
    root: Post
    prompt: str | None = None
    image_files: list[str] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)


class Corpus:
    """Generates trees batch by batch; the state that later batches need lives in the manifest."""

    def __init__(self, out: Path, *, posts: int, image_size: int, image_pool: int, seed: int,
                 state: dict | None = None, jobs: int = 1):
        self.out = out
        self.corpus = out / "corpus"
        self.image_size = image_size
        self.seed = seed
        state = state or {}
        self.counter = int(state.get("next_counter", 0))
        self.pool = ImagePool(self.corpus / "media", image_size, image_pool, seed, int(state.get("next_pool", 0)),
                              jobs=jobs)
        self.n_users = max(60, posts // 6)
        self.reply_targets: list[dict] = list(state.get("reply_targets", []))
        self.repost_sources: list[dict] = list(state.get("repost_sources", []))
        self.seen_targets = int(state.get("seen_targets", 0))
        self.seen_sources = int(state.get("seen_sources", 0))
        self.bank = PromptBank()
        self.prompt_trees: list[dict] = []  # this batch's prompt-bearing trees (repost sources)
        self.counts: Counter = Counter()
        self.files_used: set[str] = set()
        self.reposts: list[dict] = []

    # --- people, ids, time ---

    def user(self, i: int) -> User:
        r = _sub_rng(self.seed, "user", i)
        first, last = r.choice(FIRST), r.choice(LAST)
        style = r.random()
        handle = (f"{first}_{last}" if style < 0.3 else f"{first}{r.choice(WORDS)}" if style < 0.6
                  else f"{first}{last[:2]}{r.randrange(10, 99)}") + f"{i:x}"
        return User(i, handle, f"{first.title()} {last.title()}", str(10**9 + i),
                    "did:plc:" + hashlib.sha256(f"{self.seed}:{i}".encode()).hexdigest()[:24])

    def pick_user(self, rng: random.Random) -> User:
        return self.user(int(self.n_users * rng.random() ** 2))  # a few prolific posters, a long tail

    def new_post(self, rng: random.Random, platform: str, author: User, created: dt.datetime, text: str,
                 parent: Post | None = None, root: Post | None = None) -> Post:
        c = self.counter
        self.counter += 1
        if platform == "x":
            pid = _x_id(created, c)
        else:
            rkey = _b32(((_millis(created) << 22) | (c & 0x3FFFFF)) & ((1 << 64) - 1), 13)
            pid = f"at://{author.did}/app.bsky.feed.post/{rkey}"
        likes = int(math.exp(rng.gauss(2.0 if parent else 3.5, 1.6)))
        p = Post(c, platform, pid, author, created, text, parent, root, likes=likes, cid=_cid(self.seed, pid))
        if parent is not None:
            parent.replies.append(p)
        return p

    def image(self, rng: random.Random, owner: Post, *, alt: str | None = None, photo: bool = False,
              reuse: tuple[str, tuple[int, int]] | None = None, first: bool = True) -> Media:
        if reuse is None:
            file, first, (w, h) = self.pool.take(rng, photo=photo)
        else:
            file, (w, h) = reuse
        key = f"3_{_x_id(owner.created, owner.counter)}{len(owner.images)}"
        url = MEDIA_PREFIX + file + ("" if first else f"?k={key}")
        img = Media(file, url, key, alt, w, h)
        owner.images.append(img)
        self.files_used.add(file)
        return img

    # --- trees ---

    def root_time(self, rng: random.Random, start: dt.datetime, days: float, spikes: bool) -> dt.datetime:
        if spikes and rng.random() < 0.15:
            return rng.choice(SPIKE_DAYS) + dt.timedelta(hours=rng.random() * 30)
        return start + dt.timedelta(seconds=rng.random() * days * 86400)

    def tags(self, rng: random.Random) -> str:
        return (" " + " ".join(rng.sample(HASHTAGS, rng.randrange(1, 3)))) if rng.random() < 0.2 else ""

    def fill(self, template: str, rng: random.Random, **kw: str) -> str:
        values = dict(model=rng.choice(TARGET_NAMES), other=rng.choice(OTHER_MODELS), thing=rng.choice(THINGS),
                      task=rng.choice(TASKS), city=rng.choice(CITIES), lang=rng.choice(LANGS), n=str(rng.randrange(2, 40)),
                      verdict=rng.choice(VERDICTS), subject=rng.choice(EDIT_SUBJECTS))
        values.update(kw)
        return template.format(**values)

    def make_tree(self, rng: random.Random, kind: str, platform: str, when: dt.datetime) -> Tree:
        author = self.pick_user(rng)
        prompt: str | None = None
        alt_prompt = False
        n_images = 0
        photo_first = False
        text: str
        model = rng.choice(TARGET_NAMES)
        if kind in ("t2i_marker", "t2i_quoted", "t2i_alt", "t2i_in_reply", "t2i_description", "t2i_made_me"):
            prompt = self.bank.prompt(rng)
            n_images = rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0]
        if kind == "t2i_marker":
            form = rng.randrange(3)
            if form == 0:
                text = f"{rng.choice(OPENERS).format(n=rng.randrange(2, 30))} {model}. Prompt: {prompt}"
            elif form == 1:
                text = f"{model} test #{rng.randrange(2, 300)}\n\nPrompt: {prompt}"
            else:
                text = f"Prompt: {prompt}\n\nMade with {model}"
            text += self.tags(rng)
        elif kind == "t2i_quoted":
            text = (f'Asked {model} for "{prompt}" {rng.choice(REACTIONS)}' if rng.random() < 0.6
                    else f'"{prompt}" - {model}, {rng.choice(REACTIONS)}')
        elif kind == "t2i_alt":
            text = f"{model} keeps surprising me. Prompt in the alt text."
            alt_prompt = True
        elif kind == "t2i_in_reply":
            text = f"{model} {rng.choice(REACTIONS)}. Prompt in the replies 👇"
        elif kind == "t2i_description":
            text = prompt + (f" #{'gpt4o' if rng.random() < 0.5 else 'chatgpt'}" if rng.random() < 0.7 else "")
        elif kind == "t2i_made_me":
            if not re.match(r"(?i)(a|an|the)\s", prompt):
                article = "an" if prompt[:1].lower() in "aeiou" else "a"
                prompt = f"{article} {prompt[0].lower()}{prompt[1:]}"
            text = f"{model} made me {prompt}. {rng.choice(REACTIONS).capitalize()}"
        elif kind == "i2i":
            prompt = self.bank.edit_prompt(rng)
            text = (f"Turned my {rng.choice(EDIT_SUBJECTS)} into art with {model}. Prompt: {prompt}" if rng.random() < 0.6
                    else f"before / after ({model}). prompt: {prompt}")
            n_images, photo_first = 2, True
        elif kind == "comparison":
            prompt = self.bank.prompt(rng)
            text = f'Same prompt, {model} vs {rng.choice(OTHER_MODELS)}: "{prompt}". Which one wins?'
            n_images = 2
        elif kind == "question":
            text = self.fill(rng.choice(QUESTION_POSTS), rng, model=model)
        elif kind == "showcase":
            text = self.fill(rng.choice(SHOWCASE), rng, model=model) + self.tags(rng)
            n_images = rng.choice((1, 1, 2, 3))
        elif kind == "complaint":
            text = self.fill(rng.choice(COMPLAINTS), rng, model=model)
            n_images = 1 if rng.random() < 0.3 else 0
        elif kind == "other_model":
            prompt = self.bank.prompt(rng)
            text = self.fill(rng.choice(OTHER_FORMS), rng, prompt=prompt)
            n_images = rng.choice((1, 1, 2))
        elif kind == "off_topic":
            text = self.fill(rng.choice(OFF_TOPIC), rng)
            n_images = 1 if rng.random() < 0.05 else 0
        elif kind == "no_model":
            text = self.fill(rng.choice(NO_MODEL), rng)
            n_images, photo_first = (1, True) if rng.random() < 0.3 else (0, False)
        else:
            raise ValueError(f"unknown tree kind {kind!r}")
        root = self.new_post(rng, platform, author, when, text)
        tree = Tree(kind, platform, root, prompt=prompt, posts=[root])
        for k in range(n_images):
            alt = None
            if alt_prompt:
                alt = f"Prompt: {prompt}" if k == 0 else None
            elif kind == "i2i":
                alt = "original" if k == 0 else "result"
            tree.image_files.append(self.image(rng, root, alt=alt, photo=photo_first and k == 0).file)
        if kind == "t2i_in_reply":
            follow = self.new_post(rng, platform, author, when + dt.timedelta(minutes=rng.randrange(1, 20)),
                                   f"Prompt: {prompt}" if rng.random() < 0.6 else prompt, parent=root, root=root)
            tree.posts.append(follow)
        return tree

    def make_repost(self, rng: random.Random, platform: str, source: dict, when: dt.datetime, batch: str) -> Tree:
        """An earlier prompt again: verbatim or lightly edited, its image under a new URL or recompressed."""
        verbatim = rng.random() < 0.5
        prompt = source["prompt"] if verbatim else self.bank.light_edit(source["prompt"], rng)
        same_image = rng.random() < 0.5
        model = rng.choice(TARGET_NAMES)
        form = rng.randrange(3)
        text = (f"Prompt: {prompt}\n\n{model}" if form == 0 else f'{model}: "{prompt}"' if form == 1
                else f"Saw this going around, tried it in {model}. Prompt: {prompt}")
        root = self.new_post(rng, platform, self.pick_user(rng), when, text)
        tree = Tree("repost", platform, root, prompt=prompt, posts=[root])
        if source.get("image"):
            if same_image:
                reuse = (source["image"], tuple(source["image_size"]))
            else:
                reuse = self.pool.recompressed(source["image"], f"{batch}{root.counter}")
            tree.image_files.append(self.image(rng, root, reuse=reuse, first=not same_image).file)
        how = f"{'verbatim' if verbatim else 'edited'}_{'same_image' if same_image else 'recompressed'}"
        self.counts[f"reposts_{how}"] += 1
        self.reposts.append({"root": root.post_id, "platform": platform, "source_root": source["root"],
                             "source_platform": source["platform"], "prompt": prompt, "source_prompt": source["prompt"],
                             "verbatim": verbatim, "image": tree.image_files[0] if tree.image_files else None,
                             "source_image": source.get("image"), "same_image": same_image and bool(source.get("image"))})
        return tree

    def reply_text(self, rng: random.Random, kind: str, has_images: bool, has_prompt: bool) -> tuple[str, bool]:
        """(text, with an image). Feedback on trees with images, chatter and questions elsewhere."""
        r = rng.random()
        if (kind in TARGET_KINDS or kind == "other_model") and has_images:
            if r < 0.03 and has_prompt:
                return rng.choice(REPLY_IMAGE_TEXTS), True
            if r < 0.35:
                if rng.random() < 0.4:
                    return rng.choice(SUCCESS_FIXED), False
                aspect, adj = rng.choice(SUCCESS_ASPECTS)
                verb = "are" if aspect.endswith("s") else "is"
                return f"{rng.choice(INTROS[:6])}the {aspect} {verb} {adj}{rng.choice(('', ' 🔥', ' 😍', '!', ' 👏'))}", False
            if r < 0.65:
                if rng.random() < 0.5:
                    return rng.choice(FAILURE_FIXED), False
                aspect, adj = rng.choice(FAILURE_ASPECTS)
                verb = "are" if aspect.endswith("s") else "is"
                return f"{rng.choice(INTROS)}the {aspect} {verb} {adj}{rng.choice(('', ' 😬', ' 💀', '...'))}", False
            if r < 0.82:
                return rng.choice(QUESTIONS), False
            return rng.choice(CHATTER), False
        if r < 0.4:
            return rng.choice(["same here", "agreed", "which version?", "works fine for me", "lol", "this",
                               "not for me", "source?", "big if true", "same"]), False
        if r < 0.7:
            return rng.choice(QUESTIONS[:4] + ["why though?", "since when?"]), False
        return rng.choice(CHATTER), False

    def add_replies(self, rng: random.Random, tree: Tree, budget: int) -> None:
        busy = tree.kind in TARGET_KINDS or tree.kind == "other_model"
        if busy:
            n = rng.choices((0, 1, 2, 3, 4, 5, rng.randrange(6, 11), rng.randrange(11, 26)),
                            (25, 20, 18, 12, 8, 6, 8, 3))[0]
        else:
            n = rng.choices((0, 1, 2, rng.randrange(3, 6), rng.randrange(6, 13)), (50, 25, 13, 10, 2))[0]
        root = tree.root
        for _ in range(min(n, budget)):
            parent = root if rng.random() < 0.8 or len(tree.posts) == 1 else rng.choice(tree.posts[1:])
            when = parent.created + dt.timedelta(minutes=1 + rng.expovariate(1 / 180))
            if busy and rng.random() < 0.08:
                author, text, with_image = root.author, rng.choice(AUTHOR_REPLIES), False
            else:
                author = self.pick_user(rng)
                if author.index == root.author.index:
                    author = self.user((author.index + 1) % self.n_users)
                text, with_image = self.reply_text(rng, tree.kind, bool(tree.image_files), bool(tree.prompt))
            p = self.new_post(rng, tree.platform, author, when, text, parent=parent, root=root)
            if with_image:
                self.image(rng, p)
            tree.posts.append(p)

    # --- a batch ---

    def generate(self, n_posts: int, writer: Writer, *, batch: str, start: dt.datetime, days: float,
                 spikes: bool, late_share: float = 0.0) -> None:
        """Trees (and, with late_share, replies to earlier roots) until n_posts new posts are written."""
        rng = _sub_rng(self.seed, "batch", batch)
        kinds, weights = zip(*TREE_KINDS.items())
        late_budget = int(n_posts * late_share) if self.reply_targets else 0
        made = 0
        while made < n_posts - late_budget:
            platform = "x" if rng.random() < 0.8 else "bluesky"
            kind = rng.choices(kinds, weights)[0]
            when = self.root_time(rng, start, days, spikes)
            if kind == "repost" and (self.prompt_trees or self.repost_sources):
                source = self.repost_source(rng)
                if rng.random() < 0.7:
                    platform = source["platform"]
                tree = self.make_repost(rng, platform, source, when, batch)
            else:
                tree = self.make_tree(rng, "t2i_marker" if kind == "repost" else kind, platform, when)
            self.add_replies(rng, tree, n_posts - late_budget - made - len(tree.posts))
            self.counts[f"trees_{tree.kind}"] += 1
            made += len(tree.posts)
            if tree.prompt and tree.kind in PROMPT_KINDS:
                self.prompt_trees.append({"root": tree.root.post_id, "platform": tree.platform, "prompt": tree.prompt,
                                          "image": tree.root.images[-1].file if tree.root.images else None,
                                          "image_size": ([tree.root.images[-1].width, tree.root.images[-1].height]
                                                         if tree.root.images else None)})
            self._remember_target(rng, tree)
            writer.tree(tree, self.counts)
        for _ in range(n_posts - made):
            target = rng.choice(self.reply_targets)
            stub = self._target_post(target)
            created = start + dt.timedelta(seconds=rng.random() * days * 86400)
            author = self.pick_user(rng)
            if author.index == stub.author.index:
                author = self.user((author.index + 1) % self.n_users)
            text, _ = self.reply_text(rng, target["kind"], target["images"] > 0, target["kind"] in PROMPT_KINDS)
            p = self.new_post(rng, target["platform"], author, created, text, parent=stub, root=stub)
            self.counts["late_replies"] += 1
            writer.late_reply(p, self.counts)

    def repost_source(self, rng: random.Random) -> dict:
        """Mostly one of the last REPOST_WINDOW prompts of this batch (so every prompt is about equally likely
        to be reposted), sometimes any earlier one, in this batch or before it (some prompts go viral)."""
        recent = self.prompt_trees
        if recent and rng.random() < 0.85:
            return recent[len(recent) - 1 - int(rng.random() * min(len(recent), REPOST_WINDOW))]
        pool = rng.choice([p for p in (recent, self.repost_sources) if p])
        return rng.choice(pool)

    def _remember_target(self, rng: random.Random, tree: Tree) -> None:
        """A bounded reservoir sample of roots, for replies in later batches."""
        self.seen_targets += 1
        r = tree.root
        row = {"platform": tree.platform, "root": r.post_id, "cid": r.cid, "author": r.author.index,
               "created": r.created.isoformat(), "text": r.text, "images": len(r.images), "likes": r.likes,
               "kind": tree.kind}
        if len(self.reply_targets) < MAX_REPLY_TARGETS:
            self.reply_targets.append(row)
        else:
            j = rng.randrange(self.seen_targets)
            if j < MAX_REPLY_TARGETS:
                self.reply_targets[j] = row

    def _target_post(self, target: dict) -> Post:
        """The earlier root as a reply's parent (its text and counts as first published)."""
        return Post(-1, target["platform"], target["root"], self.user(int(target["author"])),
                 dt.datetime.fromisoformat(target["created"]), target["text"], likes=int(target["likes"]),
                 cid=target["cid"])

    def remember_sources(self, rng: random.Random) -> None:
        """A bounded reservoir sample of this batch's prompts, for reposts in later batches."""
        for row in self.prompt_trees:
            self.seen_sources += 1
            if len(self.repost_sources) < MAX_REPOST_SOURCES:
                self.repost_sources.append(row)
            else:
                j = rng.randrange(self.seen_sources)
                if j < MAX_REPOST_SOURCES:
                    self.repost_sources[j] = row


# --- writing platform formats ---------------------------------------------------------------------


def x_user(u: User) -> dict:
    return {"id": u.x_id, "name": u.name, "username": u.handle, "protected": False, "verified": False}


def x_tweet(p: Post) -> dict:
    body = p.text
    mentions = []
    if p.parent is not None and p.parent.author.index != p.author.index:
        body = f"@{p.parent.author.handle} {body}"
        mentions.append({"start": 0, "end": len(p.parent.author.handle) + 1, "username": p.parent.author.handle,
                         "id": p.parent.author.x_id})
    full = _esc(body)
    urls = []
    if p.images:
        link = "https://t.co/" + hashlib.sha256(p.post_id.encode()).hexdigest()[:10]
        start = len(full) + 1
        full += " " + link
        for i, im in enumerate(p.images):
            urls.append({"start": start, "end": start + len(link), "url": link,
                         "expanded_url": f"https://x.com/{p.author.handle}/status/{p.post_id}/photo/{i + 1}",
                         "display_url": f"pic.x.com/{link[-10:]}", "media_key": im.key})
    tw: dict[str, Any] = {"id": p.post_id, "text": full, "edit_history_tweet_ids": [p.post_id]}
    if len(full) > 280:  # long posts: truncated text, the whole text in note_tweet
        tw["text"] = full[:270].rsplit(" ", 1)[0] + "…"
        tw["note_tweet"] = {"text": full}
    if p.images:
        tw["attachments"] = {"media_keys": [im.key for im in p.images]}
    root = p.root or p
    tw.update({"author_id": p.author.x_id, "created_at": _iso_ms(p.created), "conversation_id": root.post_id,
               "lang": "en", "possibly_sensitive": False, "reply_settings": "everyone",
               "public_metrics": {"retweet_count": p.likes // 8, "reply_count": len(p.replies), "like_count": p.likes,
                                  "quote_count": 0, "bookmark_count": p.likes // 11, "impression_count": p.likes * 37 + 120}})
    ents: dict[str, Any] = {}
    if mentions:
        ents["mentions"] = mentions
    if urls:
        ents["urls"] = urls
    if ents:
        tw["entities"] = ents
    if p.parent is not None:
        tw["in_reply_to_user_id"] = p.parent.author.x_id
        tw["referenced_tweets"] = [{"type": "replied_to", "id": p.parent.post_id}]
    return tw


def x_media(im: Media) -> dict:
    m = {"media_key": im.key, "type": "photo", "url": im.url, "width": im.width, "height": im.height}
    if im.alt:
        m["alt_text"] = im.alt
    return m


def x_page(tweets: list[Post], context: list[Post], token_seed: str, last: bool) -> dict:
    users: dict[str, dict] = {}
    media: list[dict] = []
    for p in tweets + context:
        users.setdefault(p.author.x_id, x_user(p.author))
        if p.parent is not None:
            users.setdefault(p.parent.author.x_id, x_user(p.parent.author))
    for p in tweets:
        media.extend(x_media(im) for im in p.images)
    data = sorted((x_tweet(p) for p in tweets), key=lambda t: int(t["id"]), reverse=True)
    ids = [t["id"] for t in data]
    includes: dict[str, Any] = {"users": list(users.values())}
    if media:
        includes["media"] = media
    if context:
        includes["tweets"] = [x_tweet(p) for p in context]
    meta: dict[str, Any] = {"newest_id": ids[0], "oldest_id": ids[-1], "result_count": len(ids)}
    if not last:
        meta["next_token"] = hashlib.sha256(token_seed.encode()).hexdigest()[:32]
    return {"data": data, "includes": includes, "meta": meta}


def bsky_view(p: Post) -> dict:
    u = p.author
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso_ms(p.created), "langs": ["en"],
                              "text": p.text}
    view: dict[str, Any] = {"uri": p.post_id, "cid": p.cid,
                            "author": {"did": u.did, "handle": f"{u.handle.replace('_', '-')}.bsky.social",
                                       "displayName": u.name, "labels": [], "createdAt": "2024-09-05T16:56:11.000Z"},
                            "record": record}
    if p.parent is not None:
        root = p.root or p.parent
        record["reply"] = {"parent": {"cid": p.parent.cid, "uri": p.parent.post_id},
                           "root": {"cid": root.cid, "uri": root.post_id}}
    if p.images:
        record["embed"] = {"$type": "app.bsky.embed.images", "images": [
            {"alt": im.alt or "", "aspectRatio": {"height": im.height, "width": im.width},
             "image": {"$type": "blob", "ref": {"$link": _cid("blob", im.url)},
                       "mimeType": "image/png" if im.file.endswith(".png") else "image/jpeg", "size": 0}}
            for im in p.images]}
        view["embed"] = {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": im.url, "fullsize": im.url, "alt": im.alt or "",
             "aspectRatio": {"height": im.height, "width": im.width}} for im in p.images]}
    view.update({"replyCount": len(p.replies), "repostCount": p.likes // 8, "likeCount": p.likes, "quoteCount": 0,
                 "indexedAt": _iso_ms(p.created + dt.timedelta(milliseconds=400)), "labels": []})
    return view


def bsky_node(p: Post) -> dict:
    return {"$type": "app.bsky.feed.defs#threadViewPost", "post": bsky_view(p),
            "replies": [bsky_node(c) for c in p.replies]}


class Writer:
    """Files of about POSTS_PER_FILE posts per platform; X files are JSONL pages of <= TWEETS_PER_PAGE tweets."""

    def __init__(self, corpus: Path, batch: str):
        self.corpus = corpus
        self.batch = batch
        self.x_pages: list[dict] = []
        self.x_tweets: list[Post] = []
        self.x_context: list[Post] = []
        self.x_in_file = 0
        self.bsky: list[dict] = []
        self.bsky_in_file = 0
        self.files: list[str] = []
        self.n: Counter = Counter()

    def tree(self, tree: Tree, counts: Counter) -> None:
        posts = tree.posts
        counts[f"posts_{tree.platform}"] += len(posts)
        counts["roots"] += 1
        counts["replies"] += len(posts) - 1
        counts["post_media"] += sum(len(p.images) for p in posts)
        if tree.platform == "x":
            self._add_x(posts)
        else:
            self._add_bsky({"thread": bsky_node(tree.root)}, len(posts))

    def late_reply(self, p: Post, counts: Counter) -> None:
        """A new reply to an earlier root. X: the root comes along in includes.tweets (referenced_tweets
        expansion); Bluesky: getPostThread of the reply, the root as its parent."""
        counts[f"posts_{p.platform}"] += 1
        counts["replies"] += 1
        if p.platform == "x":
            self._add_x([p], context=p.root)
        else:
            node = {"$type": "app.bsky.feed.defs#threadViewPost", "post": bsky_view(p), "replies": [],
                    "parent": {"$type": "app.bsky.feed.defs#threadViewPost", "post": bsky_view(p.root)}}
            self._add_bsky({"thread": node}, 1)

    def _add_x(self, posts: list[Post], context: Post | None = None) -> None:
        for p in posts:
            if len(self.x_tweets) >= TWEETS_PER_PAGE:
                self._x_page(last=False)
            self.x_tweets.append(p)
        if context is not None:
            self.x_context.append(context)
        self.x_in_file += len(posts)
        if self.x_in_file >= POSTS_PER_FILE:
            self._flush_x()

    def _x_page(self, last: bool) -> None:
        if self.x_tweets:
            token = f"{self.batch}:{self.n['x']}:{len(self.x_pages)}"
            self.x_pages.append(x_page(self.x_tweets, self.x_context, token, last))
        self.x_tweets, self.x_context = [], []

    def _flush_x(self) -> None:
        self._x_page(last=True)
        if self.x_pages:
            self.n["x"] += 1
            rel = f"x/{self.batch}_{self.n['x']:05d}.jsonl"
            (self.corpus / rel).write_text("".join(json.dumps(pg, ensure_ascii=False) + "\n" for pg in self.x_pages),
                                           encoding="utf-8")
            self.files.append(rel)
        self.x_pages, self.x_in_file = [], 0

    def _add_bsky(self, thread: dict, n_posts: int) -> None:
        self.bsky.append(thread)
        self.bsky_in_file += n_posts
        if self.bsky_in_file >= POSTS_PER_FILE:
            self._flush_bsky()

    def _flush_bsky(self) -> None:
        if self.bsky:
            self.n["bluesky"] += 1
            rel = f"bluesky/{self.batch}_{self.n['bluesky']:05d}.json"
            (self.corpus / rel).write_text(json.dumps(self.bsky, ensure_ascii=False), encoding="utf-8")
            self.files.append(rel)
        self.bsky, self.bsky_in_file = [], 0

    def close(self) -> None:
        self._flush_x()
        self._flush_bsky()


# --- the public entry points ----------------------------------------------------------------------


def config_text() -> str:
    """echo.toml for a run over this corpus: everything echo writes stays inside the run folder."""
    return f"""# Written by bench/scale_corpus.py: the end-to-end scale benchmark's run over corpus/.
[paths]
data_dir = "data"
db = "data/echo.duckdb"
media_dir = "data/media"
parquet_dir = "data/parquet"
releases_dir = "data/releases"
exports_dir = "data/exports"
reports_dir = "data/reports"
analyst_dir = "data/analyst"
samples_dir = "corpus"

[filter]
relevance_threshold = 4
target_model = "gpt-4o image generation"

[llm]
base_url = ""           # the offline rule-based backend; e2e_scale.py --llm-endpoint sets ECHO_LLM_BASE_URL

[media]
url_map = {{ "{MEDIA_PREFIX}" = "corpus/media/" }}

[report]
reference_prompts_dir = {json.dumps(str(REFERENCE_DIR.resolve()))}

[release]
freeze_on_refresh = true

[[sources]]
name = "scale"
kind = "import"
paths = ["corpus"]
"""


def manifest_path(out: str | Path) -> Path:
    return Path(out) / "corpus" / "manifest.json"


def load_manifest(out: str | Path) -> dict | None:
    p = manifest_path(out)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def _state(c: Corpus) -> dict:
    return {"next_counter": c.counter, "next_pool": c.pool.next_index, "reply_targets": c.reply_targets,
            "repost_sources": c.repost_sources, "seen_targets": c.seen_targets, "seen_sources": c.seen_sources}


def _run_batch(c: Corpus, name: str, n_posts: int, start: dt.datetime, days: float, *, spikes: bool,
               late_share: float) -> dict:
    w = Writer(c.corpus, name)
    try:
        c.generate(n_posts, w, batch=name, start=start, days=days, spikes=spikes, late_share=late_share)
    finally:
        c.pool.close()
    w.close()
    c.remember_sources(_sub_rng(c.seed, "sources", name))
    with (c.corpus / "reposts.jsonl").open("a", encoding="utf-8") as f:
        for r in c.reposts:
            f.write(json.dumps({"batch": name, **r}, ensure_ascii=False) + "\n")
    counts = dict(sorted(c.counts.items()))
    counts["distinct_image_files"] = len(c.files_used)
    return {"name": name, "posts": n_posts, "files": w.files, "from": start.isoformat(),
            "to": (start + dt.timedelta(days=days)).isoformat(), "counts": counts,
            "image_files_written": c.pool.written, "image_bytes_written": c.pool.bytes}


def _write_manifest(out: Path, manifest: dict) -> None:
    manifest_path(out).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def generate(out: str | Path, posts: int, *, image_size: int = 256, image_pool: int = DEFAULT_IMAGE_POOL,
             seed: int = 14, force: bool = False, jobs: int = 1) -> dict:
    """Write the base corpus of `posts` posts and its echo.toml under `out`. An existing corpus made with the
    same settings is kept (its --extra batches too: reset_extra removes them)."""
    out = Path(out)
    if posts < 1:
        raise ValueError("posts must be at least 1")
    params = {"posts": posts, "image_size": image_size, "image_pool": image_pool, "seed": seed,
              "generator_version": GENERATOR_VERSION}
    existing = load_manifest(out)
    if existing and not force and existing.get("params") == params:
        return existing
    if (out / "corpus").exists():
        shutil.rmtree(out / "corpus")
    for sub in ("x", "bluesky", "media"):
        (out / "corpus" / sub).mkdir(parents=True, exist_ok=True)
    c = Corpus(out, posts=posts, image_size=image_size, image_pool=image_pool, seed=seed, jobs=jobs)
    batch = _run_batch(c, "base", posts, WINDOW_START, WINDOW_DAYS, spikes=True, late_share=0.0)
    manifest = {"generator": "bench/scale_corpus.py", "params": params, "media_prefix": MEDIA_PREFIX,
                "batches": [batch], "base_state": _state(c), **_state(c)}
    _write_manifest(out, manifest)
    (out / "echo.toml").write_text(config_text(), encoding="utf-8")
    return manifest


def add_extra(out: str | Path, pct: float, *, jobs: int = 1) -> dict:
    """Append a batch of pct% NEW posts (of the base size), dated after everything before: new trees,
    replies to earlier roots (a fifth of the batch) and reposts of earlier prompts."""
    out = Path(out)
    manifest = load_manifest(out)
    if manifest is None:
        raise FileNotFoundError(f"{out}: no corpus (generate it with --posts first)")
    params = manifest["params"]
    n = max(1, round(params["posts"] * pct / 100))
    name = f"extra{len(manifest['batches']):02d}"
    start = dt.datetime.fromisoformat(manifest["batches"][-1]["to"])
    c = Corpus(out, posts=params["posts"], image_size=params["image_size"], image_pool=params["image_pool"],
               seed=params["seed"], state=manifest, jobs=jobs)
    manifest["batches"].append(_run_batch(c, name, n, start, EXTRA_DAYS, spikes=False, late_share=0.2))
    manifest.update(_state(c))
    _write_manifest(out, manifest)
    return manifest


def reset_extra(out: str | Path) -> dict:
    """Remove every --extra batch (its files, its new images, its repost rows): back to the base corpus."""
    out = Path(out)
    manifest = load_manifest(out)
    if manifest is None:
        raise FileNotFoundError(f"{out}: no corpus")
    extras = manifest["batches"][1:]
    if not extras:
        return manifest
    corpus = out / "corpus"
    base = manifest["base_state"]
    for b in extras:
        for rel in b["files"]:
            (corpus / rel).unlink(missing_ok=True)
        for f in (corpus / "media").glob(f"*-r{b['name']}*"):
            f.unlink()
    for f in (corpus / "media").glob("img*"):
        if "-r" not in f.stem and int(f.stem[3:]) >= base["next_pool"]:
            f.unlink()
    reposts = corpus / "reposts.jsonl"
    kept = [line for line in reposts.read_text(encoding="utf-8").splitlines() if json.loads(line)["batch"] == "base"]
    reposts.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    manifest["batches"] = manifest["batches"][:1]
    manifest.update(base)
    _write_manifest(out, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run folder: echo.toml, corpus/, and data/ once echo runs")
    ap.add_argument("--posts", type=int, help="posts in the base corpus (needed to create one)")
    ap.add_argument("--image-size", type=int, default=256, help="long side of every image in px (256; 2048 for memory)")
    ap.add_argument("--image-pool", type=int, default=DEFAULT_IMAGE_POOL, help="distinct image files before reuse")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--extra", type=float, metavar="PCT", help="append PCT%% new posts as a new batch")
    ap.add_argument("--reset-extra", action="store_true", help="remove the --extra batches first")
    ap.add_argument("--force", action="store_true", help="regenerate the base even if it exists with these settings")
    ap.add_argument("--jobs", type=int, default=1, help="processes drawing images (same bytes; helps at 2048 px)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.posts is not None:
        m = generate(out, args.posts, image_size=args.image_size, image_pool=args.image_pool, seed=args.seed,
                     force=args.force, jobs=args.jobs)
        b = m["batches"][0]
        print(f"{out}: base {b['posts']} posts in {len(b['files'])} files, {b['counts']['distinct_image_files']} images")
    elif load_manifest(out) is None:
        ap.error("--posts is required to create a corpus")
    if args.reset_extra:
        reset_extra(out)
    if args.extra:
        b = add_extra(out, args.extra, jobs=args.jobs)["batches"][-1]
        print(f"{out}: {b['name']} +{b['posts']} posts in {len(b['files'])} files, "
              f"{b['image_files_written']} new image files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
