"""embed.engine: the ONNX Runtime engines reproduce sentence-transformers' vectors, keep their own cache rows,
export once and rebuild a broken export."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest

from echo.config import ConfigError, load_config
from echo.dedup import onnx_model
from echo.dedup.embed import EmbedError, Embedder, _load_embedder, embed_texts, model_path

LONG = " ".join([
    "Ultra-detailed isometric illustration of a floating island city at golden hour, cobblestone streets winding",
    "between terracotta rooftops, tiny shopkeepers arranging fruit stalls, a clock tower with a cracked face,",
    "waterfalls spilling off the island's edges into a sea of clouds, hot-air balloons tethered to the docks,",
    "lanterns strung across alleys, a red tram crossing an arched stone bridge, children chasing paper kites,",
    "ivy on every wall, soft volumetric light, warm palette of ochre, teal and rose, crisp linework, gentle",
    "ambient occlusion, a hand-lettered sign reading 'Welcome to Aerie' above the harbour gate, seagulls,",
    "market awnings in striped canvas, a library with stained-glass windows, a botanical dome full of ferns,",
    "a lighthouse on the northern cliff, windmills turning slowly, laundry drying between balconies, a cat",
    "asleep on a windowsill, a baker carrying baskets of bread, reflections in puddles after the rain, 3:4",
    "aspect ratio, high resolution, in the style of a vintage travel poster crossed with a modern game concept",
    "art sheet, with a legend in the lower corner listing districts: Harbour, Old Town, Gardens, Observatory,",
    "Market Row, and the Floating Docks; every building labelled with a small numbered tag and a compass rose.",
])
TEXTS = [
    "a cat wearing a party hat, watercolor",
    "Turn this photo into a Studio Ghibli style illustration, keep the faces recognizable",
    "一只戴着派对帽的橘猫坐在窗台上，水彩画风格，柔和的晨光",
    "Create a 3D chibi figurine of [name] in a blister pack with accessories: {item1}, {item2}",
    LONG,
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def engines(onnx_cache):
    return {"torch": Embedder(batch_size=4), "onnx": Embedder(batch_size=4, engine="onnx", onnx_cache_dir=str(onnx_cache)),
            "onnx-int8": Embedder(batch_size=4, engine="onnx-int8", onnx_cache_dir=str(onnx_cache))}


def test_onnx_engines_reproduce_the_torch_vectors(engines):
    torch_engine, fp32 = engines["torch"], engines["onnx"]
    # the same tokens as sentence-transformers, truncation at 256 included (the long prompt has more)
    layout = fp32.onnx.layout
    assert layout.max_seq_length == torch_engine.model.max_seq_length == 256
    untruncated = layout.tokenizer()
    untruncated.no_truncation()
    assert len(untruncated.encode(LONG).ids) > 256
    st_ids = torch_engine.model.tokenize(TEXTS)["input_ids"].numpy()
    assert (np.array([e.ids for e in fp32.onnx.tokenizer.encode_batch(TEXTS)]) == st_ids).all()
    assert st_ids.shape == (len(TEXTS), 256)

    batches = [TEXTS[:3], TEXTS[3:]]  # fixed batches, as embed_texts cuts them
    ref = torch_engine.encode_batches(batches)
    got = {name: engines[name].encode_batches(batches) for name in ("onnx", "onnx-int8")}
    for vecs in (ref, *got.values()):
        assert vecs.shape == (5, 384) and vecs.dtype == np.float32
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.sum(ref * got["onnx"], axis=1).min() >= 0.9999
    assert np.sum(ref * got["onnx-int8"], axis=1).min() >= 0.99
    # encode() on more texts than a batch sorts and cuts them as SentenceTransformer.encode does
    assert np.sum(torch_engine.encode(TEXTS) * fp32.encode(TEXTS), axis=1).min() >= 0.9999
    # past 256 tokens nothing counts, in either engine
    for engine in (torch_engine, fp32):
        a, b = engine.encode_batches([[LONG], [LONG + " Signed by the artist in gold ink."]])
        assert float(a @ b) > 0.99999


def test_a_bad_engine_is_refused_clearly(tmp_path):
    with pytest.raises(ConfigError, match=r"embed\.engine \(from ECHO_EMBED_ENGINE\): unknown engine 'onnx-fp16'; "
                                          r"one of: torch, onnx, onnx-int8"):
        load_config(None, env={"ECHO_EMBED_ENGINE": "onnx-fp16"})
    toml = tmp_path / "echo.toml"
    toml.write_text('[embed]\nengine = "onnx"\ndevice = "cuda"\n')
    with pytest.raises(ConfigError, match="runs on the CPU only"):
        load_config(toml, env={})
    assert load_config(None, env={"ECHO_EMBED_ENGINE": "onnx-int8"}).embed.cache_name == "all-MiniLM-L6-v2@onnx-int8"
    assert load_config(None, env={}).embed.cache_name == "all-MiniLM-L6-v2"
    with pytest.raises(EmbedError, match="unknown embedding engine 'tensorrt'"):
        Embedder(engine="tensorrt")


def test_the_cache_keeps_engines_apart(store, config, engines):
    from echo.pipeline import run_stage, start_run
    from echo.records import Sample
    from echo.stages import embed

    texts = TEXTS[:3]
    counts = {name: collections.Counter() for name in engines}
    vectors = {name: embed_texts(store, engines[name], texts, stats=counts[name])[1] for name in engines}
    assert [counts[n]["embedded"] for n in engines] == [3, 3, 3]  # no engine reads another's rows
    rows = store.query("SELECT model, count(*) AS n FROM embeddings GROUP BY model ORDER BY model")
    assert rows == [{"model": "all-MiniLM-L6-v2", "n": 3}, {"model": "all-MiniLM-L6-v2@onnx", "n": 3},
                    {"model": "all-MiniLM-L6-v2@onnx-int8", "n": 3}]
    assert not np.array_equal(vectors["torch"], vectors["onnx"])

    # a run configured for the onnx engine reads and writes the onnx rows only, and refuses another engine's model
    config.embed.engine = "onnx"
    store.upsert("samples", [Sample(sample_id="s1", platform="x", root_id="1", anchor_post_id="1", prompt=texts[0],
                                    prompt_modified=False, quality="benchmark", extractor="rules",
                                    extractor_version="t")])
    ctx = start_run(config, store)
    with pytest.raises(ValueError, match="not the configured 'all-MiniLM-L6-v2@onnx'"):
        ctx.resources.use_embedder(engines["torch"])
    ctx.resources.use_embedder(engines["onnx"])
    run_stage(ctx, embed.run)
    assert ctx.stats["embed"]["cached"] == 1 and ctx.stats["embed"]["embedded"] == 0

    # a Dask worker loads the same engine from the embedder's spec
    assert _load_embedder(*engines["onnx-int8"].spec).name == "all-MiniLM-L6-v2@onnx-int8"


def test_the_export_is_reused_and_a_broken_one_rebuilt(engines, onnx_cache, tmp_path, monkeypatch):
    folder = Path(model_path("all-MiniLM-L6-v2"))
    fp32, int8 = engines["onnx"].onnx.path, engines["onnx-int8"].onnx.path
    assert fp32.parent == int8.parent == onnx_cache and fp32 != int8

    def no_export(*_):
        raise AssertionError("exported again")

    # a second load uses the cached files as they are
    monkeypatch.setattr(onnx_model, "_export_fp32", no_export)
    monkeypatch.setattr(onnx_model, "_quantize_int8", no_export)
    before = {p: p.stat().st_mtime_ns for p in (fp32, int8)}
    again = Embedder(batch_size=4, engine="onnx-int8", onnx_cache_dir=str(onnx_cache))
    assert again.onnx.path == int8 and {p: p.stat().st_mtime_ns for p in (fp32, int8)} == before
    monkeypatch.undo()

    expected = engines["onnx-int8"].encode_batches([TEXTS])
    broken = tmp_path / "cache"
    shutil.copytree(onnx_cache, broken)
    copy = broken / int8.name
    # cut short (an interrupted write by some other tool): the checksum no longer matches, so it is rebuilt
    copy.write_bytes(int8.read_bytes()[:100_000])
    rebuilt = Embedder(batch_size=4, engine="onnx-int8", onnx_cache_dir=str(broken))
    assert rebuilt.onnx.path == copy and copy.stat().st_size == int8.stat().st_size
    assert np.allclose(rebuilt.encode_batches([TEXTS]), expected, atol=1e-6)
    # garbage whose sidecar checksum matches (written by hand): ONNX Runtime refuses it, and it is rebuilt too
    copy.write_bytes(b"not an onnx model")
    copy.with_suffix(".json").write_text(f'{{"sha256": "{onnx_model.sha256_file(copy)}"}}')
    rebuilt = Embedder(batch_size=4, engine="onnx-int8", onnx_cache_dir=str(broken))
    assert np.allclose(rebuilt.encode_batches([TEXTS]), expected, atol=1e-6)
    assert sorted(p.name for p in broken.iterdir() if ".part" in p.name) == []  # no temporary files left
    assert onnx_model.export_key(folder, "onnx") in fp32.name
