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
#
# A slot names the kind of thing that goes there: "[animal]", "{City}", "<band name>", "[Subject 1]",
# "[object/animal]", "[shape or logo]", "[YOUR NAME HERE]", "{Main Landmark}", "(your pet)". A bracket that holds
# a concrete value is part of a complete prompt: an example the poster chose ("[Jackie Chan]", "[Cyberpunk]",
# "{Northwestern Polytechnical University}", "{beautify}"), an emoji ("[🎃]", "{👍}"), or a pointer to the
# uploaded image ("[upload image]", "[the character in the reference image]").

_BRACKETS = re.compile(r"\[([^\[\]\n]{1,40})\](?!\()|<([^<>\n]{1,40})>|\{([^{}\n]{1,40})\}")
_PARENS = re.compile(r"\(([^()\n]{1,40})\)")
# bracketed words that are tags or markup, not slots: "[OC]", "<br>", "[deleted]"
_NOT_SLOTS = {"oc", "ai", "nsfw", "discussion", "question", "help", "meme", "news", "video", "gif", "link",
              "br", "p", "b", "i", "a", "em", "strong", "div", "span", "sic", "deleted", "removed", "original"}
# words that may come before the kind of thing a slot names: "[your pet]", "{Main Landmark}", "(insert text)"
SLOT_LEADS = ("your", "insert", "any", "some", "put", "add", "choose", "enter", "pick", "favorite", "favourite",
              "a", "an", "the", "own", "name", "this", "main", "chosen", "custom", "desired", "specific", "target",
              "my", "new", "type", "of", "first", "second", "third", "other", "another")
# words that open a slot whatever follows: "(your friend)", "(insert text)"
SLOT_OPENERS = ("your", "insert", "any", "enter", "put", "add", "choose", "pick")
# kinds of things a slot names
SLOT_NOUNS = (
    "x", "y", "z", "name", "subject", "object", "animal", "pet", "character", "person", "city", "country", "place",
    "thing", "item", "topic", "brand", "color", "colour", "food", "style", "year", "number", "word", "text", "job",
    "profession", "hobby", "celebrity", "movie", "location", "product", "company", "band", "team", "noun",
    "adjective", "emotion", "season", "artist", "game", "sport", "breed", "hero", "villain", "creature", "here",
    "landmark", "shape", "logo", "part", "prompt", "emoji", "icon", "scene", "theme", "title", "slogan", "quote",
    "image", "photo", "picture", "description", "material", "mood", "outfit", "activity", "action", "verb", "genre",
    "song", "book", "show", "series", "franchise", "university", "school", "language", "font", "flower",
    "plant", "fruit", "vehicle", "car", "building", "element", "concept", "idea", "keyword", "keywords", "term",
    "phrase", "message", "caption", "headline", "tagline", "date", "time", "age", "gender", "nationality", "role",
    "occupation", "instrument", "dish", "drink", "weapon", "costume", "setting", "environment", "background",
    "era", "decade", "region", "state", "street", "friend", "face", "body", "hair", "eye", "eyes",
    "town", "village", "continent", "planet", "province", "county", "mascot", "monument", "festival", "holiday",
    "event", "occasion", "symbol", "letter", "letters", "initial", "initials", "sign", "zodiac", "flag", "species",
    "superhero", "cartoon", "anime", "mood", "pose", "expression", "accessory", "weather", "type", "kind", "category",
    "time", "day", "month", "dessert", "vegetable", "ingredient", "tool", "prop", "camera", "lens", "medium", "pattern",
    "texture", "shape", "website", "app", "username", "handle", "hashtag", "nickname", "ethnicity", "clothing",
    "hairstyle", "quantity", "amount", "size", "angle", "lighting", "price", "age", "role", "title", "sticker",
)
# the same in Chinese and Japanese ("[主体]", "{城市名}", "【キャラクター名】")
_CJK_KINDS = (r"(?:主体|主體|主题|主題|物体|物體|物品|对象|對象|动物|動物|人物|角色|城市|国家|國家|地点|地點|地标|地標|品牌|产品|產品|"
              r"颜色|顏色|风格|風格|文字|内容|內容|关键词|關鍵詞|描述|元素|名称|名稱|名字|食物|季节|季節|节日|節日|职业|職業|"
              r"场景|場景|背景|表情|动作|動作|服装|服裝|标语|標語|口号|口號|图标|圖標|学校|學校|大学|大學|"
              r"キャラクター|キャラ|名前|都市|国|テーマ|スタイル|商品|ブランド)")
