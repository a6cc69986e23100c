"""A manifest's plan as plain data, computed the way ``qrun plan`` computes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrun.manifest.model import Manifest
    from qrun.providers import Service
    from qrun.run.review import PlanView

__all__ = ["plan_view"]


def plan_view(manifest: Manifest, overrides: Service | None = None) -> PlanView:
    """Resolve, build and transpile ``manifest`` on its provider and describe the plan;
    the provider is shut down before this returns."""
    from qrun.providers import provider_for
    from qrun.run.pipeline import service_settings
    from qrun.run.plan import make_plan
    from qrun.run.review import describe_plan

    provider = provider_for(manifest.backend.kind, service_settings(manifest, overrides))
    try:
        return describe_plan(make_plan(manifest, provider))
    finally:
        provider.shutdown()
