"""Scrubbers in both detection modes, built once per module."""

from __future__ import annotations

import pytest

from medmine.privacy.phi_text import Scrubber, ScrubConfig


@pytest.fixture(scope="module")
def recall() -> Scrubber:
    return Scrubber(ScrubConfig(detection="recall"))


@pytest.fixture(scope="module")
def precise() -> Scrubber:
    return Scrubber(ScrubConfig(detection="precise"))
