"""What a workload run leaves behind: its convergence history and the optimiser's result.

These values are written to ``results.json`` (``workloads``) and read back by
:func:`qrun.run.results.load_workloads`; :meth:`to_json` and :meth:`from_json` are inverses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from qrun.manifest.model import JSON

__all__ = [
    "Evaluation",
    "EvaluationKind",
    "OptimizerResult",
    "SessionCheck",
    "TagCheck",
    "WorkloadResult",
    "WorkloadStatus",
]

EvaluationKind = Literal["cost", "gradient"]
WorkloadStatus = Literal["DONE", "ERROR", "CANCELLED"]


def _floats(value: object) -> tuple[float, ...]:
    if not isinstance(value, Sequence):
        raise TypeError(f"expected a list of numbers, got {type(value).__name__}")
    return tuple(float(cast("float", item)) for item in value)


def _opt_float(value: object) -> float | None:
    return None if value is None else float(cast("float", value))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _map(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Evaluation:
    """One job of a workload: a cost evaluation, or a parameter-shift gradient.

    Times are seconds: ``submitted`` since the run started, ``wall_time`` from submission
    to result, ``session_time`` since the session opened (at the result), ``gap`` the
    classical time since this workload's previous result (the session idles no longer
    than this between its jobs). ``session_state`` is the session's state just before
    the job was submitted (``details()["state"]``).
    """

    index: int  # 1-based job number within the workload
    iteration: int  # the optimiser's iteration this job belongs to (1-based)
    kind: EvaluationKind
    parameters: tuple[float, ...]
    value: float | None  # the cost (None for a gradient job)
    std: float | None  # its standard error
    job_id: str
    submitted: float
    wall_time: float
    session_time: float
    gap: float | None  # None for the workload's first job
    session_state: str | None
    gradient: tuple[float, ...] | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "index": self.index,
            "iteration": self.iteration,
            "kind": self.kind,
            "parameters": self.parameters,
            "value": self.value,
            "std": self.std,
            "job_id": self.job_id,
            "submitted": self.submitted,
            "wall_time": self.wall_time,
            "session_time": self.session_time,
            "gap": self.gap,
            "session_state": self.session_state,
            "gradient": self.gradient,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Evaluation:
        kind = str(data["kind"])
        if kind not in ("cost", "gradient"):
            raise ValueError(f"unknown evaluation kind {kind!r}")
        gradient = data.get("gradient")
        return cls(
            index=int(cast("int", data["index"])),
            iteration=int(cast("int", data["iteration"])),
            kind=cast("EvaluationKind", kind),
            parameters=_floats(data["parameters"]),
            value=_opt_float(data.get("value")),
            std=_opt_float(data.get("std")),
            job_id=str(data["job_id"]),
            submitted=float(cast("float", data["submitted"])),
            wall_time=float(cast("float", data["wall_time"])),
            session_time=float(cast("float", data["session_time"])),
            gap=_opt_float(data.get("gap")),
            session_state=_opt_str(data.get("session_state")),
            gradient=None if gradient is None else _floats(gradient),
        )


@dataclass(frozen=True)
class OptimizerResult:
    """``scipy.optimize.OptimizeResult`` as recorded: ``x``/``fun`` are the optimiser's
    answer; ``nit``/``njev`` are None for methods that do not report them."""

    success: bool
    message: str
    nfev: int
    nit: int | None
    njev: int | None
    x: tuple[float, ...]
    fun: float

    def to_json(self) -> dict[str, JSON]:
        return {
            "success": self.success,
            "message": self.message,
            "nfev": self.nfev,
            "nit": self.nit,
            "njev": self.njev,
            "x": self.x,
            "fun": self.fun,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OptimizerResult:
        nit, njev = data.get("nit"), data.get("njev")
        return cls(
            success=bool(data["success"]),
            message=str(data["message"]),
            nfev=int(cast("int", data["nfev"])),
            nit=None if nit is None else int(cast("int", nit)),
            njev=None if njev is None else int(cast("int", njev)),
            x=_floats(data["x"]),
            fun=float(cast("float", data["fun"])),
        )


@dataclass(frozen=True)
class SessionCheck:
    """Did the session stay active between this workload's jobs (rule USE-1)?

    It did when every job after the session's first found it ``active`` at submission
    and no gap reached the interactive TTL. ``details_start``/``details_end`` are
    ``details()`` snapshots taken as the workload began and ended.
    """

    interactive_ttl: float | None
    max_gap: float | None
    states: Mapping[str, int]  # session state at submission -> number of jobs
    stayed_active: bool
    details_start: JSON = None
    details_end: JSON = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "interactive_ttl": self.interactive_ttl,
            "max_gap": self.max_gap,
            "states": dict(self.states),
            "stayed_active": self.stayed_active,
            "details_start": self.details_start,
            "details_end": self.details_end,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SessionCheck:
        return cls(
            interactive_ttl=_opt_float(data.get("interactive_ttl")),
            max_gap=_opt_float(data.get("max_gap")),
            states={str(k): int(cast("int", v)) for k, v in _map(data["states"]).items()},
            stayed_active=bool(data["stayed_active"]),
            details_start=cast("JSON", data.get("details_start")),
            details_end=cast("JSON", data.get("details_end")),
        )


@dataclass(frozen=True)
class TagCheck:
    """Listing jobs by this workload's tags finds exactly its own jobs (rule USE-2)."""

    tags: tuple[str, ...]
    found: tuple[str, ...]  # job ids the channel lists for these tags
    only_own: bool  # every job found is one of this workload's
    all_found: bool  # every job of this workload was found

    @property
    def ok(self) -> bool:
        return self.only_own and self.all_found

    def to_json(self) -> dict[str, JSON]:
        return {
            "tags": self.tags,
            "found": self.found,
            "only_own": self.only_own,
            "all_found": self.all_found,
            "ok": self.ok,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TagCheck:
        return cls(
            tags=tuple(str(t) for t in cast("Sequence[object]", data["tags"])),
            found=tuple(str(t) for t in cast("Sequence[object]", data["found"])),
            only_own=bool(data["only_own"]),
            all_found=bool(data["all_found"]),
        )


@dataclass(frozen=True)
class WorkloadResult:
    """Everything recorded about one workload, also when it failed part way."""

    name: str
    method: str
    status: WorkloadStatus
    tags: tuple[str, ...]
    num_parameters: int
    x0: tuple[float, ...]
    history: tuple[Evaluation, ...]
    result: OptimizerResult | None  # None when the workload did not finish
    error: str | None = None
    reference: float | None = None  # the minimum compared with
    reference_source: Literal["manifest", "exact"] | None = None
    exact_minimum: float | None = None
    exact_skipped: str | None = None  # why there is no exact minimum
    x0_from: str | None = None  # where x0 came from, when another workload's point
    session: SessionCheck | None = None
    tag_check: TagCheck | None = None  # None when the workload has no job tags
    plot: str | None = None  # the convergence plot, relative to the record folder

    @property
    def costs(self) -> list[Evaluation]:
        """The cost evaluations, in order."""
        return [item for item in self.history if item.kind == "cost"]

    @property
    def best(self) -> Evaluation | None:
        """The cost evaluation with the lowest value."""
        costs = [item for item in self.costs if item.value is not None]
        return min(costs, key=lambda item: cast("float", item.value), default=None)

    def point(self, which: str) -> tuple[tuple[float, ...] | None, float | None]:
        """The parameters of the ``best`` cost evaluated or of the optimiser's ``final``
        answer, and the cost there; (None, None) when the workload has no such point."""
        if which == "final":
            if self.result is None:
                return None, None
            return self.result.x, self.result.fun
        best = self.best
        return (None, None) if best is None else (best.parameters, best.value)

    @property
    def energy(self) -> float | None:
        """The optimiser's final cost, else the best one evaluated."""
        if self.result is not None:
            return self.result.fun
        best = self.best
        return None if best is None else best.value

    @property
    def reference_error(self) -> float | None:
        """``energy - reference`` (how far above the known minimum it ended)."""
        if self.reference is None or self.energy is None:
            return None
        return self.energy - self.reference

    def with_plot(self, plot: str) -> WorkloadResult:
        """This result, naming its convergence plot."""
        return replace(self, plot=plot)

    def to_json(self) -> dict[str, JSON]:
        best = self.best
        return {
            "name": self.name,
            "kind": "minimize",
            "method": self.method,
            "status": self.status,
            "error": self.error,
            "tags": self.tags,
            "num_parameters": self.num_parameters,
            "x0": self.x0,
            "x0_from": self.x0_from,
            "jobs": len(self.history),
            "result": None if self.result is None else self.result.to_json(),
            "best": None
            if best is None
            else {"index": best.index, "value": best.value, "parameters": best.parameters},
            "energy": self.energy,
            "reference": self.reference,
            "reference_source": self.reference_source,
            "exact_minimum": self.exact_minimum,
            "exact_skipped": self.exact_skipped,
            "reference_error": self.reference_error,
            "session": None if self.session is None else self.session.to_json(),
            "tag_check": None if self.tag_check is None else self.tag_check.to_json(),
            "plot": self.plot,
            "history": tuple(item.to_json() for item in self.history),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> WorkloadResult:
        status = str(data["status"])
        if status not in ("DONE", "ERROR", "CANCELLED"):
            raise ValueError(f"unknown workload status {status!r}")
        source = data.get("reference_source")
        if source not in (None, "manifest", "exact"):
            raise ValueError(f"unknown reference source {source!r}")
        result, session, tags = data.get("result"), data.get("session"), data.get("tag_check")
        return cls(
            name=str(data["name"]),
            method=str(data["method"]),
            status=cast("WorkloadStatus", status),
            tags=tuple(str(t) for t in cast("Sequence[object]", data["tags"])),
            num_parameters=int(cast("int", data["num_parameters"])),
            x0=_floats(data["x0"]),
            x0_from=_opt_str(data.get("x0_from")),
            history=tuple(
                Evaluation.from_json(_map(item))
                for item in cast("Sequence[object]", data["history"])
            ),
            result=None if result is None else OptimizerResult.from_json(_map(result)),
            error=_opt_str(data.get("error")),
            reference=_opt_float(data.get("reference")),
            reference_source=source,
            exact_minimum=_opt_float(data.get("exact_minimum")),
            exact_skipped=_opt_str(data.get("exact_skipped")),
            session=None if session is None else SessionCheck.from_json(_map(session)),
            tag_check=None if tags is None else TagCheck.from_json(_map(tags)),
            plot=_opt_str(data.get("plot")),
        )
