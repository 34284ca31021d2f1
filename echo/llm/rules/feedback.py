"""Feedback of a reply: polarity (negation- and contrast-aware, from the lexicon), keywords and categories."""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from typing import Any

from echo.llm import lexicon as lx
from echo.llm.backend import PostView
from echo.llm.injection import strip_injection
from echo.llm.rules.layout import sentences
from echo.llm.rules.patterns import B0, B1, CATEGORIES, FEEDBACK_PATTERNS, URL, F
from echo.llm.rules.spelling import correct_typos

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'’/:\-]*|[^\sa-z0-9]", F)
_PHRASES = sorted([(p, w) for p, w in lx.SUCCESS.items()] + [(p, -w) for p, w in lx.FAILURE.items()],
                  key=lambda pw: -len(pw[0].split()))


_WORD_PHRASE = re.compile(r"^[\w'\s/:.\-]+$")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


def _phrase_rx(phrase: str) -> re.Pattern[str]:
    if _WORD_PHRASE.match(phrase):
        return re.compile(B0 + re.escape(phrase).replace(r"\ ", r"\s+") + B1, F)
    return re.compile(re.escape(phrase))


def _required_runs(phrase: str) -> frozenset[str] | None:
    """The letter-digit runs of an ASCII word phrase: its pattern (word edges, case-insensitive) matches only where
    each of them is a whole run of an ASCII text. None: no such guarantee (the pattern always runs)."""
    if phrase.isascii() and _WORD_PHRASE.match(phrase):
        return frozenset(_ALNUM_RUN.findall(phrase.lower())) or None
    return None


# Hundreds of phrase patterns: on an ASCII text a set check skips the ones that cannot match (same result, ~10x
# fewer regex scans).
_PHRASE_RX = [(p, w, _phrase_rx(p), _required_runs(p)) for p, w in _PHRASES]
_NEGATOR_SET = set(lx.NEGATORS)


_NEUTRAL_RX = [(_phrase_rx(p), _required_runs(p)) for p in sorted(lx.NEUTRAL_PHRASES, key=len, reverse=True)]
_SCREENS: dict[int, tuple[list, dict[str, list[int]], list[int]]] = {}


def _screened(patterns: list, required_at: int, runs: set[str] | None) -> Sequence[int]:
    """Indices, in order, of the patterns whose required runs may all be in `runs` (None: every pattern): each
    pattern is filed under one of its runs (the longest), so a text looks up its own few runs instead of
    testing hundreds of sets."""
    if runs is None:
        return range(len(patterns))
    screen = _SCREENS.get(id(patterns))
    if screen is None or screen[0] is not patterns:  # built once per list (tests swap the list)
        by_run: dict[str, list[int]] = collections.defaultdict(list)
        always = []
        for i, entry in enumerate(patterns):
            required = entry[required_at]
            if required is None:
                always.append(i)
            else:
                by_run[max(sorted(required), key=len)].append(i)
        screen = _SCREENS[id(patterns)] = (patterns, dict(by_run), always)
    found = set(screen[2])
    for run in runs:
        found.update(screen[1].get(run, ()))
    return sorted(found)
_MISSPELLING = re.compile(lx.MISSPELLING_REPORT, F)
_NOT_NEGATING = re.compile(B0 + "(?:" + "|".join(re.escape(p) for p in lx.NOT_NEGATING) + ")" + B1, F)
# A question by its word order ("is it down for anyone", "what's your setup"), after an optional interjection.
_QUESTION = re.compile(r"^\W*(?:(?:wait|so|ok|okay|hm+|lol|but|and|also|btw|honestly|genuine\s+question)\W+)?"
                       r"(?:(?:is|are|was|were|can|could|does|do|did|will|would|should|has|have)\s+"
                       r"(?:it|this|that|these|you|u|there|they|he|she|anyone|someone|everyone|the|your|ur|op)\b|"
                       r"(?:how|what|what's|whats|where|when|who|which)\b|any\s+(?:way|tips?|chance)\b|"
                       r"(?:does\s+)?(?:anyone|anybody|someone|somebody)\s+(?:know|else|tried|try|got|have|has)\b)", F)
QUESTION_WEIGHT = 0.3
PATTERN_NEGATION_WINDOW = 2
# "not a single extra finger", "not one typo", "without a single": negates whatever is counted next
_NEGATING_LEAD = re.compile(r"\b(?:not\s+(?:a\s+single|one\s+single|one|any|even\s+one|even\s+a)|without\s+(?:a\s+single|any)|"
                            r"zero|no)\s*$")  # what a judgement word weighs inside a question ("is it down for anyone right now")


