"""Cheap rule filters (length, language, a model name in the tree) on every post not judged by them yet.

Reads: posts, post_media. Writes: relevance rows with judge 'cheap'. Done: a post has a 'cheap' row.

Whole reply trees are judged together, because a reply passes with its root and a root can pass on what its
thread says (the author's follow-ups, replies, quotes). When a new post joins a tree, or quotes one, whose root
failed for lack of a model keyword, the tree is judged again and rows that now pass are updated (never the
other way round).
"""

from __future__ import annotations

from collections import defaultdict

from echo.filters import cheap
from echo.progress import track
from echo.records import Relevance
from echo.run import RunContext, StageStats, batches

# Trees with a post not judged yet, and trees quoted by such a post (a new quote may name the model).
_PENDING_TREES = """
    WITH new_posts AS (
        SELECT p.platform, p.post_id, coalesce(p.root_id, p.post_id) AS tree, p.quoted_id
        FROM posts p ANTI JOIN relevance r ON r.platform = p.platform AND r.post_id = p.post_id AND r.judge = 'cheap'
    )
    SELECT platform, tree FROM new_posts
    UNION
    SELECT q.platform, coalesce(q.root_id, q.post_id) FROM new_posts n
    JOIN posts q ON q.platform = n.platform AND q.post_id = n.quoted_id
"""

# The queries below read one slice of the pending trees, given as two lists (platforms, tree ids).
_SLICE = "SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS tree"

_TREE_POSTS = f"""
    WITH pending AS ({_SLICE}),
    images AS (SELECT m.platform, m.post_id, count(*) AS n, string_agg(m.alt_text, ' ') AS alts
               FROM post_media m JOIN posts q ON q.platform = m.platform AND q.post_id = m.post_id
               JOIN pending s ON s.platform = q.platform AND s.tree = coalesce(q.root_id, q.post_id)
               GROUP BY ALL)  -- the slice's posts only, not the whole table once per slice
    SELECT p.platform, p.post_id, p.text, p.author, p.author_id, p.parent_id,
           coalesce(p.root_id, p.post_id) AS tree, p.quoted_id, p.lang, coalesce(m.n, 0) AS n_images, m.alts,
           r.passed AS stored_passed, r.reason AS stored_reason
    FROM posts p
    JOIN pending t ON t.platform = p.platform AND t.tree = coalesce(p.root_id, p.post_id)
    LEFT JOIN images m ON m.platform = p.platform AND m.post_id = p.post_id
    LEFT JOIN relevance r ON r.platform = p.platform AND r.post_id = p.post_id AND r.judge = 'cheap'
    ORDER BY p.platform, tree, p.created_at NULLS LAST, p.post_id
"""

# posts quoted by the pending trees' posts, keyed by their id
_QUOTED = f"""
    WITH pending AS ({_SLICE})
    SELECT DISTINCT q.platform, q.post_id, q.text, q.author, q.lang
    FROM posts p
    JOIN pending t ON t.platform = p.platform AND t.tree = coalesce(p.root_id, p.post_id)
    JOIN posts q ON q.platform = p.platform AND q.post_id = p.quoted_id
"""

# posts of other trees quoting a pending tree's post, keyed by the tree they quote
_QUOTING = f"""
    WITH pending AS ({_SLICE})
    SELECT DISTINCT t.tree AS quoted_tree, q.platform, q.post_id, q.text, q.author, q.lang
    FROM posts p
    JOIN pending t ON t.platform = p.platform AND t.tree = coalesce(p.root_id, p.post_id)
    JOIN posts q ON q.platform = p.platform AND q.quoted_id = p.post_id AND coalesce(q.root_id, q.post_id) <> t.tree
"""


TREES_PER_SLICE = 20_000  # trees judged and written at once: a first run over 1M posts held them all (3 GB)


def run(ctx: RunContext, stats: StageStats) -> None:
    pending = [(r["platform"], r["tree"]) for r in ctx.store.query(_PENDING_TREES + " ORDER BY 1, 2")]
    for some in track(list(batches(pending, TREES_PER_SLICE)), "cheap filters", enabled=ctx.progress):
        judge_slice(ctx, stats, [[k[0] for k in some], [k[1] for k in some]])


def judge_slice(ctx: RunContext, stats: StageStats, trees_of: list[list[str]]) -> None:
    """Judge the posts of the trees `trees_of` = [platforms, tree ids] and write their rows."""
    fcfg = ctx.config.filter
    rows = ctx.store.query(_TREE_POSTS, trees_of)
    quoted: dict[str, dict[str, cheap.TreePost]] = defaultdict(dict)
    for q in ctx.store.query(_QUOTED, trees_of):
        quoted[q["platform"]][q["post_id"]] = cheap.TreePost(post_id=q["post_id"], text=q["text"],
                                                            author=q["author"], lang=q["lang"])
    quoting: dict[tuple[str, str], list[cheap.TreePost]] = defaultdict(list)
    for q in ctx.store.query(_QUOTING, trees_of):
        quoting[(q["platform"], q["quoted_tree"])].append(cheap.TreePost(post_id=q["post_id"], text=q["text"],
                                                                         author=q["author"], lang=q["lang"]))
    trees: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        trees[(r["platform"], r["tree"])].append(r)

    out: list[Relevance] = []
    for (platform, tree), posts in trees.items():
        tree_posts = [_tree_post(r) for r in posts]
        verdicts = cheap.judge_tree(tree_posts, keywords=fcfg.keywords, min_chars=fcfg.min_text_chars,
                                    languages=fcfg.languages, quoted=quoted.get(platform, {}),
                                    quoting=quoting.get((platform, tree), ()))
        for r in posts:
            v = verdicts[r["post_id"]]
            if r["stored_passed"] is not None:
                # Already judged: only a keyword failure can turn into a pass as the tree grows.
                if r["stored_passed"] or r["stored_reason"] != cheap.NO_KEYWORD or not v.passed:
                    continue
                stats["rejudged_passed"] += 1
            out.append(Relevance(platform=platform, post_id=r["post_id"], judge="cheap", score=None,
                                 passed=v.passed, reason=v.reason, model=cheap.MODEL,
                                 prompt_version=cheap.PROMPT_VERSION, run_id=ctx.run_id))
            if v.passed:
                stats["passed"] += 1
            else:
                stats[f"failed_{v.reason.split(':')[0]}"] += 1
    ctx.store.upsert("relevance", out)
    stats["judged"] += len(out)


def _tree_post(r: dict) -> cheap.TreePost:
    return cheap.TreePost(post_id=r["post_id"], text=r["text"], author=r["author_id"] or r["author"],
                          parent_id=r["parent_id"], root_id=r["tree"], quoted_id=r["quoted_id"], lang=r["lang"],
                          n_images=int(r["n_images"] or 0), alt_text=r["alts"])
