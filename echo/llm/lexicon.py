"""Word lists and patterns the offline rule-based backend (echo.llm.rules) decides with.

Everything here is data, kept in one place so it can be read, reviewed and extended without touching
the rules. Patterns are case-insensitive regex fragments; word lists match whole words.

Sections
- MODEL_FAMILIES: names of image models; config.filter.target_model picks the target family, the
  others are "other models" (a post only about them scores 2 or lower).
- AMBIGUOUS: short forms ("4o", "gpt") that alone do not prove a model family is meant.
- IMAGE_WORDS, GENERATION_CLAIMS, GENERATION_WORDS: evidence that a post is about generated images;
  NON_IMAGE_TASKS: what else the model is used for (code, essays, voice).
- SPAM: advertising and engagement bait; such a post scores 2 or lower.
- PROMPT_*: how people hand over prompts (markers in several languages, promises of a prompt in a reply,
  requests for it, continuation, closing lines), FILL_STATEMENT: values a poster put in a template's slots.
- COMMENTARY_OPENERS, WEAK_COMMENTARY_OPENERS, FIRST_SECOND_PERSON, POSSESSIVE_PERSON, SLANG, CHAT_WORDS,
  FOREIGN_FUNCTION_WORDS, CJK_COMMENTARY,
  CJK_IMPERATIVE, COURTESY: what makes text someone talking rather than a prompt (echo.llm.rules.commentary).
- I2I_WORDS, BEFORE_AFTER, INPUT_ALT, OUTPUT_ALT: image-to-image wording and image labels.
- SCREENSHOT_WORDS: wording or alt text that says an image is a chat-window screenshot.
- INJECTION: instructions aimed at a model or an annotator reading the post; removed before scoring, never obeyed.
- STOPWORDS: words never reported as feedback keywords.
- SUCCESS / FAILURE / FEEDBACK_PATTERNS / NEUTRAL_PHRASES / NEGATORS / NOT_NEGATING / CONTRAST: the feedback
  polarity lexicon (phrase or pattern -> weight), in English and a few words of other languages;
  FEEDBACK_WORDS: more words typos are corrected towards (echo.llm.rules.spelling).
- CATEGORY_KEYWORDS: feedback category rules over echo.records.FEEDBACK_CATEGORIES.
"""

from __future__ import annotations

# --- models ---------------------------------------------------------------------------------------

# family -> regex fragments naming it. The first family whose fragments match config.filter.target_model
# (e.g. "gpt-4o image generation") is the target.
MODEL_FAMILIES: dict[str, tuple[str, ...]] = {
    "gpt-4o": (
        r"gpt[\s\-_]?4o", r"gpt[\s\-_]?image(?:[\s\-_]?1)?", r"chat[\s\-_]?gpt", r"sora(?:[\s\-_]?images?)?",
        r"openai(?:'s)?\s+(?:new\s+)?image", r"4o[\s\-_]?images?(?:[\s\-_]?gen(?:eration)?)?", r"gpt[\s\-_]?4\.?o",
        r"image[\s\-_]?gen\s+(?:in|on)\s+chat[\s\-_]?gpt",
    ),
    "nano banana": (r"nano[\s\-_]?banana", r"gemini(?:[\s\-_]?2\.5)?(?:[\s\-_]?flash)?(?:[\s\-_]?image)?", r"imagen[\s\-_]?\d*"),
    "midjourney": (r"midjourney", r"\bmj\s?v?\d", r"niji"),
    "flux": (r"flux(?:[\s\-_.]?1)?(?:[\s\-_.]?(?:dev|pro|schnell|kontext))?", r"black\s?forest\s?labs"),
    "dall-e": (r"dall[\s\-·]?e(?:[\s\-]?[23])?",),
    "stable diffusion": (r"stable[\s\-_]?diffusion", r"\bsdxl\b", r"\bsd\s?(?:1\.5|2\.1|3(?:\.5)?)\b", r"comfyui"),
    "ideogram": (r"ideogram",),
    "recraft": (r"recraft",),
    # names that are also ordinary words ("Leonardo da Vinci", "a runway show", "a firefly") only in their product form
    "leonardo": (r"leonardo(?:\.ai|[\s\-_]?ai\b|[\s\-_]+(?:phoenix|lucid|kino|diffusion))",),
    "reve": (r"reve[\s\-_]+(?:image|ai|art|1\.0)",),
    "kling": (r"kling(?:[\s\-_]?ai)?(?:[\s\-_]?\d(?:\.\d)?)?", r"kolors"),
    "firefly": (r"adobe[\s\-_]+firefly", r"firefly[\s\-_]+(?:image[\s\-_]?\d|\d)"),
    "grok": (r"grok(?:[\s\-_]?\d)?", r"\baurora\s+(?:image|model)"),
    "seedream": (r"seedream", r"dreamina", r"jimeng", r"即梦"),
    "hunyuan": (r"hunyuan(?:[\s\-_]?image)?", r"混元"),
    "qwen": (r"qwen[\s\-_]?image", r"通义万相", r"tongyi\s+wanxiang"),
    "hidream": (r"hidream",),
    "krea": (r"krea(?:[\s\-_]?ai|[\s\-_]?1)?",),
    "playground": (r"playground[\s\-_]?(?:ai|v\d(?:\.\d)?)",),
    "runway": (r"runway[\s\-_]?(?:ml|gen[\s\-_]?\d|frames|references)",),
    "luma": (r"luma[\s\-_]?(?:ai|photon|dream\s+machine)",),
    "bing image creator": (r"bing[\s\-_]+image[\s\-_]+creator", r"microsoft\s+designer"),
}

# Short forms of a family that are often something else (Audi A4o is excluded by word boundaries;
# "gpt" alone is any GPT). Alone, without image words, they are a coincidental mention (score 1).
AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "gpt-4o": (r"4o", r"gpt(?:s)?", r"openai", r"o\d"),
    "nano banana": (r"google",),
}

# Words that say a post is about pictures.
IMAGE_WORDS = (
    "image", "images", "img", "pic", "pics", "picture", "pictures", "photo", "photos", "photograph", "selfie",
    "portrait", "render", "rendered", "rendering", "illustration", "drawing", "drawn", "painting", "art",
    "artwork", "poster", "logo", "meme", "comic", "sticker", "wallpaper", "infographic", "figurine", "ghibli",
    "anime", "pixar", "style", "edit", "edited", "generate", "generated", "generation", "gen", "imagegen",
    "visual", "visuals", "thumbnail", "sketch", "cartoon", "watercolor", "watercolour", "photorealistic",
    "prompt", "prompts", "prompted", "output", "outputs", "result", "results", "made", "created", "create",
)

