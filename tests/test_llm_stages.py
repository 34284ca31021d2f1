"""The LLM chain end to end against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations


import pytest

from echo.pipeline import run_stage
from echo.stages import extract, relevance
from fake_openai import FakeOpenAI
from llm_helpers import add, image, llm_ctx, post


@pytest.fixture
def corpus(store, config, tmp_path):
    """A prompt tree with input/output images, a duplicate image, feedback replies, and an unrelated post."""
    media = tmp_path / "media"
    config.paths.media_dir = str(media)
    u_in, m_in = image(media, "input", (200, 20, 20))
    u_out, m_out = image(media, "output", (20, 200, 20))
    u_dup, m_dup = image(media, "output-again", (20, 200, 20))  # same bytes as output: a duplicate
    posts = [
        post("1", "Tried GPT-4o image editing. Prompt: turn this photo of my dog into a Ghibli scene", minutes=0),
        post("2", "and here is the result", root="1", parent="1", minutes=1),
        post("3", "wow, the fur detail is perfect", author="bob", root="1", parent="2", minutes=2),
        post("4", "the colours are off, too yellow", author="carol", root="1", parent="2", minutes=3),
        post("9", "My Audi A4o broke down again", author="dave", minutes=5),
    ]
    add(store, posts, [m_in, m_out, m_dup], [("1", u_in, 0, "my dog"), ("2", u_out, 0, None), ("2", u_dup, 1, None)])
    return {"in": u_in, "out": u_out, "dup": u_dup}


def _script():
    """Answers like a careful model would give for the corpus fixture."""
    def tree(req):
        return {"samples": [{"anchor_post_id": "1", "prompt": "turn this photo of my dog into a Ghibli scene",
                             "prompt_modified": False, "evidence_post_ids": ["1", "2"], "quality": "benchmark",
                             "task": "image_to_image", "feedback_post_ids": ["3", "4"], "notes": ""}]}

    def roles(req):
        ids = [im["id"] for im in req.images]
        return {"images": [{"image_id": ids[0], "role": "input", "is_screenshot": False, "is_duplicate": False,
                            "reason": "the user's photo"},
                           {"image_id": ids[1], "role": "output", "is_screenshot": False, "is_duplicate": False,
                            "reason": "generated"}], "fill_blank": False}

    def feedback(req):
        ans = {"3": ("success", ["fur detail", "perfect"], ["detail"]),
               "4": ("failure", ["colours are off", "too yellow"], ["color shift"])}
        return {"feedback": [{"post_id": p["id"], "polarity": ans[p["id"]][0], "keywords": ans[p["id"]][1],
                              "categories": ans[p["id"]][2]} for p in req.posts]}

    return {"tree_to_samples": tree, "image_roles": roles, "feedback": feedback}


def test_chain_fills_samples_roles_feedback_and_rerun_makes_no_calls(store, config, corpus):
    with FakeOpenAI(responders=_script()) as fake:
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        run_stage(ctx, extract.run)

        rel = {r["post_id"]: r for r in store.query("SELECT * FROM relevance WHERE judge = 'llm'")}
        assert set(rel) == {"1", "9"}  # roots only; replies are judged with their root
        assert rel["1"]["score"] == 5 and rel["1"]["passed"] and rel["1"]["prompt_version"] == "relevance.v2"
        assert rel["9"]["score"] == 1 and not rel["9"]["passed"]

        (s,) = store.records("samples")
        assert s.prompt == "turn this photo of my dog into a Ghibli scene" and s.prompt_modified is False
        assert s.task == "image_to_image" and s.quality == "benchmark"
        assert s.input_media == [corpus["in"]] and s.output_media == [corpus["out"]]
        assert s.evidence_post_ids == ["1", "2"]
        assert s.benchmark_decision == "benchmark" and s.review_targets == []
        assert s.extractor == "llm:gpt-4o-mini"
        assert s.extractor_version == ("tree_to_samples.v2+image_roles.v1+screenshot.v1+fill_blank.v2"
                                       "+benchmark_filter.v1+feedback.v1")
        roles = {r.url: r for r in store.records("image_roles")}
        assert roles[corpus["in"]].role == "input" and roles[corpus["out"]].role == "output"
        assert roles[corpus["dup"]].is_duplicate and roles[corpus["dup"]].role == "output"
        assert roles[corpus["in"]].model == "gpt-4o"  # vision stages use the vision model
        # the duplicate (same sha256) was never sent to the model
        (roles_req,) = [r for r in fake.requests if r.stage == "image_roles"]
        assert roles_req.n_images == 2 and len(roles_req.images) == 2
        fb = {f.post_id: f for f in store.records("feedback")}
        assert fb["3"].polarity == "success" and fb["3"].categories == ["detail"]
        assert fb["4"].polarity == "failure" and fb["4"].categories == ["color shift"]
        assert fb["4"].keywords == ["colours are off", "too yellow"]

        usage = {r["step"]: r for r in store.query("SELECT * FROM llm_usage WHERE run_id = ?", [ctx.run_id])}
        assert set(usage) == {"relevance", "tree_to_samples", "image_roles", "benchmark_filter", "feedback"}
        assert sum(u["tokens_in"] for u in usage.values()) == fake.tokens_in
        assert sum(u["tokens_out"] for u in usage.values()) == fake.tokens_out
        assert sum(u["calls"] for u in usage.values()) == fake.count() == 5

        counts = store.counts()
        before = fake.count()
        ctx2 = llm_ctx(config, store, fake.base_url)
        run_stage(ctx2, relevance.run)
        run_stage(ctx2, extract.run)
        assert fake.count() == before  # nothing pending: zero requests
        assert store.counts() == {**counts, "runs": counts["runs"] + 1}

        # Forget the extraction state: the chain runs again but every answer comes from llm_cache.
        store.execute("DELETE FROM llm_extractions")
        store.execute("DELETE FROM relevance WHERE judge = 'llm'")
        ctx3 = llm_ctx(config, store, fake.base_url)
        run_stage(ctx3, relevance.run)
        run_stage(ctx3, extract.run)
        assert fake.count() == before
        assert ctx3.stats["extract"]["cache_hits"] == 4 and ctx3.stats["relevance"]["cache_hits"] == 1
        assert store.records("samples")[0].sample_id == s.sample_id


def test_endpoint_without_json_schema_falls_back_to_json_object(store, config, corpus):
    with FakeOpenAI(responders=_script(), reject_json_schema=True) as fake:
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        run_stage(ctx, extract.run)
        formats = [r.response_format for r in fake.requests]
        assert formats[0] == "json_schema" and set(formats[1:]) == {"json_object"}
        # in json_object mode the schema travels in the system prompt
        assert '"results"' in fake.requests[1].system and "JSON Schema" in fake.requests[1].system
        assert store.count("samples") == 1 and store.count("feedback") == 2
        assert store.count("llm_failures") == 0


def test_strict_json_schema_is_sent_when_supported(store, config, corpus):
    with FakeOpenAI(responders=_script()) as fake:
        run_stage(llm_ctx(config, store, fake.base_url), relevance.run)
        rf = fake.requests[0].body["response_format"]
        assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
        item = rf["json_schema"]["schema"]["properties"]["results"]["items"]
        assert item["additionalProperties"] is False and "maximum" not in item["properties"]["score"]


def test_rate_limits_server_errors_and_invalid_answers_are_retried(store, config, corpus):
    with FakeOpenAI(responders=_script(), retry_after=0.3) as fake:
        fake.fault("relevance", "429", "500", "invalid_json")
        fake.fault("tree_to_samples", "invalid_schema")
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        times = fake.times
        assert fake.statuses[:4] == [429, 500, 200, 200]
        assert times[1] - times[0] >= 0.29  # Retry-After honoured
        assert fake.requests[3].correction  # the invalid answer was sent back with its error
        assert "invalid" in fake.requests[3].body["messages"][-1]["content"]
        run_stage(ctx, extract.run)
        assert store.count("samples") == 1 and store.count("llm_failures") == 0
        assert ctx.stats["relevance"]["score_5"] == 1


def test_twice_invalid_answers_are_recorded_with_raw_text_and_retried_next_run(store, config, corpus):
    with FakeOpenAI(responders=_script()) as fake:
        fake.fault("relevance", "invalid_json", "invalid_json")
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        fails = {r["item_key"]: r for r in store.query("SELECT * FROM llm_failures WHERE step = 'relevance'")}
        assert set(fails) == {"x:1", "x:9"}
        assert all("this is not json" in f["raw_answer"] and f["error"].startswith("invalid answer")
                   for f in fails.values())
        assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 0
        assert ctx.stats["relevance"]["failures"] == 2 and fake.count() == 2
        # the posts are not lost: the next run asks again
        ctx2 = llm_ctx(config, store, fake.base_url)
        run_stage(ctx2, relevance.run)
        run_stage(ctx2, extract.run)
        assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 2
        assert store.count("samples") == 1 and store.count("feedback") == 2


def test_refusal_is_a_failure_and_the_tree_is_retried(store, config, corpus):
    with FakeOpenAI(responders=_script()) as fake:
        fake.fault("feedback", "refusal")
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        run_stage(ctx, extract.run)
        (f,) = store.query("SELECT * FROM llm_failures WHERE step = 'feedback'")
        assert f["error"].startswith("refusal") and "can't help" in f["raw_answer"]
        assert store.count("samples") == 1 and store.count("feedback") == 0
        assert ctx.stats["extract"]["trees_partial"] == 1 and store.count("llm_extractions") == 0
        n = fake.count()
        ctx2 = llm_ctx(config, store, fake.base_url)
        run_stage(ctx2, extract.run)
        assert fake.count() == n + 1  # only the refused call is made again; the rest is cached
        assert store.count("feedback") == 2 and store.count("llm_extractions") == 1


def test_concurrency_is_bounded(store, config, tmp_path):
    posts = [post(str(i), f"GPT-4o image prompt: a red fox number {i}", author=f"u{i}", minutes=i) for i in range(6)]
    add(store, posts)
    with FakeOpenAI(slow_s=0.3) as fake:
        for _ in range(6):
            fake.fault("relevance", "slow")
        config.llm.relevance_batch_size = 1
        config.llm.concurrency = 2
        ctx = llm_ctx(config, store, fake.base_url)
        run_stage(ctx, relevance.run)
        assert fake.count("relevance") == 6 and fake.max_in_flight == 2
        assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 6
