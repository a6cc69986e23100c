"""Warnings qrun emits; the test suite turns them into errors."""

from __future__ import annotations

__all__ = ["QrunWarning"]


class QrunWarning(UserWarning):
    """Something the user should know that does not stop the run."""
