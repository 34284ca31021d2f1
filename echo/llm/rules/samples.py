"""A tree's samples: which posts carry a prompt and its images, which replies judge it, its quality and task."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from echo.llm.backend import PostView, TreeItem
from echo.llm.rules.feedback import polarity
from echo.llm.rules.images import is_screenshot, mentions_screenshot
from echo.llm.injection import strip_injection
from echo.llm.rules.layout import words
from echo.llm.rules.models import Models, models
from echo.llm.rules.patterns import (
    BEFORE_AFTER,
    CATEGORIES,
    COMPARISON,
    I2I,
    INPUT_ALT,
    LEADING_MENTIONS,
    PERSONAL,
    REQUEST,
    REUSE,
    F,
)
from echo.llm.rules.descriptions import alt_prompt, answer_prompt, described_in_sentence, description_prompt
from echo.llm.rules.prompts import (
    FoundPrompt,
    clean_tail,
    enumerated_prompts,
    find_prompt,
    promises_prompt,
    similar_prompts,
)
from echo.llm.rules.threads import continuation, first_part, split_marker

@dataclass
class _Draft:
    anchor: str
    prompt: str | None = None
    modified: bool = False
    evidence: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    how: str = ""
    awaiting_prompt: bool = False
    from_thread: bool = True
    guessed: bool = False  # the prompt was read from a description; the author's explicit answer replaces it


def _op_thread(posts: Sequence[PostView], root: PostView) -> list[PostView]:
    """The root and its author's unbroken self-replies, in tree order."""
    ids = {root.post_id}
    out = [root]
    for p in posts:
        if p.post_id == root.post_id:
            continue
        if p.author == root.author and root.author is not None and p.parent_id in ids:
            ids.add(p.post_id)
            out.append(p)
    return out


@dataclass
class _Tree:
    """A tree as the sample rules read it."""

    posts: list[PostView]
    root: PostView
    by_id: dict[str, PostView]
    order: dict[str, int]
    alt_by_post: dict[str, list[str]]
    thread: list[PostView]  # the root and its author's self-replies
    quoted_only: set[str]  # posts the tree quotes that do not reply in it: context, not material
    images: tuple = ()


def _read_tree(item: TreeItem) -> _Tree:
    posts = list(item.posts)
    by_id = {p.post_id: p for p in posts}
    root = by_id.get(item.root_id) or posts[0]
    alt_by_post: dict[str, list[str]] = {}
    for im in item.images:
        if im.alt_text:
            alt_by_post.setdefault(im.post_id, []).append(im.alt_text)
    quoted_only = {p.post_id for p in posts if p.post_id != root.post_id and p.parent_id is None
                   and any(q.quoted_id == p.post_id for q in posts)}
    return _Tree(posts=posts, root=root, by_id=by_id, order={p.post_id: i for i, p in enumerate(posts)},
                 alt_by_post=alt_by_post, thread=_op_thread(posts, root), quoted_only=quoted_only,
                 images=item.images)


def tree_samples(item: TreeItem, *, target_model: str) -> list[dict[str, Any]]:
    """Samples of one tree as tree_to_samples documents (schemas/llm/tree_to_samples.json).

    Three steps: the author's own thread gives the samples (`_thread_samples`), other people's replies join
    a sample as evidence or feedback, or bring a prompt of their own (`_place_replies`), then each sample gets
    its quality and task (`_document`).
    """
    if not item.posts:
        return []
    m = models(target_model)
    tree = _read_tree(item)
    drafts, used = _thread_samples(tree, m)
    _place_replies(tree, m, drafts, used)
    return [_document(tree, m, d) for d in drafts]


def _split_prompt(tree: _Tree, m: Models, i: int, text: str) -> tuple[_Draft | None, int]:
    """A prompt numbered 1/n, 2/n ... over consecutive author posts: one stitched sample, and where the walk goes on."""
    split = split_marker(text)
    if not (split and split[0] == 1):
        return None, i
    thread, p = tree.thread, tree.thread[i - 1]
    parts = [p]
    k = 1
    while i < len(thread) and split_marker(strip_injection(thread[i].text)[0]) == (k + 1, split[1]):
        parts.append(thread[i])
        k += 1
        i += 1
    if len(parts) == 1:
        return None, i
    pieces = [first_part(text, m)] + [continuation(own_words(q.text), m) for q in parts[1:]]
    prompt = " ".join(x for x in pieces if x)
    return _Draft(anchor=p.post_id, prompt=prompt or None, modified=True, evidence=[q.post_id for q in parts],
                  how=f"prompt stitched from {len(parts)} posts"), i


