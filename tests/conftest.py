"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from salesenv.scenarios import ScenarioSampler


@pytest.fixture(params=["zh", "en"])
def language(request) -> str:
    return request.param


@pytest.fixture
def scenario(language):
    return ScenarioSampler(language, "medium").sample(np.random.default_rng(7))
