"""The run report: spike detection, the data it shows, and the self-contained HTML file the stage writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import re

import numpy as np
import pytest
from test_report_helpers import HOSTILE_PROMPT, REFERENCES, seeded, write_config

from echo.pipeline import run_stage
from echo.run import RunContext
from echo.stages import report
from echo.report import data, html, spikes
from echo.report.prompt_map import layout_settings, reference_subsample, text_keys
from echo.store import Store

# --- spikes ---------------------------------------------------------------------------------------


def test_a_burst_over_a_steady_baseline_is_a_spike():
    counts = [10, 12, 9, 11, 10, 60, 11, 10, 12, 9, 10]
    s = spikes.detect_spikes(counts, window=7, k=3.5, min_count=5)
    assert s.spike_indices == [5]
    # The burst does not raise its own baseline: the median of its window is a normal day.
    assert s.baseline[5] == pytest.approx(10.5) or s.baseline[5] in (10, 11)
    assert s.threshold[5] < 60


def test_mad_is_scaled_to_a_standard_deviation():
    counts = [1, 2, 3, 4, 5]
    s = spikes.detect_spikes(counts, window=5, k=1.0, min_count=0)
    # centre day: median 3, |x-3| = 2,1,0,1,2 -> MAD 1 -> spread 1.4826
    assert s.baseline[2] == 3
    assert s.spread[2] == pytest.approx(1.4826)
    assert s.threshold[2] == pytest.approx(3 + 1.4826)


def test_window_is_centred_and_clipped_at_the_ends():
    counts = [0, 0, 0, 9, 9, 9, 9]
    s = spikes.detect_spikes(counts, window=3, k=1, min_count=1)
    assert s.baseline[0] == 0          # window [0, 0]
    assert s.baseline[3] == 9          # window [0, 9, 9]
    assert s.baseline[6] == 9          # window [9, 9]


def test_quiet_series_needs_the_minimum_count():
    counts = [0, 0, 1, 0, 2, 0, 0, 0]
    assert spikes.detect_spikes(counts, window=7, k=3.5, min_count=5).spike_indices == []
    assert spikes.detect_spikes(counts, window=7, k=3.5, min_count=1).spike_indices == [2, 4]


def test_flat_series_has_no_spikes_and_bad_input_is_refused():
    assert spikes.detect_spikes([7] * 20).spike_indices == []
    assert spikes.detect_spikes([]).spike_indices == []
    with pytest.raises(ValueError, match="window"):
        spikes.detect_spikes([1, 2], window=0)
    with pytest.raises(ValueError, match="non-negative"):
        spikes.detect_spikes([1, -2, 3])
    with pytest.raises(ValueError, match="k"):
        spikes.detect_spikes([1, 2], k=-1)


def test_daily_counts_fill_missing_days_with_zero():
    d = dt.date(2025, 3, 1)
    days, counts = spikes.daily_counts([d, d + dt.timedelta(days=3), d], [2, 5, 1])
    assert days == [d + dt.timedelta(days=i) for i in range(4)]
    assert counts == [3, 0, 0, 5]
    assert spikes.daily_counts([], []) == ([], [])


# --- prompt statistics ----------------------------------------------------------------------------


def test_prompt_stats_and_first_bigram_diversity():
    s = data.prompt_stats("x", ["a photo of a cat", "a photo of a dog", "A Photo, of a bird", "two red apples"])
    assert s.prompts == 4 and s.distinct_first_bigrams == 2
    assert s.bigram_diversity == pytest.approx(0.5)
    assert s.median_words == pytest.approx(5)
    assert data.first_bigram("  Hello ") == "hello"
    assert data.prompt_stats("empty", []).bigram_diversity == 0.0


def test_reference_subsample_is_deterministic_and_hash_ordered():
    prompts = [f"prompt number {i}" for i in range(100)]
    a = reference_subsample(prompts, 10)
    assert a == reference_subsample(list(reversed(prompts)), 10)
    assert len(a) == 10 and len(set(a)) == 10
    assert reference_subsample(prompts + prompts, 1000) == reference_subsample(prompts, 1000)
    assert layout_settings(42) != layout_settings(43)
    assert list(text_keys(a)) == list(text_keys(list(a))) and len(set(text_keys(a))) == 10


def test_bad_reference_file_is_reported_with_its_line(tmp_path):
    (tmp_path / "broken.jsonl").write_text('{"prompt": "ok"}\nnot json\n')
    with pytest.raises(ValueError, match="broken.jsonl:2"):
        data.load_reference_prompts(tmp_path)
    assert data.load_reference_prompts(tmp_path / "missing") == {}


# --- the data the report shows --------------------------------------------------------------------


def test_report_data_from_a_seeded_store(config, tmp_path):
    store, run_id = seeded(config, tmp_path)
    with store:
        release = data.newest_release(store)
        assert release.version == "2025.04.01" and len(release.sample_ids) == 8
        rows = {r["source"]: r for r in data.funnel(store, release)}
        total = rows["all sources"]
        assert total["posts"] == store.count("posts")
        assert total["passed_cheap_filter"] == store.scalar("SELECT count(*) FROM relevance WHERE judge = 'cheap' AND passed")
        assert total["relevant"] == store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm' AND passed")
        assert total["samples"] == 11 and total["benchmark_quality"] == 9 and total["in_release"] == 8
        assert total["posts"] == sum(r["posts"] for k, r in rows.items() if k != "all sources")
        assert set(rows) == {"samples", "bluesky-live", "all sources"}

        assert data.task_mix(store) == {"text_to_image": 7, "image_to_image": 2, "unknown": 2}
        assert data.quality_mix(store) == {"benchmark": 9, "analysis": 1, "trash": 1}
        fb = data.feedback_summary(store)
        assert fb.polarity == {"success": 7, "failure": 14, "neutral": 0} and fb.samples_with_feedback == 11
        assert fb.failure_categories == [("color shift", 11), ("text rendering", 3)]
        assert fb.failure_keywords[:2] == [("colors", 11), ("yellow tint", 11)]

        stages = data.stage_rows(data.run_info(store, run_id)["stage_stats"], ["crawl", "prefilter", "embed", "extract"])
        by = {s["stage"]: s for s in stages}
        assert by["embed"]["highlights"] == {"sentences_per_s": 123.4}
        assert by["prefilter"]["highlights"] == {"calls_saved": 12, "cv_recall": 0.97}
        assert [s["stage"] for s in stages] == ["crawl", "prefilter", "embed", "extract"]

        assert data.llm_per_sample(data.llm_usage(store, run_id), data.run_info(store, run_id)["stage_stats"]) == {
            "samples": 11, "calls": 9.18, "tokens_in": 0, "tokens_out": 0}
        assert data.llm_per_sample([], {"extract": {"samples": 0}}) is None
        items, n = data.gallery(store, config, 4)
        assert n == 9 and len(items) == 4
        assert all(i.outputs and i.outputs[0].startswith("data:image/webp;base64,") for i in items)
        assert [i.posted_at for i in items] == sorted([i.posted_at for i in items], reverse=True)
        i2i = [i for i in data.gallery(store, config, 50)[0] if i.task == "image_to_image"]
        assert i2i and all(len(i.inputs) == 1 for i in i2i)


def test_thumbnail_outside_the_media_store_is_not_inlined(config, tmp_path):
    secret = tmp_path / "secret.webp"
    secret.write_bytes(b"RIFF....WEBPVP8 ")
    assert data._thumb_uri(config.path("media_dir"), "../secret.webp") is None
    assert data._thumb_uri(config.path("media_dir"), None) is None


# --- the HTML file --------------------------------------------------------------------------------

EXTERNAL_REF = re.compile(r"""<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?\s*(?:https?:)?//""",
                          re.IGNORECASE)


