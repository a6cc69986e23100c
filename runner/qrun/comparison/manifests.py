"""Two manifests compared by what they mean, and by what their plans would submit.

The typed models are compared, not the text: comments, key order, quoting, flow or block
style, ``25m`` against ``1500`` make no difference. Each difference is a
:class:`Change` at a dotted place (``execution.max_time``,
``primitives[counts].pubs[0].shots``; lists of named things are keyed by name), grouped by
the manifest's section. Then both manifests are planned as ``qrun plan`` plans them, and
the ISA circuits' size and depth, the jobs, circuit executions and estimated QPU time are
set side by side. A manifest that cannot be planned (no account for an IBM backend, say)
is still compared by meaning, and the reason is shown instead of its plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, TypedDict

from qrun.errors import QrunError

if TYPE_CHECKING:
    from qrun.manifest.model import Manifest
    from qrun.providers import Service
    from qrun.run.review import CircuitSize, PlanView

__all__ = [
    "Change",
    "ManifestDiff",
    "PlanTotals",
    "compare_manifests",
    "compare_values",
    "meaning",
]

#: Fields of the whole manifest that are about the file, not the work.
_FILE_FIELDS = frozenset({"file", "text", "sha256", "source"})


class Change(TypedDict):
    """One difference: where, and the value before and after (None: absent)."""

    section: str
    where: str
    before: object
    after: object


class PlanTotals(TypedDict):
    backend: str
    jobs: int
    circuit_executions: int
    estimated_qpu_seconds: float | None
    warnings: list[str]


class CircuitChange(TypedDict):
    name: str
    before: CircuitSize | None
    after: CircuitSize | None


class ManifestDiff(TypedDict):
    kind: str  # "manifests"
    before: str
    after: str
    changes: list[Change]
    circuits: list[CircuitChange]  # ISA size and depth where the circuit or its size changed
    plan_before: PlanTotals | None
    plan_after: PlanTotals | None
    plan_problems: list[str]  # why a side has no plan


def _value(item: object) -> object:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        values = {
            field.name: _value(getattr(item, field.name))
            for field in dataclasses.fields(item)
            if field.name != "path" and not isinstance(getattr(item, field.name), PurePath)
        }
        raw = values.pop("raw", None)
        if isinstance(raw, dict):  # options as written: the ones no typed field holds
            values.update({key: value for key, value in raw.items() if key not in values})
        return values
    if isinstance(item, Mapping):
        return {str(key): _value(value) for key, value in item.items()}
    if isinstance(item, (list, tuple)):
        items = [_value(value) for value in item]
        names = [value.get("name") if isinstance(value, dict) else None for value in items]
        if items and all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
            return {f"[{name}]": value for name, value in zip(names, items, strict=True)}
        return items
    return item


def meaning(manifest: Manifest) -> dict[str, object]:
    """The manifest as plain values, without positions or anything about its file."""
    return {
        field.name: _value(getattr(manifest, field.name))
        for field in dataclasses.fields(manifest)
        if field.name not in _FILE_FIELDS
    }


def _join(where: str, key: str) -> str:
    if key.startswith("["):
        return f"{where}{key}"
    return f"{where}.{key}" if where else key


def compare_values(before: object, after: object, where: str = "") -> list[Change]:
    """Every difference between two plain values, in order."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in [*before, *(key for key in after if key not in before)]:
            changes += compare_values(before.get(key), after.get(key), _join(where, key))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for index in range(max(len(before), len(after))):
            changes += compare_values(
                before[index] if index < len(before) else None,
                after[index] if index < len(after) else None,
                f"{where}[{index}]",
            )
        return changes
    if before == after and type(before) is type(after):
        return []
    if isinstance(before, (int, float)) and isinstance(after, (int, float)) and before == after:
        return []
    section = where.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
    return [Change(section=section, where=where, before=before, after=after)]


def _totals(view: PlanView) -> PlanTotals:
    return PlanTotals(
        backend=view["backend"],
        jobs=view["jobs"],
        circuit_executions=sum(
            pub["executions"] for primitive in view["primitives"] for pub in primitive["pubs"]
        ),
        estimated_qpu_seconds=view["estimated_qpu_seconds"],
        warnings=list(view["warnings"]),
    )


def _plan(
    manifest: Manifest, shown: str, overrides: Service | None
) -> tuple[PlanView | None, str | None]:
    from qrun.pullrequest.planned import plan_view

    try:
        return plan_view(manifest, overrides), None
    except QrunError as error:
        return None, f"{shown}: cannot be planned: {error}"


def compare_manifests(
    before: Manifest,
    after: Manifest,
    *,
    names: tuple[str, str],
    overrides: Service | None = None,
    plan: bool = True,
) -> ManifestDiff:
    """``before`` and ``after`` compared by meaning and, if ``plan``, by their plans."""
    changes = compare_values(meaning(before), meaning(after))
    views: list[PlanView | None] = [None, None]
    problems: list[str] = []
    if plan:
        for index, (manifest, shown) in enumerate(zip((before, after), names, strict=True)):
            views[index], problem = _plan(manifest, shown, overrides)
            if problem is not None:
                problems.append(problem)
    first, second = views
    circuits: list[CircuitChange] = []
    if first is not None or second is not None:
        old = first["circuits"] if first is not None else {}
        new = second["circuits"] if second is not None else {}
        touched = {
            change["where"].split(".")[1].split("[")[0]
            for change in changes
            if change["section"] == "circuits"
        }
        for name in [*old, *(name for name in new if name not in old)]:
            if old.get(name) != new.get(name) or name in touched:
                circuits.append(CircuitChange(name=name, before=old.get(name), after=new.get(name)))
    return ManifestDiff(
        kind="manifests",
        before=names[0],
        after=names[1],
        changes=changes,
        circuits=circuits,
        plan_before=_totals(first) if first is not None else None,
        plan_after=_totals(second) if second is not None else None,
        plan_problems=problems,
    )
