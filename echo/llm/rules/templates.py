"""Filling a template's slots with the values its poster states ("used the template with a fox / the moon").

The rules never guess what a slot stands for: a template is filled only when the poster names one value per
slot, in order, in the posts the sample is read from. Anything less leaves the template for manual review.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from echo.llm import lexicon as lx
from echo.llm.backend import SampleItem
from echo.llm.injection import strip_injection
from echo.llm.rules.models import Models, models
from echo.llm.rules.patterns import FILL_STATEMENT, URL, F
from echo.text import normalize_prompt, placeholders

# A value that points at an upload is not a value for a slot ("tried it with my own photo").
_UPLOAD = re.compile(r"\b(?:my|our|your|a|the)\s+(?:own\s+)?(?:photo|selfie|picture|pic|image|upload)s?\b", F)
_NOT_A_VALUE = re.compile(lx.NOT_A_FILL_VALUE, F)


def slots(template: str) -> list[str]:
    """The slots of a template in order of first appearance: a named slot once however often it repeats
    ("[SUBJECT] ... the [SUBJECT]'s"), every blank ("____") on its own."""
    named = dict.fromkeys(p for p in placeholders(template) if not p.startswith("_"))
    found = sorted([(template.find(p), p) for p in named] + [(mt.start(), mt.group(0)) for mt in re.finditer(r"_{3,}", template)])
    return [p for _, p in found]


def stated_values(texts: Sequence[str], template: str, m: Models) -> list[str] | None:
    """The values a poster says they filled in, one per slot, in order ("... with horse / the knee") or by the
    slots' names ("subject: horse, part: the knee", "[CITY] = Oslo"); None when they do not name them all."""
    names = slots(template)
    for text in texts:
        t = strip_injection(text)[0]
        t = URL.sub(" ", t.replace(template, " ") if template in t else t)
        for mt in FILL_STATEMENT.finditer(t):
            values = _split_values(mt.group("values"), m, len(names))
            if values and len(values) == len(names):
                return values
        named = [_named_value(t, slot, m) for slot in names]
        if names and all(named):
            return [v for v in named if v]
    return None


def _named_value(text: str, slot: str, m: Models) -> str | None:
    """'City: Berlin', '[CITY] = Oslo', 'subject -> a fox': the value given for a slot by its name."""
    name = re.escape(slot.strip("[]{}<>() ")).replace(r"\ ", r"\s+")
    mt = re.search(r"(?:^|[\s,;(])[\[{<(]?" + name + r"[\]}>)]?\s*(?:[:=：]|->|→)\s*([^,;\n]+)", text, F)
    if not mt:
        return None
    values = _split_values(mt.group(1), m)
    return values[0] if len(values) == 1 else None


def _split_values(raw: str, m: Models, want: int = 1) -> list[str]:
    """'rome, italy / rome, sora images 🤯' -> ['rome, italy', 'rome']: cut at the end of the clause or at a
    model credit, then split on ' / '."""
    s = re.split(r"[.!?;:\n]|\s[-–—|]\s|👇|⬇️", raw)[0]
    credit = m.any_model.search(s)
    if credit:
        s = re.sub(r"[\s,(\[]*(?:(?:with|in|on|via|using|by)\s+)?(?:the\s+|my\s+)?(?:new\s+)?$", "", s[:credit.start()])
    s = re.sub(r"[^\w)\]'’\"]+$", "", s.strip())
    while s.endswith(")") and s.count(")") > s.count("("):
        s = s[:-1].rstrip()  # "(I used my friend Dev)"
    values = [v.strip(" ,\"'“”") for v in re.split(r"\s*/\s*", s)]
    if len(values) == 1 and want > 1:
        # "Tokyo and Tokyo Tower", "Tokyo, Tokyo Tower": other separators, only when they give one value per slot
        alt = [v.strip(" ,\"'“”") for v in re.split(r"\s*,\s*|\s+and\s+|\s*&\s*|\s*\+\s*", s)]
        values = alt if len(alt) == want else values
    if not all(values) or any(_UPLOAD.search(v) or _NOT_A_VALUE.search(v) or len(v.split()) > 8 for v in values):
        return []
    return values


def fill(template: str, values: Sequence[str]) -> str:
    """The template with each distinct slot replaced, everywhere it appears, by its value."""
    out = template
    for slot, value in zip(slots(template), values):
        out = out.replace(slot, value, 1) if slot.startswith("_") else out.replace(slot, value)
    return out


def fill_blank_answer(item: SampleItem, target_model: str) -> dict[str, Any]:
    """fill_blank document: the filled prompt when the poster stated the values, else no prompt."""
    template = item.prompt_fill_blank or item.prompt or ""
    if not placeholders(template):
        return {"is_template": False, "prompt": template or None, "confident": True,
                "reason": "rules: no placeholder slots; the prompt is complete as written"}
    m = models(target_model)
    values = stated_values([p.text or "" for p in item.posts], template, m) if template else None
    if values:
        filled = fill(template, values)
        if not placeholders(filled) and normalize_prompt(filled) != normalize_prompt(template):
            return {"is_template": True, "prompt": filled, "confident": True,
                    "reason": "rules: the poster names the values: " + " / ".join(values)[:400]}
    return {"is_template": True, "prompt": None, "confident": False,
            "reason": "rules: placeholders are never guessed; the template is kept for manual review"}
