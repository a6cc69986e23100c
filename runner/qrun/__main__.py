"""``python -m qrun`` runs the ``qrun`` command."""

from __future__ import annotations

from qrun.cli import main

raise SystemExit(main())
