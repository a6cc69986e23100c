"""The catalogue of documented session lifecycle rules the features check.

Each rule is drawn from IBM's "Run jobs in a session" guide; its id is the Gherkin tag
``@rule-<ID>`` that marks every scenario checking it.
"""

from __future__ import annotations

__all__ = ["RULES", "RULE_TAG_PREFIX", "rule_tag"]

RULE_TAG_PREFIX = "rule-"

#: rule id -> the rule, in a line.
RULES: dict[str, str] = {
    "OPEN-1": "a session is opened on one named backend; no backend is an error",
    "OPEN-2": "a new session without jobs is Pending and has not started",
    "OPEN-3": "a session starts when its first job begins executing",
    "OPEN-4": "a session that gets no job for 30 minutes after opening closes",
    "OPEN-5": "leaving a with-block closes the session exactly as close() does",
    "TTL-1": "max_time is seconds or a duration string, reported in seconds",
    "TTL-2": "without max_time the instance's maximum and interactive TTLs are reported",
    "TTL-3": "the max-TTL timer starts when the session starts",
    "TTL-4": "at max TTL the session is Closed: running jobs finish, queued jobs fail",
    "TTL-5": "no job queued within the interactive TTL deactivates the session (Pending)",
    "TTL-6": "a deactivated session's next job queues normally and reactivates it",
    "TTL-7": "the interactive TTL is the instance's; the user cannot set it",
    "END-1": "cancel() ends the session and cancels its queued jobs",
    "END-2": "close() stops new jobs; queued and running jobs complete with results",
    "END-3": "submitting after close() is rejected and queues nothing",
    "END-4": "a closed session is Closed as soon as its last job ends",
    "END-5": "draining after close() is still bounded by max TTL",
    "STAT-1": "status() is always one of the four documented strings",
    "STAT-2": "details() reports the documented keys with their documented meanings",
    "PRIO-1": "an active session's queued jobs go before other users' earlier jobs",
    "PRIO-2": "a draining session's jobs keep that priority until it is Closed",
    "PLAN-1": "an Open Plan instance cannot use sessions; job and batch modes work",
    "USE-1": "an iterative workload with short gaps keeps its session active",
    "USE-2": "job tags tell apart workloads sharing one session",
}


def rule_tag(rule_id: str) -> str:
    """The Gherkin tag (without ``@``) of a rule: ``rule_tag("TTL-3") == "rule-TTL-3"``."""
    return f"{RULE_TAG_PREFIX}{rule_id}"
