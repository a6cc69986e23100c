"""Run (or list) the conformance suite against a target, in this process, with pytest.

The scenarios are the features shipped in ``qrun.features``; the suite module is
``qrun.conformance.test_lifecycle``. The run's JUnit XML and Cucumber JSON go into a
report directory when one is given.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from .plugin import preset_factory
from .report import Recorder, RuleRow, ScenarioRecord, rule_matrix
from .targets import make_factory

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import pytest

    from .target import TargetFactory

__all__ = ["SuiteRun", "run_suite", "suite_module_path"]


@dataclass(frozen=True)
class SuiteRun:
    """What one run (or listing) of the suite found."""

    target: str
    scenarios: tuple[ScenarioRecord, ...]
    rows: tuple[RuleRow, ...]
    pytest_exit: int
    output: str

    @property
    def failed(self) -> bool:
        """Whether any scenario failed, or pytest itself could not run them."""
        return self.pytest_exit not in (0, 1, 5) or any(
            record.outcome == "failed" for record in self.scenarios
        )

    @property
    def skipped(self) -> bool:
        return any(record.outcome == "skipped" for record in self.scenarios)


class _Preset:
    """A pytest plugin object handing the run a target factory that is already configured."""

    def __init__(self, factory: TargetFactory) -> None:
        self._factory = factory

    def pytest_configure(self, config: pytest.Config) -> None:
        preset_factory(config, self._factory)


def suite_module_path() -> str:
    """The file of the installed suite module."""
    return str(files("qrun.conformance") / "test_lifecycle.py")


def run_suite(
    target: str,
    *,
    tags: str | None = None,
    options: Mapping[str, str] | None = None,
    report_dir: Path | None = None,
    collect_only: bool = False,
) -> SuiteRun:
    """Run the suite against ``target`` (a name or ``module:Class``) and report per rule.

    ``tags`` is a pytest marker expression over the feature tags
    (``"rule-TTL-3 or virtual-clock"``); ``options`` are the target options
    (``{"url": "http://…"}``). pytest's own output is captured into
    :attr:`SuiteRun.output`. Raises :class:`qrun.errors.UsageError` for an unknown target
    or options it does not take; the target is configured here, once, before pytest runs.
    """
    with contextlib.ExitStack() as resources:

        def cleanup(callback: Callable[[], None]) -> None:
            resources.callback(callback)

        factory = make_factory(target, options or {}, cleanup=cleanup)
        return _run(target, factory, tags, report_dir, collect_only)


def _run(
    target: str,
    factory: TargetFactory,
    tags: str | None,
    report_dir: Path | None,
    collect_only: bool,
) -> SuiteRun:
    import pytest

    args = [
        suite_module_path(),
        f"--qrun-target={target}",
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        "--no-header",
        "-q",
        "--tb=short",
        "-rfE",
    ]
    if tags:
        args += ["-m", tags]
    if collect_only:
        args.append("--collect-only")
    elif report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        args += [
            f"--junitxml={report_dir / 'junit.xml'}",
            f"--cucumberjson={report_dir / 'cucumber.json'}",
        ]
    recorder = Recorder()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exit_code = int(pytest.main(args, plugins=[recorder, _Preset(factory)]))
    scenarios = tuple(recorder.scenarios)
    return SuiteRun(
        target=target,
        scenarios=scenarios,
        rows=tuple(rule_matrix(scenarios)),
        pytest_exit=exit_code,
        output=buffer.getvalue(),
    )
