"""A BERT sentence encoder in plain torch: the default "torch" engine without transformers or sentence-transformers.

Why: loading the model through sentence-transformers costs ~9-13 s per process, nearly all of it importing
transformers, sentence-transformers and what they pull in (the weights take ~0.3 s). An incremental run that embeds
a thousand new texts paid that in every process (issue 14). This module needs only torch, tokenizers and
safetensors, and runs the same computation as sentence-transformers 6 over transformers 5 (BertModel, "sdpa"
attention) for the folders it accepts: BERT (absolute positions, erf GELU) -> mean Pooling -> (Normalize), with a
tokenizer.json and a model.safetensors. Its vectors equal SentenceTransformer.encode(..., normalize_embeddings=True)'s
bit for bit (tests/test_embed_fast_bert.py), which is why both share one cache key (embedding_cache_name): a change
here that breaks that equality must also change the key. Any other folder raises UnsupportedModel and echo loads it
with sentence-transformers, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from echo.dedup.onnx_model import ModelLayout, OnnxModelError, _read_json

# sentence_bert_config.json / config_sentence_transformers.json keys this encoder reproduces; any other key could
# change what sentence-transformers computes, so its presence sends the folder to sentence-transformers.
SENTENCE_BERT_KEYS = {"max_seq_length", "do_lower_case"}
# config.json values that must hold (a missing key means the BertConfig default, given here).
BERT_REQUIRED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute",
                 "is_decoder": False, "add_cross_attention": False, "chunk_size_feed_forward": 0}


class UnsupportedModel(ValueError):
    """The folder is not one this encoder reproduces exactly; load it with sentence-transformers."""


def _json(path: Path) -> dict:
    try:
        return _read_json(path)
    except OnnxModelError as e:
        raise UnsupportedModel(str(e)) from e


def bert_config(folder: Path) -> dict:
    """config.json of `folder` if this encoder runs it as sentence-transformers would, else UnsupportedModel."""
    try:
        layout = ModelLayout(folder)  # Transformer -> mean Pooling -> (Normalize), tokenizer.json
    except OnnxModelError as e:
        raise UnsupportedModel(str(e)) from e
    modules = _json(folder / "modules.json")
    if modules[0].get("path", "") != "":
        raise UnsupportedModel("the Transformer module is not the folder itself")
    if layout.lower_case or set(_json(folder / "sentence_bert_config.json")) - SENTENCE_BERT_KEYS:
        raise UnsupportedModel("sentence_bert_config.json asks for more than max_seq_length")
    st_config = folder / "config_sentence_transformers.json"
    if st_config.is_file():
        st = _json(st_config)
        if st.get("prompts") or st.get("default_prompt_name") or st.get("truncate_dim"):
            raise UnsupportedModel("config_sentence_transformers.json sets prompts or a truncation")
    if not (folder / "model.safetensors").is_file():
        raise UnsupportedModel("no model.safetensors")
    config = _json(folder / "config.json")
    for key, want in BERT_REQUIRED.items():
        if config.get(key, want) != want:
            raise UnsupportedModel(f"config.json {key} = {config.get(key)!r}, not {want!r}")
    if config.get("dtype", config.get("torch_dtype")) not in (None, "float32"):
        raise UnsupportedModel("weights not in float32")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise UnsupportedModel("hidden_size is not a multiple of num_attention_heads")
    if layout.max_seq_length > config["max_position_embeddings"]:
        raise UnsupportedModel("max_seq_length exceeds max_position_embeddings")
    return config


class BertSentenceEncoder:
    """encode(texts) -> float32 sentence vectors, batched, tokenized and computed as SentenceTransformer.encode does.

    Keeps the parts of SentenceTransformer's interface echo uses: encode, tokenize, max_seq_length,
    get_embedding_dimension.
    """

    def __init__(self, folder: Path):
        import torch
        from safetensors.torch import load_file

        self.folder = Path(folder)
        config = bert_config(self.folder)
        self.layout = ModelLayout(self.folder)
        self.max_seq_length = self.layout.max_seq_length
        self.tokenizer = self.layout.tokenizer()
        modules = [m.get("type", "").rsplit(".", 1)[-1] for m in _json(self.folder / "modules.json")]
        self.normalize_modules = modules.count("Normalize")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        self.layers = int(config["num_hidden_layers"])
        weights = load_file(str(self.folder / "model.safetensors"))
        if any(w.dtype != torch.float32 for k, w in weights.items() if not k.endswith("_ids")):
            raise UnsupportedModel("weights not in float32")
        try:
            self.w = {k: weights[k] for k in self._weight_names(self.layers)}
        except KeyError as e:
            raise UnsupportedModel(f"model.safetensors has no {e.args[0]}") from e

    @staticmethod
    def _weight_names(layers: int) -> list[str]:
        names = [f"embeddings.{n}" for n in ("word_embeddings.weight", "position_embeddings.weight",
                                             "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias")]
        for i in range(layers):
            for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                         "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"):
                names += [f"encoder.layer.{i}.{part}.weight", f"encoder.layer.{i}.{part}.bias"]
        return names

    def get_embedding_dimension(self) -> int:
        return self.dim

    def tokenize(self, texts: Sequence[str]) -> dict:
        """input_ids, attention_mask, token_type_ids (int64 tensors): truncated at max_seq_length, padded to the
        longest text."""
        import torch

        encodings = self.tokenizer.encode_batch(list(texts))
        return {"input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.long),
                "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.long),
                "token_type_ids": torch.tensor([e.type_ids for e in encodings], dtype=torch.long)}

    def _forward(self, features: dict):
        """Mean-pooled last hidden states (and the Normalize modules), as BertModel + Pooling (+ Normalize)."""
        import torch
        import torch.nn.functional as F

        w, eps = self.w, self.eps
        ids, mask, types = features["input_ids"], features["attention_mask"], features["token_type_ids"]
        batch, length = ids.shape
        h = F.embedding(ids, w["embeddings.word_embeddings.weight"])
        h = h + F.embedding(types, w["embeddings.token_type_embeddings.weight"])
        h = h + F.embedding(torch.arange(length)[None, :], w["embeddings.position_embeddings.weight"])
        h = F.layer_norm(h, (self.dim,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        # transformers' sdpa mask: none when nothing is padded, else a (batch, 1, query, key) boolean "may attend"
        attend = None
        if not bool(mask.all()):
            attend = (torch.arange(length)[None, None, :, None] >= 0) & mask.bool()[:, None, None, :]
        head_dim = self.dim // self.heads
        shape = (batch, length, self.heads, head_dim)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(x, name, p=p):
                return F.linear(x, w[p + name + ".weight"], w[p + name + ".bias"])

            q = dense(h, "attention.self.query").view(shape).transpose(1, 2)
            k = dense(h, "attention.self.key").view(shape).transpose(1, 2)
            v = dense(h, "attention.self.value").view(shape).transpose(1, 2)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attend, dropout_p=0.0, scale=head_dim ** -0.5,
                                               is_causal=False)
            a = a.transpose(1, 2).contiguous().reshape(batch, length, -1).contiguous()
            h = F.layer_norm(dense(a, "attention.output.dense") + h, (self.dim,),
                             w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            x = F.gelu(dense(h, "intermediate.dense"))
            h = F.layer_norm(dense(x, "output.dense") + h, (self.dim,),
                             w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        weights = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * weights).sum(dim=1, dtype=h.dtype) / torch.clamp(weights.sum(dim=1, dtype=h.dtype), min=1e-9)
        for _ in range(self.normalize_modules):
            pooled = F.normalize(pooled, p=2, dim=-1)
        return pooled

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize_embeddings: bool = False,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        """Rows for `texts` in order. Batches as SentenceTransformer.encode cuts them: texts sorted by length
        (characters), longest first, with numpy's default argsort (ties in its order), every batch_size; a text
        padded with longer ones may differ from itself alone in the last bits, so the same batches give the same
        bits."""
        import torch
        import torch.nn.functional as F

        del convert_to_numpy, show_progress_bar  # always numpy, never a progress bar
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts])
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                vectors = self._forward(self.tokenize([texts[i] for i in order[start:start + batch_size]]))
                if normalize_embeddings:
                    vectors = F.normalize(vectors, p=2, dim=1)
                rows.append(vectors)
            stacked = torch.cat(rows)[torch.from_numpy(np.argsort(order))]
        return stacked.numpy()
