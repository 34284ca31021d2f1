"""Text that talks to a model or an annotator is dropped before any rule reads a post."""

from __future__ import annotations

import re

from echo.llm.rules.patterns import INJECTION

def strip_injection(text: str | None) -> tuple[str, bool]:
    """Text without the sentences that address a model reading it; and whether there were any."""
    if not text:
        return "", False
    parts = re.split(r"(?<=[.!?\n])\s+", text)
    kept = [p for p in parts if not INJECTION.search(p)]
    return " ".join(kept).strip(), len(kept) != len(parts)
