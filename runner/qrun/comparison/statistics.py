"""The tests behind a verdict of "consistent" or "drifted" for two runs' results.

* Counts: Pearson's chi-square test of homogeneity on the 2 x K table of the two
  samples' outcomes (outcomes seen in neither sample are left out; degrees of freedom
  K - 1), and the total variation distance between the two empirical distributions,
  ``½ Σ |p_k - q_k|``. Independent tables (one per parameter set) add their statistics
  and degrees of freedom.
* Expectation values: each difference in units of its combined standard error,
  ``z = (a - b) / sqrt(σa² + σb²)``; under the hypothesis that both estimate the same
  value, ``Σ z²`` over ``n`` independent values follows chi-square with ``n`` degrees of
  freedom (for one value this is the two-sided normal test on ``z``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["ChiSquare", "chi_square_p", "counts_test", "expectation_test", "total_variation"]


@dataclass(frozen=True)
class ChiSquare:
    """A chi-square statistic, its degrees of freedom and its p-value."""

    statistic: float
    dof: int
    p_value: float

    def __add__(self, other: ChiSquare) -> ChiSquare:
        statistic = self.statistic + other.statistic
        dof = self.dof + other.dof
        return ChiSquare(statistic, dof, chi_square_p(statistic, dof))


NO_EVIDENCE = ChiSquare(0.0, 0, 1.0)


def chi_square_p(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square(dof); 1 when there is nothing to test."""
    if dof <= 0:
        return 1.0
    if math.isinf(statistic):
        return 0.0
    from scipy.stats import chi2

    return float(chi2.sf(statistic, dof))


def counts_test(first: Mapping[str, int], second: Mapping[str, int]) -> ChiSquare:
    """Pearson's chi-square test that two samples of outcomes share one distribution."""
    outcomes = [
        key for key in sorted(set(first) | set(second)) if first.get(key, 0) + second.get(key, 0)
    ]
    total_first = sum(first.get(key, 0) for key in outcomes)
    total_second = sum(second.get(key, 0) for key in outcomes)
    total = total_first + total_second
    if len(outcomes) < 2 or not total_first or not total_second:
        return NO_EVIDENCE
    statistic = 0.0
    for key in outcomes:
        column = first.get(key, 0) + second.get(key, 0)
        for observed, row in ((first.get(key, 0), total_first), (second.get(key, 0), total_second)):
            expected = row * column / total
            statistic += (observed - expected) ** 2 / expected
    dof = len(outcomes) - 1
    return ChiSquare(statistic, dof, chi_square_p(statistic, dof))


def total_variation(first: Mapping[str, int], second: Mapping[str, int]) -> float:
    """½ Σ |p_k - q_k| between the two empirical distributions (0: equal, 1: disjoint)."""
    total_first, total_second = sum(first.values()), sum(second.values())
    if not total_first or not total_second:
        return 0.0 if total_first == total_second else 1.0
    keys = set(first) | set(second)
    return 0.5 * sum(
        abs(first.get(key, 0) / total_first - second.get(key, 0) / total_second) for key in keys
    )


@dataclass(frozen=True)
class ExpectationTest:
    """Two arrays of expectation values compared element by element."""

    test: ChiSquare
    max_z: float  # the largest |difference| in combined standard errors
    at: tuple[int, ...]  # where it is (an index into the PUB's shape)


def expectation_test(
    first: Sequence[float],
    first_stds: Sequence[float],
    second: Sequence[float],
    second_stds: Sequence[float],
    shape: tuple[int, ...],
) -> ExpectationTest:
    """Differences of flattened (C-order) arrays of ``shape``, in combined standard errors."""
    statistic = 0.0
    dof = 0
    max_z, at = 0.0, 0
    for index, (a, sa, b, sb) in enumerate(
        zip(first, first_stds, second, second_stds, strict=True)
    ):
        error = math.sqrt(sa * sa + sb * sb)
        if error == 0:
            if a == b:
                continue
            z = math.inf
        else:
            z = (a - b) / error
        statistic += z * z
        dof += 1
        if abs(z) > max_z:
            max_z, at = abs(z), index
    return ExpectationTest(
        ChiSquare(statistic, dof, chi_square_p(statistic, dof)), max_z, _unravel(at, shape)
    )


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    position: list[int] = []
    for size in reversed(shape):
        index, rest = divmod(index, size)
        position.append(rest)
    return tuple(reversed(position))
