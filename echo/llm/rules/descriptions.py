"""Prompts without a marker: the paragraphs of a post that describe a picture, an answer to "prompt?", alt text.

`description_prompt` keeps the paragraphs that describe or instruct and leaves out the commentary before and after
them (echo.llm.rules.commentary), a headline, and paragraphs in another script (Chinese commentary around an
English prompt, or the reverse). `answer_prompt` reads a reply that answers a request, without its polite lead-in.
"""

from __future__ import annotations

import re

from echo.llm.rules.commentary import frame, is_commentary, is_instruction, is_title, latin_words, opens_with_role
from echo.llm.rules.layout import Span, paragraphs, script, sentences, words
from echo.llm.rules.models import Models
from echo.llm.rules.patterns import ARTICLE_START, COURTESY, INJECTION, URL, F
from echo.llm.rules.prompts import FoundPrompt, after_marker, clean_tail, find_prompt, unquote

# "the exact one: ...", "here it is: ...", "it was: ...": a few words that point at what follows the colon
_ANSWER_LEAD = re.compile(r"^(?=[^\n:：]{0,40}\b(?:the|this|that|it|here|mine|my|one|was|is)\b)[^\n:：,]{1,40}[:：]\s+", F)


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
    paragraph, a commentary head before a colon and commentary sentences are cut off."""
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
    if len(spans) <= 1 or opens_with_role(block):
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
    n = words(s)
    if not s or (n < 25 and ("?" in frame(s) or "？" in s)):
        return False
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


_POLITE_OPENING = re.compile(r"^\s*(?:please|pls|kindly|can|could|would|will|i\s+want|help\s+me|let'?s)\b", F)
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
        # the model (or "it") must be the subject in the same sentence: "Create a ..." opening a sentence, or
        # "Can you create a ...", is an instruction, not a report of what was made
        clause = re.split(r"[.!?。！？\n]", t[max(0, mt.start() - 80):mt.start()])[-1]
        if _POLITE_OPENING.match(clause) or not (m.any_model.search(clause) or re.search(r"\b(?:it|they|this)\s*$", clause, F)):
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


