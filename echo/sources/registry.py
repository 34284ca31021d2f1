"""Source kinds -> connector classes (imported lazily), and the credentials each one needs.

Credentials only ever come from the environment. A live source whose credentials are missing is
skipped with a one-line message; it never stops a run.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping
from typing import Any

from echo.config import Config, SourceConfig
from echo.sources.kinds import ALL_KINDS, KINDS, LIVE_KINDS, Kind  # noqa: F401 - the registry's vocabulary
from echo.sources.http import HttpClient


DEFAULT_MAX_WAIT_S = 900.0


class MissingCredentials(RuntimeError):
    pass


class UnknownKind(ValueError):
    pass


def kind_of(source: SourceConfig) -> Kind:
    try:
        return KINDS[source.kind]
    except KeyError:
        raise UnknownKind(f"source {source.name!r}: unknown kind {source.kind!r}; one of: {', '.join(ALL_KINDS)}") from None


def missing_credentials(source: SourceConfig, env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    return [k for k in kind_of(source).required_env if not env.get(k)]


def check_credentials(source: SourceConfig, env: Mapping[str, str] | None = None) -> None:
    missing = missing_credentials(source, env)
    if missing:
        raise MissingCredentials(f"source {source.name!r} ({source.kind}) skipped: set {' and '.join(missing)} "
                                 f"({kind_of(source).help})")


def source_class(kind: str) -> type:
    if kind not in KINDS:
        raise UnknownKind(f"unknown source kind {kind!r}; one of: {', '.join(ALL_KINDS)}")
    return importlib.import_module(KINDS[kind].module).Source


def make_client(source: SourceConfig, **overrides: Any) -> HttpClient:
    """The connector's HTTP client, bounded by the source's settings."""
    opts = source.options or {}
    kwargs: dict[str, Any] = dict(
        base_url=source.base_url or None, concurrency=source.concurrency, timeout_s=source.timeout_s,
        max_retries=source.max_retries, max_wait_s=float(opts.get("max_wait_s", DEFAULT_MAX_WAIT_S)),
        backoff_base_s=float(opts.get("backoff_base_s", 1.0)),
    )
    if kwargs["base_url"] is None:
        module = importlib.import_module(KINDS[source.kind].module)
        kwargs["base_url"] = getattr(module, "API_URL", None)
    kwargs.update(overrides)
    return HttpClient(source.kind, **kwargs)


def build(source: SourceConfig, config: Config | None = None, *, env: Mapping[str, str] | None = None,
          client: HttpClient | None = None) -> Any:
    """A ready connector: credentials checked (MissingCredentials), client made, session state under data_dir."""
    env = os.environ if env is None else env
    check_credentials(source, env)
    cls = source_class(source.kind)
    client = client or make_client(source)
    kwargs: dict[str, Any] = {"env": env}
    if config is not None and "state_dir" in inspect.signature(cls).parameters:
        kwargs["state_dir"] = config.path("data_dir")
    return cls(source, client, **kwargs)
