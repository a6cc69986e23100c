"""The capabilities a target may declare, and the tags that ask for them.

A scenario tagged ``@<capability>`` runs only on targets that declare it; elsewhere it
is skipped and the reason names the missing capability. The feature lint accepts no
other tags besides the rule ids.
"""

from __future__ import annotations

__all__ = ["CAPABILITIES"]

#: capability name (also its Gherkin tag) -> what a target that declares it can do.
CAPABILITIES: dict[str, str] = {
    "virtual-clock": "moves the service's clock on demand (hours pass in no time)",
    "job-duration": "submits jobs that keep the QPU for a chosen time",
    "multi-user": "submits jobs as another user of the same backend",
    "plans": "acts as a user of an instance with a chosen plan and session limits",
    "job-list": "lists the service's jobs by session and by job tag",
}