# Explicit claims that the model produced the attached picture.
GENERATION_CLAIMS = (
    r"\b(?:made|created|generated|rendered|drawn|done|produced)\s+(?:this\s+|these\s+|it\s+|them\s+)?"
    r"(?:with|by|using|in|on|via)\b",
    r"\b(?:asked|told|had|got|prompted|used|using)\s+(?:\w+\s+){0,2}(?:to\s+)?(?:make|draw|generate|create|render|turn|edit)\b",
    r"\bturned\s+(?:my|this|our|a|the|me|him|her)\b.*\binto\b",
    r"\b(?:here'?s|here\s+is|this\s+is)\s+what\s+\S+\s+(?:made|gave|generated|created|did)\b",
    r"\b(?:gave|made)\s+me\b",
    r"\bprompt\s*[:：]",
    r"\bmy\s+(?:first\s+)?(?:attempt|try|result|generation|output)\b",
    r"\b(?:did|made|drew|generated|created|nailed|rendered)\s+(?:this|these|that|it)\b",
)
# Words that put a short model name ("4o") in an image-generation context.
GENERATION_WORDS = (
    "generate", "generated", "generates", "generating", "generation", "generator", "gen", "imagegen", "image gen",
    "prompt", "prompts", "prompted", "render", "rendered", "edit", "edited", "editing", "image model",
    "image generation", "made with", "made by", "created with", "ghibli", "ghiblified", "text-to-image",
    "image-to-image", "img2img", "txt2img", "one shot", "first try", "output", "outputs",
)
# What else people use the target model for (code, essays, voice ...): with none of the image words, a post about
# these is not about image generation even when it has a screenshot attached (score 2).
NON_IMAGE_TASKS = (
    r"\b(?:code|coding|python|javascript|typescript|sql|regex|pandas|bug|bugs|debug\w*|refactor\w*|stack\s*trace|api\s+pricing|"
    r"tokens?|rate\s+limits?|message\s+limits?|messages|context\s+window|essays?|emails?|cover\s+letter|resume|cv|homework|"
    r"math|equations?|summar(?:y|ies|i[sz]e\w*)|transcri\w+|translat\w+|voice\s+mode|advanced\s+voice|spreadsheets?|excel|"
    r"thesis|lyrics|workout|meal\s+plan|itinerary|taxes|legal|therapist|jailbreak\w*|logging\s+me\s+out|desktop\s+app|"
    r"subscription|benchmarks?\s+(?:score|results)|reasoning|o1|o3|o4-mini|gpt-?5|fine[\s\-]?tun\w+)\b",
)
# Advertising and engagement bait: a post with these is not a sample, whatever it mentions (score <= 2).
SPAM = (
    r"\blink\s+in\s+(?:bio|profile)\b", r"\bdm\s+(?:me\s+)?(?:for|to)\b", r"\b\d{1,2}\s*%\s*off\b", r"\bdrop\s+is\s+live\b",
    r"\bgiveaway\b", r"\bfollow\s+(?:me\s+)?for\s+more\b", r"\bpromo\s+code\b", r"\bdiscount\s+code\b",
    r"\bmasterclass\b", r"\bcheck\s+(?:out\s+)?my\s+(?:course|store|shop|onlyfans|patreon)\b", r"\bairdrop\b",
    r"\b(?:buy|sign\s+up)\s+now\b", r"\blimited\s+(?:time|offer)\b", r"\btoday\s+only\b",
)

# --- prompts --------------------------------------------------------------------------------------

# "Prompt:", "My prompt -", "Prompt used —", "Full prompt (1/2):", "📝 Prompt (copy/paste):", "Prompt 👇 ...",
# "プロンプト↓", "提示词：", "the whole prompt was ...". The label must be followed by one of the separators; the
# text after it is the prompt (when nothing prompt-like follows, the label is a promise instead).
PROMPT_LABEL = r"(?:prompt|プロンプト|提示词|提示詞|咒语|咒語|呪文|프롬프트|promptu?|indicaci[oó]n)"
PROMPT_MARKER = (
    r"(?:(?<![A-Za-z0-9_\-'’])(?:my\s+|the\s+|full\s+|exact\s+|original\s+|image\s+|text\s+|whole\s+|entire\s+)*"
    + PROMPT_LABEL + r"[*_]{0,2}(?:\s+(?:i\s+used|used|was|is|text|here))?"
    r"(?:\s+(?:is\s+)?(?:below|here|as\s+follows|unten|abajo|aquí|aqui|ci-dessous|abaixo)|如下|はこちら|は以下)?[ \t]*"
    r"(?:[(（][^()（）\n]{1,24}[)）])?[ \t]*(?:[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50]+[ \t]*)?"
    r"(?:[:：=]|\s[-–—]\s|\n|[-–—]\s*(?=[\"“])|[ \t]*(?:->|→|=>|⇒|↓|⬇️?|👇|👉|➡️?|⤵️?|🔽|⏬)+[ \t]*[:：]?)[*_]{0,2}"
    r"|(?:^|(?<=[\s(\[]))(?:the|my)\s+(?:whole\s+|full\s+|exact\s+|original\s+|entire\s+)?prompt\s+(?:was|is)\s+(?=\S)"
    r"|(?:^|(?<=[\s(\[]))(?:try|use|copy|paste|run)\s+this(?:\s+prompt)?(?:\s+(?:in|on|with)\s+[\w.\-]+(?:\s+[\w.\-]+)?)?"
    r"\s*[:：])\s*"
)
# The author says the prompt comes in a reply / the comments / the thread / the alt text.
PROMPT_PROMISE = (
    r"\bprompt(?:s|'s)?\s+(?:is\s+|are\s+)?(?:below|in\s+(?:the\s+)?(?:first\s+|1st\s+|next\s+)?(?:comments?|replies|reply|"
    r"thread|alt(?:\s+text)?|image\s+description|description)|down\s+below|in\s+(?:the\s+)?next\s+(?:post|tweet|toot|skeet)|"
    r"👇|⬇️?|🧵)",
    r"\b(?:in|see|check)\s+(?:the\s+|my\s+)?(?:first\s+|1st\s+|next\s+)?(?:comments?|repl(?:y|ies)|thread|alt(?:\s*text)?)\b"
    r"[^.!?\n]{0,30}\bprompt",
    r"\bprompt(?:s|'s)?\b[^.!?\n]{0,20}\b(?:in|see|check)\s+(?:the\s+|my\s+)?(?:first\s+|1st\s+|next\s+)?"
    r"(?:comments?|repl(?:y|ies)|thread|alt(?:\s*text)?)\b",
    r"(?:\bwill|'ll|\bgonna|\bgoing\s+to)\s+(?:post|share|drop|put|leave)\s+(?:the\s+|my\s+)?(?:full\s+)?prompt",
    r"\bprompts?\s+(?:\w+\s+){0,2}(?:👇|⬇️?|↓|⤵️?|🔽|⏬)",
    r"\bprompts?\s+(?:to\s+follow|coming(?:\s+up)?|incoming|in\s+a\s+(?:sec|bit|minute|moment|second)|soon|follows)\b",
    r"\bprompt\w*\s*(?:→|->|👉|➡️?)\s*(?:the\s+|my\s+)?(?:first\s+|1st\s+|next\s+)?(?:comments?|repl(?:y|ies)|thread|post|alt)\b",
    r"\b(?:the\s+)?prompts?\s+(?:is\s+)?in\s+(?:the\s+)?alt\b",
    r"(?:提示词|咒语|プロンプト)[^\n]{0,6}(?:评论|評論|楼下|下面|见下|リプ|返信|スレッド|代替テキスト|ALT)",
)
# A reply that asks for the prompt ("prompt?", "sauce?", "how did you prompt this?"): the author's answer to it
# is the prompt, and the question itself is not feedback.
PROMPT_REQUEST = (
    r"\bprompts?\s*[?？]", r"\b(?:what|which|whats)(?:'s|\s+(?:was|is|were))?\s*(?:the|your|ur|ya)?\s*prompt",
    r"\bwhat\s+did\s+(?:you|u|ya)\s+(?:type|write|use|say|ask|put|prompt)\b", r"\bcare\s+to\s+share\b", r"\brecipe\s*[?？]",
    r"\bhow'?d\s+(?:you|u|ya)\s+(?:do|make|get|prompt|create)\b", r"\bcan\s+(?:i|we)\s+(?:get|have|see|grab)\s+(?:the|your|that)\s+prompt",
    r"\bprompts?\s+(?:did|do)\s+(?:you|u)\b", r"\bprompts?\b[^.!\n]{0,30}[?？]", r"\bprompts?\b[^.!?\n]{0,30}(?:please|pls|plz|🙏)",
    r"\b(?:share|send|post|drop|spill)\s+(?:it|pls|please|plz)\b", r"\bwhat\s+(?:did|do)\s+(?:you|u)\s+(?:use|type|write|say)\b",
    r"\b(?:teach|tell|show)\s+(?:me|us)\s+(?:how|the\s+prompt|your\s+(?:prompt|secret|ways))\b",
    # a how/what question about making it ("how did you get the lighting like this?", "what did you ask it?")
    r"\b(?:how|what)\b[^?\n]{0,50}\b(?:get|got|make|made|do|did|create|generate|type|typed|ask|asked|write|wrote|use|used)\b[^?\n]{0,40}[?？]",
    r"\bhow\s+did\s+(?:you|u|ya)\s+(?:prompt|make|do|get|create|generate|write)\b",
    r"\b(?:share|drop|post|send|give|paste|dm)\s+(?:us\s+|me\s+)?(?:the|your|ur|that)\s+prompt",
    r"\bprompts?\s+(?:pl(?:ea)?se?|pls|plz|🙏|por\s+favor|bitte|svp|s'il)", r"\bsauce\b",
    r"\b(?:is|was)\s+the\s+prompt\s+(?:a\s+)?(?:secret|public|available|shared|posted|somewhere)",
    r"\b(?:can|could|would)\s+(?:you|u)\s+(?:share|post|drop|give|paste|send)\b", r"\bmind\s+sharing\b",
    r"\bprompt\s+or\s+it\s+didn'?t\s+happen", r"(?:求|要)(?:一下)?(?:提示词|咒语|prompt)",
    r"(?:提示词|提示詞|咒语|咒語|プロンプト)[^\n]{0,8}(?:吗|呢|嗎|[?？]|什么|什麼|是啥|教えて|ください|知りたい)",
)
# Opening words of a post that continues a split prompt ("cont.", "continued:", "...").
CONTINUATION_LEAD = r"^\s*(?:(?:prompt\s+)?(?:cont(?:inued|'d|\.)?|part\s*\d+)\s*[:.\-–—]*|\.{2,}|…)\s*"
# Lines that end a prompt and start commentary or settings.
PROMPT_END_LINE = (
    r"^\s*(?:result|results|output|outputs|model|tool|settings|made\s+with|generated\s+(?:with|by|in|using)|"
    r"created\s+(?:with|by|in|using)|via|edit|update|ps|p\.s\.|source|credit|let\s+me\s+know|have\s+fun|enjoy|"
    r"lmk|thoughts\??|feel\s+free)\b"
)
# Words that say another user's reply reuses the root's prompt.
PROMPT_REUSE = (
    r"\b(?:same|your|this|that|the\s+same|op'?s|identical)\s+prompt\b",
    r"\b(?:tried|ran|used|copied|reran|re-ran|plugged\s+in|stole|borrowed)\s+(?:it|this|yours|your\s+prompt|the\s+prompt|this\s+one)\b",
    r"\bhere'?s\s+(?:mine|my\s+(?:version|attempt|try|result|run|take))\b",
    r"\bmy\s+(?:version|attempt|try|result|run|take)\b",
    r"\b(?:got|gave\s+me)\s+(?:this|something\s+similar|a\s+similar)\b",
    r"\b(?:here'?s|this\s+is)\s+what\s+i\s+got\b", r"\bresult\s+attached\b",
)
# The poster names the values they put into a template's slots: "used the template with a fox / the moon",
# "filled it in with Lisbon", "here's mine with Paper Moons / shoegaze", "(I used my friend Dev)". Group "values"
# holds them, several separated by " / ".
FILL_STATEMENT = (
    r"(?:\b(?:templ\w*|it(?:\s+in|\s+out)?|mine|my\s+(?:version|take|run|try|attempt)|this\s+one|one)\s+(?:with|using|for)|"
    r"\bi\s+(?:used|put\s+in|chose|picked)|\bwent\s+with|\bfilled\s+(?:it\s+)?(?:in|out)(?:\s+with)?|"
    r"\b(?:swapped|plugged|popped|dropped|subbed|slotted|put)\s+in|\bi\s+did|"
    r"\b(?:tried|did)(?=\s+(?!it\b|this\b|that\b|the\b|a\s+few\b|my\b|mine\b|some\b|one\b))|"
    r"\b(?:mine|my\s+(?:fill|values?|picks?|choices?)|values?|filled(?:\s+in)?|fills?)\s*[:=：])\s+(?P<values>[^\n]+)"
)
# What a poster tells others to put in a template is not a value they used ("plug your own stuff into this").
NOT_A_FILL_VALUE = (r"^(?:your|ur|yours|you|own|anything|whatever|something|stuff|any|the\s+brackets|the\s+placeholders?|"
                    r"it|this|that|them|these|here)\b")
