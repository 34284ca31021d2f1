"""A prompt split over a thread of the author's posts, numbered 1/n, 2/n ...: the numbering and the parts."""

from __future__ import annotations

import re

from echo.llm.rules.layout import paragraphs
from echo.llm.rules.models import Models
from echo.llm.rules.patterns import CONTINUATION, SPLIT, F
from echo.llm.rules.descriptions import description_prompt
from echo.llm.rules.prompts import after_marker, clean_tail, find_prompt, unquote


def split_marker(text: str | None) -> tuple[int, int] | None:
    """(k, n) for a post numbered k/n at the start or end of one of its lines ("1/2 Prompt: ...",
    "... (2/2)", "sharing the prompt 🧵 1/3\\n\\n<first part>")."""
    if not text:
        return None
    t = text.strip()
    for mt in SPLIT.finditer(t):
        k, n = int(mt.group(1)), int(mt.group(2))
        if 1 <= k <= n <= 20 and n >= 2 and _split_position_ok(t, mt):
            return k, n
    return None


def _split_position_ok(t: str, mt: re.Match[str]) -> bool:
    """Thread numbering opens or closes a line ("1/2 ...", "... (2/2)", "Prompt (1/2): ...")."""
    line_start = t.rfind("\n", 0, mt.start()) + 1
    line_end = t.find("\n", mt.end())
    head = t[line_start:mt.start()]
    tail = t[mt.end():] if line_end == -1 else t[mt.end():line_end]
    return (len(head.strip(" 🧵([")) == 0 or re.fullmatch(r".{0,30}\bprompt\s*[(\[]?\s*", head, F | re.S) is not None
            or len(tail.strip(" .)]🧵👇⬇️:")) == 0)


def strip_split(text: str) -> str:
    t = text.strip()
    for mt in SPLIT.finditer(t):
        if _split_position_ok(t, mt):
            t = (t[:mt.start()] + t[mt.end():]).strip()
            break
    t = re.sub(r"^[\s🧵:.\-–—]+", "", t)
    return t.strip()


def first_part(text: str, m: Models) -> str:
    """The prompt part of the first post of a split prompt: after its marker, else the describing paragraphs
    after the introduction ("sharing the full prompt 🧵 1/3"), else its last paragraph."""
    t = strip_split(text)
    found = find_prompt(t, m)
    if found and found.kind in ("marker", "json"):
        return found.prompt
    desc = description_prompt(t, m)
    if desc:
        return desc.prompt
    paras = paragraphs(t)
    return unquote(clean_tail(paras[-1].text, m)) if paras else ""


def continuation(text: str, m: Models) -> str:
    """The prompt part of a continuation post: numbering, 'cont.' and credits removed."""
    t = strip_split(text)
    found = find_prompt(t, m)
    if found and found.kind == "marker":
        return found.prompt
    t = CONTINUATION.sub("", t)
    # the part and the paragraphs that go on describing; chat after the last part ("hope this helps") is left out
    return after_marker(t, m) or unquote(clean_tail(t, m))
