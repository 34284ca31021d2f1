"""Is a piece of a post someone talking (commentary) or a description of a picture (a prompt)?

People talk in the first and second person, ask, name the model, use chat words and credits ("made with 4o",
"let me know what you get"); prompts describe or instruct ("A cozy cabin ...", "Turn this photo into ...").
Quoted and bracketed parts are left out before judging, since a prompt quoted inside a sentence or a
[PROMPT] slot says nothing about the sentence around it. Works for Latin-script languages and for Chinese and
Japanese (see echo.llm.lexicon: COMMENTARY_OPENERS, FIRST_SECOND_PERSON, POSSESSIVE_PERSON, SLANG, CHAT_WORDS,
CJK_COMMENTARY).
"""

from __future__ import annotations

import re

from echo.llm import lexicon as lx
from echo.llm.rules.layout import sentences, words
from echo.llm.rules.models import Models
from echo.llm.rules.patterns import (
    ARTICLE_START,
    CHAT,
    CJK_COMMENTARY,
    CJK_IMPERATIVE,
    EMOJI,
    END_LINE,
    FILL_STATEMENT,
    IMPERATIVES,
    INJECTION,
    META,
    PROMISE,
    REQUEST,
    SLANG,
    URL,
    F,
)

_QUOTED_OR_BRACKETED = re.compile(r"“[^”]*”|\"[^\"\n]*\"|«[^»]*»|「[^」]*」|『[^』]*』|\[[^\]\n]*\]|\{[^}\n]*\}|<[^>\n]*>")
_LATIN_WORD = re.compile(r"[a-zà-ÿ][a-zà-ÿ'’\-]*", F)
_ONLY_TAGS = re.compile(r"[\W\d_]*(?:[#@][\w.\-]+[\W_]*)*", re.UNICODE)
# Sentences this long are descriptions unless most of what they say is commentary.
LONG_WORDS = 25
# Sentences this short are commentary on weaker evidence (a chat word, an emoji, "!").
SHORT_WORDS = 12
_FOREIGN = frozenset(lx.FOREIGN_FUNCTION_WORDS)
_SUBJECT = frozenset(lx.FIRST_SECOND_PERSON)
_POSSESSIVE = frozenset(lx.POSSESSIVE_PERSON)
_WEAK_OPENERS = frozenset(lx.WEAK_COMMENTARY_OPENERS)
_TRAILING_EMOJI = re.compile(EMOJI.pattern + r"[\W\s]*$")
_ENGLISH = frozenset(lx.ENGLISH_FUNCTION_WORDS)


def frame(text: str) -> str:
    """The text without its quoted and bracketed parts, lower-cased, typographic apostrophes unified."""
    return _QUOTED_OR_BRACKETED.sub(" ", URL.sub(" ", text)).replace("’", "'").lower()


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text.lower().replace("’", "'"))


# Polite frames around an imperative that real prompts open with: "Please create ...", "Can you make ...",
# "I want you to draw ...", "Help me design ...". (A question mark at the end makes it a question instead.)
_POLITE = re.compile(r"^(?:please|pls|kindly|can\s+you|could\s+you|would\s+you|will\s+you|i\s+(?:want|need|would\s+like|'d\s+like)"
                     r"\s+you\s+to|help\s+me|let'?s)\s+(?:please\s+)?", F)
# A role, then instructions: "You are a product photographer. Shoot ..."
_ROLE = re.compile(r"^(?:you\s+are|you're|act\s+as|imagine\s+you(?:'re|\s+are))\s+(?:a|an)\s", F)


def opens_with_role(text: str) -> bool:
    """'You are a product photographer. Shoot a perfume bottle on black sand.': a role, then instructions."""
    t = text.strip()
    return bool(_ROLE.match(t)) and any(is_instruction(x.text) for x in sentences(t)[1:])


def is_instruction(text: str) -> bool:
    """Opens with an imperative ("Turn ...", "Create ...", "Please draw ...", "Can you make ...", "请生成 ...", "把 ...")."""
    t = text.strip().lstrip("-–—•*>·:：“\"'「 ")
    if opens_with_role(t):
        return True
    polite = _POLITE.match(t)
    if polite:
        if t.rstrip().endswith(("?", "？")):
            return False
        t = t[polite.end():]
    ws = latin_words(t[:40])
    return bool((ws and ws[0] in IMPERATIVES and re.match(r"[A-Za-z]", t)) or CJK_IMPERATIVE.match(t))