def _answer_promised(waiting: _Draft, p: PostView, prompt: str, how: str) -> None:
    """The author's later post gives the prompt an earlier one promised ("prompt below")."""
    waiting.prompt, waiting.anchor = prompt, p.post_id
    waiting.evidence.append(p.post_id)
    waiting.how += how
    waiting.awaiting_prompt = waiting.guessed = False


def _thread_samples(tree: _Tree, m: Models) -> tuple[list[_Draft], set[str]]:
    """Walk the author's thread: each post starts a sample, completes a promised one, or adds its results."""
    thread, root = tree.thread, tree.root
    used: set[str] = set()
    drafts: list[_Draft] = []
    waiting: _Draft | None = None  # a sample whose post promised the prompt ("prompt below")
    unexplained: _Draft | None = None  # a sample with images and no prompt: a text-only self-reply may give it
    i = 0
    while i < len(thread):
        p = thread[i]
        i += 1
        text = own_words(p.text)
        stitched, i = _split_prompt(tree, m, i, text)
        if stitched is not None:
            drafts.append(stitched)
            used.update(stitched.evidence)
            continue
        listed = enumerated_prompts(text) if len(p.image_ids) >= 2 else []
        if len(listed) != len(p.image_ids):
            listed = []  # a numbered list inside one prompt ("six poses: 1. ... 2. ...") is not several prompts
        if listed and waiting is None:
            # several prompts with their images in one post: one sample each, sharing the post
            for k, item_prompt in enumerate(listed):
                drafts.append(_Draft(anchor=p.post_id, prompt=clean_tail(item_prompt, m), evidence=[p.post_id],
                                     how=f"prompt {k + 1} of {len(listed)} listed in one post"))
            used.add(p.post_id)
            continue
        quoted = tree.by_id.get(p.quoted_id) if p.post_id == root.post_id and p.quoted_id else None
        found = find_prompt(text, m)
        if quoted is not None and not found and p.image_ids:
            # a quote-post with the quoter's own result: the prompt is in the quoted post
            in_quote = _post_prompt(tree, m, quoted)
            if in_quote:
                drafts.append(_Draft(anchor=p.post_id, prompt=in_quote.prompt, evidence=[p.post_id, quoted.post_id],
                                     how=f"prompt in the quoted post ({in_quote.kind})"))
                used.update((p.post_id, quoted.post_id))
                continue
        answer = (found or answer_prompt(text, m)) if waiting is not None else None
        if answer and waiting is not None:
            _answer_promised(waiting, p, answer.prompt, f"; prompt in the author's reply ({answer.kind})")
            waiting = None
            used.add(p.post_id)
            continue
        if unexplained is not None and not p.image_ids:
            given = found or description_prompt(text, m)
            if given:
                _answer_promised(unexplained, p, given.prompt, f"; the author's reply gives the prompt ({given.kind})")
                unexplained = None
                used.add(p.post_id)
                continue
        if found:
            drafts.append(_Draft(anchor=p.post_id, prompt=found.prompt, evidence=[p.post_id], how=f"prompt by {found.kind}"))
            used.add(p.post_id)
            continue
        in_alt = _alt_text_prompt(tree, m, p, text)
        if in_alt:  # "prompt in the alt text"
            drafts.append(_Draft(anchor=p.post_id, prompt=in_alt.prompt, evidence=[p.post_id], how="prompt in alt text"))
            used.add(p.post_id)
            continue
        if promises_prompt(text):
            waiting = _Draft(anchor=p.post_id, evidence=[p.post_id], how="prompt promised in a reply",
                             awaiting_prompt=True)
            drafts.append(waiting)
            used.add(p.post_id)
            continue
        if p.image_ids:
            last = drafts[-1] if drafts else None
            if last is not None and last.from_thread and (last.prompt or last.awaiting_prompt) and not _is_own_task(text, m):
                last.evidence.append(p.post_id)  # more results (or the results) of the previous prompt
                used.add(p.post_id)
                continue
            desc = described_in_sentence(text, m) or description_prompt(text, m)
            drafts.append(_Draft(anchor=p.post_id, prompt=desc.prompt if desc else None, evidence=[p.post_id],
                                 how=f"prompt by {desc.kind}" if desc else "images without a prompt", guessed=bool(desc)))
            unexplained = None if desc else drafts[-1]
            used.add(p.post_id)
            continue
        if p.post_id == root.post_id:
            drafts.append(_Draft(anchor=p.post_id, evidence=[p.post_id], how="no prompt, no images"))
            used.add(p.post_id)
    return drafts, used


