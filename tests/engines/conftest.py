"""Shared fixtures for the engine tests: models load once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fixtures_dir() -> Path:
    return Path(os.environ.get("KYC_FIXTURES_DIR") or ROOT.parent / "shared" / "fixtures")


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    path = fixtures_dir() / "faces"
    if not path.is_dir():
        pytest.skip(f"face fixtures not found at {path} (set KYC_FIXTURES_DIR)")
    return path


@pytest.fixture(scope="session")
def face_engine():
    pytest.importorskip("dlib")
    from kyc_service.engines.faces import FaceEngine

    return FaceEngine.shared()


@pytest.fixture(scope="session")
def face_sets(face_engine, faces_dir):
    """Every fixture image's FaceSet, computed once."""
    return {p.name: face_engine.faces(p.read_bytes()) for p in sorted(faces_dir.glob("*.jpg"))}
