"""Puts tests/ on sys.path so the benchmarks share the tests' defect planter (tests/plant.py),
which is test tooling and not part of the installed package."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
