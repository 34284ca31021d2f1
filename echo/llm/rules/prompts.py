"""Finding the prompt in a post: after a marker, as a JSON object, in quotes, as a description, as an answer.

Explicit prompts (`find_prompt`): after a marker ("Prompt:", "Prompt 👇", "プロンプト↓", "提示词："), a JSON
object with the line that introduces it, a quoted instruction inside a sentence of commentary. Implicit ones
(`description_prompt`): the paragraphs of a post that describe a picture rather than talk about it, with the
commentary before and after them left out. A prompt may run over several lines and paragraphs; it ends where
the commentary starts (echo.llm.rules.commentary).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from echo.llm.rules.commentary import frame, is_commentary, is_credit, is_instruction, is_title, is_trailer, latin_words
from echo.llm.rules.layout import Span, json_object, paragraphs, sentences, words
from echo.llm.rules.models import Models
from echo.llm.rules.patterns import (
    ARTICLE_START,
    COURTESY,
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


# "the exact one: ...", "here it is: ...", "it was: ...": a few words that point at what follows the colon
_ANSWER_LEAD = re.compile(r"^(?=[^\n:：]{0,40}\b(?:the|this|that|it|here|mine|my|one|was|is)\b)[^\n:：,]{1,40}[:：]\s+", F)


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
            s = re.sub(r"[\s,;:|]*[\[(][^\])]*" + m.any_model.pattern + r"[^\])]*[\])]\s*[.!]*$", "", s, flags=F)
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
    for mk in MARKER.finditer(text):
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


# --- implicit prompts -----------------------------------------------------------------------------------


def description_prompt(text: str | None, m: Models) -> FoundPrompt | None:
    """A description posted with images ("A corgi astronaut above Earth, cinematic") or an instruction ("Turn
    this photo into a Ghibli scene"), without a marker: the paragraphs that describe a picture, without the
    commentary, headline, credits and hashtags around them."""
    if not text:
        return None
    # a leading model label: "GPT-4o: ...", "[4o] ...", "ChatGPT image gen — ..."
    t = re.sub(r"^\s*[\[(]?\s*" + m.any_model.pattern + r"(?:\s*(?:image\s*gen(?:eration)?|images?))?\s*[\])]?\s*[:\-–—|](?=\s)\s*",
               "", URL.sub("", text), flags=F).strip()
    block = _describing_block(t, m)
    if block is None:
        return None
    s = unquote(clean_tail(block, m))
    return FoundPrompt(s, "description") if _reads_as_prompt(s, m) else None


def _describing_block(t: str, m: Models) -> str | None:
    """The longest run of paragraphs that are not commentary (a headline first is left out); inside a single
    paragraph, commentary sentences at either end are cut off."""
    paras = paragraphs(t)
    if len(paras) > 1 and is_title(paras[0].text):
        paras = paras[1:]
    best: list[Span] = []
    run: list[Span] = []
    for p in paras + [None]:
        if p is not None and not is_commentary(p.text, m):
            run.append(p)
            continue
        if run and sum(words(x.text) for x in run) > sum(words(x.text) for x in best):
            best = run
        run = []
    if not best:
        if len(paras) != 1:
            return None
        best = paras  # one paragraph: its prompt sentences may still be inside
    best = _trim_edges(best)
    block = t[best[0].start:best[-1].end]
    if len(best) > 1:
        return block
    # "here's what I typed: a tiny greenhouse ...": a commentary head before a colon introduces the prompt
    head = re.match(r"([^\n:：]{3,80})[:：]\s+(?=\S)", block)
    if head and words(head.group(1)) <= 10 and is_commentary(head.group(1), m) and words(block[head.end():]) >= 3:
        block = block[head.end():]
    return _trim_commentary_sentences(block, m)


def script(text: str) -> str:
    """'cjk' when most of the words are Chinese or Japanese characters, else 'latin'."""
    n = words(text)
    return "cjk" if n and n - len(latin_words(text)) - len(re.findall(r"\d+", text)) > n / 2 else "latin"


def _trim_edges(run: list[Span]) -> list[Span]:
    """A prompt paragraph is not continued by a paragraph in another script (Chinese commentary around an English
    prompt, or the reverse) nor by a few words on their own line at either end ("quedó increíble")."""
    main = max(run, key=lambda p: words(p.text))
    def odd(p: Span) -> bool:
        return p is not main and (script(p.text) != script(main.text)
                                  or (words(p.text) <= 4 < words(main.text) and "\n" not in p.text))
    while len(run) > 1 and odd(run[0]):
        run = run[1:]
    while len(run) > 1 and odd(run[-1]):
        run = run[:-1]
    return run


def _trim_commentary_sentences(block: str, m: Models) -> str:
    """The longest run of sentences that are not commentary ("Look what 4o did!", "Did it with 4o"),
    cut from the original text so it stays verbatim."""
    spans = sentences(block)
    if len(spans) <= 1:
        return block
    best: tuple[int, int] | None = None
    run_start = None
    for s in spans:
        if is_commentary(s.text, m):
            run_start = None
            continue
        run_start = s.start if run_start is None else run_start
        if best is None or (s.end - run_start) > (best[1] - best[0]):
            best = (run_start, s.end)
    return block[best[0]:best[1]].strip() if best else block


def _reads_as_prompt(s: str, m: Models) -> bool:
    if not s or "?" in frame(s) or "？" in s:
        return False
    n = words(s)
    if n < 3:
        return False
    if is_instruction(s):
        return True
    if n >= 25:
        return not is_commentary(s, m)
    ws = latin_words(frame(s))
    if is_commentary(s, m) or INJECTION.search(s):
        return False
    cjk = n > len(ws)
    return bool(ARTICLE_START.match(s) or len(ws) >= 6 or (cjk and n >= 4))


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
        if not re.search(r"\w[^.!?。！？\n]*$", before):
            continue  # "Create a ..." opening a sentence is an instruction, not a report of what was made
        if not (m.any_model.search(before) or re.search(r"\b(?:it|they|this)\s*$", before, F)):
            continue
        rest = t[mt.end():]
        end = _NP_END.search(rest)
        np_ = clean_tail(rest[:end.start()] if end else rest, m)
        if len(np_.split()) >= 4 and not m.any_model.search(np_):
            return FoundPrompt(np_, "description")
    return None


# --- answers and alt text -----------------------------------------------------------------------------


def answer_prompt(text: str | None, m: Models) -> FoundPrompt | None:
    """The author's answer to someone who asked for the prompt: the reply itself, without a polite lead-in
    ("sure! ...", "here you go:") and without the chat after it ("have fun")."""
    if not text:
        return None
    found = find_prompt(text, m)
    if found:
        return found
    t = text.strip()
    for _ in range(2):
        lead = COURTESY.match(t) or _ANSWER_LEAD.match(t)
        if not lead or lead.end() == 0:
            break
        t = t[lead.end():].lstrip()
    paras = paragraphs(t)
    # a short opening line that only introduces the answer ("as promised:", "ok so it was this")
    while len(paras) > 1 and words(paras[0].text) <= 6 and "\n" not in paras[0].text and (
            paras[0].text.rstrip().endswith((":", "：")) or is_commentary(paras[0].text, m)):
        t = t[paras[1].start:]
        paras = paragraphs(t)
    prompt = after_marker(t, m)
    if prompt and not is_commentary(prompt, m) and words(prompt) >= 2:
        return FoundPrompt(prompt, "answer")
    return None


def alt_prompt(alt: str | None, m: Models, *, pointed: bool = False) -> FoundPrompt | None:
    """A prompt in an image's alt text: after a marker, or the whole description when the post points to
    the alt text ("prompt in the alt") or the description is long enough to be one."""
    if not alt:
        return None
    found = find_prompt(alt, m)
    if found:
        return FoundPrompt(found.prompt, "alt_text")
    desc = description_prompt(alt, m)
    if desc and (pointed or words(desc.prompt) >= 12):
        return FoundPrompt(desc.prompt, "alt_text")
    return None


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
