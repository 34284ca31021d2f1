"""Derived arrays kept between runs in one .npz file (a cache: a missing, unreadable or stale file is recomputed).

Every file stores a `settings` string; a file written under other settings (model, k, method, an older echo) is
not read. Writes go to a temporary file that replaces the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import numpy as np


def read_npz(path: Path | None, names: tuple[str, ...], settings: str) -> dict[str, np.ndarray] | None:
    """The arrays `names` of the file, or None when it is missing, unreadable, lacks one or has other settings."""
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["settings"]) != settings:
                return None
            return {k: f[k] for k in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # unreadable or from an older echo: recomputed


def write_npz(path: Path | None, settings: str, **arrays: np.ndarray) -> bool:
    """Atomically (re)write the file; False when it cannot be written (a read-only reader just recomputes)."""
    if path is None:
        return False
    # two writers (processes or threads) never share a half-written file
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, settings=np.str_(settings), **arrays)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return False
    return True
