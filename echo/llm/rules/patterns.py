"""Regular expressions compiled from the lexicon (echo.llm.lexicon), shared by the rules' modules."""

from __future__ import annotations

import re
from collections.abc import Iterable

from echo.llm import lexicon as lx
from echo.llm.injection import INJECTION  # noqa: F401 - shared by the rules
from echo.text import URL  # noqa: F401 - the one link pattern, shared by the rules

F = re.IGNORECASE
B0, B1 = r"(?<![a-z0-9])", r"(?![a-z0-9])"  # word edges that also work around hyphens and digits


def alt(fragments: Iterable[str]) -> str:
    return "(?:" + "|".join(fragments) + ")"


def words_rx(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile(B0 + alt(re.escape(w) for w in sorted(words, key=len, reverse=True)) + B1, F)


IMAGE_WORDS = words_rx(lx.IMAGE_WORDS)
CLAIMS = re.compile(alt(lx.GENERATION_CLAIMS), F)
MARKER = re.compile(lx.PROMPT_MARKER, F)
PROMISE = re.compile(alt(lx.PROMPT_PROMISE), F)
REQUEST = re.compile(alt(lx.PROMPT_REQUEST), F)
FILL_STATEMENT = re.compile(lx.FILL_STATEMENT, F)
COURTESY = re.compile(r"^\W*" + alt(re.escape(w) for w in sorted(lx.COURTESY, key=len, reverse=True))
                      + r"(?![a-z0-9])[\s!.,:;~\-–—😊🙂👍✨🙏]*", F)
SLANG = words_rx(lx.SLANG)
CHAT = words_rx(lx.CHAT_WORDS)
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")
CJK_COMMENTARY = re.compile(alt(re.escape(w) for w in lx.CJK_COMMENTARY))
CJK_IMPERATIVE = re.compile(lx.CJK_IMPERATIVE)
CONTINUATION = re.compile(lx.CONTINUATION_LEAD, F)
END_LINE = re.compile(lx.PROMPT_END_LINE, F)
REUSE = re.compile(alt(lx.PROMPT_REUSE), F)
I2I = re.compile(alt(lx.I2I_WORDS), F)
BEFORE_AFTER = re.compile(lx.BEFORE_AFTER, F)
INPUT_ALT = re.compile(lx.INPUT_ALT, F)
OUTPUT_ALT = re.compile(lx.OUTPUT_ALT, F)
SCREENSHOT = re.compile(alt(lx.SCREENSHOT_WORDS), F)
SPAM = re.compile(alt(lx.SPAM), F)
NON_IMAGE_TASKS = re.compile(alt(lx.NON_IMAGE_TASKS), F)
GEN_WORDS = words_rx(lx.GENERATION_WORDS)
PERSONAL = re.compile(alt(lx.PERSONAL_SUBJECT), F)
# Talk about making the picture rather than about what it shows ("no edits", "third try", "straight out of 4o").
META = re.compile(r"\b(?:image\s*gen(?:eration)?|image\s+(?:model|editing|editor)|new\s+model|prompts?|one[\s\-]shot(?:ted)?|"
                  r"in\s+one\s+go|(?:zero|no|without(?:\s+any)?)\s+(?:edits?|editing|retouch\w*|photoshop|post[\s\-]?processing|"
                  r"inpainting|cherry[\s\-]?picking)|unedited|re-?rolls?|cherry[\s\-]?pick\w*|upscal\w+|"
                  r"(?:first|second|third|\d+(?:st|nd|rd|th))\s+(?:try|attempt|generation|gen|shot|go|time)|"
                  r"\d+\s+(?:tries|attempts|generations|gens|rerolls)|straight\s+out\s+of|out\s+of\s+the\s+box)\b", F)
ENUM_ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[).:]|#\d{1,2}[:.)]?)\s+(\S.*?)\s*$", re.M)
CATEGORIES = {c: re.compile(alt(f), F) for c, f in lx.CATEGORY_KEYWORDS.items()}
FEEDBACK_PATTERNS = [(re.compile(p, F), w) for p, w in lx.FEEDBACK_PATTERNS.items()]
COMPARISON = re.compile(r"\b(?:vs\.?|versus|compared?\s+(?:to|with)|comparison|side[\s\-]by[\s\-]side|"
                        r"same\s+prompt\s*,?\s+(?:\w+\s+)?(?:models|tools|generators)|which\s+(?:one|model)\s+(?:is|did|wins))\b", F)
LEADING_MENTIONS = re.compile(r"^(?:\s*@[\w.\-]+(?:@[\w.\-]+)?)+\s*")
TRAILING_TAGS = re.compile(r"(?:[\s,.;:|]*(?:#[\w\-]+|@[\w.\-]+))+[\s.!]*$")
QUOTED = re.compile(r"“([^”]{6,})”|\"([^\"\n]{6,})\"|«([^»]{6,})»|„([^“”]{6,})[“”]|「([^」]{4,})」|『([^』]{4,})』")
SPLIT = re.compile(r"(?:^|(?<=[\s(\[🧵]))\(?\[?(\d{1,2})\s*/\s*(\d{1,2})\]?\)?(?=$|[\s).:,\]])")
EMOJI_EDGE = re.compile(r"^[\W_]+|[\s\W_]+$", re.UNICODE)
IMPERATIVES = (
    "turn", "make", "transform", "convert", "create", "generate", "draw", "render", "design", "give", "put",
    "change", "add", "remove", "restyle", "redraw", "recreate", "reimagine", "imagine", "show", "depict", "paint",
    "illustrate", "edit", "replace", "place", "photograph", "sketch", "style", "use", "colorize", "colourize",
    "restore", "visualize", "visualise", "produce", "combine", "swap", "keep", "shoot", "capture", "compose", "build",
    "craft", "sculpt", "animate", "stylize", "stylise", "apply", "arrange", "write", "portray", "envision", "dress",
    "include", "rework", "redesign", "retexture", "reshape", "blend", "merge", "fuse", "extend", "expand", "simulate",
    "emulate", "mimic", "reproduce", "cartoonify", "caricature", "outline", "doodle", "integrate", "infuse",
)
ARTICLE_START = re.compile(r"^(?:a|an|the|two|three|four|five|several|some|close-?up|portrait|photo|image|"
                            r"illustration|painting|poster|cinematic|isometric|watercolou?r|oil|pixel|minimalist|"
                            r"vintage|retro|hyper-?realistic|photorealistic|3d|low-?poly|studio|top-?down|aerial)\b", F)
