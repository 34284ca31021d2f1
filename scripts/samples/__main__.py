"""python -m scripts.samples: the same as python scripts/make_samples.py."""

import sys

from .corpus import main

sys.exit(main())