# Words that open a polite lead-in before an answer ("sure! <prompt>", "here you go: <prompt>").
COURTESY = (
    "sure", "ofc", "of course", "here you go", "here it is", "here", "np", "no problem", "yep", "yes", "yeah",
    "ok", "okay", "absolutely", "gladly", "for sure", "happy to", "there you go", "voilà", "voila", "claro",
    "klar", "bien sûr", "当然", "好的", "どうぞ",
)
# Opening words that make text commentary rather than a description of a picture.
COMMENTARY_OPENERS = (
    "wow", "omg", "lol", "lmao", "ok", "okay", "honestly", "i", "i'm", "im", "i've", "ive", "we", "me", "you", "my",
    "your", "why", "how", "what", "who", "when", "is", "are", "does", "do", "can", "could", "should", "anyone", "has",
    "have", "tried", "trying", "testing", "asked", "here's", "heres", "finally", "yes", "unpopular", "thread", "psa",
    "compare", "comparing", "comparison", "gpt", "chatgpt", "4o", "gpt-4o", "midjourney", "flux", "gemini", "dall-e",
    "sora", "openai", "had", "got", "sharing", "dropping", "posting", "save", "saving", "stole", "been", "plug",
    "reusable", "fill", "love", "loving", "kinda", "lowkey", "ngl", "tbh", "imo",
    # Spanish, German, French, Portuguese
    "otra", "otro", "aquí", "aqui", "mira", "probando", "hice", "les", "hier", "noch", "erster", "gemacht", "voici",
    "voilà", "encore", "olha", "fiz",
)
# Opening words that are as often the start of a description ("New York at night", "Still life of pears", "This
# cozy cabin ..."): they make only a short line without a comma commentary ("this is wild", "new favorite").
WEAK_COMMENTARY_OPENERS = ("look", "check", "so", "just", "well", "this", "these", "that", "it", "it's", "its", "made",
                           "here", "new", "still", "no", "not", "hot", "tip", "used", "using", "first", "another", "same",
                           "pretty", "mais")
# The speaker as subject ("I", "we", "you"): someone talking, whatever follows.
FIRST_SECOND_PERSON = ("i", "i'm", "im", "i've", "ive", "i'd", "we", "we're", "we've", "you", "you're", "u", "yo",
                       "ich", "wir", "je", "j'ai", "nous", "vous", "eu", "você", "voce")
# Possessives and objects ("my", "your", "me"): talk, unless the sentence describes or instructs ("A portrait of my
# dog as a king", "Turn me into a knight").
POSSESSIVE_PERSON = ("me", "my", "mine", "our", "us", "your", "ur", "mi", "mis", "mein", "meine", "mir", "mich", "mon",
                     "moi", "meu", "minha")
# Chat words: a sentence with one of them is someone talking, not a prompt.
SLANG = ("lol", "lmao", "lmfao", "tbh", "ngl", "fr", "imo", "imho", "haha", "hahaha", "omg", "btw", "smh",
         "idk", "bruh", "wtf", "jk", "fwiw", "iykyk")
# Words of someone chatting (not describing a picture); they mark a short sentence as commentary.
CHAT_WORDS = ("actually", "literally", "honestly", "seriously", "basically", "definitely", "totally", "kinda", "gonna",
              "wanna", "gotta", "y'all", "yall", "folks", "guys", "cooked", "photoshop", "subscription", "obsessed",
              "addicted", "hooked", "anymore", "tho", "pls", "thanks", "thank", "cheers", "enjoy", "wow", "whoa", "yay",
              "oops", "apparently", "anyway", "anyways", "btw", "nah", "yeah", "yep", "nope")
