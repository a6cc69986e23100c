"""The shipped feature files (package data of ``qrun.features``)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["feature_files", "features_dir"]


def features_dir() -> Path:
    """The directory holding the ``.feature`` files of the installed package."""
    resource = files("qrun.features")
    with as_file(resource) as path:
        return Path(path)


def feature_files() -> list[Path]:
    """Every shipped feature file, sorted by name."""
    return sorted(features_dir().glob("*.feature"))
