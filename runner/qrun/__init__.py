"""qrun: declarative, reviewable quantum workloads on Qiskit Runtime."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]


def __getattr__(name: str) -> object:
    """``qrun.load_results`` is imported on first use, so ``import qrun`` stays cheap."""
    if name == "load_results":
        from qrun.results import load_results

        return load_results
    raise AttributeError(f"module 'qrun' has no attribute {name!r}")
