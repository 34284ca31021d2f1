"""The torch engine's own BERT encoder (echo.dedup.bert_encoder): sentence-transformers' vectors bit for bit, without
importing transformers; any folder it does not reproduce goes to sentence-transformers."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from echo.dedup.bert_encoder import BertSentenceEncoder, UnsupportedModel, bert_config
from echo.dedup.embed import Embedder, embed_texts, length_capped_batches, model_path
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "realprompts" / "awesome-gpt4o-images.jsonl"
FOLDER = Path(model_path("all-MiniLM-L6-v2"))
LONG = ("Ultra-detailed isometric illustration of a floating island city at golden hour, cobblestone streets, "
        "terracotta rooftops, a clock tower with a cracked face, waterfalls into a sea of clouds, ") * 8
MIXED = [
    "a cat", "", " ", "\n\t", "?!", "🙂", "猫", "a cat wearing a party hat, watercolor",
    "一只戴着派对帽的橘猫坐在窗台上，水彩画风格，柔和的晨光", "Ünïcödé café naïve — “quotes” «guillemets» ½ ﬁ",
    "Create a 3D chibi figurine of [name] in a blister pack with accessories: {item1}, {item2}",
    "Turn this photo into a Studio Ghibli style illustration, keep the faces recognizable", LONG, LONG + " the end",
    "x" * 3000, "word " * 400,
]


def real_prompts(n: int) -> list[str]:
    """The first n real prompts (English and original), long ones among them; none when ../shared is absent."""
    if not REAL.is_file():
        return []
    found = []
    for line in REAL.read_text(encoding="utf-8").splitlines()[:n]:
        if line.strip():
            r = json.loads(line)
            found += [r["prompt_en"].strip(), r["prompt"].strip()]
    return found


@pytest.fixture(scope="module")
def fast():
    embedder = Embedder(batch_size=8)
    assert isinstance(embedder.model, BertSentenceEncoder)
    return embedder


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(FOLDER), device="cpu", local_files_only=True)


def st_encode(reference, texts, batch_size):
    return reference.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)


def st_in_model_batches(reference, texts, batch_size):
    """sentence-transformers over the model batches Embedder.encode makes (long texts in smaller ones)."""
    out = np.empty((len(texts), 384), dtype=np.float32)
    for idx in length_capped_batches(texts, batch_size):
        out[idx] = st_encode(reference, [texts[i] for i in idx], len(idx))
    return out


def test_vectors_equal_sentence_transformers_bit_for_bit(fast, reference):
    texts = MIXED + real_prompts(12)
    # tokens as sentence-transformers makes them: truncated at 256, padded to the longest of the batch
    ours, theirs = fast.model.tokenize(texts), reference.tokenize(texts)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert ours[key].dtype == theirs[key].dtype and ours[key].tolist() == theirs[key].tolist()
    assert ours["input_ids"].shape[1] == fast.model.max_seq_length == reference.max_seq_length == 256
    assert int(ours["attention_mask"].sum(1).max()) == 256  # some texts were cut

    worst = 0.0
    default_batch = fast.batch_size
    for batch_size in (1, 5, 64):  # 5: batches mixing lengths; 64: all texts in one batch
        fast.batch_size = batch_size
        got, want = fast.encode(texts), st_in_model_batches(reference, texts, batch_size)
        direct = fast.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)
        assert np.array_equal(direct, st_encode(reference, texts, batch_size))  # the encoder alone, ST's batches
        assert got.shape == want.shape == (len(texts), 384) and got.dtype == want.dtype == np.float32
        worst = max(worst, float(np.abs(got - want).max()))
        assert np.array_equal(got, want), f"batch {batch_size}: max abs difference {np.abs(got - want).max()}"
    # fixed batches (embed_texts' partitions) are each encoded by themselves
    batches = [texts[:3], texts[3:11], texts[11:]]
    fast.batch_size = 64
    want = np.concatenate([st_in_model_batches(reference, b, 64) for b in batches])
    assert np.array_equal(fast.encode_batches(batches), want)
    fast.batch_size = default_batch
    assert worst == 0.0


def test_a_text_s_last_bits_depend_on_its_batch(fast):
    """Why the batches are cut exactly as sentence-transformers cuts them (Embedder.encode_batches)."""
    short = ["a cat wearing a party hat, watercolor", "猫"]
    alone = np.concatenate([fast.model.encode([t], normalize_embeddings=True) for t in short])
    padded = fast.model.encode(short + [LONG], batch_size=3, normalize_embeddings=True)[:2]
    assert np.allclose(alone, padded, atol=1e-6)
    assert not np.array_equal(alone, padded)


def test_the_cache_rows_are_the_sentence_transformers_rows(store, fast, monkeypatch):
    texts = ["a red fox in the snow", "a lighthouse at dawn, watercolor", LONG]
    monkeypatch.setenv("ECHO_EMBED_SENTENCE_TRANSFORMERS", "1")
    st_engine = Embedder(batch_size=fast.batch_size)
    assert type(st_engine.model).__name__ == "SentenceTransformer"
    assert (st_engine.name, st_engine.dim, st_engine.spec) == (fast.name, fast.dim, fast.spec) == (
        "all-MiniLM-L6-v2", 384, ("all-MiniLM-L6-v2", "cpu", fast.batch_size, "torch", None))
    _, stored = embed_texts(store, st_engine, texts)
    counts = collections.Counter()
    _, read = embed_texts(store, fast, texts, stats=counts)
    assert counts["cached"] == 3 and counts["embedded"] == 0
    with Store(None) as empty:
        _, with_fast = embed_texts(empty, fast, texts)
    assert np.array_equal(read, stored) and np.array_equal(with_fast, stored)


def model_copy(tmp_path: Path, name: str) -> Path:
    """A copy of the packaged folder (files linked) whose json files a test may rewrite."""
    folder = tmp_path / name
    for src in FOLDER.rglob("*"):
        if src.is_file():
            dst = folder / src.relative_to(FOLDER)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix == ".json":
                dst.write_bytes(src.read_bytes())
            else:
                dst.symlink_to(src)
    return folder


def edit_json(path: Path, **changes) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_folders_it_does_not_reproduce_are_refused(tmp_path):
    assert bert_config(FOLDER)["num_hidden_layers"] == 6

    def config(name, **changes):
        folder = model_copy(tmp_path, name)
        edit_json(folder / "config.json", **changes)
        return folder

    def missing(name, file):
        folder = model_copy(tmp_path, name)
        (folder / file).unlink()
        return folder

    cls = model_copy(tmp_path, "cls")
    edit_json(cls / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    dense = model_copy(tmp_path, "dense")
    modules = json.loads((dense / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (dense / "modules.json").write_text(json.dumps(modules))
    lower = model_copy(tmp_path, "lower")
    edit_json(lower / "sentence_bert_config.json", do_lower_case=True)
    prompts = model_copy(tmp_path, "prompts")
    edit_json(prompts / "config_sentence_transformers.json", prompts={"query": "query: "})
    cases = [
        (config("roberta", model_type="roberta"), "model_type = 'roberta', not 'bert'"),
        (config("relative", position_embedding_type="relative_key"), "position_embedding_type = 'relative_key'"),
        (config("gelu-new", hidden_act="gelu_new"), "hidden_act = 'gelu_new'"),
        (config("fp16", torch_dtype="float16"), "not in float32"),
        (cls, "mean pooling only"),
        (dense, "Transformer -> Pooling"),
        (lower, "more than max_seq_length"),
        (prompts, "prompts"),
        (missing("no-tokenizer", "tokenizer.json"), "no tokenizer.json"),
        (missing("no-weights", "model.safetensors"), "no model.safetensors"),
    ]
    for folder, reason in cases:
        with pytest.raises(UnsupportedModel, match=re.escape(reason)):
            BertSentenceEncoder(folder)


def test_embedder_loads_other_folders_with_sentence_transformers(tmp_path, fast):
    folder = model_copy(tmp_path, "cls")
    edit_json(folder / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    cls = Embedder(str(folder), batch_size=8)
    assert type(cls.model).__name__ == "SentenceTransformer" and cls.name == str(folder) and cls.dim == 384
    a, b = cls.encode(["a cat", "a dog"]), fast.encode(["a cat", "a dog"])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5) and not np.allclose(a, b, atol=1e-3)


def test_loading_the_default_model_imports_no_transformers():
    code = ("import sys; from echo.dedup.embed import Embedder; e = Embedder(); e.encode(['a cat']); "
            "print(type(e.model).__name__, sorted(m for m in ('transformers', 'sentence_transformers', 'sklearn') "
            "if m in sys.modules))")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("ECHO_EMBED_SENTENCE_TRANSFORMERS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.split("\n")[-2] == "BertSentenceEncoder []"
