"""qrun: declarative, reviewable quantum workloads on Qiskit Runtime."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_results", "load_workloads"]

_LAZY = ("load_results", "load_workloads")


def __getattr__(name: str) -> object:
    """``qrun.load_results`` and ``qrun.load_workloads`` are imported on first use, so
    ``import qrun`` stays cheap."""
    if name in _LAZY:
        from qrun.run import results

        return getattr(results, name)
    raise AttributeError(f"module 'qrun' has no attribute {name!r}")
