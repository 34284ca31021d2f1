"""Text rules shared by extraction, evaluation and dedup, each written once.

- `normalize_prompt` / `bare_prompt`: the comparison form of a prompt (quotes unified, lower case, single
  spaces; bare also drops edge punctuation). Extraction uses it to tell whether a prompt is verbatim in a post
  and to merge samples; evaluation to compare prompts with an answer key.
- `placeholders` / `has_placeholder`: fill-in-the-blank slots in a prompt.
- `tokens` / `token_f1`: word tokens for scoring prompts; Chinese, Japanese and Korean text has no spaces
  between words, so every CJK character (Han, kana, Hangul) is a token of its own. HTML escapes are undone
  first and the text is NFKC-normalized (full-width letters and digits become ASCII).
- The exact-duplicate key of dedup is stricter and lives in echo.dedup.normalize (`exact_dedup_text`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'", "«": '"', "»": '"'})
_SPACE = re.compile(r"\s+")
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)  # links in posts (X appends t.co links to media)
EDGE_PUNCTUATION = " \"'.,;:!?…-"


def normalize_prompt(text: str | None) -> str:
    """Quotes unified, lower case, runs of whitespace as one space, ends stripped."""
    if not text:
        return ""
    return _SPACE.sub(" ", text.translate(_QUOTES).lower()).strip()


def bare_prompt(text: str | None) -> str:
    """normalize_prompt without punctuation or quotes at either end ('"A cat."' and 'a cat' compare equal)."""
    return normalize_prompt(text).strip(EDGE_PUNCTUATION)


# --- fill-in-the-blank slots ---------------------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\[\]\n]{1,40})\](?!\()|<([^<>\n]{1,40})>|\{([^{}\n]{1,40})\}")
_PARENS = re.compile(r"\(([^()\n]{1,40})\)")
# bracketed words that are tags or markup, not slots: "[OC]", "<br>", "[deleted]"
_NOT_SLOTS = {"oc", "ai", "nsfw", "discussion", "question", "help", "meme", "news", "video", "gif", "link",
              "br", "p", "b", "i", "a", "em", "strong", "div", "span", "sic", "deleted", "removed", "original"}
# "(your pet)", "(character)": a slot in parentheses names what goes there
SLOT_LEADS = ("your", "insert", "any", "some", "put", "add", "choose", "enter", "pick", "favorite", "favourite",
              "a", "an", "the", "own", "name", "this")
# words that open a slot whatever follows: "(your friend)", "(insert text)"
SLOT_OPENERS = ("your", "insert", "any", "enter", "put", "add", "choose", "pick")
SLOT_NOUNS = (
    "x", "y", "z", "name", "subject", "object", "animal", "pet", "character", "person", "city", "country", "place",
    "thing", "item", "topic", "brand", "color", "colour", "food", "style", "year", "number", "word", "text", "job",
    "profession", "hobby", "celebrity", "movie", "location", "product", "company", "band", "team", "noun",
    "adjective", "emotion", "season", "artist", "game", "sport", "breed", "hero", "villain", "creature", "here",
)


def placeholders(prompt: str | None) -> list[str]:
    """Fill-in-the-blank slots in a prompt: [x], <x>, {x} with short descriptive content, and (x) when it
    names a slot ("(character)", "(your pet)", "(x)") — not "(2/2)", "(4o)" or "(photorealistic)"."""
    if not prompt:
        return []
    out = []
    for mt in _BRACKETS.finditer(prompt):
        content = next(g for g in mt.groups() if g is not None).strip()
        words = content.split()
        if (1 <= len(words) <= 4 and re.search(r"[a-zA-Z]", content) and not re.search(r"\d\s*/\s*\d|https?:|=", content)
                and content.lower() not in _NOT_SLOTS and not content.startswith("/")
                and (content.islower() or content.isupper() or content.istitle() or len(words) == 1)):
            out.append(mt.group(0))
    for mt in _PARENS.finditer(prompt):
        if _is_paren_slot(mt.group(1).strip()):
            out.append(mt.group(0))
    return out


def _is_paren_slot(content: str) -> bool:
    """Parentheses are common in ordinary prompts ("a cat (orange)"), so only clear slot names count:
    a single letter, "(your friend)" / "(insert text)", "(name here)", a slot noun ("(character)",
    "(your pet)", "(CITY)"), or capitals of two or more words ("(YOUR NAME)")."""
    if not content or re.search(r"\d", content):
        return False
    if len(content) == 1:
        return content.isalpha()
    words = content.split()
    if len(words) > 4:
        return False
    if content.isupper():
        return len(words) >= 2 or content.lower() in SLOT_NOUNS
    if content != content.lower() or not re.fullmatch(r"[a-z' ]+", content):
        return False
    if words[0] in SLOT_OPENERS and len(words) >= 2:
        return True
    return words[-1] == "here" or (words[-1] in SLOT_NOUNS and (len(words) == 1 or words[0] in SLOT_LEADS))


def has_placeholder(prompt: str | None) -> bool:
    return bool(placeholders(prompt))


# --- tokens -------------------------------------------------------------------------------------------

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
