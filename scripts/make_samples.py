#!/usr/bin/env python3
"""Write the bundled, synthetic sample corpus `data/samples/` and its answer key (the code is in scripts/samples/).

    python scripts/make_samples.py            # writes data/samples
    python scripts/make_samples.py --out DIR  # writes elsewhere (the test regenerates into a tmp dir)
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.samples.corpus import generate, main, write  # noqa: E402

__all__ = ["generate", "main", "write"]

if __name__ == "__main__":
    sys.exit(main())
