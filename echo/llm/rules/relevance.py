"""Relevance 1-5 of one post to the target model's image generation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from echo.llm.backend import ImageView, PostView
from echo.llm.injection import strip_injection
from echo.llm.rules.models import Models, models
from echo.llm.rules.patterns import CLAIMS, COMPARISON, F, GEN_WORDS, I2I, IMAGE_WORDS, NON_IMAGE_TASKS, PROMISE, SPAM
from echo.llm.rules.prompts import enumerated_prompts, find_prompt

def score_relevance(post: PostView, context: Sequence[PostView] = (), images: Sequence[ImageView] = (),
                    *, target_model: str) -> tuple[int, str]:
    """Relevance 1-5 of one post to the target model's image generation, with the rule that decided."""
    m = models(target_model)
    text, injected = strip_injection(post.text)
    alt_list = [strip_injection(i.alt_text) for i in images if i.post_id == post.post_id and i.alt_text]
    alts = " ".join(a for a, _ in alt_list)
    injected = injected or any(inj for _, inj in alt_list)
    ctx_text = " ".join(strip_injection(c.text)[0] for c in context)
    n_images = len(post.image_ids) or sum(1 for i in images if i.post_id == post.post_id)
    note = " (instruction-like text ignored)" if injected else ""

    # a model named inside the prompt ("a poster advertising GPT's image service") does not say which model made
    # the picture: other models are looked for outside it
    found = find_prompt(text, m)
    about = text.replace(found.prompt, " ") if found and found.prompt in text else text
    strong = bool(m.strong.search(text) or m.strong.search(alts))
    weak = bool(m.weak and m.weak.search(text))
    image_talk = bool(IMAGE_WORDS.search(text) or alts.strip())
    prompt_like = bool(found or PROMISE.search(text) or enumerated_prompts(text))
    claim = bool(CLAIMS.search(text))
    others = m.other_names(about + " " + alts)
    # a short name ("4o") counts only in a generation context: Audi A4o photos and "4o degrees" do not
    gen_context = bool(GEN_WORDS.search(text) or claim or prompt_like or I2I.search(text))
    target_here = strong or (weak and gen_context)
    # a reply naming the model ("this is 4o right?") places a post that shows a prompt or images
    target_ctx = bool(m.strong.search(ctx_text) or (m.weak and m.weak.search(ctx_text)
                                                     and (gen_context or GEN_WORDS.search(ctx_text))))
    if SPAM.search(text):
        return (2 if target_here else 1), f"advertising or engagement bait{note}"
    quoted = next((c for c in context if post.quoted_id and c.post_id == post.quoted_id), None)
    if quoted is not None and not (others and not target_here):
        # a quote-post shares or judges the post it quotes: it is as relevant as that post
        q_score, q_reason = score_relevance(quoted, (), images, target_model=target_model)
        if q_score >= 4:
            return 4, f"quotes a post about {m.target} ({q_reason}){note}"

    if not target_here and not target_ctx:
        if others:
            return (2 if image_talk or n_images else 1), f"about {', '.join(others)}, not {m.target}{note}"
        if weak:
            return 1, f"coincidental mention of a short name, no image context{note}"
        return 1, f"no mention of {m.target}{note}"
    if others and (not target_here or _credits_other(about, m) or _leads_with_other(about, m)):
        return 2, f"credits {', '.join(others)}; {m.target} only in passing{note}"
    if not (image_talk or n_images or prompt_like):
        return 2, f"mentions {m.target} but not its images{note}"
    if NON_IMAGE_TASKS.search(about) and not (image_talk or prompt_like or claim or I2I.search(text)):
        return 2, f"uses {m.target} for something other than images{note}"
    if n_images and (claim or prompt_like) and (target_here or target_ctx):
        return 5, f"{m.target} generation claimed with {n_images} image(s){note}"
    if n_images or prompt_like:
        return 4, ("shares images" if n_images else "prompt-like text") + f" about {m.target}{note}"
    return 3, f"talks about {m.target} images without sharing any{note}"


def _credits_other(text: str, m: Models) -> bool:
    """'made with Midjourney' (and no credit to the target): another model made the picture."""
    credits = re.findall(r"\b(?:made|created|generated|rendered|done|produced)\s+(?:\w+\s+)?(?:with|by|in|using|on|via)"
                         r"\s+([^.,;!?\n]{1,40})", text, F)
    named_other = any(m.other_names(c) for c in credits)
    named_target = any(m.strong.search(c) or (m.weak and m.weak.search(c)) for c in credits)
    return named_other and not named_target


def _leads_with_other(text: str, m: Models) -> bool:
    """'Ideogram 3.0 still beats everything on typography ... GPT-4o ...': a post is about the model it names
    first, unless it compares models ('Midjourney vs 4o')."""
    if COMPARISON.search(text):
        return False
    first_other = min((mt.start() for rx in m.others.values() for mt in [rx.search(text)] if mt), default=None)
    first_target = min((mt.start() for rx in (m.strong, m.weak) if rx is not None for mt in [rx.search(text)] if mt),
                       default=None)
    return first_other is not None and (first_target is None or first_other < first_target)
