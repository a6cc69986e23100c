"""Every documented rule is checked by at least one scenario."""

from __future__ import annotations

from qrun.conformance.features import feature_files
from qrun.conformance.lint import scenarios_in
from qrun.conformance.rules import RULES

# The ids of the rule catalogue that accompanies the session guide, copied here so that
# a rule dropped from the package's catalogue is noticed too.
CATALOGUE_IDS = (
    "OPEN-1", "OPEN-2", "OPEN-3", "OPEN-4", "OPEN-5",
    "TTL-1", "TTL-2", "TTL-3", "TTL-4", "TTL-5", "TTL-6", "TTL-7",
    "END-1", "END-2", "END-3", "END-4", "END-5",
    "STAT-1", "STAT-2",
    "PRIO-1", "PRIO-2",
    "PLAN-1",
    "USE-1", "USE-2",
)  # fmt: skip


class TestRuleCoverage:
    """If a catalogue rule has no tagged scenario, the suite says which."""

    def test_every_catalogue_rule_has_a_tagged_scenario(self) -> None:
        tagged = {
            rule_id for path in feature_files() for entry in scenarios_in(path)
            for rule_id in entry.rule_ids
        }  # fmt: skip
        missing = [rule_id for rule_id in CATALOGUE_IDS if rule_id not in tagged]
        assert not missing, f"rules without a scenario: {missing}"

    def test_the_package_catalogue_lists_exactly_the_documented_rules(self) -> None:
        assert tuple(RULES) == CATALOGUE_IDS

    def test_each_capability_of_the_guide_has_its_own_feature_file(self) -> None:
        names = {path.stem for path in feature_files()}
        assert names == {
            "opening", "length", "ending", "status", "priority", "plans", "usage_patterns"
        }  # fmt: skip