# Function words of other Latin-script languages: a short sentence with two of them (and none of English's)
# is commentary around an English prompt ("quedó increíble con el modelo nuevo").
FOREIGN_FUNCTION_WORDS = (
    "el", "la", "los", "las", "del", "que", "con", "para", "por", "una", "unos", "muy", "es", "está", "esta", "mi",
    "der", "die", "das", "und", "ist", "mit", "nicht", "ein", "eine", "sehr", "hier", "auch", "noch", "ohne", "wie",
    "le", "les", "des", "est", "avec", "pour", "une", "très", "et", "c'est", "j'ai", "sans", "mon", "pas", "ça",
    "os", "com", "uma", "muito", "não", "ficou", "isso", "aqui", "sem", "meu", "minha",
)
ENGLISH_FUNCTION_WORDS = ("the", "a", "an", "of", "with", "and", "in", "on", "is", "are", "to", "for", "at", "by", "this",
                          "that", "it", "from", "its", "into")
# Chinese / Japanese fragments that mark someone talking about their own post (first person, "try it", "came out").
CJK_COMMENTARY = ("我", "你", "大家", "试试", "試試", "出图", "出圖", "哈哈", "私", "僕", "俺", "みた", "してみ", "使って",
                  "できた", "作った", "ですね", "でした", "修正なし", "没有修改", "沒有修改", "提示词", "提示詞", "咒语", "咒語",
                  "プロンプト", "呪文", "分享", "好用", "绝了", "太强", "居然", "竟然", "厉害", "笑死", "すごい", "やばい",
                  "置いとく", "共有")
# Chinese / Japanese openings of an instruction (a prompt): "把…", "给…画", "请生成…", "生成一张…".
CJK_IMPERATIVE = r"^(?:请|請|把|将|將|给|給|为|為|生成|画|畫|创建|創建|制作|製作|设计|設計|绘制|繪製|转换|轉換|変換|描いて|作成)"

# --- tasks and image roles ------------------------------------------------------------------------

# Wording that says an input image is edited (image-to-image).
I2I_WORDS = (
    r"\b(?:this|that|my|the\s+attached|the\s+uploaded|uploaded|attached|original|reference|input)\s+"
    r"(?:photo|image|picture|pic|selfie|portrait|drawing|sketch|screenshot|logo)\b",
    r"\bturn(?:ed|s|ing)?\s+(?:this|that|it|me|my|him|her|us|them|our|the\s+photo|the\s+image|the\s+picture)\b"
    r"(?:\s+[\w'’\-]+){0,4}?\s+(?:into|to|in)\b",
    # "the two people in the photo", "the characters in the scene", "the person in the attached image"
    r"\b(?:person|people|persons|characters?|subjects?|man|woman|girl|boy|child|kids?|pets?|dogs?|cats?|couple|family|"
    r"individuals?|faces?)\s+(?:in|from|of)\s+(?:the|this|my|your|an?)\s+(?:attached\s+|uploaded\s+|reference\s+|original\s+|"
    r"input\s+|provided\s+|given\s+)?(?:photo|image|picture|pic|scene|selfie|reference)\b",
    r"\b(?:image|photo|picture|pic|selfie)\s+(?:attached|uploaded|provided|above|i\s+(?:uploaded|attached|sent))\b",
    r"\b(?:reference|uploaded|upload|attached|input)\s+(?:image|photo|picture|pic|selfie)\b",
    r"参考图|参考圖|參考圖|上传|上傳|照片中|图片中的|圖片中的|这张照片|這張照片|把照片|参考画像|アップロード|添付|この写真|写真の",
    r"\bmake\s+(?:this|that|it|me|my|him|her|us|them)\b",
    r"\b(?:transform|convert|restyle|redraw|recreate|reimagine|edit|retouch|colori[sz]e|restore|upscale|remix)"
    r"(?:ed|s|ing)?\s+(?:this|that|it|me|my|him|her|us|them|the\s+(?:photo|image|picture|person|subject))\b",
    r"\b(?:ghiblif(?:y|ied)|pixarif(?:y|ied)|muppetif(?:y|ied))\b",
    r"\b(?:change|replace|remove|swap)\s+(?:the\s+)?(?:background|sky|outfit|hair|clothes|text|colou?rs?)\b",
    r"\b(?:keep|preserve)\s+(?:the\s+)?(?:face|pose|composition|identity|likeness)\b",
    r"\bbased\s+on\s+(?:this|the|my)\s+(?:photo|image|picture)\b",
    r"\b(?:add|put)\s+\w+(?:\s+\w+){0,3}\s+(?:to|in|on|into)\s+(?:this|the|my)\s+(?:photo|image|picture)\b",
    r"\bbefore\s*(?:/|and|&|vs\.?)\s*after\b",
)
# A generation "of my cat Miso" / "of [your pet]" needs a photo of that subject: with two or more images
# attached, the first is the input (image-to-image).
PERSONAL_SUBJECT = (
    r"\b(?:of|with|turn|make|put|draw)\s+(?:my|our|your)\s+(?:\w+\s+)?(?:friend|pet|dog|cat|puppy|kitten|kid|son|daughter|"
    r"wife|husband|partner|mom|mum|dad|father|mother|family|grandma|grandpa|baby|boyfriend|girlfriend|face|photo|selfie|"
    r"house|car|bike|room|garden|parrot|bird|beagle|corgi)\b",
    r"\b(?:turn|make|put|draw|transform)\s+(?:\[[^\]]{1,40}\]|<[^>]{1,40}>|\((?:your|my)\s[^)]{1,40}\))",
)
BEFORE_AFTER = (r"\b(?:before\s*(?:/|and|&|vs\.?|->|→)\s*after|original\s*(?:vs\.?|->|→|/)|"
                r"(?:left|top|first)\s*(?:[:=]|is|was)?\s*(?:the\s+|my\s+)?(?:original|input|source|real\s+(?:one|photo))|"
                r"input\s*(?:vs\.?|->|→|/)\s*output)\b")
INPUT_ALT = r"\b(?:original|input|before|source|reference|my\s+(?:photo|selfie|picture|dog|cat)|the\s+photo\s+i\s+(?:used|uploaded))\b"
OUTPUT_ALT = r"\b(?:result|output|after|generated|ai[\s\-]?generated|made\s+(?:with|by)|render(?:ed)?|edited|version)\b"

SCREENSHOT_WORDS = (
    r"\bscreen\s?shot", r"\bscreen\s?cap", r"\bscreengrab", r"\bchat(?:gpt)?\s+(?:window|app|screen|conversation|ui|interface)",
    r"\bconversation\s+with\s+chat", r"\bchat\s+log\b",
)
# Height / width at or above which an image is a phone-shaped screenshot (generated images are 1:1, 2:3, 3:2).
SCREENSHOT_TALL_RATIO = 1.9

# --- prompt injection ------------------------------------------------------------------------------

# Who a steering attempt addresses: annotators, labellers, raters, reviewers, graders, AI models and bots.
_READERS = (r"(?:annotators?|labell?ers?|label(?:l)?ing\s+(?:models?|ai|bots?|tools?|systems?|pipelines?)|raters?|graders?|"
            r"reviewers?|classifiers?|curators?|(?:ai|llm|language\s+model|model|bot|assistant)s?)")
