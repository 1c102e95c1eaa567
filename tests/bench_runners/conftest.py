"""Fixtures of the bench runner tests: the repository root on ``sys.path`` (``bench`` is
imported from there), also when this directory is run on its own."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
