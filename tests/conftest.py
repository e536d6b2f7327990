"""Fixtures shared by the test files (keep generic: several test files use them)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator per test: reproducible and independent of test order."""
    return np.random.default_rng(20240601)