INJECTION = (
    r"\bignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|preceding|your)\s+"
    r"(?:instructions?|prompts?|rules?|messages?|directions?)",
    r"\bdisregard\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|your)\b",
    r"\b(?:output|return|give|assign|set|rate|score)\s+(?:this\s+|it\s+|the\s+)?(?:post\s+|tweet\s+)?"
    r"(?:a\s+)?(?:score|rating|relevance)?\s*(?:of\s+|=\s*|:\s*|as\s+)?[1-5](?:\s*/\s*5)?\b(?=.*\b(?:score|rating|relevan|instruction|5)\b)",
    r"\b(?:score|rating|relevance)\s*(?:[:=]|of|is|should\s+be|must\s+be)\s*[1-5]\b",
    r"\byou\s+are\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|language\s+model|llm|chatbot|classifier|grader)\b",
    r"\b(?:system\s+prompt|system\s*:|assistant\s*:|<\s*/?\s*(?:system|post|instructions?)\s*>)",
    r"\b(?:new|updated)\s+instructions?\s*:",
    r"\bas\s+an\s+ai\s+(?:language\s+)?model\b",
    r"\bmark\s+(?:this|it|the|every|all)(?:\s+\w+)?\s+as\b",
    r"\byou\s+are\s+now\b",
    r"\bclassify\s+(?:this|it|every|each|all|the)\b",
    r"\bthis\s+(?:post|tweet|thread|toot|image)\s+is\s+(?:highly\s+|very\s+|extremely\s+)?relevant\b",
    r"\b(?:every|each|all)\s+(?:the\s+)?(?:samples?|replies|reply|posts?|images?|feedback|comments?)\b[^.!?]*\b(?:is|are|as)\s+"
    r"(?:an?\s+)?(?:benchmark|success|relevant|positive|negative|correct|good|high[\s\-]quality)\b",
    # Text addressed to whoever (or whatever) labels the data: "note to the annotator", "annotator note:",
    # "P.S. to any AI reading this", "AI reviewers, please ...", "if you are an AI model ...".
    r"\b(?:note|notes|message|memo|reminder|hint|p\.?\s?s\.?|psa|heads[\s\-]up)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+|"
    r"our\s+|you\s+)?" + _READERS,
    r"\b(?:annotators?|labell?ers?|raters?|graders?|curators?|reviewers)\s*(?:note|notes|instructions?|guidance)?\s*[:,]",
    r"\b(?:ai|llm|model|bot|automated|machine)\s+(?:reviewers?|annotators?|labell?ers?|graders?|raters?|readers?|judges?|scorers?)\b",
    r"\b(?:to|for|hey|dear|attention|calling)\s+(?:any|all|the|every|you)?\s*(?:ai|llms?|language\s+models?|models?|bots?|"
    r"assistants?|agents?|crawlers?|scrapers?)\s+(?:reading|parsing|summari[sz]ing|processing|labell?ing|scraping|indexing|"
    r"annotating|reviewing|grading|evaluating|analy[sz]ing|looking|that\s+reads?|who\s+reads?)\b",
    r"\b(?:to|for|attention)\s+(?:whoever|anyone|anybody|those|the\s+people|the\s+person|whomever)\s+(?:who\s+|that\s+)?"
    r"(?:is\s+|are\s+)?(?:label\w*|annotat\w*|review\w*|grad\w*|scor\w*|rat(?:es|ing)|build\w*|curat\w*|collect\w*|"
    r"train\w*|process\w*|scrap\w*)",
    r"\b(?:attention|hey|dear|calling|hi|hello|psst|yo)\s+(?:all\s+|any\s+|the\s+|every\s+|you\s+)?" + _READERS + r"\s*[:,!]",
    r"\bif\s+(?:you(?:'re|\s+are)|ur|this\s+is\s+being\s+read\s+by)\s+(?:an?\s+)?(?:ai|llm|language\s+model|model|bot|"
    r"assistant|annotator|labell?er|grader|rater|classifier|scraper)\b",
    r"\bthis\s+(?:post|tweet|thread|toot|image|one|sample)\s+is\s+(?:a\s+|an\s+)?(?:benchmark|gold(?:en)?|training|test|"
    r"eval(?:uation)?|reference)[\s\-]+(?:sample|example|item|post|entry|data|quality)\b",
    r"\bignore\s+(?:the|this|that|my|every|all)\s+(?:\w+\s+)?(?:posts?|replies|reply|comments?|messages?|text|tweets?)\s+"
    r"(?:above|below|before|after)\b",
)

# --- feedback polarity ----------------------------------------------------------------------------

