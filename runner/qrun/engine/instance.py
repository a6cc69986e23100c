"""Instances (a CRN in IBM's terms) and the session limits their plan sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Instance", "PricingPlan"]

PricingPlan = Literal["open", "pay-as-you-go", "flex", "premium", "dedicated"]


@dataclass(frozen=True)
class Instance:
    """An instance and its session limits (the guide's Premium Plan defaults).

    ``interactive_ttl``: idle seconds after a session's last job before it is deactivated.
    ``max_ttl``: the longest a session may live once started; a longer ``max_time`` is capped.
    ``idle_close``: a session that gets no job this long after opening closes by itself.
    """

    name: str
    plan: PricingPlan = "premium"
    interactive_ttl: float = 60.0
    max_ttl: float = 8 * 3600.0
    idle_close: float = 30 * 60.0

    @property
    def allows_sessions(self) -> bool:
        """Whether this plan may open dedicated sessions (the Open Plan may not)."""
        return self.plan != "open"
