"""A primitive's Runtime options: what qrun reads of them, what a local run applies, and
the checks the schema cannot express.

The schema types every option of qiskit-ibm-runtime's ``SamplerV2`` and ``EstimatorV2``;
the options themselves go to the client unchanged. Three things are decided here, without
Qiskit:

- :func:`job_options` lifts out what the engine reads: shots, precision, the seed of
  local sampling (qrun's ``seed_simulator``, else ``simulator.seed_simulator``, else an
  estimator's ``seed_estimator``) and job tags;
- :func:`local_notes` says, option by option, what a run on the local simulator applies
  (shots, precision, seeds, tags) and what only IBM Quantum applies (mitigation,
  twirling, dynamical decoupling, QPU execution settings …), so a local run never
  pretends to have mitigated anything;
- :func:`check_options` holds the shots a PUB asks for (its shots, or ``ceil(1/p²)``
  for a precision ``p``) against the ``shots`` limit, and refuses the combinations the
  client's option models refuse (PEC with ZNE, measurement-noise learning without
  measurement mitigation, an extrapolator with too few noise factors).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.manifest.jsonpath import child as child_path
from qrun.manifest.limits import ENVIRONMENT_PREFIX
from qrun.manifest.model import PrimitiveOptions, shots_for_precision

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.limits import Limits
    from qrun.manifest.model import JSON, PrimitiveKind
    from qrun.manifest.source import YamlSourceMap

__all__ = ["OptionNote", "check_options", "job_options", "local_notes", "runtime_notes"]

#: What each resilience level does on IBM Quantum (EstimatorV2).
RESILIENCE_LEVELS = {
    1: "readout mitigation, TREX",
    2: "readout mitigation and ZNE with gate twirling",
}
#: Noise factors each ZNE extrapolator needs at least (as the client's ZneOptions checks).
_EXTRAPOLATOR_FACTORS = {"linear": 2, "exponential": 2, "double_exponential": 4, "fallback": 2}
_EXTRAPOLATOR_FACTORS.update({f"polynomial_degree_{k}": k + 1 for k in range(1, 8)})
_DEFAULT_NOISE_FACTORS = 3  # (1, 3, 5)
_DEFAULT_EXTRAPOLATORS = ("exponential", "linear")
_ONLY_IBM = "is applied only by IBM Quantum"


def _map(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


# ------------------------------------------------------------------ what qrun reads


def local_seed(raw: Mapping[str, object], kind: PrimitiveKind) -> tuple[str, int] | None:
    """The option that seeds local sampling and its value: ``seed_simulator``, else
    ``simulator.seed_simulator``, else (an estimator's) ``seed_estimator``."""
    candidates = [
        ("seed_simulator", raw.get("seed_simulator")),
        ("simulator.seed_simulator", _map(raw.get("simulator")).get("seed_simulator")),
    ]
    if kind == "estimator":
        candidates.append(("seed_estimator", raw.get("seed_estimator")))
    for name, value in candidates:
        seed = _whole(value)
        if seed is not None:
            return name, seed
    return None


def job_options(raw: Mapping[str, JSON], kind: PrimitiveKind) -> PrimitiveOptions:
    """The typed options of a primitive (or a workload's estimator) whose options, as
    written, are ``raw``."""
    tags = _map(raw.get("environment")).get("job_tags")
    precision = _number(raw.get("default_precision"))
    seed = local_seed(raw, kind)
    return PrimitiveOptions(
        raw=raw,
        default_shots=_whole(raw.get("default_shots")),
        default_precision=precision if kind == "estimator" else None,
        seed_simulator=None if seed is None else seed[1],
        job_tags=tuple(str(tag) for tag in tags) if isinstance(tags, (list, tuple)) else (),
    )


# --------------------------------------------------------- what a local run applies


@dataclass(frozen=True)
class OptionNote:
    """What became of one option (or one group of options) in a run."""

    option: str  # dotted name, e.g. ``resilience_level`` or ``twirling``
    path: str  # where it is written in the manifest
    value: JSON
    applied: bool
    note: str


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _keys(group: Mapping[str, object], prefix: str = "") -> str:
    """The settings of ``group``, e.g. ``enable_gates true, zne.noise_factors``."""
    shown = []
    for key, value in group.items():
        if isinstance(value, Mapping):
            shown.append(_keys(value, f"{prefix}{key}.") or f"{prefix}{key}")
        elif isinstance(value, (str, int, float)):
            shown.append(f"{prefix}{key} {_shown(value)}")
        else:
            shown.append(f"{prefix}{key}")
    return ", ".join(shown)


def _switched_on(group: Mapping[str, object], switches: tuple[str, ...]) -> bool:
    """Whether ``group`` asks for anything: a switch set to true, or any other setting."""
    return any(key not in switches or value is True for key, value in group.items())


class _LocalNotes:
    """The notes of one ``options`` mapping; one method per option it can hold."""

    def __init__(self, raw: Mapping[str, JSON], kind: PrimitiveKind, path: str) -> None:
        self.raw = raw
        self.kind = kind
        self.path = path
        self.seed = local_seed(raw, kind)
        self.notes: list[OptionNote] = []

    def all(self) -> list[OptionNote]:
        for key, value in self.raw.items():
            handler = getattr(self, f"_on_{key}", None)
            if handler is not None:
                handler(key, value)
        return self.notes

    def note(self, option: str, applied: bool, text: str) -> None:
        where = self.path
        value: object = self.raw
        for part in option.split("."):
            where = child_path(where, part)
            value = _map(value).get(part)
        self.notes.append(OptionNote(option, where, value, applied, text))  # type: ignore[arg-type]

    def _on_default_shots(self, key: str, value: object) -> None:
        if self.kind == "sampler":
            self.note(key, True, f"default_shots {value}: the shots of each PUB that does not say")
        else:
            self.note(
                key,
                True,
                f"default_shots {value}: shots per Pauli term, overriding default_precision "
                "(precision 1/sqrt(shots))",
            )

    def _on_default_precision(self, key: str, value: object) -> None:
        precision = _number(value)
        if self.raw.get("default_shots") is not None:
            self.note(
                key, False, "default_precision is overridden by default_shots, as on IBM Quantum"
            )
        elif precision is not None and precision > 0:
            shots = shots_for_precision(precision)
            self.note(
                key,
                True,
                f"default_precision {value}: {shots:,} shots per Pauli term "
                "(ceil(1/precision²)) for each PUB that does not say",
            )

    def _seed(self, option: str, value: object) -> None:
        used = self.seed is not None and self.seed[0] == option
        if used:
            self.note(option, True, f"{option} {value} seeds the local sampling")
        else:
            chosen = self.seed[0] if self.seed else "another seed"
            self.note(option, False, f"{option} is not used: {chosen} seeds the local sampling")

    _on_seed_simulator = _seed
    _on_seed_estimator = _seed

    def _on_resilience_level(self, key: str, value: object) -> None:
        level = _whole(value) or 0
        if level == 0:
            self.note(key, True, "resilience_level 0: no error mitigation, as in a local run")
            return
        what = RESILIENCE_LEVELS.get(level, "error mitigation")
        self.note(
            key,
            False,
            f"resilience_level {level} ({what}) {_ONLY_IBM}; this local run is unmitigated",
        )

    def _on_resilience(self, key: str, value: object) -> None:
        group = _map(value)
        if _switched_on(group, ("measure_mitigation", "zne_mitigation", "pec_mitigation")):
            self.note(
                key,
                False,
                f"resilience ({_keys(group)}) {_ONLY_IBM}; this local run is unmitigated",
            )
        else:
            self.note(key, True, "resilience: every mitigation is off, as in a local run")

    def _on_twirling(self, key: str, value: object) -> None:
        group = _map(value)
        if _switched_on(group, ("enable_gates", "enable_measure")):
            self.note(
                key, False, f"twirling ({_keys(group)}) {_ONLY_IBM}; this local run does not twirl"
            )
        else:
            self.note(key, True, "twirling is off, as in a local run")

    def _on_dynamical_decoupling(self, key: str, value: object) -> None:
        group = _map(value)
        if group.get("enable") is True:
            sequence = group.get("sequence_type", "XX")
            self.note(
                key,
                False,
                f"dynamical decoupling ({sequence}) {_ONLY_IBM}; idle qubits are not decoupled "
                "in this local run",
            )
        else:
            self.note(key, True, "dynamical decoupling is off, as in a local run")

    def _on_execution(self, key: str, value: object) -> None:
        for name, setting in _map(value).items():
            option = f"{key}.{name}"
            shown = _shown(setting)
            if (name, setting) in (("init_qubits", True), ("meas_type", "classified")):
                self.note(option, True, f"{option} {shown}: as the simulator does")
            else:
                self.note(
                    option,
                    False,
                    f"{option} {shown} is a QPU setting, applied only by IBM Quantum; the "
                    "simulator ignores it",
                )

    def _on_max_execution_time(self, key: str, value: object) -> None:
        self.note(key, False, f"max_execution_time {value} s is enforced only by IBM Quantum")

    def _on_environment(self, key: str, value: object) -> None:
        for name in _map(value):
            option = f"{key}.{name}"
            if name == "job_tags":
                self.note(option, True, "job_tags are set on the local jobs")
            else:
                self.note(
                    option,
                    False,
                    f"{option} concerns IBM Quantum's execution environment; not applied locally",
                )

    def _on_simulator(self, key: str, value: object) -> None:
        for name, setting in _map(value).items():
            option = f"{key}.{name}"
            if name == "seed_simulator":
                self._seed(option, setting)
            else:
                self.note(
                    option,
                    False,
                    f"{option} is for IBM's simulators; a local run takes the noise and gates "
                    "of its backend (aer, fake_*) and backend.options",
                )

    def _on_experimental(self, key: str, value: object) -> None:
        del value
        self.note(key, False, "experimental options go to IBM Quantum only; not applied locally")


def local_notes(raw: Mapping[str, JSON], kind: PrimitiveKind, path: str) -> list[OptionNote]:
    """What a run on the local simulator does with each option written in ``raw`` (a
    primitive's or workload's ``options`` at ``path``), in the order written."""
    return _LocalNotes(raw, kind, path).all()


def runtime_notes(raw: Mapping[str, JSON], path: str) -> list[OptionNote]:
    """On IBM Quantum (or a Runtime-compatible service) every option is passed to
    qiskit-ibm-runtime's primitive unchanged."""
    return [
        OptionNote(
            key, child_path(path, key), value, True, f"{key} passed to qiskit-ibm-runtime unchanged"
        )
        for key, value in raw.items()
    ]


# ------------------------------------------------------------ checks before the run


class _Checks:
    def __init__(self, source: YamlSourceMap, limits: Limits) -> None:
        self.source = source
        self.limits = limits

    def shots(self, path: str, shots: object) -> Iterator[Issue]:
        count = _whole(shots)
        if count is not None and count > self.limits.shots:
            yield self.source.issue(path, str(self.limits.exceeded("shots", count)))

    def precision(self, path: str, precision: object) -> Iterator[Issue]:
        value = _number(precision)
        if value is None or not value > 0:
            return  # the schema judges it
        try:
            shots: float = shots_for_precision(value)
        except OverflowError:
            shots = math.inf
        if shots > self.limits.shots:
            count = f"{shots:,}" if shots < 10**12 else f"{shots:.2e}"
            yield self.source.issue(
                path,
                f"precision {value:g} needs ceil(1/precision²) = {count} shots per Pauli term, "
                f"more than the limit of {self.limits.shots:,}; set "
                f"{ENVIRONMENT_PREFIX}SHOTS to raise it (or ask for a coarser precision)",
            )

    def pub(self, path: str, pub: Mapping[str, object]) -> Iterator[Issue]:
        """A PUB's own shots or precision (the paths are built only for a problem: a
        manifest may hold many thousands of PUBs)."""
        shots, precision = pub.get("shots"), pub.get("precision")
        if shots is not None:
            yield from self.shots(f"{path}.shots", shots)
        if precision is not None:
            yield from self.precision(f"{path}.precision", precision)

    def options(self, path: str, raw: Mapping[str, object], kind: str) -> Iterator[Issue]:
        yield from self.shots(child_path(path, "default_shots"), raw.get("default_shots"))
        if kind == "estimator" and raw.get("default_shots") is None:
            yield from self.precision(
                child_path(path, "default_precision"), raw.get("default_precision")
            )
        resilience = _map(raw.get("resilience"))
        where = child_path(path, "resilience")
        if resilience.get("pec_mitigation") is True and resilience.get("zne_mitigation") is True:
            yield self.source.issue(
                child_path(where, "pec_mitigation"),
                "pec_mitigation and zne_mitigation cannot both be true; set one to false",
            )
        learning = _map(resilience.get("measure_noise_learning"))
        if learning and resilience.get("measure_mitigation") is not True:
            yield self.source.issue(
                child_path(where, "measure_noise_learning"),
                "measure_noise_learning is set but measure_mitigation is not true",
            )
        yield from self.extrapolators(child_path(where, "zne"), _map(resilience.get("zne")))

    def extrapolators(self, path: str, zne: Mapping[str, object]) -> Iterator[Issue]:
        factors = zne.get("noise_factors")
        count = len(factors) if isinstance(factors, list) else _DEFAULT_NOISE_FACTORS
        chosen = zne.get("extrapolator", list(_DEFAULT_EXTRAPOLATORS))
        names = [chosen] if isinstance(chosen, str) else chosen
        for name in names if isinstance(names, list) else []:
            needed = _EXTRAPOLATOR_FACTORS.get(str(name))
            if needed is not None and count < needed:
                yield self.source.issue(
                    child_path(path, "extrapolator"),
                    f"extrapolator {name} needs at least {needed} noise_factors, "
                    f"{'given' if isinstance(factors, list) else 'the default has'} {count}",
                )
                return


def check_options(
    data: Mapping[str, object], source: YamlSourceMap, limits: Limits
) -> Iterator[Issue]:
    """Problems of the primitives' and workloads' options and of the shots their PUBs ask
    for, that the schema cannot see."""
    checks = _Checks(source, limits)
    primitives = data.get("primitives")
    for index, primitive in enumerate(primitives if isinstance(primitives, list) else []):
        primitive = _map(primitive)
        path = child_path("$.primitives", index)
        kind = "sampler" if "sampler" in primitive else "estimator"
        yield from checks.options(child_path(path, "options"), _map(primitive.get("options")), kind)
        pubs = primitive.get("pubs")
        for pub_index, pub in enumerate(pubs if isinstance(pubs, list) else []):
            yield from checks.pub(f"{path}.pubs[{pub_index}]", _map(pub))
    workloads = data.get("workloads")
    for index, workload in enumerate(workloads if isinstance(workloads, list) else []):
        workload = _map(workload)
        path = child_path("$.workloads", index)
        yield from checks.options(
            child_path(path, "options"), _map(workload.get("options")), "estimator"
        )
        cost = _map(workload.get("minimize"))
        yield from checks.precision(
            child_path(child_path(path, "minimize"), "precision"), cost.get("precision")
        )
