"""Versioned prompt templates (echo/llm/templates/<step>.v<N>.txt) and the rendering of untrusted posts.

A template file has a `### system` and a `### user` section with $placeholders (string.Template, so braces in
post text are harmless). The newest version of each step is used; its name ("relevance.v1") is the version
recorded on every row the step produces.

Posts are data: each is rendered as <post id=... author=...>"JSON-encoded text"</post>, with <, > and & escaped
inside the JSON string, so no post can close its tag or forge another post.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from echo.llm.backend import STEPS, ImageView, PostView, RelevanceItem, TreeItem
from echo.llm.injection import without_injection
from echo.records import FEEDBACK_CATEGORIES

_VERSION_RE = re.compile(r"^(?P<step>[a-z_]+)\.v(?P<n>\d+)\.txt$")


@dataclass(frozen=True)
class PromptTemplate:
    step: str
    version: str  # e.g. "relevance.v1"
    system: str
    user: str

    def render(self, **values: Any) -> tuple[str, str]:
        try:
            return Template(self.system).substitute(values), Template(self.user).substitute(values)
        except KeyError as e:
            raise ValueError(f"template {self.version} needs a value for {e}") from None


def _parse(step: str, version: str, text: str) -> PromptTemplate:
    parts = re.split(r"^### (system|user)\s*$", text, flags=re.M)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ValueError(f"template {version}: needs exactly a '### system' and a '### user' section")
    return PromptTemplate(step, version, sections["system"], sections["user"])


@functools.cache
def template(step: str) -> PromptTemplate:
    """The newest template of a step."""
    if step not in STEPS:
        raise KeyError(f"unknown LLM step {step!r}; steps: {', '.join(STEPS)}")
    found = []
    for f in resources.files("echo.llm").joinpath("templates").iterdir():
        m = _VERSION_RE.match(f.name)
        if m and m["step"] == step:
            found.append((int(m["n"]), f))
    if not found:
        raise FileNotFoundError(f"no template echo/llm/templates/{step}.v<N>.txt")
    n, f = max(found, key=lambda t: t[0])
    return _parse(step, f"{step}.v{n}", f.read_text(encoding="utf-8"))


def versions() -> dict[str, str]:
    return {s: template(s).version for s in STEPS}


# --- rendering untrusted data ----------------------------------------------------------------------


def quote(text: str | None) -> str:
    """JSON-encode a string with the characters that could open or close a tag escaped."""
    s = json.dumps(text, ensure_ascii=False)
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def untrusted(text: str | None) -> str:
    """Post or alt text as data for a model: sentences addressed to a model or an annotator removed, then quoted."""
    return quote(without_injection(text))


def post_block(post: PostView, *, image_aliases: dict[str, str] | None = None, show_images: bool = True,
               tag: str = "post", relation: str | None = None, of: str | None = None) -> str:
    """A post as data. `tag="context"` (with its `relation` to the post `of` asked about) marks a post that is shown
    only to explain another one, so neither a model nor a parser mistakes it for a post to answer about."""
    attrs = ([f"relation={quote(relation)}", f"of={quote(of)}"] if relation else []) + [
        f"id={quote(post.post_id)}", f"author={quote(post.author or '')}", f"depth={post.depth}"]
    if post.parent_id:
        attrs.append(f"reply_to={quote(post.parent_id)}")
    if post.quoted_id:
        attrs.append(f"quotes={quote(post.quoted_id)}")
    if show_images and post.image_ids:
        ids = [image_aliases.get(u, u) if image_aliases else u for u in post.image_ids]
        attrs.append(f"images={quote(','.join(ids))}")
    return f"<{tag} {' '.join(attrs)}>{untrusted(post.text)}</{tag}>"


def posts_block(posts, **kw) -> str:
    return "\n".join(post_block(p, **kw) for p in posts)


def relevance_block(item: RelevanceItem) -> str:
    """One post to score, with what a reader sees around it: the posts it replies to, its images' alt text, and
    (for a thread's first post) the replies and quotes of its thread, which may name the model it does not."""
    of = item.post.post_id
    lines = [post_block(c, show_images=False, tag="context", of=of,
                        relation="quoted by it" if c.post_id == item.post.quoted_id else "replied to")
             for c in item.context]
    alts = [a for a in (without_injection(im.alt_text) for im in item.images) if a]
    extra = ""
    if item.post.image_ids:
        extra = f" [{len(item.post.image_ids)} image(s)" + (f", alt text {quote(' | '.join(alts))}" if alts else "") + "]"
    lines.append(post_block(item.post, show_images=False) + extra)
    lines += [post_block(t, show_images=False, tag="context", relation="in its thread", of=of) for t in item.thread]
    return "\n".join(lines)


def tree_block(item: TreeItem) -> str:
    """A thread for tree_to_samples: every post, then every image with the post it belongs to and its alt text
    (authors often put the prompt there)."""
    images = list(item.images)
    aliases = image_aliases(images)
    text = posts_block(item.posts, image_aliases=aliases)
    if images:
        text += "\nImages:\n" + "\n".join(image_line(aliases[im.image_id], im) for im in images)
    return text


def image_aliases(images: list[ImageView]) -> dict[str, str]:
    """Short ids i1, i2 ... for image URLs: the model answers with these, and unknown ones are dropped."""
    return {im.image_id: f"i{n}" for n, im in enumerate(images, 1)}


def image_line(alias: str, im: ImageView, role: str | None = None) -> str:
    bits = [f"id={alias}", f"post={quote(im.post_id)}"]
    if role:
        bits.append(f"role={role}")
    if im.width and im.height:
        bits.append(f"size={im.width}x{im.height}")
    if im.alt_text:
        bits.append(f"alt={untrusted(im.alt_text)}")
    return "<image " + " ".join(bits) + ">"


def categories_text() -> str:
    return ", ".join(f'"{c}"' for c in FEEDBACK_CATEGORIES)