def _run_report_stage(store: Store, config, run_id: str) -> RunContext:
    ctx = RunContext(config=config, store=store, run_id=run_id)
    run_stage(ctx, report.run)
    return ctx


def test_report_stage_writes_a_self_contained_page_with_every_section(config, tmp_path):
    store, run_id = seeded(config, tmp_path)
    with store:
        ctx = _run_report_stage(store, config, run_id)
    reports = config.path("reports_dir")
    page = (reports / f"{run_id}.html").read_text(encoding="utf-8")
    assert (reports / "latest.html").read_text(encoding="utf-8") == page
    stats = ctx.stats["report"]
    assert stats["bytes"] == len(page.encode("utf-8")) and stats["map_points"] == 10 + 3 * 4
    assert stats["gallery_images"] == 9 + 2 and stats["spike_days"] == 1
    assert stats["map_embedded_new"] == 0  # every text was in the cache

    # Offline: one inline plotly bundle, no external scripts, styles, images or frames.
    assert page.count("<script src") == 0 and "cdn.plot.ly" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert not EXTERNAL_REF.search(page)
    assert page.count("Plotly.newPlot") == 9  # funnel, volume, mix, polarity, keywords, categories, map, lengths, diversity

    # Header facts.
    for fact in (run_id, "abc123def4567890", "rules (offline rule-based backend, no LLM)", "echo-bench 0.1.0", "2025.04.01"):
        assert fact in page, fact
    # Sections and their explanations.
    for anchor in ("funnel", "stages", "volume", "mix", "feedback", "map", "datasets", "gallery"):
        assert f'<section id="{anchor}">' in page
    assert "How spikes are found" in page and "1.4826" in page
    assert "2025-03-25" in page  # the launch-day burst is listed as a spike day
    assert "sentences_per_s 123.4" in page and "calls_saved 12" in page
    # LLM price per sample: (90 relevance + 11 tree_to_samples calls) / 11 samples extracted this run
    assert "Per extracted sample (11 this run, every step counted, relevance included): 9.18 calls" in page
    assert "PartiPrompts" in page and "GenEval" in page and "DiffusionDB" in page
    assert "no data" not in page.lower() and 'class="empty"' not in page
    # Gallery: inline thumbnails of the newest benchmark samples.
    assert page.count('<article class="g-item"') == 9
    assert len(re.findall(r'<img src="data:image/webp;base64,', page)) == 9 + 2

    # User text is escaped everywhere: the hostile prompt never becomes markup.
    assert "<script>window.__pwned" not in page
    assert "<img src=x" not in page
    assert html_lib.escape(HOSTILE_PROMPT) in page


