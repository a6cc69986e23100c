"""``qrun conformance`` runs the shipped suite against a target and reports per rule."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from qrun import cli
from qrun.commands import conformance
from qrun.conformance.rules import RULES
from qrun.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path


def _run(*argv: str) -> int:
    """Parse ``argv`` as the ``qrun conformance`` subcommand does and run it."""
    parser = argparse.ArgumentParser(prog="qrun conformance")
    conformance.configure(parser)
    return conformance.main(parser.parse_args(list(argv)))


def _rows(text: str) -> dict[str, list[str]]:
    """The matrix's rule rows: rule id -> the rest of the row split on two spaces."""
    rows = {}
    for line in text.splitlines():
        rule_id = line.split(" ", 1)[0]
        if rule_id in RULES:
            rows[rule_id] = [cell.strip() for cell in line.split("  ") if cell.strip()][1:]
    return rows


class TestRegistration:
    """If a user types 'qrun conformance', the CLI knows the command."""

    def test_command_is_registered(self) -> None:
        assert cli.COMMANDS["conformance"][0] == "qrun.commands.conformance"


class TestLocalTarget:
    """If the suite runs on qrun's engine, every rule passes and nothing is skipped."""

    def test_strict_run_passes_every_rule(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert _run("--target", "local", "--strict") == 0
        rows = _rows(capsys.readouterr().out)
        assert set(rows) == set(RULES)
        assert {rule_id: row[0] for rule_id, row in rows.items()} == dict.fromkeys(RULES, "passed")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """Exit code and report directory of one run on the client's local testing mode."""
    directory = tmp_path_factory.mktemp("report")
    return _run("--target", "qiskit-local", "--report", str(directory)), directory


class TestQiskitLocalTarget:
    """If the suite runs on the client's local mode, each rule shows what that mode does."""

    def test_run_completes_and_fails_because_rules_are_broken(
        self, report: tuple[int, Path]
    ) -> None:
        assert report[0] == 1

    def test_matrix_has_a_row_per_rule_with_an_outcome(self, report: tuple[int, Path]) -> None:
        rows = _rows((report[1] / "matrix.txt").read_text(encoding="utf-8"))
        assert set(rows) == set(RULES)
        assert {row[0] for row in rows.values()} == {"passed", "failed", "skipped"}
        assert rows["OPEN-1"][0] == "passed"
        assert rows["END-3"][0] == "passed"
        assert rows["OPEN-2"][0] == "failed"
        assert rows["STAT-2"][0] == "failed"

    def test_skipped_rules_name_the_missing_capability(self, report: tuple[int, Path]) -> None:
        rows = _rows((report[1] / "matrix.txt").read_text(encoding="utf-8"))
        assert rows["PLAN-1"] == ["skipped", "4 skipped", "target qiskit-local lacks plans"]
        assert "lacks job-list" in rows["USE-2"][-1]

    def test_failed_rules_say_what_went_wrong(self, report: tuple[int, Path]) -> None:
        rows = _rows((report[1] / "matrix.txt").read_text(encoding="utf-8"))
        assert "A new session without jobs is pending" in rows["OPEN-2"][-1]
        assert "None" in rows["OPEN-2"][-1]

    def test_junit_and_cucumber_reports_are_written(self, report: tuple[int, Path]) -> None:
        suite = ET.parse(report[1] / "junit.xml").getroot().find("testsuite")
        assert suite is not None
        assert int(suite.get("skipped", "0")) > 0
        assert int(suite.get("failures", "0")) > 0
        features = json.loads((report[1] / "cucumber.json").read_text(encoding="utf-8"))
        assert {feature["name"] for feature in features} >= {
            "Opening a session",
            "Ending a session",
        }


class TestOptions:
    """If the user narrows or previews the run, only what was asked runs."""

    def test_tags_select_scenarios(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert _run("--target", "local", "--tags", "rule-TTL-1 or rule-OPEN-1") == 0
        rows = _rows(capsys.readouterr().out)
        assert rows["TTL-1"][:2] == ["passed", "3 passed"]
        assert rows["OPEN-1"][:2] == ["passed", "1 passed"]
        assert rows["END-1"][:2] == ["not run", "no scenario"]

    def test_strict_fails_when_a_scenario_is_skipped(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert _run("--target", "qiskit-local", "--tags", "rule-PLAN-1", "--strict") == 1
        assert "--strict" in capsys.readouterr().err

    def test_list_shows_scenarios_and_skips_without_running(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert (
            _run("--target", "qiskit-local", "--list", "--tags", "rule-PLAN-1 or rule-OPEN-1") == 0
        )
        out = capsys.readouterr().out
        assert "OPEN-1  a session is opened on one named backend" in out
        assert "Opening a session without a backend is an error  (run)" in out
        assert (
            "An Open Plan instance cannot open a session  (skip: target qiskit-local lacks plans)"
            in out
        )
        assert out.endswith("5 scenarios\n")

    def test_unknown_target_is_a_usage_error(self) -> None:
        with pytest.raises(UsageError, match="unknown conformance target 'nowhere'"):
            _run("--target", "nowhere")