# phrase -> weight (positive: success). Phrases match on word boundaries in lower-cased text.
SUCCESS: dict[str, float] = {
    "nailed it": 2, "nailed": 1.5, "perfect": 1.5, "perfectly": 1.5, "flawless": 2, "wow": 1, "impressive": 1.5,
    "amazing": 1.5, "incredible": 1.5, "stunning": 1.5, "beautiful": 1, "gorgeous": 1.5, "great": 1, "love": 1,
    "love it": 1.5, "loving": 1, "awesome": 1.5, "insane": 1, "mind blowing": 1.5, "mindblowing": 1.5, "wild": 0.5,
    "spot on": 2, "accurate": 1, "exactly": 1, "exactly like": 1.5, "looks just like": 1.5, "looks like him": 1,
    "looks like her": 1, "looks like them": 1, "looks like me": 1, "so good": 1.5, "really good": 1.5, "good": 0.5,
    "clean": 0.5, "crisp": 1, "sharp": 0.5, "readable": 1, "legible": 1, "correct": 1, "correctly": 1, "right": 0.5,
    "best": 1, "better than": 0.5, "works": 0.5, "worked": 1, "got it right": 2, "gets it right": 2, "cute": 1,
    "lovely": 1, "fantastic": 1.5, "brilliant": 1.5, "excellent": 1.5, "beautifully": 1, "consistent": 1, "kept": 0.5,
    "preserved": 1, "faithful": 1, "realistic": 0.5, "convincing": 1, "magic": 1, "chef's kiss": 2, "🔥": 0.3, "😍": 0.3,
    "🤯": 0.3, "👏": 0.3, "❤️": 0.3, "🙌": 0.3, "10/10": 2, "no notes": 2, "blown away": 1.5, "on point": 1.5,
    "unreal": 1.5, "speechless": 1, "scary good": 2, "so clean": 1.5, "not bad": 1, "holy": 1, "damn": 0.5, "stunned": 1, "nice": 1, "cool": 1, "finally": 0.5, "solved": 1.5,
    # plain-language praise
    "crazy": 1, "progress": 1, "cleanest": 1.5, "sharpest": 1.5, "nicest": 1.5, "prettiest": 1.5, "best one": 1.5, "insanely": 1, "ridiculous": 0.5, "goated": 2, "elite": 1.5, "clean af": 2,
    "charm": 1.5, "obsessed": 1.5, "chef kiss": 2, "so real": 1.5, "can't tell": 1.5,
    "fooled me": 1.5, "gem": 1, "masterpiece": 2,
    "banger": 1.5, "slaps": 1.5, "blew my mind": 2, "identical": 1.5,
    "exactly what i wanted": 2.5, "exactly what i asked": 2.5, "worked perfectly": 2, "turned out great": 2,
    # Spanish, German, French, Portuguese, Chinese, Japanese
    "perfecto": 1.5, "perfecta": 1.5, "increíble": 1.5, "genial": 1, "brutal": 1, "precioso": 1.5, "bonito": 1,
    "perfekt": 1.5, "toll": 1, "krass": 1, "wunderschön": 1.5, "parfait": 1.5, "génial": 1, "magnifique": 1.5,
    "incroyable": 1.5, "perfeito": 1.5, "incrível": 1.5, "lindo": 1, "hermoso": 1.5, "hermosa": 1.5, "gut": 1,
    "schön": 1, "super": 1, "beau": 1, "belle": 1, "réussi": 1.5, "ótimo": 1.5,
    "太强": 1.5, "强": 0.5, "好": 0.5, "一模一样": 1.5, "完美": 1.5, "厉害": 1.5, "绝了": 1.5, "惊艳": 1.5, "好看": 1,
    "漂亮": 1, "牛": 1, "逼真": 1, "太棒": 1.5, "すごい": 1.5, "凄い": 1.5, "完璧": 1.5, "最高": 1.5,
    "きれい": 1, "綺麗": 1, "やばい": 1,
}
FAILURE: dict[str, float] = {
    "garbled": 2, "gibberish": 2, "wrong": 1.5, "off": 1, "fail": 1.5, "failed": 1.5, "fails": 1.5, "failure": 1.5,
    "changed her face": 2.5, "changed his face": 2.5, "changed my face": 2.5, "changed their face": 2.5,
    "changed the face": 2.5, "extra finger": 2, "extra fingers": 2, "six fingers": 2, "extra limb": 2,
    "extra limbs": 2, "extra arm": 2, "extra leg": 2, "broken": 1.5, "messed up": 1.5, "mess": 1, "weird": 1,
    "ugly": 1.5, "bad": 1, "terrible": 2, "awful": 2, "horrible": 2, "worse": 1, "worst": 1.5, "doesn't look like": 2,
    "does not look like": 2, "looks nothing like": 2.5, "nothing like": 2, "not even close": 2, "misspelled": 2,
    "misspelt": 2, "typo": 1.5, "typos": 1.5, "blurry": 1.5, "distorted": 1.5, "deformed": 2, "melted": 1.5,
    "mangled": 2, "warped": 1.5, "tint": 1, "yellow tint": 2, "sepia": 1, "washed out": 1.5, "cropped": 1,
    "cut off": 1.5, "stretched": 1.5, "squished": 1.5, "uncanny": 1.5, "creepy": 1, "missing": 1, "ignored": 1.5,
    "forgot": 1, "nope": 1, "meh": 1, "disappointing": 1.5,
    "disappointed": 1.5, "hallucinated": 1.5, "nonsense": 1.5, "makes no sense": 2, "too many": 1,
    "lost": 1, "floating": 0.5, "merged": 1, "inconsistent": 1.5, "incorrect": 1.5, "mistake": 1.5,
    "mistakes": 1.5, "error": 1, "errors": 1, "artifact": 1, "artifacts": 1.5, "smudged": 1.5, "fake": 0.5,
    "plastic": 1, "oversaturated": 1.5, "wonky": 1.5, "janky": 1.5, "slop": 1.5, "unreadable": 2, "illegible": 2,
    "😬": 0.3, "🤦": 1, "💀": 0.3, "yikes": 1.5, "oof": 1, "lol no": 1.5, "still can't": 1.5, "can't even": 1,
    "shifted": 1, "skewed": 1, "squashed": 1.5, "mutated": 2, "mushy": 1, "mush": 1.5, "too big": 1.5,
    "too small": 1.5, "too long": 1, "too short": 1, "way too": 1, "not her": 1.5, "not him": 1.5, "made up": 1,
    "generic": 1, "refusal": 1.5, "refused": 1.5, "content policy": 1, "doesn't match": 1.5, "don't match": 1.5,
    "different ways": 1, "duplicated": 1, "different sizes": 1.5, "doesn't connect": 1.5, "don't connect": 1.5,
    "not connected": 1.5,
    # plain-language defects
    "blank": 1.5, "blob": 1.5, "blobs": 1.5, "squiggles": 2, "squiggly": 1.5, "scribbles": 1.5, "melting": 1.5,
    "melts": 1.5, "someone else": 2, "someone else's": 2, "a different person": 2, "different person": 2,
    "completely different": 2, "different": 1, "not me": 2, "not us": 2, "not them": 1.5, "older": 1,
    "years older": 2, "younger": 1, "years younger": 2, "random": 1, "stock photo": 1, "cursed": 1.5,
    "should be": 1, "should have": 1, "supposed to": 1, "asked for": 0.5, "again": 0.5, "gave up": 1.5,
    "not what i asked": 2.5, "not what i wanted": 2.5, "useless": 1.5, "unusable": 2,
    "glitch": 1.5, "glitched": 1.5, "glitchy": 1.5, "corrupted": 1.5, "cropped off": 2, "chopped off": 2,
    "cut out": 1, "lost the": 1, "forgot the": 1.5, "ignored the": 1.5, "half the prompt": 1.5, "refuses": 1.5,
    "won't let me": 1.5, "blocked": 1, "flagged": 1, "policy": 0.5, "worse than": 1.5, "fake looking": 1.5,
    "backwards": 1.5, "upside down": 1, "mirrored": 1, "swapped": 1, "replaced": 1.5,
    "waxy": 1.5, "airbrushed": 1.5, "rubbery": 1.5, "muddy": 1, "grainy": 1, "overexposed": 1.5, "underexposed": 1.5,
    "lifeless": 1.5, "soulless": 1.5, "stiff": 1, "off-model": 2, "all over the place": 1.5, "hurts my eyes": 1.5,
    "same face": 1.5, "not even the same": 2, "not the same": 1.5, "two left feet": 2, "human teeth": 1.5,
    "scrambled": 2, "smear": 1.5, "smeared": 1.5, "smeary": 1.5, "plasticky": 1.5, "painted on": 1.5, "falls apart": 2,
    "fell apart": 2, "leaning": 1, "lopsided": 1.5, "crooked": 1.5, "out of order": 1.5, "out of frame": 1.5,
    "out of place": 1, "leads nowhere": 1.5, "lead nowhere": 1.5, "goes nowhere": 1.5, "drifted": 1.5, "a stranger": 2,
    "stranger": 1, "aged me": 2, "aged her": 2, "aged him": 2, "aged them": 2, "aged everyone": 2, "a new nose": 2, "a new face": 2, "no matter what": 1,
    "can't read": 2, "cannot read": 2, "don't line up": 1.5, "doesn't line up": 1.5, "misaligned": 1.5, "stubby": 1.5,
    "radioactive": 1, "same size as": 1.5, "melt": 1, "melts into": 1.5, "??": 1, "wtf": 0.5,
    # Spanish, German, French, Portuguese, Chinese, Japanese
    "mal": 1, "feo": 1.5, "raro": 1, "falsch": 1.5, "kaputt": 1.5, "hässlich": 1.5, "seltsam": 1,
    "raté": 1.5, "moche": 1.5, "bizarre": 1, "bizarres": 1, "errado": 1.5, "estranho": 1, "feio": 1.5,
    "別人": 2, "おかしい": 1.5,
    "乱码": 2, "崩": 1.5, "糊": 1.5, "错": 1.5, "不像": 2, "变形": 1.5, "奇怪": 1, "丑": 1.5, "失败": 1.5, "不好": 1.5,
    "离谱": 1, "翻车": 2, "崩れ": 1.5, "違う": 1.5, "ダメ": 1.5, "文字化け": 2, "微妙": 1, "残念": 1.5,
}
# Regular expressions for judgements that no single phrase carries -> weight (negative: failure).
FEEDBACK_PATTERNS: dict[str, float] = {
    # "I asked for 9:16 and it gave me a square", "asked for a cat but got a dog"
    r"\b(?:asked|prompted|told\s+it)\s+(?:for|to)\b[^.!?]{1,60}\b(?:and|but)\s+(?:it\s+|i\s+)?(?:gave|got|made|returned|produced|came)\b": -2.5,
    # "count the fingers", "look at the hands": an invitation to find the defect
    r"\b(?:count|check|look\s+at|zoom\s+in\s+on)\s+the\s+(?:fingers|hands|toes|legs|arms|teeth|eyes|letters|text|spelling)\b": -1.5,
    # "looks more like pixar than lego": the style asked for is not the one delivered
    r"\blooks?\s+more\s+like\b[^.!?]{1,40}\bthan\b": -2,
    # "holding the phone but also not holding it"
    r"\bbut\s+also\s+not\b": -2,
    # "giant compared to the desk", "twice as long as they should be", "way bigger than"
    r"\b(?:giant|huge|tiny|massive|enormous|bigger|smaller|larger|longer|shorter|taller)\s+(?:compared\s+to|next\s+to|than)\b": -1.5,
    r"\b(?:twice|three\s+times|half)\s+as\s+\w+\s+as\b": -1.5,
    # "swapped my face for someone else's", "turned my dad into a random stock photo man"
    r"\b(?:swapped|replaced|changed|turned)\s+(?:my|her|his|their|the|our)\s+\w+\s+(?:for|with|into)\s+(?:a\s+|an\s+)?"
    r"(?:someone|somebody|random|different|generic|stock|another|other)\b": -2.5,
    # "why is it always so sepia", "why does everyone come out ten years older": a rhetorical complaint
    r"\bwhy\s+(?:is|does|do|are|did|must)\s+(?:it|everyone|everything|every\w*|they|all|this|the\s+\w+)\b[^?]{0,60}"
    r"\b(?:always|every\s+time|come\s+out|comes\s+out|end\s+up|keeps?|never|still|no\s+matter)\b": -1.5,
    r"\b(?:comes?|came)\s+out\s+(?:\w+\s+){0,3}(?:older|younger|wrong|different|blurry|distorted|weird|fat|skinny|orange|yellow|green|purple|grey|gray)\b": -1.5,
    # "got the chinese text right", "spelled everything right", "nailed the hands"
    r"\b(?:got|gets|get|spelled|spelt|rendered|kept|keeps)\s+(?:the\s+|every\w*\s+|it\s+|all\s+)?(?:\w+\s+){0,3}(?:right|correct|perfect|perfectly)\b": 2,
    r"\b(?:turned|came)\s+out\s+(?:\w+\s+)?(?:great|amazing|perfect|awesome|so\s+good|really\s+good|nice|beautiful|fantastic)\b": 2,
    r"\b(?:fits?|fit|come|comes|came)\s+together\b": 1.5,
    r"\bfor\s+once\b": 1,
    # "a third arm", "five legs", "14 numbers on the clock": counting body parts or parts is pointing at a defect
    r"\b(?:extra|third|fourth|fifth|sixth|seventh|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2})\s+"
    r"(?:\w+\s+)?(?:arms?|legs?|hands?|fingers?|thumbs?|toes?|feet|heads?|eyes|ears|wheels|tails|wings|numbers|hours)\b": -1.5,
    r"\b(?:nowhere\s+near|far\s+from|not\s+close\s+to)\s+(?:what|the|my)\b": -2,
    r"\bnot\s+(?:even\s+)?what\s+(?:i|the\s+prompt|my\s+prompt|it|you|we)\s+(?:asked|said|wanted|meant|described|wrote|"
    r"prompted|requested|typed)": -2.5,
    r"\b(?:doesn't|didn't|does\s+not|did\s+not|won't|wouldn't)\s+(?:follow|match|listen|respect|keep|understand)\b": -2,
    r"\beven\s+though\s+(?:i|we)\s+(?:said|asked|told|wrote|specified|typed|prompted)\b": -2,
    r"\blooks?\s+(?:like\s+)?(?:\d{2}|older|younger|ancient|elderly|like\s+a\s+(?:different|another)\b)": -1.5,
    r"\b(?:goes|go|going|went|clips?|clipping|passes|pass)\s+(?:right\s+)?through\s+(?:the|his|her|their|its|my)\b": -1.5,
    r"\b(?:shadows?|reflections?|light(?:ing)?)\b[^.!?]{0,30}\b(?:wrong|different|multiple|two|three|several|opposite)\s+"
    r"(?:directions?|ways|sides)\b": -1.5,
    r"\btoo\s+(?!good\b|real\b|cool\b|cute\b|much\s+fun\b|funny\b)[a-z]{3,}(?:y|ed|ish|ic|al|ous|ful|ive|ing|ent|ant|er)\b": -1,
    r"\bfollow(?:ed|s)?\s+(?:every|all|each|the\s+whole|the\s+entire)\s+(?:\w+\s+)?(?:instructions?|prompt|details?|words?|"
    r"steps?|requests?)": 2,
    r"\bunderstood\s+the\s+(?:assignment|brief|prompt|vibe)\b": 2,
    # "that is not my son", "this is not ghibli at all", "looks like a stock render, not watercolor"
    r"\b(?:that|this|it|that's|it's|this\s+is|that\s+is|it\s+is|he|she|they)\s*(?:is\s+|are\s+|'s\s+)?not\s+(?:my|our|her|his|their|even)\b": -2,
    r"\bnot\s+(?!bad\b|wrong\b|terrible\b|awful\b|ugly\b|weird\b|broken\b|off\b|blurry\b|an?\s+issue\b|a\s+problem\b|"
    r"worried\b|complaining\b|mad\b|disappointed\b)[\w\-]+(?:\s+[\w\-]+)?\s+at\s+all\b": -2,
    r"\blooks?\s+(?:more\s+)?like\b[^.!?]{1,40},\s*not\s+(?:a\s+|an\s+)?\w+": -2,
    # size of a body part said as a fault: "the hands are tiny", "giant feet", "his arms are way too long"
    r"\b(?:hands?|arms?|legs?|feet|foot|head|heads|neck|eyes|fingers|body|face|nose|ears|torso)\s+(?:is|are|look|looks)\s+"
    r"(?:\w+\s+)?(?:tiny|huge|giant|massive|stubby|enormous|stretched|bigger|smaller|minuscule)\b": -1.5,
    r"\b(?:tiny|huge|giant|massive|stubby|enormous|oversized|undersized)\s+(?:hands?|arms?|legs?|feet|head|neck|eyes|fingers|nose|ears)\b": -1.5,
    # a colour that changed: "the blue turned teal", "her dress went from red to orange", "it's all so brown"
    r"\b(?:turned|went|became|is\s+now|are\s+now)\s+(?:from\s+\w+\s+to\s+)?(?:all\s+|bright\s+|dark\s+)?(?:red|orange|yellow|green|"
    r"blue|teal|purple|pink|brown|gr[ae]y|beige|cyan|magenta|sepia)\b": -1.5,
    r"\b(?:all|everything\s+is|it's\s+all|way)\s+(?:so\s+|too\s+)?(?:brown|orange|yellow|sepia|green|purple|beige|gr[ae]y)\b": -1.5,
    # counting where the count is the problem: "two suns in the sky", "three pedals", "coffee with three fs"
    r"\b(?:two|three|four|2|3|4)\s+(?:suns|moons|heads|noses|mouths|pedals|steering\s+wheels|tails|handles|thumbs)\b": -1.5,
    r"\bspelled\s+\w+\s+with\b": -1.5,
    r"\b(?:changes?|switch(?:es)?)\s+mid[\s\-]?(?:word|sentence|way|line)\b": -1.5,
    r"\b(?:thought|think|thinks|believed)\s+(?:it|this|that)\s+(?:was|is)\s+(?:a\s+)?real\b": 2,
    r"\bbetter\s+than\s+(?:what\s+)?(?:i|i'd|most|any|a|my|real|the\s+real|actual)\b": 1.5,
    r"\b(?:looks?|feels?)\s+(?:exactly\s+|just\s+)?like\s+(?:the\s+)?(?:original|real\s+thing|me|him|her|them|my)\b": 1.5,
    r"\bworks?\s+like\s+a\s+charm\b": 2,
    r"\bcheat\s+code\b": 1.5,
    r"好到离谱|好到離譜": 3,
}
# Further words typos are corrected towards (echo.llm.rules.spelling), besides those of the lists above.
FEEDBACK_WORDS = ("count", "fingers", "letters", "lettering", "texture", "textures", "proportions", "cropped",
                  "refused", "colors", "colours", "extra", "style", "spelled", "spelling", "everything", "details",
                  "background", "resolution", "perfectly", "together", "compared", "anatomy", "reflection",
                  "shadows", "lighting", "realistic", "character", "expression", "original", "prompt", "exactly")
