"""The feature lint accepts the shipped features and names each broken convention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.conformance.lint import lint, main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def _feature(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


class TestShippedFeatures:
    """If the shipped features follow the conventions, the lint reports nothing."""

    def test_shipped_features_are_clean(self) -> None:
        assert lint() == []

    def test_command_exits_zero_on_the_shipped_features(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([]) == 0
        assert capsys.readouterr().out == ""


class TestBrokenConventions:
    """If a feature breaks a convention, the lint names the file, line and problem."""

    def test_duplicate_scenario_names_across_files_are_reported(self, tmp_path: Path) -> None:
        first = _feature(
            tmp_path,
            "a.feature",
            "Feature: A\n  @rule-OPEN-1\n  Scenario: Same name\n    Given a session on backend x\n",
        )
        second = _feature(
            tmp_path,
            "b.feature",
            "Feature: B\n\n  @rule-OPEN-2\n  Scenario: Same name\n    Given a session\n",
        )
        problems = lint([first, second])
        assert [str(problem) for problem in problems] == [
            f"{second}:4: scenario name 'Same name' is already used at a.feature:3"
        ]

    def test_a_scenario_without_a_rule_tag_is_reported(self, tmp_path: Path) -> None:
        path = _feature(
            tmp_path,
            "c.feature",
            "Feature: C\n  @virtual-clock\n  Scenario: Untagged\n    Given a session\n",
        )
        assert [problem.message for problem in lint([path])] == [
            "scenario 'Untagged' has no @rule- tag"
        ]

    def test_unknown_tags_are_reported(self, tmp_path: Path) -> None:
        path = _feature(
            tmp_path,
            "d.feature",
            "Feature: D\n  @rule-TTL-99 @rule-TTL-1 @slow-clock\n  Scenario: Odd tags\n"
            "    Given a session on backend x\n",
        )
        assert [problem.message for problem in lint([path])] == [
            "unknown tag @rule-TTL-99 on scenario 'Odd tags'",
            "unknown tag @slow-clock on scenario 'Odd tags'",
        ]

    def test_feature_level_tags_count_for_every_scenario(self, tmp_path: Path) -> None:
        path = _feature(
            tmp_path,
            "e.feature",
            "@rule-END-1\nFeature: E\n  Scenario: Inherits\n    Given a session on backend x\n",
        )
        assert lint([path]) == []

    def test_command_prints_problems_and_exits_one(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _feature(tmp_path, "f.feature", "Feature: F\n  Scenario: Bare\n    Given x\n")
        assert main([str(path)]) == 1
        assert capsys.readouterr().out == f"{path}:2: scenario 'Bare' has no @rule- tag\n"
