"""A sentence-transformers model run by ONNX Runtime (embed.engine = "onnx" | "onnx-int8").

Nothing is downloaded: the ONNX file is exported here, once, from the model folder's own weights (torch's
TorchScript exporter, which needs no extra package), and cached on disk under a name keyed by the model path, a
hash of the folder's files, echo's export version and the exporting library versions. "onnx-int8" is that file
with the attention projections' weights quantized to int8 (ONNX Runtime dynamic quantization). Each cached file
has a sidecar recording its sha256: a partial or corrupt file is rebuilt, not loaded.

The pipeline is sentence-transformers' own for a Transformer -> mean Pooling -> (Normalize) model: the folder's
fast tokenizer (tokenizer.json), truncation at the model's max_seq_length (sentence_bert_config.json), padding to
the longest text of the batch, mean pooling over the attention mask and L2 normalization (the last two inside the
exported graph).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

from echo.store import sha256_file

# Bump when the exported graph or the quantization recipe changes: older cached files are then not used.
EXPORT_VERSION = 1
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class OnnxModelError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/echo/onnx (~/.cache/echo/onnx): exports are per machine, not per database."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "echo" / "onnx"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise OnnxModelError(f"cannot read {path}: {e}") from e


def folder_digest(folder: Path) -> str:
    """sha256 over the names and contents of every file of the model folder."""
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


class ModelLayout:
    """What the ONNX engine needs to know of a sentence-transformers folder; refuses what it cannot reproduce."""

    def __init__(self, folder: Path):
        self.folder = folder
        modules = _read_json(folder / "modules.json")
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
            raise OnnxModelError(f"{folder}: modules {kinds}; the ONNX engine runs Transformer -> Pooling "
                                 "(-> Normalize) models only; use engine = \"torch\"")
        pooling_dir = folder / next(m.get("path", "") for m in modules if m.get("type", "").endswith("Pooling"))
        pooling = _read_json(pooling_dir / "config.json")
        modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
        if modes != ["pooling_mode_mean_tokens"]:
            raise OnnxModelError(f"{folder}: pooling {modes}; the ONNX engine does mean pooling only; "
                                 "use engine = \"torch\"")
        st_config = _read_json(folder / "sentence_bert_config.json")
        self.max_seq_length = int(st_config["max_seq_length"])
        self.lower_case = bool(st_config.get("do_lower_case", False))
        if not (folder / "tokenizer.json").is_file():
            raise OnnxModelError(f"{folder} has no tokenizer.json (a fast tokenizer); use engine = \"torch\"")
        tok_config = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
        pad = tok_config.get("pad_token", "[PAD]")
        self.pad_token = pad["content"] if isinstance(pad, dict) else pad

    def tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        pad_id = tok.token_to_id(self.pad_token)
        if pad_id is None:
            raise OnnxModelError(f"{self.folder}: pad token {self.pad_token!r} is not in the tokenizer's vocabulary")
        tok.enable_truncation(max_length=self.max_seq_length)
        tok.enable_padding(pad_id=pad_id, pad_token=self.pad_token)
        return tok


# --- export and cache -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One exporter per file at a time (several Dask workers may load the model together)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic replaces alone still keep the file whole
        yield
        return
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _atomic_build(target: Path, build) -> None:
    """`build(tmp_path)` writes the file; it replaces `target` only when whole, and its sha256 goes in a sidecar
    written after it, so a file without a matching sidecar is never trusted."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.stem + ".", suffix=".part.onnx")
    os.close(fd)
    try:
        build(Path(tmp))
        digest = sha256_file(Path(tmp))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    side_tmp = target.with_suffix(".json.part")
    side_tmp.write_text(json.dumps({"sha256": digest}), encoding="utf-8")
    os.replace(side_tmp, target.with_suffix(".json"))


def _is_whole(target: Path) -> bool:
    side = target.with_suffix(".json")
    if not (target.is_file() and side.is_file()):
        return False
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("sha256") == sha256_file(target)
    except (OSError, ValueError, AttributeError):
        return False


