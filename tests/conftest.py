"""Shared fixtures."""
from __future__ import annotations

import pytest

from pack_loader import load_pack


@pytest.fixture(scope="session")
def pack():
    return load_pack()
