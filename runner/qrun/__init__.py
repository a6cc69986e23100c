"""qrun: declarative, reviewable quantum workloads on Qiskit Runtime."""

from __future__ import annotations

__version__ = "0.1.0"
