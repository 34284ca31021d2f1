"""Text normalization for the exact-duplicate hash and the embedding cache key.

`exact_dedup_text` decides when two prompts are *exactly* the same for dedup. It is stricter than the
comparison form of echo.text (which extraction and evaluation use): it also drops URLs, handles and every
punctuation mark. It:
1. applies Unicode NFKC (full-width letters, ligatures, non-breaking spaces become plain ones);
2. case-folds ("Cat" == "cat", German ß == ss);
3. removes URLs (http(s)://..., www....) and @handles (@user, @user.bsky.social), which differ between
   reposts of the same prompt;
4. turns every punctuation and symbol character (Unicode categories P* and S*, so quotes, emoji, dashes)
   into a space;
5. collapses runs of whitespace into one space and strips the ends.
Digits and letters of every script are kept: "4 cats" and "5 cats" stay different.

`normalize_for_embedding` is lighter (NFKC + whitespace only): the model sees the text as written, and the
cache key is the hash of exactly what was embedded.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from echo.text import URL

# @handle, including dotted Bluesky/Mastodon handles (@a.bsky.social, @user@instance.org)
_HANDLE = re.compile(r"(?<![\w@])@[\w][\w.\-]*(?:@[\w.\-]+)?", re.UNICODE)
_SPACE = re.compile(r"\s+")


class _SymbolsToSpace(dict):
    """str.translate table: punctuation and symbols (P*, S*) to a space, every other character to itself; filled
    on first sight of each character, so a prompt is translated in C instead of a Python loop per character."""

    def __missing__(self, code: int) -> int:
        self[code] = out = 32 if unicodedata.category(chr(code))[0] in "PS" else code
        return out


_SYMBOLS_TO_SPACE = _SymbolsToSpace()


def _strip_symbols(text: str) -> str:
    return text.translate(_SYMBOLS_TO_SPACE)


def exact_dedup_text(text: str | None) -> str:
    """The canonical form used by exact dedup (see module docstring). None gives ''."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = URL.sub(" ", t)
    t = _HANDLE.sub(" ", t)
    t = _strip_symbols(t)
    return _SPACE.sub(" ", t).strip()


def normalize_for_embedding(text: str | None) -> str:
    if not text:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def embedding_key(text: str | None) -> str:
    """The embeddings cache key of a text: the hash of exactly what the model embeds."""
    return text_hash(normalize_for_embedding(text))


def text_hash(normalized: str) -> str:
    """sha256 hex (32 chars) of already-normalized text."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def prompt_hash(text: str | None) -> str | None:
    """Exact-dedup key of a prompt; None when nothing is left after normalization."""
    n = exact_dedup_text(text)
    return text_hash(n) if n else None
