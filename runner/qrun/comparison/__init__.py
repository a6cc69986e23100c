"""``qrun diff``: what changed between two manifests, or between two run records.

:mod:`~qrun.comparison.revisions` reads a manifest as it was at a git revision,
:mod:`~qrun.comparison.manifests` compares two manifests by meaning and by plan,
:mod:`~qrun.comparison.records` compares two runs' results with
:mod:`~qrun.comparison.statistics`, and :mod:`~qrun.comparison.render` shows either
comparison as text, JSON or Markdown.
"""
