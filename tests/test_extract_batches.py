"""The extract stage writes a batch of trees in one transaction: the rows equal those written one tree at a time
(and those of trees read a few roots at a time), and a second run finds nothing to do (no candidate tree changed since its extraction)."""

from __future__ import annotations

from pathlib import Path

from echo import pipeline
from echo.config import SourceConfig
from echo.stages import extract
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("samples", "image_roles", "feedback", "llm_extractions")


def _extract_bluesky(config, db: Path, trees_per_batch: int, monkeypatch,
                     trees_per_load: int = extract.TREES_PER_LOAD) -> tuple[dict, pipeline.RunContext]:
    monkeypatch.setattr(extract, "TREES_PER_BATCH", trees_per_batch)
    monkeypatch.setattr(extract, "TREES_PER_LOAD", trees_per_load)
    config.sources = [SourceConfig(name="samples", kind="import", paths=[str(ROOT / "data/samples/bluesky")])]
    config.paths.db = str(db)
    with Store(db) as store:
        ctx = pipeline.refresh(config, store, only=["crawl", "filter", "relevance", "media", "extract"])
        return {t: store.content_hash(t) for t in TABLES} | {"rows": store.count("samples")}, ctx


def test_batched_writes_equal_one_tree_at_a_time_and_a_rerun_does_nothing(config, tmp_path, monkeypatch):
    config.media.ocr = False
    one, _ = _extract_bluesky(config, tmp_path / "one.duckdb", 1, monkeypatch)
    batched, ctx = _extract_bluesky(config, tmp_path / "batched.duckdb", 64, monkeypatch)
    # trees read from the database 5 roots at a time (a first run over a million posts): the same rows
    sliced, _ = _extract_bluesky(config, tmp_path / "sliced.duckdb", 64, monkeypatch, trees_per_load=5)
    assert one == batched == sliced and batched["rows"] >= 40
    assert ctx.stats["extract"]["trees_extracted"] == ctx.stats["extract"]["trees_pending"] >= 35
    with Store(tmp_path / "batched.duckdb") as store:
        again = pipeline.refresh(config, store, only=["extract"])
    assert again.stats["extract"]["trees_pending"] == 0 and again.stats["extract"]["trees_unchanged"] == 0
