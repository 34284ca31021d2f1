"""Finding the prompt in a post: after a marker, in quotes, as a description, split over a thread, listed."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from echo.llm.rules.models import Models
from echo.llm.rules.patterns import (
    ARTICLE_START,
    CONTINUATION,
    END_LINE,
    ENUM_ITEM,
    IMPERATIVES,
    INJECTION,
    MARKER,
    META,
    PROMISE,
    QUOTED,
    SPLIT,
    TRAILING_TAGS,
    URL,
    F,
)
from echo.text import bare_prompt
from echo.llm import lexicon as lx

@dataclass(frozen=True)
class FoundPrompt:
    prompt: str
    kind: str  # marker | quoted | description | whole


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
            s = re.sub(r"[\s,;:|]*[\[(][^\])]*" + m.any_model.pattern + r"[^\])]*[\])]\s*[.!]*$", "", s, flags=F)
            s = re.sub(r"[\s,;|]*(?:[-–—|]\s*|\b(?:made|created|generated|rendered|done)\s+)?"
                       r"(?:with|by|in|using|on|via)\s+(?:the\s+new\s+|new\s+)?" + m.any_model.pattern
                       + r"(?:[\s\-]+(?:image\s*gen(?:eration)?|images?))?\s*[.!]*$", "", s, flags=F)
            s = re.sub(r"[\s,;|]+[-–—|]\s*" + m.any_model.pattern + r"[^\n]{0,20}$", "", s, flags=F)
        s = re.sub(r"[\s🧵👇⬇️]+$", "", s)
        if m is not None:
            # a closing sentence that credits a model or talks to a model is not part of the prompt
            last = re.search(r"(?<=[.!?])\s+([^.!?]+[.!?]*)$", s)
            if last and (m.any_model.search(last.group(1)) or INJECTION.search(last.group(1))):
                s = s[:last.start()].rstrip().rstrip(".")
        if s == before:
            break
    s = s.strip()
    if s != full and full.startswith(s):
        s = s.rstrip(" .,;:-–—")  # the period closed the prompt before the credit we cut
    return s


def unquote(s: str) -> str:
    s = s.strip()
    pairs = {'"': '"', "“": "”", "'": "'", "«": "»", "„": "“", "‘": "’"}
    if len(s) >= 2 and s[0] in pairs and s.endswith(pairs[s[0]]) and s[1:-1].count(pairs[s[0]]) == 0:
        return s[1:-1].strip()
    return s


def find_prompt(text: str | None, m: Models | None = None) -> FoundPrompt | None:
    """A prompt handed over explicitly: after a "Prompt:" marker, or in quotes. None otherwise."""
    if not text:
        return None
    mk = MARKER.search(text)
    if mk:
        rest = text[mk.end():].lstrip()
        paragraphs = [x for x in re.split(r"\n\s*\n", rest) if x.strip()]
        if paragraphs:
            rest = paragraphs[0]  # a blank line closes the prompt; what follows is commentary
        q = re.match(r"[\"“«„]", rest)
        if q:
            close = {'"': '"', "“": "”", "«": "»", "„": "“"}[q.group(0)]
            end = rest.find(close, 1)
            if end == -1 and close == "“":
                end = rest.find("”", 1)
            if end > 1:
                return FoundPrompt(rest[1:end].strip(), "marker")
        prompt = unquote(clean_tail(_drop_commentary_lines(rest, m) if m is not None else rest, m))
        if len(prompt) >= 3 and not PROMISE.fullmatch(prompt) and not re.fullmatch(r"(?:see\s+)?(?:below|above|reply|comments?)\W*", prompt, F):
            return FoundPrompt(prompt, "marker")
    best = None
    for q in QUOTED.finditer(text):
        s = next(g for g in q.groups() if g is not None).strip()
        if len(s.split()) >= 4 and (best is None or len(s) > len(best)):
            best = s
    if best:
        return FoundPrompt(best, "quoted")
    if m is not None:
        # "Edited my selfie with 4o: make me look like a silent film star" - a colon after a model name
        mc = re.search(m.any_model.pattern + r"(?:\s+(?:image\s*gen(?:eration)?|images?))?\s*[:：]\s+(?=\S)", text, F)
        if mc:
            rest = re.split(r"\n\s*\n", text[mc.end():])[0]
            prompt = unquote(clean_tail(_drop_commentary_lines(rest, m), m))
            if len(prompt.split()) >= 3 and not _is_commentary(prompt, m):
                return FoundPrompt(prompt, "marker")
    return None


_MADE_NP = re.compile(
    r"\b(?:made|make|makes|making|generated?|generating|drew|draw|drawing|created?|creating|rendered|render|"
    r"gave|give|turned\s+out)\s+(?:me\s+|us\s+|him\s+|her\s+|them\s+)?(?=(?:a|an|the)\s)", F)
_NP_END = re.compile(r"\s+(?:and\s+(?:i|i'm|im|it|we|my|honestly|now)|for\s+(?:my|our|his|her|a\s+friend)|in\s+one\s+(?:go|shot)|"
                     r"on\s+(?:the\s+)?first\s+try|with(?:out)?\s+(?:no|zero|any)\s+edits?)\b|[.!?\n]|\s[-–—]\s", F)


def described_in_sentence(text: str | None, m: Models) -> FoundPrompt | None:
    """'ChatGPT made me a cozy ramen shop at night. Wow.' -> 'a cozy ramen shop at night': what the model
    was asked for, named after a generation verb, up to the end of the clause."""
    if not text:
        return None
    t = URL.sub("", text)
    for mt in _MADE_NP.finditer(t):
        before = t[max(0, mt.start() - 80):mt.start()]
        if not (m.any_model.search(before) or re.search(r"\b(?:it|they|this)\s*$", before, F)):
            continue
        rest = t[mt.end():]
        end = _NP_END.search(rest)
        np_ = clean_tail(rest[:end.start()] if end else rest, m)
        if len(np_.split()) >= 4 and not m.any_model.search(np_):
            return FoundPrompt(np_, "description")
    return None


def promises_prompt(text: str | None) -> bool:
    """The author says the prompt follows in a reply, the comments or the thread."""
    return bool(text and PROMISE.search(text))


def description_prompt(text: str | None, m: Models) -> FoundPrompt | None:
    """A plain description posted with images ("A corgi astronaut above Earth, cinematic") or an
    instruction ("Turn this photo into a Ghibli scene"): the text minus credits and hashtags."""
    if not text:
        return None
    # a leading model label: "GPT-4o: ...", "[4o] ...", "ChatGPT image gen — ..."
    s = re.sub(r"^\s*[\[(]?\s*" + m.any_model.pattern + r"(?:\s*(?:image\s*gen(?:eration)?|images?))?\s*[\])]?\s*[:\-–—|]\s*",
               "", URL.sub("", text), flags=F).strip()
    s = unquote(clean_tail(_prompt_sentences(s, m), m))
    if not s or "?" in s or "\n\n" in s.strip():
        return None
    words = re.findall(r"[\w'’\-]+", s.lower())
    if len(words) < 3:
        return None
    first = words[0]
    if first in IMPERATIVES:
        return FoundPrompt(s, "description")
    if first in lx.COMMENTARY_OPENERS or any(w in lx.FIRST_SECOND_PERSON for w in words):
        return None
    if INJECTION.search(s) or m.any_model.search(s):
        return None
    if ARTICLE_START.match(s) or len(words) >= 6:
        return FoundPrompt(s, "description")
    return None


def _drop_commentary_lines(s: str, m: Models) -> str:
    """Keep the first line and the lines after it up to the first one that is commentary."""
    lines = s.split("\n")
    keep = [lines[0]]
    for line in lines[1:]:
        if line.strip() and _is_commentary(line.strip(), m):
            break
        keep.append(line)
    return "\n".join(keep)


def enumerated_prompts(text: str | None) -> list[str]:
    """'1) a fox in snow\n2) a cat in a hat': one prompt per numbered line (two or more, three words each)."""
    if not text:
        return []
    items = [mt.group(1) for mt in ENUM_ITEM.finditer(text)]
    return items if len(items) >= 2 and all(len(i.split()) >= 3 for i in items) else []


def _is_commentary(sentence: str, m: Models) -> bool:
    words = re.findall(r"[\w'’\-]+", sentence.lower().replace("’", "'"))
    if not words:
        return True
    if words[0] in IMPERATIVES:
        return bool(m.any_model.search(sentence)) and len(words) <= 6
    return (words[0] in lx.COMMENTARY_OPENERS or any(w in lx.FIRST_SECOND_PERSON for w in words)
            or bool(m.any_model.search(sentence)) or "?" in sentence or bool(INJECTION.search(sentence))
            or bool(META.search(sentence)) or bool(re.fullmatch(r"[\W\d_]*(?:#\w+[\W_]*)*", sentence)))


def _prompt_sentences(text: str, m: Models) -> str:
    """The longest run of sentences that are not commentary ("Look what 4o did!", "Did it with 4o"),
    cut from the original text so it stays verbatim."""
    spans = [(mt.start(), mt.end()) for mt in re.finditer(r"[^.!?\n]+[.!?]*", text) if mt.group(0).strip()]
    if len(spans) <= 1:
        return text
    best: tuple[int, int] | None = None
    run_start = None
    for j, (a, b) in enumerate(spans):
        if _is_commentary(text[a:b], m):
            run_start = None
            continue
        run_start = a if run_start is None else run_start
        if best is None or (b - run_start) > (best[1] - best[0]):
            best = (run_start, b)
    return text[best[0]:best[1]].strip() if best else text


def split_marker(text: str | None) -> tuple[int, int] | None:
    """(k, n) for a post numbered k/n at its start or end ("1/2 Prompt: ...", "... (2/2)")."""
    if not text:
        return None
    t = text.strip()
    for mt in SPLIT.finditer(t):
        k, n = int(mt.group(1)), int(mt.group(2))
        if 1 <= k <= n <= 20 and n >= 2 and _split_position_ok(t, mt):
            return k, n
    return None


def _split_position_ok(t: str, mt: re.Match[str]) -> bool:
    """Thread numbering opens or closes a post ("1/2 ...", "... (2/2)", "Prompt (1/2): ...")."""
    line_start = t.rfind("\n", 0, mt.start()) + 1
    line_end = t.find("\n", mt.end())
    head = t[line_start:mt.start()]
    tail = t[mt.end():] if line_end == -1 else t[mt.end():line_end]
    return (len(head.strip(" 🧵([")) == 0 or re.fullmatch(r".{0,30}\bprompt\s*[(\[]?\s*", head, F | re.S) is not None
            or (len(tail.strip(" .)]🧵👇⬇️")) == 0 and line_end == -1))


def strip_split(text: str) -> str:
    t = text.strip()
    for mt in SPLIT.finditer(t):
        if _split_position_ok(t, mt):
            t = (t[:mt.start()] + t[mt.end():]).strip()
            break
    t = re.sub(r"^[\s🧵:.\-–—]+", "", t)
    return t.strip()


def continuation(text: str, m: Models) -> str:
    """The prompt part of a continuation post: numbering, 'cont.' and credits removed."""
    t = strip_split(text)
    found = find_prompt(t, m)
    if found and found.kind == "marker":
        return found.prompt
    t = CONTINUATION.sub("", t)
    return unquote(clean_tail(t, m))


def similar_prompts(a: str | None, b: str | None, threshold: float = 0.85) -> bool:
    na, nb = bare_prompt(a), bare_prompt(b)
    if not na or not nb:
        return False
    return na == nb or difflib.SequenceMatcher(None, na, nb).ratio() >= threshold
