"""What a plain ``pip install`` of qrun carries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _configured() -> tuple[list[str], dict[str, str]]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools["packages"], setuptools["package-dir"]


def _package_dir(name: str, mapping: dict[str, str]) -> Path:
    """Where setuptools takes package ``name`` from, following the package-dir mapping."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            return ROOT.joinpath(mapping[prefix], *parts[cut:])
    raise AssertionError(f"{name} is not under any package-dir mapping")


class TestPackageList:
    """If a folder of the source tree is a Python package, the wheel carries it."""

    def test_every_package_on_disk_is_listed(self) -> None:
        packages, mapping = _configured()
        on_disk = set()
        for top, source in mapping.items():
            for init in ROOT.joinpath(source).rglob("__init__.py"):
                relative = init.parent.relative_to(ROOT / source)
                if "__pycache__" in relative.parts:
                    continue
                on_disk.add(".".join([top, *relative.parts]))
        missing = sorted(on_disk - set(packages))
        assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"

    @pytest.mark.parametrize("name", _configured()[0])
    def test_every_listed_package_exists(self, name: str) -> None:
        assert (_package_dir(name, _configured()[1]) / "__init__.py").is_file()
