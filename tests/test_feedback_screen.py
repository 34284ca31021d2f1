"""The phrase screen in rules feedback (a set check before each phrase pattern) never changes a judgement."""

from __future__ import annotations

import random

from echo.llm import lexicon as lx
from echo.llm.rules import feedback


def _texts(n: int) -> list[str]:
    phrases = list(lx.SUCCESS) + list(lx.FAILURE) + list(lx.NEUTRAL_PHRASES)
    rng = random.Random(7)
    out = ["It works GREAT", "Kelvin: WORKS \u212a", "wor\u017fks great", "\u0131t works great", "\u0130T WORKS",
           "doesn't work at all", "not bad, 10/10", "ai-generated? nah it nailed it", "works_great", "sss"]
    for i in range(n):  # phrases glued into odd contexts: edges, case, lookalike letters, negation
        a, b = rng.choice(phrases), rng.choice(phrases)
        t = f"{a}{rng.choice([' ', '-', '_', '', '. ', chr(10), '/', chr(39), 'x'])}{b} not {rng.choice(phrases)}"
        out.append([t, t.upper(), t.swapcase(), "\u0131" + t, t.replace("s", "\u017f")][i % 5])
    return out


def test_screened_and_unscreened_phrase_matching_judge_alike(monkeypatch):
    texts = _texts(3000)
    screened = [feedback.polarity(t) for t in texts]
    monkeypatch.setattr(feedback, "_PHRASE_RX", [(p, w, rx, None) for p, w, rx, _ in feedback._PHRASE_RX])
    monkeypatch.setattr(feedback, "_NEUTRAL_RX", [(rx, None) for rx, _ in feedback._NEUTRAL_RX])
    assert [feedback.polarity(t) for t in texts] == screened
    assert sum(1 for label, _, _ in screened if label != "neutral") > 1000  # the texts do get judged


def test_only_ascii_word_phrases_are_screened():
    assert feedback._required_runs("works great") == frozenset({"works", "great"})
    assert feedback._required_runs("10/10") == frozenset({"10"})
    assert feedback._required_runs("残念") is None and feedback._required_runs(":(") is None