_CJK_SLOT = re.compile(r"(?:你的|您的|某个|某個|一个|一個|任意|输入|輸入)?" + _CJK_KINDS + r"(?:名|名称|名稱|名字|名前)?"
                       r"(?:\s*(?:/|或|或者|、|,)\s*" + _CJK_KINDS + r"(?:名|名称|名稱|名字)?)*")
# blanks: "____", "[...]", "[xxx]"
_BLANK = re.compile(r"_{3,}")
_BLANK_CONTENT = re.compile(r"\.{2,}|…|x{2,}|X{2,}|_+|\?{1,3}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def placeholders(prompt: str | None) -> list[str]:
    """Fill-in-the-blank slots in a prompt: [x], <x>, {x} that name a kind of thing, and (x) when it clearly
    names a slot ("(character)", "(your pet)", "(x)") — not "(2/2)", "(4o)", "(photorealistic)", and never a
    concrete value, an emoji or a pointer to the upload (see the note above)."""
    if not prompt:
        return []
    out = []
    for mt in _BRACKETS.finditer(prompt):
        if _is_bracket_slot(next(g for g in mt.groups() if g is not None).strip()):
            out.append(mt.group(0))
    for mt in _PARENS.finditer(prompt):
        if _is_paren_slot(mt.group(1).strip()):
            out.append(mt.group(0))
    out.extend(mt.group(0) for mt in _BLANK.finditer(prompt))
    return out


def _is_bracket_slot(content: str) -> bool:
    if (not content or content.lower() in _NOT_SLOTS or content.startswith("/") or '"' in content
            or re.search(r"\d\s*/\s*\d|https?:|=", content)):
        return False
    if _BLANK_CONTENT.fullmatch(content):
        return True  # "[...]", "[xxx]", "[___]"
    inner = [next(g for g in mt.groups() if g is not None).strip() for mt in _BRACKETS.finditer(content)]
    if inner:  # "[{City}, {Country}]": a slot made of slots
        return all(_is_bracket_slot(c) for c in inner)
    if _CJK.search(content):
        return bool(_CJK_SLOT.fullmatch(content.strip()))
    if not re.search(r"[a-zA-Z]", content):
        return False  # an emoji or a symbol is the example itself
    return _names_a_kind(content)


def _names_a_kind(content: str) -> bool:
    """'x', 'subject', 'Subject 1', 'brand product', 'object/animal', 'shape or logo', 'COUNTRY NAME', 'Main Landmark',
    'your pet', 'name here', 'YOUR FAVORITE FOOD': leads, then kinds of things (a number or 'here' may close it)."""
    words = [w.removesuffix("'s") for w in re.split(r"[\s/|,&+]+|\b(?:or|and)\b", content.lower().replace("’", "'")) if w]
    if not words or len(words) > 5:
        return False
    if len(words) == 1 and len(words[0]) == 1:
        return words[0].isalpha()
    if content.isupper() and len(words) >= 2 and all(w.isalpha() or w.isdigit() for w in words):
        return True  # "[YOUR TEXT HERE]", "[ART STYLE]"
    while words and (words[-1].isdigit() or words[-1] == "here"):
        words.pop()
    if not words or not any(w in SLOT_NOUNS for w in words):
        return False
    if words[0] in SLOT_OPENERS:
        return True
    return all(w in SLOT_NOUNS or w in SLOT_LEADS for w in words)


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
