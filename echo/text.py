"""Text comparison shared by the evaluators: one tokenizer and one token F1.

Tokens are lower-cased words; Chinese, Japanese and Korean text has no spaces between words, so every CJK
character (Han, kana, Hangul) is a token of its own. HTML escapes are undone first (reddit and X escape
&, <, >) and the text is NFKC-normalized (full-width letters and digits become ASCII).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter

# Hiragana, katakana, CJK radicals/symbols, extension A, unified ideographs, compatibility ideographs, Hangul.
_CJK_RANGES = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(f"[{_CJK_RANGES}]|[^\\W_{_CJK_RANGES}]+")


def tokens(text: str | None) -> list[str]:
    """Lower-cased word tokens, each CJK character one token; punctuation and spacing are not tokens."""
    if not text:
        return []
    text = unicodedata.normalize("NFKC", html.unescape(text)).lower()
    return _TOKEN.findall(text)


def token_f1(a: str | None, b: str | None) -> float:
    """F1 of the two texts' token multisets (1.0 for two texts without tokens, 0.0 when only one has none)."""
    ta, tb = Counter(tokens(a)), Counter(tokens(b))
    if not ta and not tb:
        return 1.0
    common = sum((ta & tb).values())
    if not common:
        return 0.0
    precision = common / sum(tb.values())
    recall = common / sum(ta.values())
    return 2 * precision * recall / (precision + recall)
