"""Typos in replies ("the lteters are wrong", "propotions look rgiht") would hide the words feedback rules look
for. A word that is not in the feedback vocabulary but becomes one by swapping two neighbouring letters is
read as that word. Only swaps, only words of five letters or more, only into the vocabulary: a real word is
never changed into another unless it is a swap of a lexicon word (rare at that length)."""

from __future__ import annotations

import functools
import re

from echo.llm import lexicon as lx

_WORD = re.compile(r"[a-z]{5,}")


@functools.cache
def vocabulary() -> frozenset[str]:
    """Words of the feedback lexicon: polarity phrases, category keywords, judgement patterns."""
    words: set[str] = set()
    for phrase in [*lx.SUCCESS, *lx.FAILURE, *lx.NEUTRAL_PHRASES, *lx.FEEDBACK_WORDS]:
        words.update(_WORD.findall(phrase.lower()))
    for fragments in lx.CATEGORY_KEYWORDS.values():
        for f in fragments:
            words.update(_WORD.findall(re.sub(r"\\[a-z]|\(\?[:!=<]+|\[[^\]]*\]|[?+*]", " ", f)))
    for p in lx.FEEDBACK_PATTERNS:
        words.update(_WORD.findall(re.sub(r"\\[a-z]|\(\?[:!=<]+|\[[^\]]*\]|[?+*]", " ", p)))
    return frozenset(words)


def _swaps(word: str) -> list[str]:
    return [word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1) if word[i] != word[i + 1]]


def correct_typos(text: str) -> str:
    """Lower-cased text with swapped-letter typos of lexicon words corrected."""
    vocab = vocabulary()

    def fix(mt: re.Match[str]) -> str:
        w = mt.group(0)
        if w in vocab:
            return w
        hits = [s for s in _swaps(w) if s in vocab]
        return hits[0] if len(hits) == 1 else w

    return _WORD.sub(fix, text.lower())
