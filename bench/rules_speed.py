"""Benchmark: the offline rule-based backend's CPU time per tree, on the realistic corpus and on adversarial posts.

    python -m bench.rules_speed

Realistic: every post tree of tests/data/realistic, parsed by the importer's parsers (no database, no media),
through relevance and tree_to_samples, then feedback on every reply. Adversarial: long posts built to make
regular expressions backtrack (10-15k characters of repeated brackets, markers, emoji, quotes, lines), each as
a root and a reply. CPU seconds are reported next to wall seconds because the machine is shared. Prints one
JSON line per part and a Markdown table.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

from echo.llm.backend import PostView, RelevanceItem, TreeItem
from echo.llm.rules import RuleBackend, judge_feedback

ROOT = Path(__file__).resolve().parent.parent
REALISTIC = ROOT / "tests" / "data" / "realistic"
TM = "gpt-4o image generation"
ADVERSARIAL = {
    "long line": "a " * 5000, "brackets": "[x " * 3000, "quotes": '"abc ' * 3000, "markers": "prompt: " * 2000,
    "colons": "word: " * 3000, "emoji": "🔥 " * 3000, "json-ish": "{\n" + '"k": "v",\n' * 2000,
    "blank lines": "a\n\n" * 3000, "cjk": "一只猫" * 3000, "parentheses": "(made with " * 2000, "lines": "a cat\n" * 3000,
    "sentences": "A cat. " * 3000,
}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def realistic_trees() -> list[TreeItem]:
    """The corpus's trees as the extract stage sees them, from the importer's parsed posts."""
    from echo.sources.base import ParseContext
    from echo.sources.importer import discover, parse_file

    by_root: dict[tuple[str, str], list] = {}
    for path, platform in discover([REALISTIC]):
        for post in parse_file(path, platform, ParseContext(source="bench")).posts:
            root = post.root_id or post.post_id
            by_root.setdefault((post.platform, root), []).append(post)
    trees = []
    for (platform, root), posts in by_root.items():
        posts.sort(key=lambda p: (p.post_id != root, str(p.created_at)))
        views = tuple(PostView(post_id=p.post_id, author=p.author, text=p.text or "", parent_id=p.parent_id,
                               quoted_id=p.quoted_id) for p in posts)
        trees.append(TreeItem(key=f"{platform}:{root}", platform=platform, root_id=root, posts=views))
    return trees


def timed(name: str, trees: list[TreeItem]) -> dict:
    backend = RuleBackend()
    w0, c0 = time.perf_counter(), _cpu()
    backend.relevance([RelevanceItem(key=t.key, platform=t.platform, post=t.posts[0]) for t in trees], target_model=TM)
    backend.tree_to_samples(trees)
    for t in trees:
        for p in t.posts[1:]:
            judge_feedback(p)
    wall, cpu = time.perf_counter() - w0, _cpu() - c0
    posts = sum(len(t.posts) for t in trees)
    return {"part": name, "trees": len(trees), "posts": posts, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "cpu_ms_per_tree": round(1000 * cpu / max(1, len(trees)), 1)}


def main() -> None:
    rows = [timed("realistic corpus", realistic_trees())]
    for name, text in ADVERSARIAL.items():
        tree = TreeItem(key="x:r", platform="x", root_id="r", posts=(
            PostView(post_id="r", author="a", text=text, image_ids=("u",)),
            PostView(post_id="c", author="b", text=text, parent_id="r")))
        rows.append(timed(f"adversarial: {name} ({len(text)} chars)", [tree]))
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    print("\n| part | trees | posts | wall s | CPU s | CPU ms / tree |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['part']} | {r['trees']} | {r['posts']} | {r['wall_s']} | {r['cpu_s']} | {r['cpu_ms_per_tree']} |")


if __name__ == "__main__":
    main()
