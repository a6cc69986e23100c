"""Two run records compared: a verdict per PUB, and what differs around the results.

Per sampler PUB and classical register, the two runs' outcomes are compared with a
chi-square test of homogeneity (per parameter set when the PUB binds several, the sets'
statistics added) and their total variation distance; per estimator PUB, the expectation
values are compared in units of their combined standard errors (see
:mod:`qrun.comparison.statistics`). A PUB has *drifted* when its p-value is below the
chosen level (registers of one PUB share it, Bonferroni-corrected), and is *consistent*
otherwise; a PUB found in one record only, or with another shape, cannot be compared.
Records of different manifests are compared all the same, with a warning naming where the
manifests differ; differences of backend, versions, execution and options are listed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypedDict

from qrun.comparison.manifests import Change, compare_values
from qrun.comparison.statistics import (
    NO_EVIDENCE,
    ChiSquare,
    counts_test,
    expectation_test,
    total_variation,
)
from qrun.errors import QrunError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["DEFAULT_LEVEL", "PubVerdict", "RecordDiff", "compare_records", "is_record"]

#: The significance level below which a PUB is said to have drifted.
DEFAULT_LEVEL = 0.01
_RUN_FORMATS = ("qrun.run/1",)
_RESULT_FORMATS = ("qrun.results/1", "qrun.results/2")


class PubVerdict(TypedDict):
    primitive: str
    pub: int
    kind: str  # sampler, estimator
    verdict: str  # consistent, drifted, incomparable
    test: str  # what was computed, in words
    statistic: float | None
    dof: int | None
    p_value: float | None
    total_variation: float | None  # samplers: the largest over registers
    max_z: float | None  # estimators: the largest |difference| in combined standard errors
    at: list[int] | None  # where that largest difference is
    note: str | None


class RecordDiff(TypedDict):
    kind: str  # "records"
    before: str
    after: str
    level: float
    warnings: list[str]
    notes: list[str]  # what was not compared
    context: list[Change]  # backend, versions, execution and options that differ
    pubs: list[PubVerdict]
    verdict: str  # consistent, drifted


def is_record(path: Path) -> bool:
    """Whether ``path`` is a record folder written by ``qrun run``."""
    return path.is_dir() and (path / "run.json").is_file()


def _json(path: Path, formats: tuple[str, ...]) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise QrunError(f"{path}: not a readable run record file ({error})") from None
    if not isinstance(document, dict) or document.get("format") not in formats:
        raise QrunError(
            f"{path}: not a qrun run record file (format {', '.join(formats)} expected)"
        )
    return document


class _Record:
    def __init__(self, folder: Path) -> None:
        if not is_record(folder):
            raise QrunError(
                f"{folder}: not a run record (a folder written by qrun run, with run.json)"
            )
        self.folder = folder
        self.run = _json(folder / "run.json", _RUN_FORMATS)
        name = self.run.get("results")
        self.results = _json(
            folder / (name if isinstance(name, str) else "results.json"), _RESULT_FORMATS
        )
        self.manifest_text = _text(folder / "manifest.yaml")
        self._manifest_data: object = ...

    def primitives(self) -> dict[str, Mapping[str, object]]:
        items = self.results.get("primitives")
        found: dict[str, Mapping[str, object]] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                found[item["name"]] = item
        return found

    def manifest_data(self) -> object:
        """The values of the manifest copy in the record (None if it cannot be read)."""
        from qrun.manifest.source import parse_document

        if self._manifest_data is ...:
            self._manifest_data = None
            if self.manifest_text is not None:
                try:
                    shown = str(self.folder / "manifest.yaml")
                    self._manifest_data = parse_document(shown, self.manifest_text).data
                except QrunError:
                    pass
        return self._manifest_data


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _section(run: Mapping[str, object], key: str) -> object:
    value = run.get(key)
    return value if isinstance(value, dict) else {}


def _context(first: _Record, second: _Record) -> list[Change]:
    changes: list[Change] = []
    for key in ("backend", "execution", "versions"):
        changes += compare_values(_section(first.run, key), _section(second.run, key), key)
    for change in compare_values(first.manifest_data(), second.manifest_data()):
        if ".options" in change["where"] or change["where"].startswith("transpile"):
            changes.append(change)
    return changes


def _manifest_warning(first: _Record, second: _Record) -> str | None:
    old = first.run.get("manifest")
    new = second.run.get("manifest")
    old_hash = old.get("sha256") if isinstance(old, dict) else None
    new_hash = new.get("sha256") if isinstance(new, dict) else None
    if old_hash == new_hash and old_hash is not None:
        return None
    where = [
        change["where"] for change in compare_values(first.manifest_data(), second.manifest_data())
    ]
    if not where and old_hash != new_hash:
        return "the records come from manifests whose text differs, though not in meaning"
    shown = ", ".join(where[:8]) + (f" and {len(where) - 8} more" if len(where) > 8 else "")
    return f"the records come from different manifests; compared anyway. They differ at {shown}"


def _shape(pub: Mapping[str, object]) -> tuple[int, ...]:
    shape = pub.get("shape")
    return tuple(int(size) for size in shape) if isinstance(shape, list) else ()


def _flat(value: object) -> list[float]:
    if isinstance(value, list):
        return [number for item in value for number in _flat(item)]
    return [float(value)] if isinstance(value, (int, float)) else []


def _count(strings: Sequence[object]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for bits in strings:
        counts[str(bits)] = counts.get(str(bits), 0) + 1
    return counts


def _register_tables(
    pub: Mapping[str, object], register: Mapping[str, object]
) -> list[dict[str, int]]:
    """One table of outcome counts per parameter set (or one, summed, if the shots of each
    set are not recorded)."""
    sets = 1
    for size in _shape(pub):
        sets *= size
    strings = register.get("bitstrings")
    shots = pub.get("num_shots")
    if (
        sets > 1
        and isinstance(strings, list)
        and isinstance(shots, int)
        and len(strings) == sets * shots
    ):
        return [_count(strings[index * shots : (index + 1) * shots]) for index in range(sets)]
    counts = register.get("counts")
    return (
        [{str(key): int(value) for key, value in counts.items()}]
        if isinstance(counts, dict)
        else []
    )


def _incomparable(primitive: str, index: int, kind: str, note: str) -> PubVerdict:
    return PubVerdict(
        primitive=primitive, pub=index, kind=kind, verdict="incomparable", test="—",
        statistic=None, dof=None, p_value=None, total_variation=None, max_z=None, at=None,
        note=note,
    )  # fmt: skip


def _sampler(
    name: str, index: int, old: Mapping[str, object], new: Mapping[str, object], level: float
) -> PubVerdict:
    old_registers = old.get("registers")
    new_registers = new.get("registers")
    if not isinstance(old_registers, dict) or not isinstance(new_registers, dict):
        return _incomparable(name, index, "sampler", "no counts recorded")
    if set(old_registers) != set(new_registers):
        return _incomparable(name, index, "sampler", "the classical registers differ")
    tests: list[ChiSquare] = []
    distance = 0.0
    for register in old_registers:
        first_tables = _register_tables(old, old_registers[register])
        second_tables = _register_tables(new, new_registers[register])
        if len(first_tables) != len(second_tables):
            first_tables = [_sum(first_tables)]
            second_tables = [_sum(second_tables)]
        test = NO_EVIDENCE
        for first, second in zip(first_tables, second_tables, strict=True):
            test = test + counts_test(first, second)
        tests.append(test)
        distance = max(distance, total_variation(_sum(first_tables), _sum(second_tables)))
    worst = min(tests, key=lambda test: test.p_value)
    p_value = min(1.0, worst.p_value * len(tests))
    sets = len(_register_tables(old, next(iter(old_registers.values())))) if old_registers else 1
    words = "chi-square test of homogeneity" + (f", {sets} parameter sets" if sets > 1 else "")
    if len(tests) > 1:
        words += f", {len(tests)} registers (Bonferroni)"
    return PubVerdict(
        primitive=name, pub=index, kind="sampler",
        verdict="drifted" if p_value < level else "consistent", test=words,
        statistic=worst.statistic, dof=worst.dof, p_value=p_value,
        total_variation=distance, max_z=None, at=None, note=None,
    )  # fmt: skip


def _sum(tables: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for table in tables:
        for key, value in table.items():
            total[key] = total.get(key, 0) + value
    return total


def _estimator(
    name: str, index: int, old: Mapping[str, object], new: Mapping[str, object], level: float
) -> PubVerdict:
    values = [_flat(pub.get(key)) for pub in (old, new) for key in ("evs", "stds")]
    if len({len(items) for items in values}) != 1 or not values[0]:
        return _incomparable(name, index, "estimator", "the expectation values do not match up")
    result = expectation_test(values[0], values[1], values[2], values[3], _shape(old))
    return PubVerdict(
        primitive=name, pub=index, kind="estimator",
        verdict="drifted" if result.test.p_value < level else "consistent",
        test="differences in combined standard errors, chi-square of their squares",
        statistic=result.test.statistic, dof=result.test.dof, p_value=result.test.p_value,
        total_variation=None, max_z=result.max_z, at=list(result.at), note=None,
    )  # fmt: skip


def _pubs(first: _Record, second: _Record, level: float) -> list[PubVerdict]:
    verdicts: list[PubVerdict] = []
    old, new = first.primitives(), second.primitives()
    for name in [*old, *(name for name in new if name not in old)]:
        left, right = old.get(name), new.get(name)
        kind = str((left or right or {}).get("kind", "?"))
        if left is None or right is None:
            side = "the first" if left is None else "the second"
            verdicts.append(
                _incomparable(name, 0, kind, f"primitive {name!r} is not in {side} record")
            )
            continue
        left_pubs = left.get("pubs") if isinstance(left.get("pubs"), list) else []
        right_pubs = right.get("pubs") if isinstance(right.get("pubs"), list) else []
        assert isinstance(left_pubs, list) and isinstance(right_pubs, list)
        for index in range(max(len(left_pubs), len(right_pubs))):
            a = left_pubs[index] if index < len(left_pubs) else None
            b = right_pubs[index] if index < len(right_pubs) else None
            if not isinstance(a, dict) or not isinstance(b, dict):
                verdicts.append(_incomparable(name, index, kind, "the PUB is in one record only"))
            elif _shape(a) != _shape(b):
                verdicts.append(
                    _incomparable(
                        name, index, kind, f"shapes {list(_shape(a))} and {list(_shape(b))} differ"
                    )
                )
            elif kind == "sampler":
                verdicts.append(_sampler(name, index, a, b, level))
            else:
                verdicts.append(_estimator(name, index, a, b, level))
    return verdicts


def _workload_notes(first: _Record, second: _Record) -> list[str]:
    names: list[str] = []
    for record in (first, second):
        items = record.results.get("workloads")
        for item in items if isinstance(items, list) else []:
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
    if not names:
        return []
    return [
        f"workloads {', '.join(names)} are not compared: an optimiser's result has no "
        "standard error to test against; compare their history in results.json"
    ]


def compare_records(first: Path, second: Path, *, level: float = DEFAULT_LEVEL) -> RecordDiff:
    """The two records' results compared PUB by PUB at significance ``level``."""
    old, new = _Record(first), _Record(second)
    warnings = [warning for warning in [_manifest_warning(old, new)] if warning is not None]
    pubs = _pubs(old, new, level)
    status = [pub for pub in pubs if pub["verdict"] != "consistent"]
    return RecordDiff(
        kind="records",
        before=str(first),
        after=str(second),
        level=level,
        warnings=warnings,
        notes=_workload_notes(old, new),
        context=_context(old, new),
        pubs=pubs,
        verdict="drifted" if status else "consistent",
    )
