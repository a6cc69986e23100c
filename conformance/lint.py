"""Lint of the feature files: the conventions the suite relies on.

- no two scenarios share a name (pytest-bdd would silently keep only one of them);
- every scenario carries at least one ``@rule-<ID>`` tag;
- every tag is a rule id of the catalogue or a registered capability.

``python -m qrun.conformance.lint [FILE ...]`` prints one ``file:line: message`` per
problem and exits 1 when there is any; by default it checks the shipped features.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_bdd.gherkin_parser import get_gherkin_document

from .capabilities import CAPABILITIES
from .features import feature_files
from .rules import RULE_TAG_PREFIX, RULES, rule_tag

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from pytest_bdd.gherkin_parser import Scenario, Tag

__all__ = ["KNOWN_TAGS", "LintProblem", "ScenarioEntry", "lint", "main", "scenarios_in"]

#: Every tag a feature may use (without the ``@``).
KNOWN_TAGS: frozenset[str] = frozenset(
    [rule_tag(rule_id) for rule_id in RULES] + list(CAPABILITIES)
)


@dataclass(frozen=True)
class LintProblem:
    """One convention broken, and where."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class ScenarioEntry:
    """A scenario as written in a feature file, with every tag that applies to it."""

    path: Path
    line: int
    name: str
    tags: tuple[str, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The rule ids the scenario is tagged with."""
        return tuple(
            tag.removeprefix(RULE_TAG_PREFIX)
            for tag in self.tags
            if tag.startswith(RULE_TAG_PREFIX)
        )


def _names(tags: Iterable[Tag]) -> list[str]:
    return [tag.name.removeprefix("@") for tag in tags]


def _scenarios(children: Iterable[object]) -> Iterator[tuple[Scenario, list[str]]]:
    for child in children:
        scenario = getattr(child, "scenario", None)
        if scenario is not None:
            yield scenario, []
        rule = getattr(child, "rule", None)
        if rule is not None:
            for inner, tags in _scenarios(rule.children):
                yield inner, _names(rule.tags) + tags


def scenarios_in(path: Path) -> list[ScenarioEntry]:
    """Every scenario of one feature file, in file order."""
    document = get_gherkin_document(str(path))
    feature_tags = _names(document.feature.tags)
    return [
        ScenarioEntry(
            path=path,
            line=scenario.location.line,
            name=scenario.name,
            tags=tuple(dict.fromkeys(feature_tags + inherited + _names(scenario.tags))),
        )
        for scenario, inherited in _scenarios(document.feature.children)
    ]


def lint(paths: Sequence[Path] | None = None) -> list[LintProblem]:
    """Every problem in ``paths`` (default: the shipped feature files)."""
    problems: list[LintProblem] = []
    seen: dict[str, ScenarioEntry] = {}
    for path in feature_files() if paths is None else paths:
        for entry in scenarios_in(path):
            earlier = seen.setdefault(entry.name, entry)
            if earlier is not entry:
                problems.append(
                    LintProblem(
                        path,
                        entry.line,
                        f"scenario name {entry.name!r} is already used at "
                        f"{earlier.path.name}:{earlier.line}",
                    )
                )
            if not entry.rule_ids:
                problems.append(
                    LintProblem(path, entry.line, f"scenario {entry.name!r} has no @rule- tag")
                )
            problems.extend(
                LintProblem(path, entry.line, f"unknown tag @{tag} on scenario {entry.name!r}")
                for tag in entry.tags
                if tag not in KNOWN_TAGS
            )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Lint the given feature files (or the shipped ones); 0 when clean."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    problems = lint([Path(arg) for arg in arguments] or None)
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