# A report of a misspelling: "it wrote 'CHAMPAGNE' as 'CHAMPGANE'" (matched on the original text).
MISSPELLING_REPORT = r"\b(?:wrote|writes|spelled|spelt|spells|rendered|turned|made)\s+(?:it\s+|the\s+word\s+)?[\"'“‘][^\"'”’]{1,40}[\"'”’]\s+(?:as|into|like)\s+[\"'“‘]"
# Phrases that carry no judgement although they contain a lexicon word ("right now", "pretty sure").
NEUTRAL_PHRASES = ("right now", "right away", "all right", "alright", "right after", "right before", "right here",
                   "pretty sure", "good morning", "good night", "no worries", "no idea", "not sure", "thanks for sharing")
# A negator up to NEGATION_WINDOW words before a phrase flips its sign ("not bad", "not perfect",
# "no extra fingers"). Phrases that already contain a negation ("doesn't look like") are not flipped again.
NEGATORS = ("not", "no", "never", "isn't", "isnt", "wasn't", "wasnt", "aren't", "arent", "don't", "dont",
            "doesn't", "doesnt", "didn't", "didnt", "hardly", "barely", "without", "zero", "nothing", "none",
            "couldn't", "couldnt", "can't", "cant", "won't", "wont", "nor", "lacks", "lacking")
