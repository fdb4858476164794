from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

CORPUS = Path(os.environ.get("APXL_CORPUS", ROOT.parent / "shared" / "corpus" / "wild"))


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
