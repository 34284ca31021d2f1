"""Which model a text names: the target model's family (strong and ambiguous names) and every other family."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from echo.llm import lexicon as lx
from echo.llm.rules.patterns import B0, B1, F, alt

@dataclass(frozen=True)
class Models:
    """Regexes for the target model family (strong and ambiguous names) and every other family."""

    target: str
    strong: re.Pattern[str]
    weak: re.Pattern[str] | None
    others: dict[str, re.Pattern[str]]
    any_model: re.Pattern[str]

    def other_names(self, text: str) -> list[str]:
        return [name for name, rx in self.others.items() if rx.search(text)]


@functools.cache
def models(target_model: str) -> Models:
    """Model regexes for config.filter.target_model. A name outside lexicon.MODEL_FAMILIES becomes its own family."""
    target_l = (target_model or "").lower()
    family = next((f for f, frags in lx.MODEL_FAMILIES.items()
                   if re.search(B0 + alt(frags) + B1, target_l, F)), None)
    families = dict(lx.MODEL_FAMILIES)
    if family is None:
        core = re.sub(r"\b(?:image|images|generation|gen|model|generator)\b", " ", target_l).strip() or target_l
        family = core
        families[family] = (r"[\s\-_]?".join(re.escape(w) for w in core.split()),)
    strong = re.compile(B0 + alt(families[family]) + B1, F)
    weak_frags = lx.AMBIGUOUS.get(family)
    weak = re.compile(B0 + alt(weak_frags) + B1, F) if weak_frags else None
    others = {f: re.compile(B0 + alt(fr) + B1, F) for f, fr in families.items() if f != family}
    all_frags = [fr for frs in families.values() for fr in frs] + [fr for frs in lx.AMBIGUOUS.values() for fr in frs]
    return Models(family, strong, weak, others, re.compile(B0 + alt(all_frags) + B1, F))
