"""echo.text: the tokenizer and token F1 the evaluators compare prompts with."""

from __future__ import annotations

import pytest

from echo.text import token_f1, tokens


def test_words_are_lower_cased_and_punctuation_is_dropped():
    assert tokens("A Fox & a HARE, watercolor!") == ["a", "fox", "a", "hare", "watercolor"]
    assert tokens("3D-printed diorama (1:1)") == ["3d", "printed", "diorama", "1", "1"]
    assert tokens("") == [] and tokens(None) == []


def test_html_escapes_and_full_width_forms_are_normalized():
    assert tokens("Command &amp; Conquer &lt;h1&gt;") == ["command", "conquer", "h1"]
    assert tokens("ＡＢＣ１２３") == ["abc123"]


def test_cjk_text_is_one_token_per_character():
    assert tokens("将照片转换成Q版3D人物") == ["将", "照", "片", "转", "换", "成", "q", "版", "3d", "人", "物"]
    assert tokens("桜の下で本を読む柴犬") == ["桜", "の", "下", "で", "本", "を", "読", "む", "柴", "犬"]
    assert tokens("한국어 프롬프트") == ["한", "국", "어", "프", "롬", "프", "트"]


def test_mixed_script_keeps_latin_words_whole():
    assert tokens("用ChatGPT做的 prompt：可爱的corgi") == ["用", "chatgpt", "做", "的", "prompt", "可", "爱", "的", "corgi"]


def test_token_f1():
    assert token_f1("a red fox", "A red fox.") == 1.0
    assert token_f1("a b c d", "a b c") == pytest.approx(2 * 1.0 * 0.75 / 1.75)
    assert token_f1("a b", "c d") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("a", "") == 0.0
    # a count matters: a repeated token matches once per occurrence
    assert token_f1("a a b", "a b b") == pytest.approx(2 / 3)
    # CJK: one changed character out of ten is still a close match; whitespace does not matter
    zh = "桜の下で本を読む柴犬"
    assert token_f1(zh, zh.replace("柴", "秋")) == pytest.approx(0.9)
    assert token_f1(zh, " ".join(zh)) == 1.0


@pytest.mark.parametrize("text,slots", [
    # slots name a kind of thing, in any bracket and case, numbered, with alternatives or a lead word
    ("a mural of [MASCOT] above the door", ["[MASCOT]"]),
    ("a sticker of [animal] eating {food}", ["[animal]", "{food}"]),
    ("a duel between [Character 1] and [Character 2]", ["[Character 1]", "[Character 2]"]),
    ("a lamp shaped like [object/animal]", ["[object/animal]"]),
    ("a crest with [symbol or letter]", ["[symbol or letter]"]),
    # a single capitalised word that names no known kind may be a name ("[NASA]"): kept as text
    ("a patch for [NASA] with stars", []),
    ("welcome to <Your City>, in neon", ["<Your City>"]),
    ("a postcard from [{Town}, {Region}]", ["[{Town}, {Region}]"]),
    ("a banner reading [YOUR SLOGAN HERE]", ["[YOUR SLOGAN HERE]"]),
    ("一张[主体]的海报", ["[主体]"]),
    ("一张{品牌名称}的广告", ["{品牌名称}"]),
    ("a [time of day] scene with [hairstyle] hair", ["[time of day]", "[hairstyle]"]),
    ("a poster of ____ in the style of ____", ["____", "____"]),
    ("a mug printed with [...]", ["[...]"]),
    # concrete values are part of a complete prompt: an example, an emoji, a pointer to the upload
    ("a bust of [Ada Lovelace] in marble", []),
    ("a plush version of [🦊], soft studio light", []),
    ("a badge for {Ravenclaw House}", []),
    ("put [the person from my photo] on a stamp", []),
    ("restyle [uploaded picture] as a woodcut", []),
    ("一张{故宫}的明信片", []),
    ('"palette": ["teal", "coral"]', []),
])
def test_placeholders_tell_slots_from_concrete_values(text, slots):
    from echo.text import placeholders

    assert placeholders(text) == slots