def test_empty_store_gets_clear_no_data_messages(config):
    with Store(config.path("db")) as store:
        store.upsert("runs", [{"run_id": "r-empty", "started_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                               "status": "running", "stage_stats": {}}])
        path, rd = html.build_report(store, config, "r-empty")
    page = path.read_text(encoding="utf-8")
    assert page.count('class="empty"') >= 8
    for msg in ("No posts have been crawled yet", "No samples have been extracted yet", "No feedback has been extracted yet",
                "No mined prompts to map yet", "No benchmark-quality sample has a stored image yet", "no release has been frozen yet"):
        assert msg in page, msg
    assert rd.prompt_map.embedded_new == 0  # nothing mined: the model is not loaded


def test_unknown_run_is_a_clear_error(config):
    with Store(config.path("db")) as store, pytest.raises(KeyError, match="no run 'nope'"):
        html.build_report(store, config, "nope")


def test_second_run_reuses_the_embeddings_and_the_layout(config, tmp_path):
    """The first run embeds the missing texts with the real model; the next one embeds nothing and skips t-SNE."""
    store, run_id = seeded(config, tmp_path, embeddings=False)
    with store:
        _, first = html.build_report(store, config, run_id)
        assert first.prompt_map.embedded_new == 10 + 3 * 4 and not first.prompt_map.layout_reused
        n_embeddings = store.count("embeddings")
        _, second = html.build_report(store, config, run_id)
        assert second.prompt_map.embedded_new == 0 and second.prompt_map.layout_reused
        assert store.count("embeddings") == n_embeddings
        np.testing.assert_allclose(first.prompt_map.xy, second.prompt_map.xy)
        assert first.prompt_map.xy.shape == (22, 2) and np.isfinite(first.prompt_map.xy).all()


def test_report_file_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="bad run id"):
        html.write_report("<html></html>", tmp_path, "../escape")
    p = html.write_report("<html>1</html>", tmp_path, "run-1")
    html.write_report("<html>2</html>", tmp_path, "run-2")
    assert p.read_text() == "<html>1</html>" and (tmp_path / "latest.html").read_text() == "<html>2</html>"
    assert not list(tmp_path.glob(".*.tmp"))


def test_reference_sets_in_the_repo_load(config):
    refs = data.load_reference_prompts(config.report.reference_prompts_dir)
    assert {"partiprompts", "geneval", "diffusiondb"} <= set(refs)
    assert all(len(v) > 500 for v in refs.values())
    assert set(REFERENCES) == {"partiprompts", "geneval", "diffusiondb"}


def test_report_command_rebuilds_from_the_snapshot(config, tmp_path, capsys):
    from echo.analyst.snapshot import publish
    from echo.cli import main as cli_main

    cfg_file = write_config(config, tmp_path / "echo.toml")
    assert cli_main(["--config", str(cfg_file), "report"]) == 1
    assert "no analyst snapshot" in capsys.readouterr().err
    store, run_id = seeded(config, tmp_path)
    with store:
        publish(store, config, run_id)
    assert cli_main(["--config", str(cfg_file), "report"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(config.path("reports_dir") / f"{run_id}.html")
    assert run_id in (config.path("reports_dir") / "latest.html").read_text(encoding="utf-8")
    assert cli_main(["--config", str(cfg_file), "report", "--run", "missing"]) == 1
    assert "no run 'missing'" in capsys.readouterr().err


def test_the_map_layout_is_extended_for_a_few_new_points_and_laid_out_again_past_the_refit_share(tmp_path):
    from bench.synthetic import synthetic_embeddings
    from echo.report.prompt_map import cached_layout

    x, topic, _ = synthetic_embeddings(130, points_per_topic=40, dup_share=0.0, seed=2)
    texts = [f"prompt {i} of topic {t}" for i, t in enumerate(topic)]
    first, how = cached_layout(lambda: x[:100], texts[:100], 42, tmp_path)
    assert how == "fitted" and first.shape == (100, 2)
    again, how = cached_layout(lambda: pytest.fail("a reused layout needs no vectors"), texts[:100], 42, tmp_path)
    assert how == "reused" and np.array_equal(again, first)
    grown, how = cached_layout(lambda: x[:105], texts[:105], 42, tmp_path)  # 5 new of 105: within 10%
    assert how == "extended" and np.array_equal(grown[:100], first)
    for i in range(100, 105):  # a new point lands nearer its own topic's points than the map's other points
        same = first[topic[:100] == topic[i]].mean(axis=0)
        others = first[topic[:100] != topic[i]].mean(axis=0)
        assert np.linalg.norm(grown[i] - same) < np.linalg.norm(grown[i] - others), i
    moved, how = cached_layout(lambda: x[3:108], texts[3:108], 42, tmp_path)  # 3 gone + 3 new: 11 of 105 since
    assert how == "fitted" and moved.shape == (105, 2)
    (tmp_path / "prompt-map.npz").write_bytes(b"not a layout")  # a damaged file is laid out again, not a crash
    assert cached_layout(lambda: x[3:108], texts[3:108], 42, tmp_path)[1] == "fitted"


def test_the_map_takes_a_stable_hashed_sample_of_the_mined_prompts(config, tmp_path):
    store, _ = seeded(config, tmp_path)
    with store:
        _, every = data.cluster_points(store, 1000)
        clustering, some = data.cluster_points(store, 5)
        ids = sorted((r["sample_id"] for r in every), key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        assert [r["sample_id"] for r in some] == ids[:5]
        assert clustering is not None and all(r["cluster_id"] is not None for r in some)
        # a new sample enters only if its hash is among the smallest: at most one point in, one out
        newest = store.query("SELECT * FROM samples ORDER BY created_at DESC LIMIT 1")[0]
        store.upsert("samples", [{**newest, "sample_id": "s-new", "created_at": newest["created_at"]}])
        store.upsert("clusters", [{**store.query("SELECT * FROM clusters WHERE clustering_id = ? LIMIT 1",
                                                 [clustering])[0], "sample_id": "s-new"}])
        after = [r["sample_id"] for r in data.cluster_points(store, 5)[1]]
        assert len(set(after) ^ set(ids[:5])) <= 2
        assert after == sorted([*ids, "s-new"], key=lambda s: hashlib.sha256(s.encode()).hexdigest())[:5]
