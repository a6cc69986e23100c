"""The conformance suite: every scenario of the shipped session lifecycle features.

Run it with ``pytest --pyargs qrun.conformance --qrun-target NAME`` or
``qrun conformance --target NAME``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

from .features import features_dir

pytest_plugins = ["qrun.conformance.steps"]

__qrun_conformance_suite__ = True  # the SUITE_MARK the plugin looks for

scenarios(str(features_dir()))