def _export_fp32(folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class SentenceEmbedding(torch.nn.Module):
        """The transformer, mean pooling over the attention mask and L2 normalization, as sentence-transformers."""

        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    model = SentenceEmbedding(AutoModel.from_pretrained(str(folder), local_files_only=True)).eval()
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript; this one
        # exports this model exactly and needs nothing more than torch (pinned).
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example, example, torch.zeros_like(example)), str(out), dynamo=False,
                          input_names=list(INPUTS), output_names=["sentence_embedding"],
                          dynamic_axes={**axes, "sentence_embedding": {0: "batch"}}, opset_version=OPSET)


def _feed_forward_matmuls(model_path: Path) -> list[str]:
    """The MatMuls of the transformer's feed-forward blocks (BERT names: intermediate/dense, output/dense)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and "/attention/" not in n.name
            and ("/intermediate/dense/" in n.name or "/output/dense/" in n.name)]


def _quantize_int8(source: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Unsigned per-channel int8 weights for the attention projections only. Quantizing the feed-forward MatMuls too
    # drops the cosine to the fp32 vectors to 0.98 on long real prompts, under issue 14's bar of 0.99; without
    # them it stays >= 0.995 (BENCHMARKS.md).
    logging.disable(logging.WARNING)  # its "consider pre-processing" advice goes to the root logger
    try:
        quantize_dynamic(str(source), str(out), weight_type=QuantType.QUInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=_feed_forward_matmuls(source))
    finally:
        logging.disable(logging.NOTSET)


def export_key(folder: Path, engine: str) -> str:
    parts = {"model_path": str(folder.resolve()), "model_digest": folder_digest(folder), "engine": engine,
             "export_version": EXPORT_VERSION, "torch": version("torch"), "opset": OPSET}
    if engine == "onnx-int8":
        parts["onnxruntime"] = version("onnxruntime")
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def exported_model(folder: Path, engine: str, cache_dir: Path, *, rebuild: bool = False) -> Path:
    """The cached ONNX file of `folder` for `engine`, exported (and quantized) first when it is missing, partial,
    corrupt or `rebuild` is asked."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = export_key(folder, engine)
    target = cache_dir / f"{folder.name}-{engine}-{key}.onnx"
    with _locked(target.with_suffix(".lock")):
        if rebuild or not _is_whole(target):
            if engine == "onnx":
                _atomic_build(target, lambda tmp: _export_fp32(folder, tmp))
            else:
                fp32 = exported_model(folder, "onnx", cache_dir)
                _atomic_build(target, lambda tmp: _quantize_int8(fp32, tmp))
    return target


# --- inference ------------------------------------------------------------------------------------------


class OnnxSentenceEncoder:
    """encode(texts) -> L2-normalized float32 rows, one ONNX Runtime run per batch."""

    def __init__(self, folder: Path, engine: str, cache_dir: Path | None = None):
        if engine not in ("onnx", "onnx-int8"):
            raise OnnxModelError(f"not an ONNX engine: {engine!r}")
        self.layout = ModelLayout(folder)
        self.tokenizer = self.layout.tokenizer()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.path = exported_model(folder, engine, self.cache_dir)
        try:
            self.session = self._session()
        except Exception:  # noqa: BLE001 - whole by its checksum yet unloadable (e.g. a runtime change): rebuild once
            self.path = exported_model(folder, engine, self.cache_dir, rebuild=True)
            self.session = self._session()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _session(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # All usable cores for one batch (like torch); no spinning between runs, as the cores are shared with
        # tokenizing, DuckDB and other workers.
        opts.intra_op_num_threads = usable_cores()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        return ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """One forward pass over `texts`, padded to the longest (truncated at max_seq_length)."""
        if self.layout.lower_case:
            texts = [t.lower() for t in texts]
        encodings = self.tokenizer.encode_batch(list(texts))
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        (out,) = self.session.run(None, {name: feed[name] for name in self.input_names})
        return np.asarray(out, dtype=np.float32)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Batches as SentenceTransformer.encode makes them: texts sorted longest first, cut every batch_size."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        rows = [self.encode_batch([texts[i] for i in order[s:s + batch_size]])
                for s in range(0, len(texts), batch_size)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = np.concatenate(rows)
        return out
