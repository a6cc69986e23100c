"""The metadata of an ``estimator`` job's result, as IBM's service writes it.

IBM's EstimatorV2 result says which error suppression and mitigation the job ran with, and
what each PUB cost::

    PrimitiveResult.metadata = {
        "dynamical_decoupling": {"enable": …, "sequence_type": …, …},
        "twirling": {"enable_gates": …, "enable_measure": …, "num_randomizations": "auto",
                     "shots_per_randomization": "auto", …},
        "resilience": {"measure_mitigation": …, "zne_mitigation": …, "pec_mitigation": …},
        "version": 2,
    }
    PubResult.metadata = {"shots": …, "target_precision": …, "circuit_metadata": …,
                          "resilience": {}, "num_randomizations": …}

Defaults follow ``params.resilience_level`` (1 unless given) as the client documents them:
level 1 twirls measurements and mitigates readout; level 2 also twirls gates and extrapolates
(ZNE). A PUB's shots are ``ceil(1/precision²)``; with twirling on, they are spread over
randomizations as :class:`~qiskit_ibm_runtime.options.TwirlingOptions` documents
("auto": ``shots_per_randomization = max(64, ceil(shots/32))`` — 64 with PEC — and
``num_randomizations = ceil(shots/shots_per_randomization)``) and the PUB reports
``num_randomizations × shots_per_randomization`` shots. Option values that are not what
the client sends are read as unset.

The expectation values themselves are estimated locally from ``ceil(1/precision²)`` shots
(see :mod:`qrun.engine.estimates`); randomizations are reported, not simulated.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from qiskit.primitives import PrimitiveResult, PubResult

from qrun.manifest.model import shots_for_precision

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["estimator_metadata", "randomizations"]

_AUTO = "auto"


def _section(options: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = options.get(name)
    return value if isinstance(value, dict) else {}


def _flag(section: Mapping[str, object], name: str, default: bool) -> bool:
    value = section.get(name)
    return value if isinstance(value, bool) else default


def _count(section: Mapping[str, object], name: str) -> int | None:
    value = section.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def randomizations(
    shots: int, num_randomizations: int | None, shots_per_randomization: int | None, *, pec: bool
) -> tuple[int, int]:
    """``(num_randomizations, shots_per_randomization)`` for a PUB of ``shots`` shots
    (``None``: "auto"), by the rules the client documents."""
    if num_randomizations is not None and shots_per_randomization is not None:
        return num_randomizations, shots_per_randomization
    if num_randomizations is not None:
        return num_randomizations, math.ceil(shots / num_randomizations)
    if shots_per_randomization is None:
        shots_per_randomization = 64 if pec else max(64, math.ceil(shots / 32))
    return math.ceil(shots / shots_per_randomization), shots_per_randomization


def estimator_metadata(
    result: PrimitiveResult[PubResult], params: Mapping[str, object]
) -> PrimitiveResult[PubResult]:
    """``result`` with IBM's metadata for a job submitted with ``params``."""
    options = _section(params, "options")
    level = params.get("resilience_level", options.get("resilience_level"))
    level = level if isinstance(level, int) and not isinstance(level, bool) else 1
    twirling = _section(options, "twirling")
    resilience = _section(options, "resilience")
    decoupling = _section(options, "dynamical_decoupling")
    gates = _flag(twirling, "enable_gates", level >= 2)
    measure = _flag(twirling, "enable_measure", level >= 1)
    pec = _flag(resilience, "pec_mitigation", False)
    wanted_randomizations = _count(twirling, "num_randomizations")
    wanted_shots = _count(twirling, "shots_per_randomization")
    pubs: list[PubResult] = []
    for pub in result:
        precision = float(pub.metadata.get("target_precision", 0.0))
        shots = shots_for_precision(precision)
        metadata: dict[str, object] = {
            "shots": shots,
            "target_precision": precision,
            "circuit_metadata": pub.metadata.get("circuit_metadata", {}),
            "resilience": {},
        }
        if gates or measure:
            count, each = randomizations(shots, wanted_randomizations, wanted_shots, pec=pec)
            metadata["shots"] = count * each
            metadata["num_randomizations"] = count
        pubs.append(PubResult(pub.data, metadata=metadata))

    def echoed(name: str) -> int | str:
        value = _count(twirling, name)
        return _AUTO if value is None else value

    strategy = twirling.get("strategy")
    sequence = decoupling.get("sequence_type")
    slack = decoupling.get("extra_slack_distribution")
    scheduling = decoupling.get("scheduling_method")
    return PrimitiveResult(
        pubs,
        metadata={
            "dynamical_decoupling": {
                "enable": _flag(decoupling, "enable", False),
                "sequence_type": sequence if isinstance(sequence, str) else "XX",
                "extra_slack_distribution": slack if isinstance(slack, str) else "middle",
                "scheduling_method": scheduling if isinstance(scheduling, str) else "alap",
            },
            "twirling": {
                "enable_gates": gates,
                "enable_measure": measure,
                "num_randomizations": echoed("num_randomizations"),
                "shots_per_randomization": echoed("shots_per_randomization"),
                "interleave_randomizations": _flag(twirling, "interleave_randomizations", True),
                "strategy": strategy if isinstance(strategy, str) else "active-accum",
            },
            "resilience": {
                "measure_mitigation": _flag(resilience, "measure_mitigation", level >= 1),
                "zne_mitigation": _flag(resilience, "zne_mitigation", level >= 2),
                "pec_mitigation": pec,
            },
            "version": 2,
        },
    )