def own_words(text: str | None) -> str:
    """A post's text as the rules read it: without steering attempts and without the @handles a reply opens with."""
    return LEADING_MENTIONS.sub("", strip_injection(text)[0])


def _post_prompt(tree: _Tree, m: Models, p: PostView) -> FoundPrompt | None:
    """The prompt a post carries: explicit, as a description, or in its images' alt text."""
    text = own_words(p.text)
    return find_prompt(text, m) or description_prompt(text, m) or _alt_text_prompt(tree, m, p, text)


def _alt_text_prompt(tree: _Tree, m: Models, p: PostView, text: str) -> FoundPrompt | None:
    pointed = bool(re.search(r"\balt\b|alt[\s\-]?text|image\s+description|代替テキスト|替代文本", text, F))
    return next((f for f in (alt_prompt(strip_injection(a)[0], m, pointed=pointed)
                             for a in tree.alt_by_post.get(p.post_id, [])) if f), None)


def _owner(tree: _Tree, drafts: list[_Draft], p: PostView, root_draft: _Draft | None) -> _Draft | None:
    """The sample a reply belongs to: the nearest ancestor (or quoted post) in some sample, else the root's."""
    seen = set()
    cur: str | None = p.parent_id or p.quoted_id
    while cur and cur not in seen:
        seen.add(cur)
        for d in drafts:
            if cur in d.evidence or cur in d.feedback:
                return d
        parent = tree.by_id.get(cur)
        cur = (parent.parent_id or parent.quoted_id) if parent else None
    return root_draft


def _place_replies(tree: _Tree, m: Models, drafts: list[_Draft], used: set[str]) -> None:
    """Every post outside the author's thread: the author's late prompt or results, another user's reuse of the
    prompt or prompt of their own, or a judgement of the sample it answers (feedback)."""
    root = tree.root
    thread_ids = {p.post_id for p in tree.thread}
    root_draft = next((d for d in drafts if root.post_id in d.evidence), drafts[0] if drafts else None)
    for p in tree.posts:
        if p.post_id in used or p.post_id in thread_ids or p.post_id in tree.quoted_only:
            continue
        text = own_words(p.text)
        target = _owner(tree, drafts, p, root_draft)
        found = find_prompt(text, m)
        if p.author == root.author and root.author is not None:
            parent = tree.by_id.get(p.parent_id or "")
            asked = parent is not None and parent.author != root.author and bool(REQUEST.search(parent.text or ""))
            # an explicit answer, or a much longer description, replaces a prompt guessed from a description
            can_take = target is not None and (not target.prompt or (target.guessed and bool(asked or found)))
            if target is not None and target.guessed and not can_take and not p.image_ids:
                longer = description_prompt(text, m)
                if longer and words(longer.prompt) > 2 * words(target.prompt):
                    can_take, found = True, longer
            if can_take and not found:
                # asked for or promised: the reply is the answer; else only a reply that reads as a prompt
                found = answer_prompt(text, m) if (asked or target.awaiting_prompt) else description_prompt(text, m)
            if can_take and found:
                how = "answer to a request" if asked else "reply"
                _answer_promised(target, p, found.prompt, f"; prompt in the author's {how} ({found.kind})")
                used.add(p.post_id)
            elif target is not None and p.image_ids:
                target.evidence.append(p.post_id)
                used.add(p.post_id)
            continue  # the author talking in their own tree is not feedback
        if p.image_ids:
            base = target.prompt if target else None
            if target is not None and (REUSE.search(text) or (found and similar_prompts(found.prompt, base))):
                target.evidence.append(p.post_id)
                target.how += "; a reply reuses the prompt"
                used.add(p.post_id)
                continue
            if found:
                drafts.append(_Draft(anchor=p.post_id, prompt=found.prompt, evidence=[p.post_id],
                                     how=f"another user's prompt by {found.kind}", from_thread=False))
                used.add(p.post_id)
                continue
        # a reply judges a sample only when it says something good or bad (not chatter, questions or orders)
        if target is not None and text.strip() and not REQUEST.search(text) and polarity(text)[0] != "neutral":
            target.feedback.append(p.post_id)
            used.add(p.post_id)


