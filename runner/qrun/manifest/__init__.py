"""The manifest pipeline: a YAML file in, a frozen, typed :class:`Manifest` out.

The stages, each a module of this package and none importing Qiskit or NumPy:

* :mod:`~qrun.manifest.source` — the YAML text composed safely, every node's position kept;
* :mod:`~qrun.manifest.schema` — the published JSON Schema, and judging a document by it;
* :mod:`~qrun.manifest.references` — the checks the schema cannot express;
* :mod:`~qrun.manifest.builder` — the checked document mapped onto the model;
* :mod:`~qrun.manifest.model` — the frozen manifest, the only thing later stages see;
* :mod:`~qrun.manifest.diagnostics` — the one :class:`Issue` type every check reports.

:func:`check` returns every problem in a file; :func:`load_manifest` returns the model or
raises :class:`ManifestError` with every problem.
"""

from __future__ import annotations

from qrun.manifest.load import check, load_manifest

__all__ = ["check", "load_manifest"]
