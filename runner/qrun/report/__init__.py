"""The run report: one self-contained HTML page per run record, and the charts it draws.

Modules, lowest first: :mod:`.scale` (round axis ticks, top-k outcomes; the PNG plots of a
record use it too), :mod:`.svg` (charts as inline SVG), :mod:`.timeline` (a session's
states and its jobs as lanes over time), :mod:`.page` (the HTML page from ``run.json`` and
``results.json``) and :mod:`.folder` (reading a record folder, writing ``report.html``).

The page is plain HTML from :class:`string.Template` files shipped beside these modules,
with inline CSS and inline SVG: no JavaScript, no build step, no network.
"""

from __future__ import annotations

from qrun.report.folder import REPORT_FILE, write_report
from qrun.report.page import render_report

__all__ = ["REPORT_FILE", "render_report", "write_report"]
