"""A job's metrics (``GET /jobs/{id}/metrics``) and an instance's usage, as IBM reports them.

Metrics carry every field the client reads or documents: ``timestamps`` (created, running,
finished), ``usage`` (``quantum_seconds``, ``seconds``, ``qpu_charge_time_seconds`` and
``status`` — ``pending`` until the job ends, then ``final``), ``bss``, ``executions``,
``num_circuits``, ``num_qubits``, ``circuit_depths``, ``qiskit_version`` (the packages this
service computes with) and, while the job is queued, ``position_in_queue``,
``position_in_provider`` and ``estimated_start_time`` / ``estimated_completion_time``.

The queue position counts the backend's queued jobs ahead of this one: those of the session
that holds the backend first, then the others in submission order (the engine's rule).
Estimates add the remaining time of the running job and the estimated duration of every job
ahead (:attr:`~qrun.serve.store.JobRecord.estimated_seconds`).

Usage: an instance consumes the quantum seconds of its ended jobs (deleted ones included);
with a ``usage_limit`` configured, ``usage_limit_reached`` turns true once that is spent,
and the service then refuses new jobs of that instance.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING

from qrun.clock import iso_time
from qrun.serve.ledger import quantum_seconds

if TYPE_CHECKING:
    from qrun.serve.store import JobRecord

__all__ = ["job_metrics", "qiskit_version", "queue_ahead", "usage_document"]

_PACKAGES = ("qiskit_ibm_runtime", "qiskit", "qiskit_aer")


@cache
def qiskit_version() -> str:
    """The versions of the packages jobs run with, as IBM writes them (``name-version,…``)."""
    found = []
    for name in _PACKAGES:
        try:
            found.append(f"{name}-{metadata.version(name.replace('_', '-'))}")
        except metadata.PackageNotFoundError:
            continue
    return ",".join(found)


def queue_ahead(job: JobRecord, backend_jobs: list[JobRecord]) -> list[JobRecord]:
    """The jobs of ``backend_jobs`` (one backend's, in submission order) that run before
    ``job``: the running ones, then the queued ones ahead of it."""
    running = [other for other in backend_jobs if other.status == "RUNNING"]
    holder = {other.session_id for other in running if other.session_id is not None}
    queued = [other for other in backend_jobs if other.status == "QUEUED"]
    ordered = [other for other in queued if other.session_id in holder] + [
        other for other in queued if other.session_id not in holder
    ]
    position = next((index for index, other in enumerate(ordered) if other.id == job.id), 0)
    return running + ordered[:position]


def job_metrics(job: JobRecord, backend_jobs: list[JobRecord], now: float) -> dict[str, object]:
    """The metrics document of ``job``; ``backend_jobs`` are its backend's jobs, oldest first."""
    seconds = quantum_seconds(job)
    if not job.final and job.started is not None:
        seconds = now - job.started
    circuits = job.circuits
    document: dict[str, object] = {
        "timestamps": {
            "created": iso_time(job.created),
            "running": iso_time(job.started),
            "finished": iso_time(job.finished),
        },
        "usage": {
            "quantum_seconds": seconds,
            "seconds": seconds,
            "qpu_charge_time_seconds": seconds,
            "status": "final" if job.final else "pending",
        },
        "bss": {"seconds": seconds},
        "executions": circuits.get("num_circuits", 0),
        "num_circuits": circuits.get("num_circuits", 0),
        "num_qubits": circuits.get("num_qubits", []),
        "circuit_depths": circuits.get("circuit_depths", []),
        "qiskit_version": qiskit_version(),
    }
    if job.status == "QUEUED":
        ahead = queue_ahead(job, backend_jobs)
        start = now
        for other in ahead:
            estimate = other.estimated_seconds or 0.0
            if other.status == "RUNNING" and other.started is not None:
                estimate = max(0.0, other.started + estimate - now)
            start += estimate
        queued_ahead = sum(1 for other in ahead if other.status == "QUEUED")
        document["position_in_queue"] = queued_ahead + 1
        document["position_in_provider"] = queued_ahead + 1
        document["estimated_start_time"] = iso_time(start)
        document["estimated_completion_time"] = iso_time(start + (job.estimated_seconds or 0.0))
    return document


def usage_document(
    instance: str,
    plan: str,
    jobs: list[JobRecord],
    spent: float,
    limit: float | None,
) -> dict[str, object]:
    """``GET /instances/usage`` for ``instance``: ``spent`` is what its deleted jobs used."""
    consumed = spent + sum(quantum_seconds(job) for job in jobs)
    document: dict[str, object] = {
        "instance_id": instance,
        "plan_id": f"qrun-{plan}",
        "usage_consumed_seconds": consumed,
        "usage_limit_reached": limit is not None and consumed >= limit,
    }
    if limit is not None:
        document["usage_limit_seconds"] = limit
        document["usage_remaining_seconds"] = max(0.0, limit - consumed)
    return document
