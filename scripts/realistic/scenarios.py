"""Post trees around the real prompts: one function per shape, and `build`, which lays out the corpus.

Every tree carries a `pattern` (its shape), a `split` (dev for odd case numbers, test for even ones; trees
without a case alternate) and the keys of the posts that name the target model (relevance evidence). All
wording comes from the dev or the test half of the phrase pools, never both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from scripts.samples.builder import TreeBuilder
from scripts.samples.drawing import edit_pair
from scripts.samples.model import UTC, Feedback, Img, Post, SampleSpec, Tree

from . import phrases as ph
from .prompts import RealPrompt

SEED = 20250521
MEDIA_BASE = "https://echo-realistic.invalid/media/"
WINDOW_START = dt.datetime(2025, 3, 26, 0, 0, tzinfo=UTC)
WINDOW_END = dt.datetime(2025, 6, 10, 0, 0, tzinfo=UTC)
PLATFORMS = ("bluesky", "reddit", "mastodon", "x")

# Post length limits (characters; Bluesky counts graphemes): a post that would not fit goes elsewhere.
TEXT_LIMIT = {"bluesky": 300, "mastodon": 500, "x": 25_000, "reddit": 40_000}
ALT_LIMIT = {"bluesky": 2000, "mastodon": 1500, "x": 1000}
THREAD_PART = {"bluesky": 280, "mastodon": 480, "x": 270, "reddit": 900}

PATTERNS = {
    "root_commentary": "the prompt in the root post, with commentary before and/or after it",
    "quoted_sentence": "the prompt inside quotation marks in a sentence",
    "prompt_in_reply": "the root promises the prompt ('prompt below'); the author's reply holds it",
    "thread_split": "the prompt split across a thread of the author's posts (1/3, 2/3 ...), joined with one space",
    "alt_text": "the prompt in the image's alt text (Bluesky, Mastodon, X)",
    "quote_post": "a quote-post of a post that holds the prompt, adding the quoter's own result or a judgement",
    "asked_answered": "someone asks for the prompt; the author answers with it",
    "model_in_reply": "the root shows image and prompt but names no model; a reply names it",
    "non_english": "commentary in another language (Chinese, Japanese, Spanish, German ...) around the prompt",
    "original_language": "the original-language (Chinese) prompt, with Chinese or English commentary",
    "json_prompt": "a JSON-structured prompt: the whole JSON object is the prompt",
    "template_unfilled": "a template with [placeholders] posted unfilled: prompt null, prompt_fill_blank the template",
    "template_filled": "a template filled with the poster's own values: prompt filled, prompt_fill_blank the template",
    "image_edit": "an image edit: the input photo and the result, with the prompt",
    "repost": "another user re-posts a prompt, verbatim or lightly edited, on the same or another platform",
    "off_topic": "'4o' / 'gpt' chatter that is not about image generation (relevant = false)",
    "other_model": "posts about other image models (Midjourney, Flux, Nano Banana ...), relevant = false",
}

# Light edits a re-poster makes to a prompt: (word, replacement), the first that applies.
LIGHT_EDITS = [(" photo", " picture"), (" cute", " adorable"), (" realistic", " lifelike"), (" soft", " gentle"),
               (" style", " look"), (" background", " backdrop"), (" small", " tiny"), (" large", " big"),
               (" image", " picture"), (" bright", " vivid")]
EMOJI = ["😂", "🔥", "💀", "😭", "👀", "🙏", "✨", "😅", "🤯", "❤️", "👏", "🥲"]
TAILS = [" lol", " tbh", " ngl", "!!", " fr", " haha", " 😅"]
NON_ENGLISH_LANGS = ("zh", "ja", "es", "de", "pt", "fr")
MODEL_WORDS = {w.lower() for name in ph.MODEL_NAMES for w in name.split()}  # never given a typo


@dataclass
class RTree(Tree):
    pattern: str = ""
    split: str = "dev"
    case: int | None = None
    evidence: list[str] = field(default_factory=list)  # keys of posts naming the model; "tree_id/key" elsewhere


@dataclass
class RSample(SampleSpec):
    case: int | None = None
    location: str = "root"
    dup_key: tuple = ()  # samples with the same key are one duplicate group
    platform: str = ""
    when: dt.datetime | None = None


class RealBuilder(TreeBuilder):
    tree_class = RTree

    def __init__(self, prompts: list[RealPrompt], seed: int = SEED) -> None:
        super().__init__(seed, MEDIA_BASE)
        self.prompts = {p.case: p for p in prompts}
        self.samples: list[RSample] = []
        self.split_toggle = 0
        self.per_pattern: Counter[tuple[str, str]] = Counter()

    # --- time, wording -------------------------------------------------------------------------------

    def when(self) -> dt.datetime:
        span = int((WINDOW_END - WINDOW_START).total_seconds() // 60)
        t = WINDOW_START + dt.timedelta(minutes=self.rng.randint(0, span - 1))
        return t.replace(second=self.rng.randint(0, 59), microsecond=self.rng.randint(0, 999) * 1000)

    def pick(self, pool: list, split: str):
        return self.rng.choice(ph.half(pool, split))

    def say(self, pool: list[str], split: str, **kw: str) -> tuple[str, bool]:
        """A phrase from the split's half of a pool, filled; True when it names the target model."""
        text = self.pick(pool, split)
        named = "{model}" in text
        return text.format(model=self.rng.choice(ph.MODEL_NAMES), tag=self.rng.choice(ph.HASHTAGS), **kw), named

    def vary(self, text: str) -> str:
        """The way people type: lower case, a typo, an emoji, a tail."""
        r = self.rng
        if r.random() < 0.25:
            text = text.lower()
        elif r.random() < 0.15 and text[:1].islower():
            text = text[0].upper() + text[1:]
        if r.random() < 0.12:
            words = text.split(" ")
            long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.lower() not in MODEL_WORDS]
            if long:
                i = r.choice(long)
                w = words[i]
                j = r.randint(1, len(w) - 3)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
                text = " ".join(words)
        u = r.random()
        if u < 0.18:
            text += " " + r.choice(EMOJI)
        elif u < 0.28:
            text += r.choice(TAILS)
        return text

    def next_split(self) -> str:
        self.split_toggle += 1
        return "dev" if self.split_toggle % 2 else "test"

    # --- platforms -----------------------------------------------------------------------------------

    def platform(self, pattern: str, allowed: tuple[str, ...] | list[str], fits=lambda p: True) -> str:
        """The allowed platform that fits with the fewest trees of this pattern, then the fewest trees."""
        ok = [p for p in PLATFORMS if p in allowed and fits(p)]
        if not ok:
            raise ValueError(f"no platform among {allowed} fits")
        return min(ok, key=lambda p: (self.per_pattern[(pattern, p)], self.counters[p], PLATFORMS.index(p)))

    # --- trees, posts, samples ------------------------------------------------------------------------

    def tree(self, platform: str, root: Post, pattern: str, split: str, case: int | None = None, relevant: bool = True,
             categories: list[str] | None = None, title: str = "", subreddit: str = "") -> RTree:
        tr = self.new_tree(platform, [pattern, *(categories or [])], relevant, root,
                           subreddit=subreddit or self.subreddit(relevant), title=title or root.text,
                           reddit_body=root.text if platform == "reddit" else "")
        tr.pattern, tr.split, tr.case = pattern, split, case
        self.per_pattern[(pattern, platform)] += 1
        return tr

    def reply(self, tr: Tree, parent: Post, author, text: str, lo: int = 2, hi: int = 240, key: str = "",
              lang: str = "en", images: list[Img] | None = None) -> Post:
        k = key or f"r{len(tr.posts())}"
        p = Post(k, author, text, self.later(parent.when, lo, hi), images or [], lang=lang, likes=self.rng.randint(0, 90))
        parent.replies.append(p)
        return p

    def images(self, platform: str, rp: RealPrompt) -> tuple[list[Img], list[Img]]:
        """(inputs, outputs) of one generation of the prompt: an edit pair for image edits."""
        seed = self.next_seed()
        if rp.is_edit:
            inp, out = edit_pair(self.media, f"{platform}-{seed}", rp.input_kind, rp.edit_style, rp.caption, seed, (160, 160))
            return [inp], [out]
        size = self.rng.choice([(160, 160), (160, 160), (144, 192), (176, 132)])
        fmt = "png" if seed % 2 else "jpg"
        return [], [self.media.scene(f"{platform}-{seed}-out", rp.prompt_en, rp.caption, size, seed, "flat", fmt)]

    def sample(self, tr: RTree, rp: RealPrompt, prompt: str | None, location: str, evidence: list[str], anchor: str,
               inputs: list[Img], outputs: list[Img], *, fill_blank: str | None = None, modified: bool = False,
               dup_key: tuple = (), feedback: list[Feedback] | None = None) -> RSample:
        s = RSample(prompt, "image_to_image" if inputs else "text_to_image", "benchmark", inputs, outputs, evidence,
                    anchor, prompt_modified=modified, fill_blank=fill_blank, feedback=feedback or [], case=rp.case,
                    location=location, dup_key=dup_key, platform=tr.platform, when=tr.root.when)
        tr.samples.append(s)
        self.samples.append(s)
        return s

    def community(self, tr: RTree, parent: Post, n_fb: int, n_chat: int, *, edit: bool = False,
                  lang: str | None = None) -> list[Feedback]:
        """Replies under `parent`: n_fb judgements of the result, n_chat that are not feedback, mixed in order."""
        r = self.rng
        pool = [f for f in ph.half(ph.FEEDBACK, tr.split) if edit or "identity" not in f[2]]
        if lang in ph.FEEDBACK_FOREIGN:
            pool = ph.half(ph.FEEDBACK_FOREIGN[lang], tr.split) + pool[: len(pool) // 3]
        chosen = r.sample(pool, min(n_fb, len(pool)))
        chat = r.sample(ph.half(ph.CHATTER, tr.split), n_chat)
        kinds = [("fb", f) for f in chosen] + [("chat", c) for c in chat]
        r.shuffle(kinds)
        out = []
        for kind, item in kinds:
            if kind == "fb":
                text, polarity, cats = item
                p = self.reply(tr, parent, self.author(tr.platform), self.vary(text), lang=lang or "en")
                out.append(Feedback(p.key, polarity, list(cats)))
            else:
                self.reply(tr, parent, self.author(tr.platform), self.vary(item))
        return out

    def steer(self, tr: RTree, parent: Post) -> None:
        self.reply(tr, parent, self.author(tr.platform), self.pick(ph.STEERING, tr.split))
        tr.categories.append("steering")


# --- text helpers -----------------------------------------------------------------------------------------


def fits(platform: str, text: str) -> bool:
    return len(text) <= TEXT_LIMIT[platform]


def label_and(prompt: str, label: str) -> str:
    """A label and the prompt: on one line for a short one-line prompt, else the prompt below it."""
    return f"{label} {prompt}" if "\n" not in prompt and len(prompt) < 200 else f"{label}\n\n{prompt}"


def split_parts(text: str, size: int) -> list[str]:
    """Cut at whitespace into parts of at most `size` characters; at least two parts."""
    n = max(2, -(-len(text) // size))
    while True:
        target = -(-len(text) // n)
        parts, start = [], 0
        while start < len(text):
            end = min(len(text), start + target)
            if end < len(text):
                cut = max(text.rfind(" ", start, end + 1), text.rfind("\n", start, end + 1))
                end = cut if cut > start else end
            parts.append(text[start:end].strip())
            start = end
        parts = [p for p in parts if p]
        if len(parts) >= 2 and all(len(p) <= size for p in parts):
            return parts
        n += 1


def light_edit(prompt: str) -> str | None:
    for old, new in LIGHT_EDITS:
        if old in prompt:
            return prompt.replace(old, new, 1)
    return None


# --- shapes: the prompt in the root ---------------------------------------------------------------------------


def root_commentary(b: RealBuilder, rp: RealPrompt, pattern: str = "root_commentary", prompt: str | None = None,
                    platforms=PLATFORMS, lang: str = "en") -> RTree:
    split = rp.split
    prompt = prompt if prompt is not None else rp.prompt_en
    r = b.rng
    where = r.choice(["before", "after", "both"])
    if lang != "en":
        before, named_b = b.say(ph.NON_ENGLISH[lang], split)
        label = b.pick(ph.NON_ENGLISH_LABELS[lang], split)
        after, named_a = "", False
    else:
        before, named_b = b.say(ph.COMMENTARY_BEFORE, split) if where != "after" else ("", False)
        after, named_a = b.say(ph.COMMENTARY_AFTER, split) if where != "before" else ("", False)
        label = b.pick(ph.PROMPT_LABELS, split) if r.random() < 0.7 else ""
    body = label_and(prompt, label) if label else prompt
    text = "\n\n".join(x for x in (b.vary(before) if before else "", body, after) if x)
    plat = b.platform(pattern, platforms, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.when(), ins + outs, lang=lang, likes=r.randint(5, 6000))
    tr = b.tree(plat, root, pattern, split, rp.case, categories=[f"lang:{lang}"] if lang != "en" else None,
                title=rp.title_en)
    if named_b or named_a:
        tr.evidence.append("root")
    fb = b.community(tr, root, r.randint(0, 3), r.randint(0, 2), edit=rp.is_edit, lang=lang if lang != "en" else None)
    b.sample(tr, rp, prompt, "root", ["root"], "root", ins, outs, dup_key=(rp.case, "en" if prompt == rp.prompt_en else "x", prompt),
             feedback=fb)
    return tr


def quoted_sentence(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    text, named = b.say(ph.QUOTED_SENTENCES, split, p=rp.prompt_en)
    plat = b.platform("quoted_sentence", PLATFORMS, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.when(), ins + outs, likes=b.rng.randint(5, 3000))
    tr = b.tree(plat, root, "quoted_sentence", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 3), b.rng.randint(0, 1), edit=rp.is_edit)
    b.sample(tr, rp, rp.prompt_en, "root", ["root"], "root", ins, outs, dup_key=(rp.case, "en", rp.prompt_en), feedback=fb)
    return tr


def image_edit(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    wrap, _ = b.say(ph.EDIT_WRAPPERS, split)
    label = b.pick(ph.PROMPT_LABELS, split)
    text = f"{b.vary(wrap)}\n\n{label_and(rp.prompt_en, label)}"
    plat = b.platform("image_edit", PLATFORMS, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.when(), ins + outs, likes=b.rng.randint(20, 9000))
    tr = b.tree(plat, root, "image_edit", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(1, 3), b.rng.randint(0, 1), edit=True)
    b.sample(tr, rp, rp.prompt_en, "root", ["root"], "root", ins, outs, dup_key=(rp.case, "en", rp.prompt_en), feedback=fb)
    return tr


def json_prompt(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    wrap, _ = b.say(ph.JSON_WRAPPERS, split)
    text = f"{b.vary(wrap)}\n\n{rp.prompt_en}"
    plat = b.platform("json_prompt", PLATFORMS, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.when(), ins + outs, likes=b.rng.randint(20, 4000))
    tr = b.tree(plat, root, "json_prompt", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(1, 2), b.rng.randint(0, 2), edit=rp.is_edit)
    if rp.is_template:
        b.sample(tr, rp, None, "root", ["root"], "root", ins, outs, fill_blank=rp.prompt_en,
                 dup_key=(rp.case, "template"), feedback=fb)
    else:
        b.sample(tr, rp, rp.prompt_en, "root", ["root"], "root", ins, outs, dup_key=(rp.case, "en", rp.prompt_en), feedback=fb)
    return tr


def template_unfilled(b: RealBuilder, rp: RealPrompt, pattern: str = "template_unfilled", platforms=PLATFORMS,
                      when: dt.datetime | None = None) -> RTree:
    split = rp.split
    wrap, _ = b.say(ph.TEMPLATE_WRAPPERS if pattern == "template_unfilled" else ph.REPOST_WRAPPERS, split)
    text = f"{b.vary(wrap)}\n\n{rp.prompt_en}"
    plat = b.platform(pattern, platforms, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, when or b.when(), ins + outs, likes=b.rng.randint(20, 8000))
    tr = b.tree(plat, root, pattern, split, rp.case, categories=["template"], title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(1, 2), edit=rp.is_edit)
    b.sample(tr, rp, None, "root", ["root"], "root", ins, outs, fill_blank=rp.prompt_en, dup_key=(rp.case, "template"),
             feedback=fb)
    return tr


def template_filled(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    filled, fill = rp.filled()
    wrap, _ = b.say(ph.FILLED_WRAPPERS, split, fill=fill)
    text = f"{b.vary(wrap)}\n\n{rp.prompt_en}"
    plat = b.platform("template_filled", PLATFORMS, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.when(), ins + outs, likes=b.rng.randint(5, 2000))
    tr = b.tree(plat, root, "template_filled", split, rp.case, categories=["template"], title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(0, 1), edit=rp.is_edit)
    b.sample(tr, rp, filled, "root", ["root"], "root", ins, outs, fill_blank=rp.prompt_en, modified=True,
             dup_key=(rp.case, "filled", filled), feedback=fb)
    return tr


def original_language(b: RealBuilder, rp: RealPrompt) -> RTree:
    """The Chinese original: Chinese commentary, or English commentary around it (mixed script)."""
    if b.rng.random() < 0.5:
        tr = root_commentary(b, rp, "original_language", rp.prompt_original, lang="zh")
    else:
        tr = root_commentary(b, rp, "original_language", rp.prompt_original)
        tr.categories.append("mixed_script")
    tr.samples[0].dup_key = (rp.case, "zh", rp.prompt_original)
    return tr


def non_english(b: RealBuilder, rp: RealPrompt, lang: str) -> RTree:
    return root_commentary(b, rp, "non_english", rp.prompt_en, lang=lang)


# --- shapes: the prompt elsewhere in the tree ---------------------------------------------------------------------


def prompt_in_reply(b: RealBuilder, rp: RealPrompt, prompt: str | None = None, pattern: str = "prompt_in_reply") -> RTree:
    split = rp.split
    prompt = prompt or rp.prompt_en
    teaser, _ = b.say(ph.PROMPT_BELOW, split)
    teaser = b.vary(teaser)
    ptext = label_and(prompt, b.pick(ph.REPLY_INTROS, split))
    plat = b.platform(pattern, PLATFORMS, lambda p: fits(p, ptext) and fits(p, teaser))
    ins, outs = b.images(plat, rp)
    au = b.author(plat)
    root = Post("root", au, teaser, b.when(), ins + outs, likes=b.rng.randint(20, 5000))
    tr = b.tree(plat, root, pattern, split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, 0, b.rng.randint(0, 1))
    b.reply(tr, root, au, ptext, 1, 6, key="p1")
    fb += b.community(tr, root, b.rng.randint(0, 3), b.rng.randint(0, 1), edit=rp.is_edit)
    b.sample(tr, rp, prompt, "reply", ["root", "p1"], "p1", ins, outs,
             dup_key=(rp.case, "en" if prompt == rp.prompt_en else "zh", prompt), feedback=fb)
    return tr


def thread_split(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    intro, _ = b.say(ph.THREAD_INTROS, split, n="{n}")
    plat = b.platform("thread_split", PLATFORMS)
    parts = split_parts(rp.prompt_en, THREAD_PART[plat] - len(intro) - 12)
    n = len(parts)
    style = b.rng.randrange(3)
    marks = [[f"({i}/{n})", f"{i}/{n}", f"🧵 {i}/{n}"][style] for i in range(1, n + 1)]
    au = b.author(plat)
    ins, outs = b.images(plat, rp)
    first = f"{b.vary(intro.replace('{n}', str(n)))} {marks[0]}\n\n{parts[0]}"
    root = Post("root", au, first, b.when(), ins + outs, likes=b.rng.randint(20, 4000))
    tr = b.tree(plat, root, "thread_split", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    prev, keys = root, ["root"]
    for i in range(1, n):
        prev = b.reply(tr, prev, au, f"{marks[i]} {parts[i]}", 0, 2, key=f"t{i + 1}")
        keys.append(prev.key)
    fb = b.community(tr, root, b.rng.randint(0, 3), b.rng.randint(0, 2), edit=rp.is_edit)
    b.sample(tr, rp, " ".join(parts), "thread", keys, "root", ins, outs, modified=True,
             dup_key=(rp.case, "en", rp.prompt_en), feedback=fb)
    return tr


def alt_text(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    teaser, _ = b.say(ph.ALT_TEASERS, split)
    label = b.rng.choice(["", "", "Prompt: "])
    alt = label + rp.prompt_en
    plat = b.platform("alt_text", ("bluesky", "mastodon", "x"), lambda p: len(alt) <= ALT_LIMIT[p])
    seed = b.next_seed()
    ins: list[Img] = []
    if rp.is_edit:
        inp, out = edit_pair(b.media, f"{plat}-{seed}", rp.input_kind, rp.edit_style, rp.caption, seed, (160, 160))
        ins, out = [inp], out
        out = Img(out.file, out.width, out.height, alt, out.base)
    else:
        out = b.media.scene(f"{plat}-{seed}-out", rp.prompt_en, rp.caption, (160, 160), seed, "flat", "png", alt=alt)
    root = Post("root", b.author(plat), b.vary(teaser), b.when(), ins + [out], likes=b.rng.randint(5, 2000))
    tr = b.tree(plat, root, "alt_text", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 3), b.rng.randint(0, 1), edit=rp.is_edit)
    b.sample(tr, rp, rp.prompt_en, "alt_text", ["root"], "root", ins, [out], dup_key=(rp.case, "en", rp.prompt_en),
             feedback=fb)
    return tr


def asked_answered(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    lead, _ = b.say(ph.COMMENTARY_BEFORE, split)
    lead = b.vary(lead)
    answer = b.pick(ph.ANSWER_WITH_PROMPT, split).format(p=rp.prompt_en)
    plat = b.platform("asked_answered", PLATFORMS, lambda p: fits(p, answer) and fits(p, lead))
    ins, outs = b.images(plat, rp)
    au = b.author(plat)
    root = Post("root", au, lead, b.when(), ins + outs, likes=b.rng.randint(50, 9000))
    tr = b.tree(plat, root, "asked_answered", split, rp.case, title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(0, 1), edit=rp.is_edit)
    ask = b.reply(tr, root, b.author(plat), b.vary(b.pick(ph.ASK_PROMPT, split)), 5, 300, key="q1")
    b.reply(tr, ask, au, answer, 3, 120, key="a1")
    fb += b.community(tr, root, b.rng.randint(0, 2), 0, edit=rp.is_edit)
    b.sample(tr, rp, rp.prompt_en, "answer", ["root", "a1"], "a1", ins, outs, dup_key=(rp.case, "en", rp.prompt_en),
             feedback=fb)
    return tr


def model_in_reply(b: RealBuilder, rp: RealPrompt) -> RTree:
    split = rp.split
    text = f"{b.vary(b.pick(ph.NO_MODEL_ROOT, split))}\n\n{label_and(rp.prompt_en, b.pick(ph.NO_MODEL_LABELS, split))}"
    plat = b.platform("model_in_reply", PLATFORMS, lambda p: fits(p, text))
    ins, outs = b.images(plat, rp)
    au = b.author(plat)
    root = Post("root", au, text, b.when(), ins + outs, likes=b.rng.randint(5, 3000))
    tr = b.tree(plat, root, "model_in_reply", split, rp.case, title=rp.title_en)
    fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(0, 1), edit=rp.is_edit)
    answer, _ = b.say(ph.MODEL_ANSWERS, split)
    if b.rng.random() < 0.6:
        ask = b.reply(tr, root, b.author(plat), b.vary(b.pick(ph.ASK_MODEL, split)), 5, 400)
        named = b.reply(tr, ask, au, answer, 2, 90)
    else:
        named = b.reply(tr, root, au, f"{answer} btw", 1, 30)
    tr.evidence.append(named.key)
    fb += b.community(tr, root, b.rng.randint(0, 1), 0, edit=rp.is_edit)
    b.sample(tr, rp, rp.prompt_en, "root", ["root"], "root", ins, outs, dup_key=(rp.case, "en", rp.prompt_en), feedback=fb)
    return tr


# --- shapes that point at another tree ---------------------------------------------------------------------------


def quote_post(b: RealBuilder, orig: RTree, with_result: bool) -> RTree:
    """A quote of orig's root: the quoter's own result of the same prompt, or only a judgement."""
    rp = b.prompts[orig.case]
    split = rp.split
    s0: RSample = orig.samples[0]
    plat = orig.platform
    when = b.later(orig.root.when, 60, 3 * 24 * 60)
    if with_result:
        text, _ = b.say(ph.QUOTE_RESULT, split)
        ins, outs = b.images(plat, rp)
        root = Post("root", b.author(plat), b.vary(text), when, ins + outs, quote_of=orig.tree_id,
                    likes=b.rng.randint(3, 900))
        tr = b.tree(plat, root, "quote_post", split, rp.case, categories=["quote_result"], title=rp.title_en)
        tr.evidence.append("root")
        fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(0, 1), edit=rp.is_edit)
        quoted = f"{orig.tree_id}/root"
        b.sample(tr, rp, s0.prompt, "quoted_post", ["root", quoted], "root", ins, outs, fill_blank=s0.fill_blank,
                 modified=s0.prompt_modified, dup_key=s0.dup_key, feedback=fb)
    else:
        root = Post("root", b.author(plat), b.vary(b.pick(ph.QUOTE_JUDGEMENT, split)), when, [], quote_of=orig.tree_id,
                    likes=b.rng.randint(3, 900))
        tr = b.tree(plat, root, "quote_post", split, rp.case, categories=["quote_judgement"], title=rp.title_en)
        tr.evidence.extend(f"{orig.tree_id}/{k}" for k in orig.evidence if k == "root")
        b.community(tr, root, 0, b.rng.randint(0, 2))
        # the judgement is feedback on the quoted sample
        s0.feedback.append(Feedback(f"{tr.tree_id}/root", "success", []))
    return tr


def repost(b: RealBuilder, orig: RTree, mode: str) -> RTree:
    """Another user re-posts orig's prompt: 'verbatim' or 'edited', on another platform when it fits."""
    rp = b.prompts[orig.case]
    split = rp.split
    s0: RSample = orig.samples[0]
    if s0.prompt is None:
        return template_unfilled(b, rp, "repost", [p for p in PLATFORMS if p != orig.platform],
                                 when=b.later(orig.root.when, 120, 10 * 24 * 60))
    prompt = s0.prompt
    if mode == "edited":
        prompt = light_edit(prompt) or prompt
    wrap, _ = b.say(ph.REPOST_WRAPPERS, split)
    text = f"{b.vary(wrap)}\n\n{label_and(prompt, b.pick(ph.PROMPT_LABELS, split))}"
    others = [p for p in PLATFORMS if p != orig.platform] if b.rng.random() < 0.7 else list(PLATFORMS)
    plat = b.platform("repost", others, lambda p: fits(p, text))
    r = b.rng.random()
    seed = b.next_seed()
    if r < 0.3:
        ins = [b.media.copy(im, f"{plat}-{seed}-in{i}") for i, im in enumerate(s0.inputs)]
        outs = [b.media.copy(im, f"{plat}-{seed}-out{i}") for i, im in enumerate(s0.outputs)]
    elif r < 0.6:
        ins = [b.media.copy(im, f"{plat}-{seed}-in{i}") for i, im in enumerate(s0.inputs)]
        outs = [b.media.altered(im, f"{plat}-{seed}-out{i}", scale=0.8) for i, im in enumerate(s0.outputs)]
    else:
        ins, outs = b.images(plat, rp)
    root = Post("root", b.author(plat), text, b.later(orig.root.when, 120, 10 * 24 * 60), ins + outs,
                likes=b.rng.randint(1, 700))
    tr = b.tree(plat, root, "repost", split, rp.case, categories=[f"repost:{mode}"], title=rp.title_en)
    tr.evidence.append("root")
    fb = b.community(tr, root, b.rng.randint(0, 2), b.rng.randint(0, 1), edit=rp.is_edit)
    b.sample(tr, rp, prompt, "root", ["root"], "root", ins, outs, modified=s0.prompt_modified, dup_key=s0.dup_key,
             feedback=fb)
    tr.notes = f"re-post of {orig.tree_id} ({mode})"
    return tr


# --- not about the target model ---------------------------------------------------------------------------------


def off_topic(b: RealBuilder, idx: int) -> RTree:
    text, scene, caption = ph.OFF_TOPIC[idx]
    split = "dev" if idx % 2 == 0 else "test"  # the halves of ph.half
    plat = b.platform("off_topic", PLATFORMS, lambda p: fits(p, text))
    imgs = []
    if scene:
        seed = b.next_seed()
        imgs = [b.media.scene(f"{plat}-{seed}-photo", scene, caption, (176, 132), seed, "photo", "jpg")]
    root = Post("root", b.author(plat), text, b.when(), imgs, likes=b.rng.randint(0, 400))
    tr = b.tree(plat, root, "off_topic", split, relevant=False, title=text, subreddit="AskReddit")
    b.community(tr, root, 0, b.rng.randint(1, 3))
    return tr


def other_model(b: RealBuilder, idx: int, rp: RealPrompt) -> RTree:
    split = rp.split
    tmpl, name = ph.half(ph.OTHER_MODEL, split)[idx % len(ph.half(ph.OTHER_MODEL, split))]
    text = tmpl.format(p=rp.prompt_en)
    plat = b.platform("other_model", PLATFORMS, lambda p: fits(p, text))
    seed = b.next_seed()
    if rp.is_edit:
        inp, out = edit_pair(b.media, f"{plat}-{seed}", rp.input_kind, rp.edit_style, rp.caption, seed, (160, 160))
        imgs = [inp, out]
    else:
        imgs = [b.media.scene(f"{plat}-{seed}-out", rp.prompt_en, rp.caption, (160, 160), seed, "photo", "jpg")]
    root = Post("root", b.author(plat), text, b.when(), imgs, likes=b.rng.randint(5, 3000))
    tr = b.tree(plat, root, "other_model", split, rp.case, relevant=False, categories=[f"other_model:{name}"],
                title=text.split("\n")[0], subreddit={"midjourney": "midjourney", "flux": "FluxAI"}.get(name, "aiArt"))
    # judgements of another model's image: real replies, but not feedback on a target-model sample
    b.community(tr, root, 0, b.rng.randint(0, 2))
    if b.rng.random() < 0.5:
        text, _, _ = b.pick(ph.FEEDBACK, split)
        b.reply(tr, root, b.author(plat), b.vary(text))
    return tr


# --- the layout ---------------------------------------------------------------------------------------------------

PRIMARY_CYCLE = ["root_commentary", "prompt_in_reply", "thread_split", "alt_text", "quoted_sentence", "asked_answered",
                 "model_in_reply", "non_english", "root_commentary", "prompt_in_reply"]
EXTRA_SHAPES = ["root_commentary", "prompt_in_reply", "thread_split", "alt_text", "quoted_sentence", "asked_answered",
                "model_in_reply", "image_edit"]


def feasible(shape: str, rp: RealPrompt) -> bool:
    if shape == "quoted_sentence":
        return "\n" not in rp.prompt_en and len(rp.prompt_en) <= 230 and '"' not in rp.prompt_en
    if shape == "alt_text":
        return len(rp.prompt_en) <= 990
    if shape == "thread_split":
        return len(rp.prompt_en) >= 120
    if shape == "image_edit":
        return rp.is_edit
    return True


def make(b: RealBuilder, shape: str, rp: RealPrompt, lang: str = "es") -> RTree:
    if shape == "non_english":
        return non_english(b, rp, lang)
    fn = {"root_commentary": root_commentary, "prompt_in_reply": prompt_in_reply, "thread_split": thread_split,
          "alt_text": alt_text, "quoted_sentence": quoted_sentence, "asked_answered": asked_answered,
          "model_in_reply": model_in_reply, "image_edit": image_edit}[shape]
    return fn(b, rp)


def primary(b: RealBuilder) -> list[RTree]:
    """One tree per real prompt: JSON prompts, templates, then a cycle of shapes."""
    out = []
    for i, rp in enumerate(b.prompts.values()):
        if rp.is_json:
            out.append(json_prompt(b, rp))
        elif rp.is_template:
            out.append(template_unfilled(b, rp))
        else:
            shape = PRIMARY_CYCLE[i % len(PRIMARY_CYCLE)]
            if shape == "root_commentary" and rp.is_edit:
                shape = "image_edit"
            if not feasible(shape, rp):
                shape = "image_edit" if rp.is_edit else "root_commentary"
            out.append(make(b, shape, rp, NON_ENGLISH_LANGS[i % len(NON_ENGLISH_LANGS)]))
    return out


def build(prompts: list[RealPrompt], seed: int = SEED) -> RealBuilder:
    b = RealBuilder(prompts, seed)
    cases = list(b.prompts.values())
    first = primary(b)
    plain = [rp for rp in cases if not rp.is_template and not rp.is_json]

    # every shape again, on other platforms and with other prompts
    k = 0
    for shape in EXTRA_SHAPES:
        made = 0
        while made < 5:
            rp = plain[(k * 7) % len(plain)]
            k += 1
            if feasible(shape, rp):
                make(b, shape, rp)
                made += 1
    for i in range(18):
        rp = plain[(i * 11 + 3) % len(plain)]
        non_english(b, rp, NON_ENGLISH_LANGS[i % len(NON_ENGLISH_LANGS)])
    chinese = [rp for rp in plain if rp.has_chinese]
    for i in range(24):
        original_language(b, chinese[(i * 13 + 1) % len(chinese)])
    for i in range(6):  # a Chinese prompt asked for and answered in a reply
        prompt_in_reply(b, chinese[(i * 17 + 5) % len(chinese)], chinese[(i * 17 + 5) % len(chinese)].prompt_original,
                        pattern="original_language")
    for rp in cases:
        if rp.is_template:
            template_filled(b, rp)

    # quotes and re-posts of trees made so far
    quotable = [t for t in b.trees if t.platform != "reddit" and t.samples and "root" in t.evidence and not t.root.quote_of
                and t.samples[0].location in ("root", "alt_text")]  # the quoted post holds the whole prompt
    for i in range(24):
        quote_post(b, quotable[(i * 5 + 2) % len(quotable)], with_result=i % 2 == 0)
    templates = [t for t in first if t.pattern == "template_unfilled"]
    for t in templates[::3]:
        repost(b, t, "verbatim")
    originals = [t for t in first if t.samples and t.pattern != "template_unfilled"]
    for i in range(30):
        repost(b, originals[(i * 3 + 1) % len(originals)], "edited" if i % 3 == 1 else "verbatim")

    # not about the target model
    for i in range(len(ph.OFF_TOPIC)):
        off_topic(b, i)
    for i in range(32):
        other_model(b, i // 2, cases[(i * 3 + 2) % len(cases)])

    # steering attempts in some trees
    for i, tr in enumerate(b.trees):
        if i % 11 == 5:
            b.steer(tr, tr.root)
    return b


def duplicate_groups(b: RealBuilder) -> None:
    """Samples with the same duplicate key (same real prompt, same language, verbatim or lightly edited; the same
    unfilled template) form a group when there are two or more; the earliest is the original."""
    groups: dict[tuple, list[RSample]] = {}
    for s in b.samples:
        key = s.dup_key[:2] if s.dup_key[1:2] in (("en",), ("zh",)) else s.dup_key
        groups.setdefault(key, []).append(s)
    for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if len(members) < 2:
            continue
        members.sort(key=lambda s: s.when)
        gid = "dup-case{:03d}-{}".format(key[0], re.sub(r"[^a-z0-9]+", "-", str(key[1]).lower()).strip("-"))
        first = members[0]
        for s in members:
            s.dup_group = gid
            if s is first:
                s.dup_kind = "original"
            elif s.platform != first.platform:
                s.dup_kind = "cross_platform"
            elif s.prompt == first.prompt:
                s.dup_kind = "verbatim"
            else:
                s.dup_kind = "near_verbatim"