def _document(tree: _Tree, m: Models, d: _Draft) -> dict[str, Any]:
    """One tree_to_samples sample: evidence in tree order, quality and task from the evidence posts."""
    order, by_id = tree.order, tree.by_id
    d.evidence.sort(key=lambda x: order.get(x, 0))
    ev_posts = [by_id[x] for x in d.evidence if x in by_id]
    texts = [strip_injection(q.text)[0] for q in ev_posts]
    alts = [a for q in ev_posts for a in tree.alt_by_post.get(q.post_id, [])]
    thread_text = " ".join([strip_injection(q.text)[0] for q in tree.thread] + texts + alts)
    has_images = any(q.image_ids for q in ev_posts)
    ev_images = [im for im in tree.images if im.post_id in d.evidence]
    shot = any(is_screenshot(im, [strip_injection(by_id[im.post_id].text)[0]])[0] for im in ev_images
               if im.post_id in by_id)
    quality, why = _quality(d, texts, alts, thread_text, has_images, m, shot)
    task = _task(d, texts, alts, has_images, quality, sum(len(q.image_ids) for q in ev_posts))
    return {
        "anchor_post_id": d.anchor,
        "prompt": d.prompt,
        "prompt_modified": bool(d.modified),
        "evidence_post_ids": d.evidence,
        "quality": quality,
        "task": task,
        "feedback_post_ids": sorted(d.feedback, key=lambda x: order.get(x, 0)),
        "notes": f"rules: {d.how}; {why}"[:1000],
    }


def _is_own_task(text: str, m: Models) -> bool:
    """An author post with its own prompt or description starts a new sample instead of adding results."""
    return bool(find_prompt(text, m) or description_prompt(text, m))





def _quality(d: _Draft, texts: list[str], alts: list[str], thread_text: str, has_images: bool, m: Models,
             screenshot: bool = False) -> tuple[str, str]:
    """benchmark: one coherent task (a prompt, or a chat screenshot holding one); analysis: comparisons and
    questions about how the model renders things; trash: no task (memes, complaints) or another model."""
    target = bool(m.strong.search(thread_text) or (m.weak and m.weak.search(thread_text)))
    others = m.other_names(thread_text)
    if others and not target:
        return "trash", f"about {', '.join(others)}, not {m.target}"
    joined = " ".join(texts)
    anchor_others = m.other_names(joined)
    if anchor_others and target and (d.prompt or has_images):
        return "analysis", f"compares {m.target} with {', '.join(anchor_others)}"
    if d.prompt:
        return "benchmark", "a prompt" + (" with images" if has_images else " without images")
    if has_images and (screenshot or mentions_screenshot(texts + alts)):
        return "benchmark", "a chat screenshot carries the prompt"
    if not target:
        return "trash", f"no task and no mention of {m.target}"
    if COMPARISON.search(joined):
        return "analysis", "a comparison without a task"
    if "?" in joined and any(rx.search(joined) for rx in CATEGORIES.values()):
        return "analysis", "a question about how the model renders images"
    return "trash", "no task: commentary, a meme or a complaint"


def _task(d: _Draft, texts: list[str], alts: list[str], has_images: bool, quality: str, n_images: int = 0) -> str | None:
    if not d.prompt and not has_images:
        return None
    if quality == "trash" and not d.prompt:
        return None
    blob = " ".join([d.prompt or ""] + texts)
    if I2I.search(blob) or BEFORE_AFTER.search(blob) or any(INPUT_ALT.search(a) for a in alts):
        return "image_to_image"
    if n_images >= 2 and PERSONAL.search(blob):
        return "image_to_image"
    return "text_to_image"