def is_commentary(text: str, m: Models) -> bool:
    """Someone talking rather than describing a picture. A long passage counts as commentary only when most
    of its sentences do (a 60-word prompt may say "you" once)."""
    t = text.strip()
    if not t or _ONLY_TAGS.fullmatch(URL.sub("", t)):
        return True
    if words(t) >= LONG_WORDS:
        parts = [s.text for s in sentences(t)]
        if len(parts) > 1:
            talk = sum(words(p) for p in parts if _talks(p, m))
            return talk * 2 > words(t)
    return _talks(t, m)


def _talks(sentence: str, m: Models) -> bool:
    """One sentence (or a short passage) judged as a whole: steering, closing lines, promises and requests, a
    question, chat words, the model or the making of the picture, the speaker in the first or second person."""
    s = sentence.strip()
    if not s or _ONLY_TAGS.fullmatch(URL.sub("", s)):
        return True
    if INJECTION.search(s) or END_LINE.match(s) or PROMISE.search(s) or REQUEST.search(s):
        return True
    f = frame(s)
    ws = latin_words(f)
    if is_instruction(s):
        # "Turn this photo into a Ghibli scene" is a prompt even with "my"; "try it on 4o" is not
        return bool(m.any_model.search(f)) and len(ws) <= 6
    if "?" in f or "？" in f:
        return True
    if CJK_COMMENTARY.search(f) or SLANG.search(f) or _talks_about_making(s, f, m):
        return True
    if ws and (ws[0] in lx.COMMENTARY_OPENERS or any(w in _SUBJECT for w in ws)):
        return True
    if any(w in _POSSESSIVE for w in ws) and not ARTICLE_START.match(s.strip()):
        return True
    n = words(s)
    if ws and ws[0] in _WEAK_OPENERS and n <= 4 and "," not in f:
        return True
    if n <= SHORT_WORDS:
        # a short line that chats: chat words, a trailing emoji or "!" outside parentheses, another language's grammar,
        # a fill statement ("filled in a red panda", "used the template with Tokyo")
        bare = re.sub(r"\([^)]*\)|（[^）]*）", " ", f).rstrip()
        if CHAT.search(bare) or _TRAILING_EMOJI.search(bare) or bare.endswith(("!", "！")) or FILL_STATEMENT.search(bare):
            return True
        if sum(w in _FOREIGN for w in ws) >= 2 and not any(w in _ENGLISH for w in ws):
            return True
    return False


def _talks_about_making(s: str, f: str, m: Models) -> bool:
    """Names a model or the making of the picture ("the new ChatGPT image gen is wild", "no edits") - unless that is
    what a longer description shows ("A billboard advertising ChatGPT's new image feature in Times Square")."""
    hit = m.any_model.search(f) or META.search(f)
    if not hit:
        return False
    described = ARTICLE_START.match(s) and len(latin_words(f)) >= 8
    return not (described and len(latin_words(f[:hit.start()])) >= 3)


def is_title(text: str) -> bool:
    """A headline (a Reddit title): one short line in title case with no closing punctuation."""
    t = text.strip()
    if "\n" in t or not t or t[-1] in ".!?。！？:：" or words(t) > 9:
        return False
    ws = [w for w in re.findall(r"[A-Za-z][\w'’\-]*", t)]
    if len(ws) < 2:
        return False
    small = {"a", "an", "the", "of", "in", "on", "and", "or", "for", "to", "with", "at", "by", "from", "into", "vs"}
    return all(w[0].isupper() or w.lower() in small for w in ws) and not ws[0].lower() in small


def is_credit(line: str, m: Models) -> bool:
    """A line that only credits a model or tool ("made with 4o", "(ChatGPT)", "4o image gen — enjoy")."""
    f = frame(line)
    if not m.any_model.search(f):
        return False
    rest = m.any_model.sub(" ", f)
    rest = re.sub(r"\b(?:made|created|generated|rendered|done|with|by|in|on|using|via|the|new|image|images|gen|"
                  r"generation|model|generator|app|free|plan|plus|pro|version|tool)\b", " ", rest)
    return len(latin_words(rest)) <= 2 and words(rest) <= 3


def is_trailer(line: str, m: Models) -> bool:
    """A line that closes a prompt: settings or credits, a chat line, a steering attempt, tags."""
    s = line.strip()
    if not s:
        return False
    if END_LINE.match(s) or INJECTION.search(s) or is_credit(s, m) or _ONLY_TAGS.fullmatch(URL.sub("", s)):
        return True
    f = frame(s)
    short = words(s) <= 12
    return short and not is_instruction(s) and bool(
        "?" in f or SLANG.search(f) or any(w in _SUBJECT or w in _POSSESSIVE for w in latin_words(f))
        or CJK_COMMENTARY.search(f))
