"""Text that talks to a model or an annotator is dropped before any rule reads a post."""

from __future__ import annotations

import re

from echo.llm.rules.patterns import INJECTION

# a sentence or a line; "P.S." and "e.g." (a dot after a single letter) do not end one
_PIECE = re.compile(r"[^\n]*?(?:[!?](?=\s)|(?<![\s.(][A-Za-z])(?<!^[A-Za-z])\.(?=\s)|[。！？]|\n|$)")


def strip_injection(text: str | None) -> tuple[str, bool]:
    """Text without the sentences that address a model or an annotator reading it ("ignore previous
    instructions", "note to the annotator: ..."); and whether there were any. The rest keeps its layout."""
    if not text:
        return "", False
    kept: list[str] = []
    dropped = just_dropped = False
    for mt in _PIECE.finditer(text):
        piece = mt.group(0)
        if not piece:
            continue
        if INJECTION.search(piece):
            dropped = just_dropped = True
            if piece.endswith("\n") and kept and not kept[-1].endswith("\n"):
                kept.append("\n")
            continue
        if just_dropped and piece == "\n" and (not kept or kept[-1].endswith("\n")):
            continue  # the line break that ended the dropped sentence
        just_dropped = False
        kept.append(piece)
    out = "".join(kept)
    return (re.sub(r"\n{3,}", "\n\n", out).strip() if dropped else text.strip()), dropped