NEGATION_WINDOW = 3
# Phrases with a negator that do not negate what follows ("can't believe it got the text right").
NOT_NEGATING = ("can't believe", "cant believe", "cannot believe", "couldn't believe", "can't get over", "never seen",
                "never thought", "don't know how", "not gonna lie", "not going to lie", "no way", "not only")
# After one of these, the rest of the reply weighs CONTRAST_WEIGHT times more ("wow, but the text is garbled").
CONTRAST = ("but", "however", "though", "although", "except", "unfortunately", "sadly", "yet", "still")
CONTRAST_WEIGHT = 1.5

# --- feedback categories ---------------------------------------------------------------------------

# category -> regex fragments. "other" is used when a reply judges (success/failure) but no rule matches.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "identity": (r"\bfaces?\b", r"\blooks?\s+(?:just\s+|exactly\s+|nothing\s+)?like\s+(?:him|her|them|me|my|you|yours|it|the\s+(?:original|person|real|photo))",
                 r"\b(?:not|isn'?t)\s+(?:her|him|them|me|you)\s+anymore\b",
                 r"\bidentity\b", r"\blikeness\b", r"\bresembl", r"\bsame\s+person\b", r"\bfacial\b", r"\brecogni[sz]",
                 r"\bchanged\s+(?:her|his|my|their|the)\s+(?:face|look|features)", r"\bfeatures\b"),
    "color shift": (r"\bcolou?rs?\b", r"\btint(?:ed)?\b", r"\byellow(?:ish)?\b", r"\bsepia\b", r"\bhue\b",
                    r"\bsaturat", r"\bwashed[\s\-]out\b", r"\bwarm\s+filter\b", r"\bpiss\s+filter\b", r"\borange\s+cast\b",
                    r"\bcolou?r\s+(?:shift|cast|grading)\b", r"\bpalette\b", r"\bskin\s+tone\b",
                    r"\bfrom\s+(?:red|orange|yellow|green|blue|purple|pink|brown|gr[ae]y|black|white|golden|beige|teal|cyan|magenta)\s+to\s+(?:red|orange|yellow|green|blue|purple|pink|brown|gr[ae]y|black|white|golden|beige|teal|cyan|magenta)\b",
                    r"\b(?:turned|went|became|is\s+now|are\s+now)\s+(?:all\s+|bright\s+|dark\s+)?(?:red|orange|yellow|green|blue|purple|pink|brown|gr[ae]y|black|white|golden|beige|teal|cyan|magenta)\b"),
    "text rendering": (r"\btext\b", r"\bspell(?:ing|ed|t)?\b", r"\bmisspel", r"\bletter(?:s|ing)?\b", r"\bgarbled\b",
                       r"\btypos?\b", r"\bfonts?\b", r"\bwords?\b", r"\blegible\b", r"\billegible\b", r"\breadable\b",
                       r"\bunreadable\b", r"\bsigns?\b", r"\blabels?\b", r"\btypography\b", r"\bgibberish\b"),
    "aspect ratio": (r"\baspect\b", r"\bcropp?(?:ed|ing)?\b", r"\b\d{1,2}\s*:\s*\d{1,2}\b", r"\bsquare\b", r"\bcut\s+off\b",
                     r"\bwidescreen\b", r"\blandscape\s+(?:format|orientation)\b", r"\bportrait\s+(?:format|orientation)\b",
                     r"\bstretched\b", r"\bsquished\b", r"\bsquashed\b", r"\bratio\b"),
    "proportions": (r"\bhands?\b", r"\bfingers?\b", r"\blimbs?\b", r"\barms?\b", r"\blegs?\b", r"\bproportions?\b",
                    r"\banatomy\b", r"\btoes?\b", r"\bteeth\b", r"\b(?:too|way\s+too)\s+(?:big|small|long|short|large|tiny|huge)\b",
                    r"\bbody\b", r"\bneck\b", r"\bscale\b", r"\bdifferent\s+sizes?\b", r"\bout\s+of\s+proportion\b"),
    "structure": (r"\blayout\b", r"\bperspective\b", r"\b(?:extra|missing|six|seven|three)\s+(?:fingers?|limbs?|arms?|legs?|toes?)\b",
                  r"\bbroken\b", r"\b(?:doesn'?t|does\s+not|don'?t)\s+connect\b", r"\bdisconnected\b", r"\bfused\b", r"\bcomposition\b", r"\bgeometry\b", r"\bsymmetr", r"\bstructure\b",
                  r"\barchitecture\b", r"\bstraight\s+lines?\b", r"\bvanishing\b", r"\bpose\b", r"\bplacement\b",
                  r"\bpositions?\b", r"\barrangement\b", r"\bgrid\b", r"\bpanels?\b", r"\bframing\b"),
    "style": (r"\bstyle\b", r"\bghibli\b", r"\banime\b", r"\bpainterly\b", r"\baesthetic\b", r"\bcartoon(?:y|ish)?\b",
              r"\bwatercolou?r\b", r"\bpixar\b", r"\bvibe\b", r"\blook\s+and\s+feel\b", r"\bart\s+direction\b",
              r"\bphotoreal", r"\brealism\b", r"\bstylized\b", r"\bmood\b", r"\blighting\b"),
    "detail": (r"\bdetails?\b", r"\bdetailed\b", r"\btextures?\b", r"\bblurr?y\b", r"\bsharp(?:ness)?\b", r"\bcrisp\b",
               r"\bfine\s+(?:details?|lines?|print)\b", r"\bsmudg", r"\bpixelated\b", r"\bartifacts?\b", r"\bnoise\b",
               r"\bmush(?:y)?\b", r"\bintricate\b", r"\bresolution\b", r"\bzoom(?:ed)?\s+in\b"),
    "coherence": (r"\bcoheren", r"\bmakes?\s+(?:no\s+)?sense\b", r"\bconsisten", r"\bphysics\b", r"\blogic", r"\bimpossible\b",
                  r"\bmerged?\b", r"\bfloating\b", r"\bnonsense\b", r"\bmissing\b",
                  r"\b(?:shadows?|reflections?|lighting|light\s+sources?)\b[^.!?]{0,40}\b(?:match|wrong|different|inconsistent|"
                  r"directions?|ways|impossible)\b",
                  r"\bignored\b", r"\bforgot\b", r"\bobjects?\b", r"\bfollowed\s+the\s+prompt\b", r"\bprompt\s+adherence\b",
                  r"\bhallucinat", r"\bextra\s+(?:objects?|people|person)\b", r"\bduplicated?\b", r"\bcount\b"),
}

# Words never used as feedback keywords.
STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but by
can could did do does doing don't down during each few for from further had has have having he her here hers him his
how i i'm if in into is it it's its itself just let's me more most my no nor not now of off on once only or other our
ours out over own same she should so some such than that that's the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you your
yours lol lmao omg really still even much like looks look looking got get gets one ones thing things way kind bit
pretty quite lot lots also im ive dont doesnt didnt isnt cant wont thats theres op
""".split())
