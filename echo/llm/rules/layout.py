"""How a post's text is laid out: paragraphs (a JSON object stays whole), lines, sentences and word counts.

Chinese and Japanese have no spaces between words and end sentences with 。！？, so sentences split on those
too and words are counted with echo.text.tokens (every CJK character one token).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from echo.text import tokens

# A blank line (possibly with spaces) separates paragraphs.
_BLANK = re.compile(r"\n[ \t\u3000]*\n\s*")
_JSON_OPENER = re.compile(r"\{[ \t]*\n")
# Sentences end at . ! ? (followed by space or end) or at the full-width 。！？ (no space needed).
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?]+(?=\s|$)|[。！？]+|(?=\n)|$)|[^\n]+?(?=\n|$)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def words(text: str | None) -> int:
    """Word count: Latin words and every CJK character count one each."""
    return len(tokens(text))


def paragraphs(text: str) -> list[Span]:
    """Blank-line separated paragraphs with their offsets. A blank line inside an open JSON object (a "{" that
    ends its line) does not split it, so a JSON prompt stays one paragraph."""
    out: list[Span] = []
    start = 0
    depth = 0
    in_string = False
    i = 0
    cuts: list[tuple[int, int]] = []
    if not _JSON_OPENER.search(text):
        cuts = [(mt.start(), mt.end()) for mt in _BLANK.finditer(text)]
        i = len(text)  # no JSON object: every blank line cuts
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"' and depth > 0:
            in_string = True
        elif ch == "{" and (depth > 0 or re.match(r"\{[ \t]*\n", text[i:i + 20])):
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
        elif ch == "\n" and depth == 0:
            mt = _BLANK.match(text, i)
            if mt:
                cuts.append((i, mt.end()))
                i = mt.end()
                continue
        i += 1
    for a, b in cuts + [(len(text), len(text))]:
        chunk = text[start:a]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append(Span(start + lead, start + len(chunk.rstrip()), chunk.strip()))
        start = b
    return out


def sentences(text: str) -> list[Span]:
    """Sentences (and lines) with their offsets, cut so that joining them back gives the text verbatim."""
    return [Span(mt.start(), mt.end(), mt.group(0)) for mt in _SENTENCE.finditer(text) if mt.group(0).strip()]


def json_object(text: str) -> Span | None:
    """The first balanced {...} block that holds "key": pairs over two or more lines, or two or more pairs on one
    line (a JSON-structured prompt)."""
    for mt in re.finditer(r"\{", text):
        depth, in_string, i = 0, False, mt.start()
        while i < len(text):
            ch = text[i]
            if in_string:
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    block = text[mt.start():i + 1]
                    pairs = len(re.findall(r'"[^"\n]{1,60}"\s*:', block))
                    if pairs and ("\n" in block or (pairs >= 2 and len(block) >= 40)):
                        return Span(mt.start(), i + 1, block)
                    break
            i += 1
    return None


def script(text: str) -> str:
    """'cjk' when most of the words are Chinese or Japanese characters, else 'latin'."""
    n = words(text)
    latin = len(re.findall(r"[^\W\d_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+", text))
    return "cjk" if n and n - latin - len(re.findall(r"\d+", text)) > n / 2 else "latin"