def polarity(text: str | None) -> tuple[str, list[str], float]:
    """success / failure / neutral from the lexicon and the judgement patterns, negation-aware, typo-tolerant;
    with the phrases that decided. Words inside a question count little; a 'why ...' complaint counts."""
    raw = (text or "").replace("’", "'")
    t = correct_typos(raw)
    taken = [False] * len(t)
    score = 0.0
    hits: list[tuple[int, str]] = []
    contrast_at = min((mt.start() for c in lx.CONTRAST for mt in [re.search(B0 + c + B1, t)] if mt), default=None)
    factor = [1.0] * (len(t) + 1)
    for sp in sentences(t):
        if _QUESTION.match(sp.text.strip()):
            for k in range(sp.start, sp.end):
                factor[k] = QUESTION_WEIGHT

    def take(a: int, b: int) -> bool:
        if any(taken[a:b]):
            return False
        for k in range(a, b):
            taken[k] = True
        return True

    def add(at: int, w: float, label: str) -> None:
        nonlocal score
        if contrast_at is not None and at > contrast_at:
            w *= lx.CONTRAST_WEIGHT
        score += w * factor[at]
        hits.append((at, label))

    for mt in _MISSPELLING.finditer(raw):
        if take(mt.start(), mt.end()):
            add(mt.start(), -2.0, "misspelled")
    def negated(at: int, window: int = lx.NEGATION_WINDOW) -> bool:
        head = _NOT_NEGATING.sub(" ", t[max(0, at - 120):at])  # a negator acts within a few words
        if _NEGATING_LEAD.search(head):
            return True
        before = re.findall(r"[a-z']+", head)[-window:]
        clause = re.split(r"[,.;!?]|\bbut\b", head)[-1]  # a negator counts only within the same clause
        return any(b in _NEGATOR_SET for b in before) and any(b in _NEGATOR_SET for b in re.findall(r"[a-z']+", clause))

    for rx, weight in FEEDBACK_PATTERNS:
        for mt in rx.finditer(t):
            if take(mt.start(), mt.end()):
                own_negation = any(w in _NEGATOR_SET for w in re.findall(r"[a-z']+", mt.group(0)))
                # a pattern is a whole judgement: only a negator right before it turns it ("didn't get it right")
                flip = not own_negation and negated(mt.start(), PATTERN_NEGATION_WINDOW)
                add(mt.start(), -weight if flip else weight, mt.group(0).strip()[:40])
    runs = set(_ALNUM_RUN.findall(t.lower())) if t.isascii() else None

    def may_match(required: frozenset[str] | None) -> bool:
        return runs is None or required is None or required <= runs

    for i in _screened(_NEUTRAL_RX, 1, runs):
        rx, required = _NEUTRAL_RX[i]
        if not may_match(required):
            continue
        for mt in rx.finditer(t):
            take(mt.start(), mt.end())
    for i in _screened(_PHRASE_RX, 3, runs):
        phrase, weight, rx, required = _PHRASE_RX[i]
        if not may_match(required):
            continue
        for mt in rx.finditer(t):
            if not take(mt.start(), mt.end()):
                continue
            w = weight
            first_word = phrase.split()[0] if phrase.split() else phrase
            if first_word not in _NEGATOR_SET and not phrase.startswith(("doesn't", "does not", "nothing")) \
                    and negated(mt.start()):
                w = -w
            add(mt.start(), w, phrase)
    hits.sort()
    if abs(score) < 0.5:
        return "neutral", [h for _, h in hits], score
    return ("success" if score > 0 else "failure"), [h for _, h in hits], score


def categories(text: str | None, polarity_: str) -> list[str]:
    """Feedback categories by keyword rules; 'other' when a reply judges but names no aspect."""
    t = text or ""
    cats = [c for c, rx in CATEGORIES.items() if rx.search(t)]
    if not cats and polarity_ == "failure":
        cats = ["other"]
    return cats


def feedback_keywords(text: str | None, phrases: Sequence[str]) -> list[str]:
    """Salient words: the lexicon phrases that decided, then aspect words, then other content words."""
    t = (text or "").lower().replace("’", "'")
    out: list[str] = []
    for p in phrases:
        if p not in out and re.search(r"\w", p):
            out.append(p)
    for rx in CATEGORIES.values():
        for mt in rx.finditer(t):
            w = mt.group(0).strip()
            if w and w not in out and w not in lx.STOPWORDS:
                out.append(w)
    for w in re.findall(r"[a-z][a-z'\-]{2,}", URL.sub("", t)):
        if len(out) >= 10:
            break
        if w not in lx.STOPWORDS and w not in out and not any(w in o.split() for o in out):
            out.append(w)
    return [w[:60] for w in out[:10]]


def judge_feedback(post: PostView) -> dict[str, Any]:
    text = strip_injection(post.text)[0]
    pol, phrases, _ = polarity(text)
    return {"post_id": post.post_id, "polarity": pol, "keywords": feedback_keywords(text, phrases),
            "categories": categories(text, pol)}
