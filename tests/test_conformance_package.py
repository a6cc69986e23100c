"""An installed qrun carries the features, the suite and its targets."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class TestResources:
    """If qrun is installed, the suite finds its features through importlib.resources."""

    def test_features_are_package_data(self) -> None:
        names = sorted(
            p.name for p in files("qrun.features").iterdir() if p.name.endswith(".feature")
        )
        assert names == [
            "ending.feature",
            "length.feature",
            "opening.feature",
            "plans.feature",
            "priority.feature",
            "status.feature",
            "usage_patterns.feature",
        ]

    def test_suite_module_and_targets_are_importable_by_package_name(self) -> None:
        assert (files("qrun.conformance") / "test_lifecycle.py").is_file()
        assert (files("qrun.conformance.targets") / "local.py").is_file()


@pytest.mark.slow
class TestWheel:
    """If the project is built into a wheel, every conformance file is in it."""

    def test_wheel_carries_features_suite_and_targets(self, tmp_path: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--wheel-dir", str(tmp_path), str(ROOT)],
            check=True,
            cwd=tmp_path,
        )  # fmt: skip
        (wheel,) = tmp_path.glob("*.whl")
        names = set(zipfile.ZipFile(wheel).namelist())
        for expected in (
            "qrun/features/opening.feature",
            "qrun/features/usage_patterns.feature",
            "qrun/conformance/test_lifecycle.py",
            "qrun/conformance/steps.py",
            "qrun/conformance/plugin.py",
            "qrun/conformance/targets/local.py",
            "qrun/conformance/targets/qiskit_local.py",
            "qrun/commands/conformance.py",
        ):
            assert expected in names
