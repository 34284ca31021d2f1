"""Prompts handed over explicitly: after a marker, as a JSON object, in quotes; and how a prompt's text is cut.

`find_prompt`: after a marker ("Prompt:", "Prompt 👇", "プロンプト↓", "提示词："), a JSON object with the line that
introduces it, a quoted instruction inside a sentence of commentary. A prompt may run over several lines and
paragraphs; it ends where the commentary starts (echo.llm.rules.commentary). Prompts without a marker
(descriptions, answers, alt text) are found by echo.llm.rules.descriptions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from echo.llm.rules.commentary import frame, is_commentary, is_credit, is_instruction, is_trailer
from echo.llm.rules.layout import Span, json_object, paragraphs, script, words
from echo.llm.rules.models import Models
from echo.llm.rules.patterns import (
    END_LINE,
    ENUM_ITEM,
    INJECTION,
    MARKER,
    PROMISE,
    QUOTED,
    REQUEST,
    SLANG,
    TRAILING_TAGS,
    URL,
    F,
)
from echo.text import bare_prompt

# What follows a marker when it only says where the prompt is ("Prompt: see below", "prompt - in the comments").
_LOCATION = re.compile(r"(?:see\s+|in\s+|is\s+|check\s+)?(?:the\s+|my\s+)?(?:first\s+|1st\s+|next\s+)?(?:below|above|reply|replies|"
                       r"comments?|thread|alt(?:\s+text)?|image\s+description|post|tweet|toot)\b[\W\s]*(?:if\s+\w+\s+wants?\s+it)?\W*", F)


# Markers tried per post: a label that only introduces another ("Prompt (4o images)\n\nPrompt 👇 ...") is skipped,
# but a post is not searched marker by marker to its end.
MAX_MARKERS = 8


@dataclass(frozen=True)
class FoundPrompt:
    prompt: str
    kind: str  # marker | json | quoted | description | answer | alt_text


def clean_tail(s: str, m: Models | None = None) -> str:
    """Drop what follows a prompt: result/settings lines, hashtags, handles, links, model credits."""
    lines = s.split("\n")
    keep = []
    for i, line in enumerate(lines):
        if i > 0 and END_LINE.search(line):
            break
        keep.append(line)
    s = "\n".join(keep)
    s = URL.sub("", s)
    full = s.strip()
    for _ in range(3):
        before = s
        s = TRAILING_TAGS.sub("", s).rstrip()
        if m is not None:
            last = re.search(r"[\s,;:|]*[\[(]([^\[\]()\n]*)[\])]\s*[.!]*$", s)  # "(made with 4o)", "[GPT-4o]" at the end
            if last and m.any_model.search(last.group(1)):
                s = s[:last.start()]
            s = re.sub(r"[\s,;|]*(?:[-–—|]\s*|\b(?:made|created|generated|rendered|done)\s+)?"
                       r"(?:with|by|in|using|on|via)\s+(?:the\s+new\s+|new\s+)?" + m.any_model.pattern
                       + r"(?:[\s\-]+(?:image\s*gen(?:eration)?|images?))?\s*[.!]*$", "", s, flags=F)
            s = re.sub(r"[\s,;|]+[-–—|]\s*" + m.any_model.pattern + r"[^\n]{0,20}$", "", s, flags=F)
        s = re.sub(r"[\s🧵👇⬇️]+$", "", s)
        if m is not None:
            # a closing sentence that credits a model or talks to a model is not part of the prompt
            last = re.search(r"(?<=[.!?])\s+([^.!?]+[.!?]*)$", s)
            if last and (INJECTION.search(last.group(1)) or is_credit(last.group(1), m)
                         or (m.any_model.search(frame(last.group(1))) and words(last.group(1)) <= 8)):
                s = s[:last.start()].rstrip().rstrip(".")
        if s == before:
            break
    s = s.strip()
    if s != full and full.startswith(s):
        s = s.rstrip(" .,;:-–—")  # the period closed the prompt before the credit we cut
    return s


def unquote(s: str) -> str:
    s = s.strip()
    pairs = {'"': '"', "“": "”", "'": "'", "«": "»", "„": "“", "‘": "’", "「": "」", "『": "』"}
    if len(s) >= 2 and s[0] in pairs and s.endswith(pairs[s[0]]) and s[1:-1].count(pairs[s[0]]) == 0:
        return s[1:-1].strip()
    return s


# --- explicit prompts -------------------------------------------------------------------------------------


def find_prompt(text: str | None, m: Models | None = None) -> FoundPrompt | None:
    """A prompt handed over explicitly: a JSON object, after a "Prompt:" marker, or in quotes. None otherwise."""
    if not text:
        return None
    if m is not None:
        js = json_prompt(text, m)
        if js:
            return FoundPrompt(js, "json")
    for k, mk in enumerate(MARKER.finditer(text)):
        if k >= MAX_MARKERS:
            break
        prompt = after_marker(text[mk.end():], m)
        if prompt:
            return FoundPrompt(prompt, "marker")
    best = None
    for q in QUOTED.finditer(text):
        s = next(g for g in q.groups() if g is not None).strip()
        if (words(s) >= 4 and (best is None or len(s) > len(best))
                and (m is None or _quote_stands_alone(text, q.start(), q.end(), m))):
            best = s
    if best:
        return FoundPrompt(best, "quoted")
    if m is not None:
        # "Edited my selfie with 4o: make me look like a silent film star" - a colon after a model name
        mc = re.search(m.any_model.pattern + r"(?:\s+(?:image\s*gen(?:eration)?|images?))?\s*[:：]\s+(?=\S)", text, F)
        if mc:
            rest = re.split(r"\n\s*\n", text[mc.end():])[0]
            prompt = unquote(clean_tail(_drop_trailers(rest, m), m))
            if len(prompt.split()) >= 3 and not is_commentary(prompt, m):
                return FoundPrompt(prompt, "marker")
    return None


def after_marker(rest: str, m: Models | None) -> str | None:
    """The prompt after a marker: a quoted text, or the first paragraph (its lines up to a closing line such as
    "Made with ChatGPT") and the paragraphs after it that still describe the picture. None when what follows
    is empty, another marker, a pointer to elsewhere ("see below") or commentary."""
    rest = re.sub(r"^[\s👇⬇️↓⤵️🔽⏬➡️👉→:：\-–—>]+", "", rest)
    q = re.match(r"[\"“«„「『]", rest)
    if q:
        close = {'"': '"', "“": "”", "«": "»", "„": "“", "「": "」", "『": "』"}[q.group(0)]
        end = rest.find(close, 1)
        if end == -1 and close == "“":
            end = rest.find("”", 1)
        if end > 1 and not rest[end + 1:end + 2].isalnum():
            return rest[1:end].strip()
    paras = paragraphs(rest)
    if not paras or MARKER.match(paras[0].text):
        return None
    if m is None:
        prompt = unquote(clean_tail(paras[0].text))
    else:
        end = paras[0].start + len(_drop_trailers(paras[0].text, m))
        if end == paras[0].end:  # the whole first paragraph is prompt: the next ones may continue it
            for p in paras[1:]:
                if (is_trailer(p.text.split("\n")[0], m) or is_commentary(p.text, m)
                        or script(p.text) != script(paras[0].text)):
                    break
                end = p.end
        prompt = unquote(clean_tail(rest[paras[0].start:end], m))
    if len(prompt) < 3 or PROMISE.fullmatch(prompt) or _LOCATION.fullmatch(prompt) or (m is not None and _chat(prompt, m)):
        return None
    return prompt


def _chat(s: str, m: Models) -> bool:
    """Short text after a marker that is plainly chat, not a prompt ("Prompt: lol", "prompt - ask 4o")."""
    f = frame(s)
    return words(s) <= 8 and not is_instruction(s) and bool(
        "?" in f or SLANG.search(f) or m.any_model.search(f) or END_LINE.match(s) or REQUEST.search(s))


def _drop_trailers(s: str, m: Models) -> str:
    """Keep the first line and the lines after it up to the first one that closes the prompt."""
    if json_object(s):
        return s
    lines = s.split("\n")
    keep = [lines[0]]
    for line in lines[1:]:
        if is_trailer(line, m):
            break
        keep.append(line)
    return "\n".join(keep)


def json_prompt(text: str, m: Models) -> str | None:
    """A JSON-structured prompt: the object and the lines of its paragraph that introduce it
    ("Generate a toilet with the following JSON profile:")."""
    js = json_object(text)
    if js is None:
        return None
    para = next((p for p in paragraphs(text) if p.start <= js.start < p.end), None)
    start = para.start if para else js.start
    lead = text[start:js.start]
    mk = None
    for mk in MARKER.finditer(lead):
        pass
    if mk is not None:
        start += mk.end()
        lead = text[start:js.start]
    kept = lead.split("\n")
    while kept and kept[0].strip() and is_commentary(kept[0], m) and not is_instruction(kept[0]):
        start += len(kept[0]) + 1
        kept = kept[1:]
    return text[start:js.end].strip()


def _quote_stands_alone(text: str, a: int, b: int, m: Models) -> bool:
    """A quoted text is the prompt when the sentence around it is commentary ('I asked 4o for "..." and wow');
    a quote inside a description ('a poster with the slogan "..." in bold') is part of a larger prompt."""
    para = next((p for p in paragraphs(text) if p.start <= a < p.end), Span(0, len(text), text))
    around = para.text[:a - para.start] + " Q " + para.text[b - para.start:]
    if json_object(para.text):
        return False
    if words(around) <= 3:
        return True
    return is_commentary(around, m) and not is_instruction(around)


# --- several prompts, promises, similarity ----------------------------------------------------------------


def promises_prompt(text: str | None) -> bool:
    """The author says the prompt follows in a reply, the comments or the thread."""
    return bool(text and PROMISE.search(text))


def enumerated_prompts(text: str | None) -> list[str]:
    """'1) a fox in snow\n2) a cat in a hat': one prompt per numbered line (two or more, three words each)."""
    if not text:
        return []
    items = [mt.group(1) for mt in ENUM_ITEM.finditer(text)]
    return items if len(items) >= 2 and all(len(i.split()) >= 3 for i in items) else []


def similar_prompts(a: str | None, b: str | None, threshold: float = 0.85) -> bool:
    na, nb = bare_prompt(a), bare_prompt(b)
    if not na or not nb:
        return False
    return na == nb or difflib.SequenceMatcher(None, na, nb).ratio() >= threshold
