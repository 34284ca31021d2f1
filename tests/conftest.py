"""Shared fixtures. Tests never touch the network: every server they talk to runs on 127.0.0.1."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# Offline, quiet, and isolated from the developer's own Prefect and HF state.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="echo-prefect-home-"))
for _k in [k for k in os.environ if k.startswith("ECHO_")]:
    del os.environ[_k]


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture
def realdata(shared_dir: Path) -> Path:
    p = shared_dir / "realdata"
    if not p.is_dir():
        pytest.skip("../shared/realdata is absent")
    return p


@pytest.fixture
def store():
    from echo.store import Store

    s = Store()
    yield s
    s.close()


def config_under(tmp: Path):
    """The repo's echo.toml with every output path moved under `tmp`; bundled samples read in place."""
    from echo.config import load_config

    cfg = load_config(ROOT / "echo.toml", env={})
    cfg.base_dir = str(tmp)
    for name in ("db", "media_dir", "parquet_dir", "releases_dir", "exports_dir", "reports_dir", "analyst_dir"):
        setattr(cfg.paths, name, str(tmp / Path(getattr(cfg.paths, name)).relative_to("data")))
    cfg.paths.data_dir = str(tmp)
    cfg.paths.samples_dir = str(ROOT / "data" / "samples")
    for s in cfg.sources:
        s.paths = [str(ROOT / p) for p in s.paths]
    cfg.media.url_map = {k: str(ROOT / v) + "/" for k, v in cfg.media.url_map.items()}
    cfg.report.reference_prompts_dir = str(ROOT / cfg.report.reference_prompts_dir)
    return cfg


@pytest.fixture
def config(tmp_path: Path):
    return config_under(tmp_path)


@pytest.fixture
def sample_corpus_dir() -> Path:
    p = ROOT / "data" / "samples"
    if not any(p.glob("*/*.json*")):
        pytest.fail("data/samples is empty: run `python scripts/make_samples.py`")
    return p
