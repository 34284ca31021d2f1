"""The real prompts: 100 GPT-4o (Sora) prompts shared on X, from jamez-bondos/awesome-gpt4o-images @3ed4dbb0
(CC-BY-4.0), as ../shared/realprompts/awesome-gpt4o-images.jsonl holds them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = ROOT.parent / "shared" / "realprompts" / "awesome-gpt4o-images.jsonl"
UPSTREAM = "jamez-bondos/awesome-gpt4o-images"
UPSTREAM_COMMIT = "3ed4dbb0"

# Templates whose placeholders are generic slots ([SUBJECT], {{logo}}): posted unfilled, the answer key has
# prompt = null and prompt_fill_blank = the template. Prompts whose brackets hold a concrete example
# ([Jackie Chan], {🐼}) or point at the uploaded image ([upload image]) are complete prompts.
TEMPLATE_FILLS: dict[int, dict[str, str]] = {
    17: {"[shape or logo]": "the Shanghai skyline"},
    19: {"[COUNTRY NAME]": "Japan"},
    37: {"[brand product]": "a can of sparkling water"},
    44: {"{Programmer}": "Baker", "[Skill1 +x]": "Sourdough +10", "[Skill2 +x, e.g., Creativity +10, UI/UX +8]": "Patience +7"},
    51: {"[{City}, {Country}]": "Rome, Italy", "{City}": "Rome", "{Main Landmark}": "the Colosseum"},
    55: {"[object/animal]": "corgi"},
    58: {"[SUBJECT/OBJECT]": "chinese dragon", "[LOCATION]": "The Great Wall"},
    68: {"{{logo}}": "a paper plane", "{{colors}}": "teal and violet", "{{ticker}}": "PLNE",
         "{{company_name}}": "Paper Plane Labs", "{{card_number}}": "0427", "{{revenue}}": "$12M"},
    69: {"[PROMPT]": "dragon on a castle"},
    72: {"[image /emoji]": "a sunflower"},
    74: {"[LOGO]": "Apple logo"},
    83: {"[SUBJECT]": "horse", "[PART]": "the knee"},
    85: {"[Subject 1]": "a hand", "[Subject 2]": "a rose"},
    94: {"[animal type]": "red pandas", "[landmark]": "Eiffel Tower"},
    98: {"[SUBJECT]": "cat", "[PART]": "paw"},
    100: {"[Real Object]": "coffee bean", "[Doodle Concept]": "a rocket launching from the bean", "[Ad Copy]": "WAKE UP",
          "[Brand Logo]": "Orbit Coffee"},
}
JSON_CASES = (25, 68, 78, 93)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

# What the uploaded input photo shows, by words of the reference note: a scene kind of the drawing module.
INPUT_KINDS = [("couple", "couple"), ("family", "family"), ("map", "street"), ("object", "product"), ("logo", "product"),
               ("food", "product"), ("icon", "product"), ("selfie", "person"), ("profile", "person"),
               ("character", "person"), ("person", "person"), ("earring", "person"), ("body", "person")]
# The edit's look, by words of the title: an edit style of the drawing module.
EDIT_STYLES = [("ghibli", "ghibli"), ("pixar", "pixar"), ("lego", "lego"), ("glass", "glass"), ("sticker", "cartoon"),
               ("anime", "anime"), ("manga", "anime"), ("map", "watercolor"), ("painting", "oil"), ("knitted", "clay"),
               ("voxel", "iso"), ("badge", "cartoon"), ("pin", "cartoon")]


@dataclass(frozen=True)
class RealPrompt:
    case: int
    title_en: str
    prompt_en: str
    prompt_original: str
    reference_note_en: str
    source_url: str | None
    author: str
    prompt_author: str

    @property
    def split(self) -> str:
        """The fixed dev/test rule: odd case numbers are dev, even ones test."""
        return "dev" if self.case % 2 else "test"

    @property
    def is_edit(self) -> bool:
        return bool(self.reference_note_en)

    @property
    def is_template(self) -> bool:
        return self.case in TEMPLATE_FILLS

    @property
    def is_json(self) -> bool:
        return self.case in JSON_CASES

    @property
    def has_chinese(self) -> bool:
        return bool(CJK.search(self.prompt_original))

    def filled(self) -> tuple[str, str]:
        """(the template with its placeholders filled, the fill values as a post would name them)."""
        text = self.prompt_en
        for slot, value in TEMPLATE_FILLS[self.case].items():
            if slot not in text:
                raise ValueError(f"case {self.case}: placeholder {slot} not in the template")
            text = text.replace(slot, value)
        values = list(dict.fromkeys(TEMPLATE_FILLS[self.case].values()))
        return text, " / ".join(values)  # every value is named: a reader must be able to fill every slot

    @property
    def input_kind(self) -> str:
        low = self.reference_note_en.lower()
        return next((kind for word, kind in INPUT_KINDS if word in low), "person")

    @property
    def edit_style(self) -> str:
        low = self.title_en.lower()
        return next((style for word, style in EDIT_STYLES if word in low), "figurine")

    @property
    def caption(self) -> str:
        """A short caption drawn into the picture, from the title."""
        words = re.sub(r"[^\w\s-]", " ", self.title_en).split()
        out = ""
        for w in words:
            if len(out) + len(w) + 1 > 16:
                break
            out = f"{out} {w}".strip()
        return (out or f"CASE {self.case}").upper()


def load(path: Path = DEFAULT_SOURCE) -> list[RealPrompt]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the realistic corpus is built from ../shared/realprompts")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        out.append(RealPrompt(
            case=int(r["case"]), title_en=r["title_en"].strip(), prompt_en=r["prompt_en"].strip(),
            prompt_original=r["prompt"].strip(), reference_note_en=(r.get("reference_note_en") or "").strip(),
            source_url=r.get("source_url"), author=r.get("author") or "", prompt_author=r.get("prompt_author") or ""))
    out.sort(key=lambda p: p.case)
    if [p.case for p in out] != list(range(1, len(out) + 1)):
        raise ValueError(f"{path}: expected cases 1..N")
    return out
