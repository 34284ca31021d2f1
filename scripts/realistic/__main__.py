"""python -m scripts.realistic: write tests/data/realistic."""

import sys

from .corpus import main

sys.exit(main())
